"""Redirects after logout, registration and confirmation stay on this site; mail links never
follow a hostile Host header. SECURITY 18 (login's own tests are in test_accounts.py)."""

import pytest

from tests.accounts import HOSTILE_NEXT, assert_local, find_user, logged_in, register
from tests.factories import PASSWORD, make_user
from tests.helpers import csrf_token_from


@pytest.mark.parametrize("target", HOSTILE_NEXT)
def test_logout_next_stays_on_the_site(app, browser, client, ctx, target):
    make_user("leaving@example.com")
    browser.login("leaving@example.com", PASSWORD)
    token = browser.csrf("/")
    response = client.post(
        "/account/logout", query_string={"next": target}, data={"csrf_token": token}
    )
    assert response.status_code == 302
    assert_local(response.location)
    assert not logged_in(client)


@pytest.mark.parametrize("target", HOSTILE_NEXT)
def test_register_next_stays_on_the_site(app, browser, client, ctx, target):
    form = browser.form(f"/account/register?next={target}", match="/account/register")
    email = f"new{abs(hash(target))}@example.com"
    fields = dict(
        form["fields"], email=email, password=PASSWORD, password_confirm=PASSWORD, next=target
    )
    response = client.post(form["action"], data=fields)
    if response.status_code == 302:
        assert_local(response.location)
    else:
        assert response.status_code == 200


@pytest.mark.parametrize("target", HOSTILE_NEXT)
def test_confirmation_next_stays_on_the_site(app, browser, client, ctx, target):
    register(browser, "confirming@example.com")
    link = browser.mailed_link("/account/confirm")
    separator = "&" if "?" in link else "?"
    response = client.get(link + separator, query_string={"next": target})
    assert response.status_code == 302
    assert_local(response.location)
    assert find_user("confirming@example.com").confirmed_at is not None


def test_hostile_host_is_refused_before_any_mail(variant, ctx):
    """With TRUSTED_HOSTS set, a forgot-password POST with another Host gets 400, no mail."""
    app = variant(TRUSTED_HOSTS=["localhost"])
    make_user("target@example.com")
    client = app.test_client()
    token = csrf_token_from(client.get("/account/reset").get_data(as_text=True))
    outbox = app.extensions["mailman"].outbox
    for headers in ({"Host": "evil.example"}, {"Host": "evil.example", "X-Forwarded-Host": "x"}):
        response = client.post(
            "/account/reset",
            data={"email": "target@example.com", "csrf_token": token},
            headers=headers,
        )
        assert response.status_code == 400
    assert outbox == []
    # The trusted host still works (and its mail links name that host).
    response = client.post(
        "/account/reset", data={"email": "target@example.com", "csrf_token": token}
    )
    assert response.status_code in (200, 302)
    assert len(outbox) == 1 and "evil" not in outbox[0].body


def test_server_name_alone_refuses_hostile_hosts_and_names_itself_in_mail(variant, ctx):
    """SERVER_NAME without TRUSTED_HOSTS also refuses other hosts; mail links name SERVER_NAME."""
    app = variant(SERVER_NAME="cms.example.org")
    make_user("named@example.com")
    client = app.test_client()
    page = client.get("/account/reset", base_url="http://cms.example.org")
    assert page.status_code == 200
    token = csrf_token_from(page.get_data(as_text=True))
    outbox = app.extensions["mailman"].outbox
    response = client.post(
        "/account/reset",
        data={"email": "named@example.com", "csrf_token": token},
        base_url="http://evil.example",
    )
    assert response.status_code == 400
    assert outbox == []
    response = client.post(
        "/account/reset",
        data={"email": "named@example.com", "csrf_token": token},
        base_url="http://cms.example.org",
    )
    assert response.status_code in (200, 302)
    assert len(outbox) == 1
    assert "http://cms.example.org/account/reset/" in outbox[0].body
    assert "evil" not in outbox[0].body
