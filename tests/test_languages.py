"""Languages in the address: /de/... for German, the default language unprefixed.

On readers' pages the address alone decides the language; `/` redirects a visitor whose
browser prefers German; dashboard and account pages keep the person's own choice.
"""

import re

import pytest
from flask import jsonify

from cms.i18n import language_links
from cms.models import PostKind
from tests.factories import PASSWORD, make_post, make_tag, make_user

GERMAN = {"Accept-Language": "de-DE,de;q=0.9,en;q=0.5"}


def html_lang(response) -> str:
    """Return the lang attribute of a page's <html> element."""
    match = re.search(r'<html lang="([^"]+)"', response.get_data(as_text=True))
    assert match, response.status_code
    return match.group(1)


@pytest.fixture
def site(ctx):
    """A published post with a tag, by an author, and a page; return their addresses."""
    admin = make_user("admin@example.com", roles=("admin",))
    tag = make_tag("Häuser")
    post = make_post(admin, title="Hello", tags=[tag])
    page = make_post(admin, title="About us", kind=PostKind.PAGE)
    return {
        "post": f"/posts/{post.slug}",
        "page": f"/{page.slug}",
        "tag": f"/tags/{tag.slug}",
        "author": f"/authors/{admin.slug}",
    }


# --- Addresses ----------------------------------------------------------------------------


def test_german_pages_live_under_de_and_link_within_german(app, client, site):
    """/de/... serves the route in German; its links stay German, files stay unprefixed."""
    for path in ("/", *site.values()):
        response = client.get(f"/de{path}")
        assert response.status_code == 200, path
        assert html_lang(response) == "de", path
        english = client.get(path)
        assert english.status_code == 200, path
        assert html_lang(english) == "en", path
    html = client.get(f"/de{site['post']}").get_data(as_text=True)
    assert 'href="/de/"' in html
    assert 'href="/de/account/login"' in html
    assert 'href="/static/site.css"' in html and "/de/static/" not in html
    home = client.get("/de/").get_data(as_text=True)
    assert f'href="/de{site["post"]}"' in home


def test_missing_pages_answer_404_in_the_addressed_language(app, client):
    response = client.get("/de/no-such-page")
    assert response.status_code == 404
    assert html_lang(response) == "de"


@pytest.mark.parametrize(
    ("url", "location"),
    [
        ("/de", "/de/"),
        ("/de?page=2", "/de/?page=2"),
        ("/en", "/"),
        ("/en/", "/"),
        ("/en/posts/hello?page=2", "/posts/hello?page=2"),
        ("/en/de/", "/de/"),
        # Never a way to another host.
        ("/en//evil.example.com/", "/evil.example.com/"),
        ("/en/\\evil.example.com", "/evil.example.com"),
        ("/en/%2F%2Fevil.example.com", "/evil.example.com"),
    ],
)
def test_prefix_redirects(app, client, url, location):
    """The default language has no prefix; a bare /de gets its slash (both permanent)."""
    response = client.get(url)
    assert response.status_code == 301, url
    assert response.headers["Location"] == location
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "public" in response.headers["Cache-Control"]
    assert not response.headers.getlist("Set-Cookie")


def test_lang_argument_on_readers_pages_redirects_to_the_language_address(app, client, site):
    """A public page has one address per language: ?lang= moves there (the query stays)."""
    post = site["post"]
    cases = {
        f"{post}?lang=de": f"/de{post}",
        f"/de{post}?lang=en": post,
        f"/de{post}?lang=de": f"/de{post}",
        "/?lang=de&page=2": "/de/?page=2",
        "/search?q=Haus&lang=de": "/de/search?q=Haus",
        "/de/?lang=en": "/?lang=en",
    }
    for url, location in cases.items():
        response = client.get(url)
        assert response.status_code == 301, url
        assert response.headers["Location"] == location, url
    # A language nobody offers is ignored: the page as it is.
    assert client.get(f"{post}?lang=xx").status_code == 200


# --- "/" and Accept-Language --------------------------------------------------------------


def test_home_redirects_by_accept_language(app, client):
    """Only `/` looks at Accept-Language: 302 to /de/, kept by nobody but the browser."""
    response = client.get("/", headers=GERMAN)
    assert response.status_code == 302
    assert response.headers["Location"] == "/de/"
    assert "Accept-Language" in response.headers["Vary"]
    assert response.headers["Cache-Control"] == "private, max-age=0"
    assert not response.headers.getlist("Set-Cookie")
    assert client.head("/", headers=GERMAN).status_code == 302


@pytest.mark.parametrize("header", [None, "en-GB,en;q=0.9", "fr-FR", "en;q=0.9,de;q=0.5"])
def test_home_in_english_says_it_varies_by_accept_language(app, client, header):
    """The English home at `/` answers by the header too, so it says so (Vary)."""
    headers = {"Accept-Language": header} if header else {}
    response = client.get("/", headers=headers)
    assert response.status_code == 200
    assert html_lang(response) == "en"
    assert "Accept-Language" in response.headers["Vary"]
    assert response.headers["Cache-Control"].startswith("public")


def test_english_link_of_the_home_page_is_never_redirected(app, client):
    response = client.get("/?lang=en", headers=GERMAN)
    assert response.status_code == 200
    assert html_lang(response) == "en"
    assert "Accept-Language" not in response.headers.get("Vary", "")
    german = client.get("/de/", headers={"Accept-Language": "en"})
    assert german.status_code == 200 and html_lang(german) == "de"
    assert "Accept-Language" not in german.headers.get("Vary", "")


