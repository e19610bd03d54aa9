"""The app starts, serves its home page and answers the health check."""

from tests.factories import make_post, make_user


def test_home_lists_published_posts(app, client, ctx):
    author = make_user(roles=("author",))
    make_post(author, title="Hello readers")
    response = client.get("/")
    assert response.status_code == 200
    assert "Hello readers" in response.get_data(as_text=True)


def test_health_check(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


def test_login_with_real_form(browser, ctx):
    make_user("editor@example.com", roles=("editor",))
    response = browser.login("editor@example.com", "correct horse battery staple")
    assert response.status_code == 302
    assert browser.get("/admin/").status_code == 200