def test_other_readers_pages_ignore_accept_language(app, client, site):
    for path in (*site.values(), "/?page=1"):
        response = client.get(path, headers=GERMAN)
        assert response.status_code == 200, path
        assert html_lang(response) == "en", path
        assert "Accept-Language" not in response.headers.get("Vary", ""), path


def test_readers_pages_ignore_the_saved_and_session_choice(app, browser, client, site):
    """A person who chose German in the dashboard still gets English at English addresses."""
    make_user("leser@example.com")
    browser.login("leser@example.com", PASSWORD)
    token = browser.csrf("/account/settings")
    client.post("/language", data={"csrf_token": token, "language": "de", "next": "/"})
    for path in ("/?lang=en", *site.values()):
        response = client.get(path, headers=GERMAN)
        assert html_lang(response) == "en", path
        assert response.headers["Cache-Control"] == "private, no-store", path
    assert html_lang(client.get(f"/de{site['post']}")) == "de"


# --- Dashboard and account pages ----------------------------------------------------------


def test_account_pages_keep_every_way_of_choosing(app, client, ctx):
    """?lang=, Accept-Language and the /de prefix all choose German on account pages."""
    for url, headers in [
        ("/account/login?lang=de", {}),
        ("/account/login", GERMAN),
        ("/de/account/login", {}),
    ]:
        response = client.get(url, headers=headers)
        assert response.status_code == 200, url
        assert "Passwort" in response.get_data(as_text=True), url
    assert "Passwort" not in client.get("/account/login").get_data(as_text=True)


def test_dashboard_follows_the_saved_choice_and_the_prefix(app, browser, client, ctx):
    make_user("editor@example.com", roles=("editor",))
    browser.login("editor@example.com", PASSWORD)
    assert "Beiträge" not in client.get("/admin/posts/").get_data(as_text=True)
    # The prefix chooses German for this address only.
    assert "Beiträge" in client.get("/de/admin/posts/").get_data(as_text=True)
    assert "Beiträge" not in client.get("/admin/posts/").get_data(as_text=True)
    # The language form (POST /language) still saves the choice for the dashboard.
    token = browser.csrf("/admin/posts/")
    response = client.post(
        "/language", data={"csrf_token": token, "language": "de", "next": "/admin/posts/"}
    )
    assert response.status_code == 302 and response.headers["Location"] == "/admin/posts/"
    assert "Beiträge" in client.get("/admin/posts/").get_data(as_text=True)


def test_mail_links_from_a_german_page_stay_german(app, client, ctx):
    """Links built in a /de request (a reset mail, say) keep the prefix and still work."""
    make_user("reader@example.com")
    page = client.get("/de/account/reset").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    client.post("/de/account/reset", data={"email": "reader@example.com", "csrf_token": token})
    outbox = app.extensions["mailman"].outbox
    assert len(outbox) == 1
    link = re.search(r"http://localhost(/\S+)", outbox[0].body).group(1)
    assert link.startswith("/de/account/reset/")
    assert client.get(link).status_code == 200


# --- language_links() ---------------------------------------------------------------------


@pytest.fixture
def links_app(variant):
    """An app with a route that answers its language_links() as JSON."""
    application = variant()
    application.add_url_rule("/links-test", "links_test", lambda: jsonify(language_links()))
    application.add_url_rule(
        "/account/links-test", "account_links_test", lambda: jsonify(language_links())
    )
    return application


def links_of(client, url) -> dict[str, dict]:
    """Return the language links of an address by language code."""
    response = client.get(url)
    assert response.status_code == 200, url
    return {link["code"]: link for link in response.get_json()}


def test_language_links_name_the_same_page_in_each_language(links_app):
    client = links_app.test_client()
    english = links_of(client, "/links-test?page=2&q=Haus")
    assert english["en"] == {
        "code": "en",
        "name": "English",
        "href": "/links-test?page=2&q=Haus",
        "current": True,
    }
    assert english["de"] == {
        "code": "de",
        "name": "Deutsch",
        "href": "/de/links-test?page=2&q=Haus",
        "current": False,
    }
    german = links_of(client, "/de/links-test?page=2")
    assert german["de"]["current"] and not german["en"]["current"]
    assert german["en"]["href"] == "/links-test?page=2"
    assert german["de"]["href"] == "/de/links-test?page=2"


def test_language_links_on_account_pages_choose_english_explicitly(links_app):
    """There the address alone does not decide, so English is asked for with ?lang=en."""
    links = links_of(links_app.test_client(), "/de/account/links-test")
    assert links["en"]["href"] == "/account/links-test?lang=en"
    assert links["de"]["href"] == "/de/account/links-test"


def test_home_page_language_links(app, client):
    """The English link of the home page is /?lang=en, which never redirects."""
    for url in ("/?lang=en", "/de/"):
        html = client.get(url).get_data(as_text=True)
        assert 'href="/?lang=en"' in html, url
        assert 'href="/de/"' in html, url


def test_a_single_language_site_has_no_prefixes(variant):
    application = variant(LANGUAGES=["en"], BABEL_DEFAULT_LOCALE="en")
    client = application.test_client()
    assert client.get("/", headers=GERMAN).status_code == 200
    assert client.get("/de/").status_code == 404
    assert client.get("/en/").status_code == 301


def test_lang_redirects_never_leave_the_site(app, client):
    """A path that starts with two slashes is written back as one."""
    for path, lang, location in [
        ("//evil.example.com", "en", "/evil.example.com"),
        ("/\\evil.example.com", "en", "/evil.example.com"),
        ("//evil.example.com", "de", "/de//evil.example.com"),
    ]:
        response = client.get(
            "/", query_string={"lang": lang}, environ_overrides={"PATH_INFO": path}
        )
        assert response.status_code == 301, path
        assert response.headers["Location"] == location, path
