"""Throttling: brute force on the account forms and uploads is answered with 429.

The suite's app has the limits off; each test here builds a variant with them on and small
limits. Counts are per client IP and per account (the e-mail posted, or the uploading user);
only POSTs count. A spoofed X-Forwarded-For changes nothing unless a proxy is trusted.
Redis (127.0.0.1:6379) shares the counts between app instances and gunicorn workers.
"""

import http.cookiejar
import io
import re
import urllib.error
import urllib.parse
import urllib.request
import uuid

import pytest
import redis
from sqlalchemy import func, select

import settings
from cms.extensions import db
from cms.models import File
from tests.accounts import code_for, set_up_authenticator, wrong_code
from tests.factories import PASSWORD, image_bytes, make_user
from tests.helpers import Browser, csrf_token_from
from tests.servers import ServerProcess, fresh_database_url

# One prefix per test run, so counts never leak between runs sharing a Redis; removed after.
PREFIX = f"cms-test-{uuid.uuid4().hex[:12]}"
REDIS_URL = "redis://127.0.0.1:6379/9"
WRONG = "not the password at all"

# Generous limits everywhere; each test tightens the ones it checks.
LOOSE = {
    name: "1000 per minute"
    for name in dir(settings)
    if name.startswith("RATELIMIT_")
    and name[len("RATELIMIT_") :].split("_")[0]
    in {"LOGIN", "REGISTER", "RESET", "CONFIRM", "UPLOAD", "SECOND"}
}


@pytest.fixture
def throttled(variant):
    """Build an app with the limits on (in memory unless told), plus overrides."""

    def build(**overrides):
        config = {
            "RATELIMIT_ENABLED": True,
            "RATELIMIT_STORAGE_URI": "memory://",
            "RATELIMIT_STORAGE_OPTIONS": {"key_prefix": PREFIX},
            **LOOSE,
            **overrides,
        }
        application = variant(**config)
        return application, Browser(application, application.test_client())

    return build


@pytest.fixture
def redis_client():
    """A Redis connection; every key of this run is deleted afterwards."""
    client = redis.Redis.from_url(REDIS_URL)
    client.ping()
    yield client
    for key in client.scan_iter(match=f"*{PREFIX}*"):
        client.delete(key)
    client.close()


def login(browser, email, password=WRONG, **kwargs):
    """Post the login form (with its own CSRF token)."""
    return browser.submit(
        "/account/login", {"email": email, "password": password}, match="/account/login", **kwargs
    )


def ip(address):
    """Request options that make the request come from `address`."""
    return {"environ_base": {"REMOTE_ADDR": address}}


def assert_throttled(response, language="en"):
    """A 429 with Retry-After, the translated message, in the site's page."""
    assert response.status_code == 429
    retry_after = int(response.headers["Retry-After"])
    assert 0 < retry_after <= 3600
    page = response.get_data(as_text=True)
    assert response.content_type.startswith("text/html")
    assert "Python CMS" in page and "<html" in page
    if language == "de":
        assert "Zu viele Anfragen" in page
        assert "Zu viele Versuche. Bitte warten Sie einen Moment" in page
    else:
        assert "Too many requests" in page
        assert "Too many attempts. Please wait a moment and try again." in page
    assert "Traceback" not in page


# --- Login ---------------------------------------------------------------------------------


def test_login_brute_force_per_ip(throttled, ctx):
    """The 4th login POST from one IP within a minute is 429, whichever accounts it tries."""
    app, browser = throttled(RATELIMIT_LOGIN="3 per minute")
    make_user("victim@example.com")
    for number in range(3):
        response = login(browser, f"guess{number}@example.com")
        assert response.status_code == 200, number
    assert_throttled(login(browser, "victim@example.com", PASSWORD))
    # Showing the form stays free, and another IP is not affected.
    assert browser.get("/account/login").status_code == 200
    assert login(browser, "victim@example.com", **ip("198.51.100.7")).status_code != 429


def test_throttled_page_is_translated(throttled, ctx):
    """The 429 page speaks German to a German reader, by Accept-Language or ?lang=de."""
    app, browser = throttled(RATELIMIT_LOGIN="1 per minute")
    assert login(browser, "a@example.com").status_code == 200
    assert_throttled(login(browser, "a@example.com", headers={"Accept-Language": "de"}), "de")
    token = browser.csrf("/account/login")
    response = browser.client.post(
        "/account/login?lang=de",
        data={"email": "a@example.com", "password": WRONG, "csrf_token": token},
    )
    assert_throttled(response, "de")


def test_login_brute_force_per_account_across_ips(throttled, ctx):
    """One account attacked from many IPs is throttled; its e-mail is compared lower-case."""
    app, browser = throttled(RATELIMIT_LOGIN_ACCOUNT="3 per minute")
    make_user("victim@example.com")
    spellings = ["victim@example.com", "Victim@Example.com", " VICTIM@example.com "]
    for number, email in enumerate(spellings):
        assert login(browser, email, **ip(f"203.0.113.{number + 1}")).status_code == 200
    response = login(browser, "victim@example.com", PASSWORD, **ip("203.0.113.99"))
    assert_throttled(response)
    # Other accounts from those IPs still get through.
    assert login(browser, "other@example.com", **ip("203.0.113.1")).status_code == 200


def test_throttled_login_does_not_log_in(throttled, ctx):
    """Over the limit, even the right password does not log in."""
    app, browser = throttled(RATELIMIT_LOGIN_ACCOUNT="2 per minute")
    make_user("victim@example.com", roles=("editor",))
    login(browser, "victim@example.com")
    login(browser, "victim@example.com")
    assert_throttled(login(browser, "victim@example.com", PASSWORD))
    assert browser.get("/admin/").status_code in (302, 401, 403)


def test_spoofed_forwarded_for_does_not_reset_the_count(throttled, ctx):
    """Without a trusted proxy, a new X-Forwarded-For per request is ignored."""
    app, browser = throttled(RATELIMIT_LOGIN="3 per minute", TRUSTED_PROXY_COUNT=0)
    for number in range(3):
        headers = {"X-Forwarded-For": f"10.0.0.{number}"}
        assert login(browser, f"g{number}@example.com", headers=headers).status_code == 200
    response = login(browser, "g9@example.com", headers={"X-Forwarded-For": "10.0.0.99"})
    assert_throttled(response)


def test_trusted_proxy_count_uses_the_forwarded_client(throttled, ctx):
    """Behind one trusted proxy, the client IP is the last X-Forwarded-For entry."""
    app, browser = throttled(RATELIMIT_LOGIN="3 per minute", TRUSTED_PROXY_COUNT=1)
    client_a = {"X-Forwarded-For": "192.0.2.10"}
    for number in range(3):
        assert login(browser, f"a{number}@example.com", headers=client_a).status_code == 200
    assert_throttled(login(browser, "a9@example.com", headers=client_a))
    # The proxy's own address (REMOTE_ADDR) is the same, yet another client gets through;
    # an entry the client added before the proxy's own is not trusted.
    for client_b in ("192.0.2.20", "192.0.2.10, 192.0.2.20"):
        response = login(browser, "b@example.com", headers={"X-Forwarded-For": client_b})
        assert response.status_code == 200, client_b


# --- Registration, password reset, confirmation mail ---------------------------------------

ACCOUNT_FORMS = [
    pytest.param("/account/register", "RATELIMIT_REGISTER", id="register"),
    pytest.param("/account/reset", "RATELIMIT_RESET", id="forgot-password"),
    pytest.param("/account/confirm", "RATELIMIT_CONFIRM", id="confirm-resend"),
]


def post_email(browser, url, email, **kwargs):
    """Post the form on `url` with an e-mail address (and a password where it asks one)."""
    data = {"email": email, "password": PASSWORD, "password_confirm": PASSWORD}
    form = browser.form(url, match=url)
    data = {key: value for key, value in data.items() if key in form["fields"] or key == "email"}
    return browser.submit(url, data, match=url, **kwargs)


@pytest.mark.parametrize(("url", "setting"), ACCOUNT_FORMS)
def test_account_form_limited_per_ip(throttled, ctx, url, setting):
    """Many addresses from one IP: the 3rd POST is 429 and sends no mail."""
    app, browser = throttled(**{setting: "2 per minute"})
    for number in range(2):
        response = post_email(browser, url, f"person{number}@example.com")
        assert response.status_code in (200, 302), (number, response.status_code)
    mails = len(browser.outbox)
    assert_throttled(post_email(browser, url, "person9@example.com"))
    assert len(browser.outbox) == mails
    assert browser.get(url).status_code == 200


@pytest.mark.parametrize(("url", "setting"), ACCOUNT_FORMS)
def test_account_form_limited_per_account(throttled, ctx, url, setting):
    """One address from many IPs (mail bombing): the 3rd POST is 429."""
    app, browser = throttled(**{f"{setting}_ACCOUNT": "2 per minute"})
    make_user("target@example.com", confirmed=False)
    for number in range(2):
        response = post_email(browser, url, "target@example.com", **ip(f"198.51.100.{number}"))
        assert response.status_code in (200, 302), (number, response.status_code)
    assert_throttled(post_email(browser, url, "TARGET@example.com", **ip("198.51.100.50")))
    assert post_email(browser, url, "else@example.com", **ip("198.51.100.50")).status_code in (
        200,
        302,
    )


def test_limits_are_off_in_the_suite(browser, ctx):
    """The suite's own app (RATELIMIT_ENABLED False) never throttles."""
    for _ in range(15):
        assert login(browser, "someone@example.com").status_code == 200


def test_limits_are_on_by_default():
    """Production settings throttle login, registration, reset, confirmation and uploads."""
    assert settings.RATELIMIT_ENABLED is True
    assert settings.RATELIMIT_HEADERS_ENABLED is True
    assert settings.TRUSTED_PROXY_COUNT == 0
    for name in ("LOGIN", "REGISTER", "RESET", "CONFIRM", "UPLOAD"):
        for suffix in ("", "_ACCOUNT"):
            assert re.match(r"\d+ per ", getattr(settings, f"RATELIMIT_{name}{suffix}"))


# --- Uploads --------------------------------------------------------------------------------


def upload(browser, name):
    """Upload a small image through the Files form."""
    page = browser.get("/admin/files/new/").get_data(as_text=True)
    field = re.search(r'<input[^>]*type="file"[^>]*name="([^"]+)"', page) or re.search(
        r'<input[^>]*name="([^"]+)"[^>]*type="file"', page
    )
    return browser.client.post(
        "/admin/files/new/",
        data={
            "csrf_token": csrf_token_from(page),
            field.group(1): (io.BytesIO(image_bytes()), name),
        },
        content_type="multipart/form-data",
    )


def test_uploads_limited_per_user(throttled, ctx):
    """The 3rd upload of one user within a minute is 429 and stores nothing; others go on."""
    app, browser = throttled(RATELIMIT_UPLOAD_ACCOUNT="2 per minute")
    make_user("first@example.com", roles=("editor",))
    make_user("second@example.com", roles=("editor",))
    assert login(browser, "first@example.com", PASSWORD).status_code == 302
    for number in range(2):
        assert upload(browser, f"pic{number}.png").status_code == 302
    assert_throttled(upload(browser, "pic9.png"))
    assert db.session.scalar(select(func.count(File.id))) == 2
    # The upload form itself still opens.
    assert browser.get("/admin/files/new/").status_code == 200

    other = Browser(app, app.test_client())
    assert login(other, "second@example.com", PASSWORD).status_code == 302
    assert upload(other, "theirs.png").status_code == 302
    assert db.session.scalar(select(func.count(File.id))) == 3


def test_uploads_limited_per_ip(throttled, ctx):
    """Uploads also count per IP, across users."""
    app, browser = throttled(RATELIMIT_UPLOAD="1 per minute")
    make_user("first@example.com", roles=("editor",))
    assert login(browser, "first@example.com", PASSWORD).status_code == 302
    assert upload(browser, "one.png").status_code == 302
    assert_throttled(upload(browser, "two.png"))


# --- Redis: counts shared between app instances and worker processes -----------------------


def test_two_app_instances_share_counts_in_redis(throttled, ctx, redis_client):
    """Two apps on one Redis: attempts on one count on the other."""
    options = {"REDIS_URL": REDIS_URL, "RATELIMIT_STORAGE_URI": REDIS_URL}
    first, first_browser = throttled(RATELIMIT_LOGIN="3 per minute", **options)
    second, second_browser = throttled(RATELIMIT_LOGIN="3 per minute", **options)
    for number in range(3):
        assert login(first_browser, f"x{number}@example.com").status_code == 200
    assert_throttled(login(second_browser, "y@example.com"))
    assert list(redis_client.scan_iter(match=f"*{PREFIX}*security.login*"))


def test_storage_follows_redis_url(monkeypatch):
    """settings.py keeps counts in memory unless REDIS_URL is set."""
    import importlib

    monkeypatch.delenv("RATELIMIT_STORAGE_URI", raising=False)
    monkeypatch.delenv("REDIS_URL", raising=False)
    try:
        assert importlib.reload(settings).RATELIMIT_STORAGE_URI == "memory://"
        monkeypatch.setenv("REDIS_URL", REDIS_URL)
        monkeypatch.setenv("TRUSTED_PROXY_COUNT", "2")
        monkeypatch.setenv("RATELIMIT_LOGIN", "7 per minute")
        reloaded = importlib.reload(settings)
        assert reloaded.RATELIMIT_STORAGE_URI == REDIS_URL
        assert reloaded.TRUSTED_PROXY_COUNT == 2
        assert reloaded.RATELIMIT_LOGIN == "7 per minute"
    finally:
        monkeypatch.undo()
        importlib.reload(settings)


def start(server):
    """Start the server; on a busy machine its first answer may take longer than usual."""
    try:
        server.start()
    except TimeoutError:
        # ServerProcess.start waits for refused connections, not for slow first answers.
        urllib.request.urlopen(server.url + "/healthz", timeout=30).close()


def test_gunicorn_workers_share_counts_in_redis(tmp_path, database_url, redis_client):
    """A real gunicorn with two workers and REDIS_URL: exactly the limit gets through."""
    server = ServerProcess(
        tmp_path,
        fresh_database_url(database_url, tmp_path, "limits"),
        workers=2,
        REDIS_URL=REDIS_URL,
        RATELIMIT_KEY_PREFIX=PREFIX,
        RATELIMIT_LOGIN="4 per minute",
        RATELIMIT_LOGIN_ACCOUNT="100 per minute",
    )
    try:
        start(server)
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        with opener.open(server.url + "/account/login") as response:
            token = csrf_token_from(response.read().decode())
        statuses = []
        for number in range(12):
            body = urllib.parse.urlencode(
                {"email": f"w{number}@example.com", "password": WRONG, "csrf_token": token}
            ).encode()
            try:
                with opener.open(server.url + "/account/login", data=body) as response:
                    statuses.append(response.status)
            except urllib.error.HTTPError as error:
                statuses.append(error.code)
                if error.code == 429:
                    assert int(error.headers["Retry-After"]) > 0
                error.close()
        assert statuses.count(429) == 8, statuses
        assert statuses[:4] == [200] * 4, statuses
        assert list(redis_client.scan_iter(match=f"*{PREFIX}*security.login*"))
    finally:
        server.stop()


# --- Second factor ---------------------------------------------------------------------------


def test_second_factor_codes_are_limited_per_account(throttled, ctx):
    """Six-digit codes cannot be guessed at full speed, even from many addresses."""
    app, browser = throttled(RATELIMIT_SECOND_FACTOR_ACCOUNT="3 per minute")
    make_user("guarded@example.com", roles=("editor",))
    assert login(browser, "guarded@example.com", PASSWORD).status_code == 302
    key = set_up_authenticator(browser)
    browser.logout()
    assert login(browser, "guarded@example.com", PASSWORD).status_code in (200, 302)
    for number in range(3):
        refused = browser.submit(
            "/account/tf-validate", {"code": wrong_code(key)}, match="tf-validate",
            **ip(f"198.51.100.{number}"),
        )  # fmt: skip
        assert refused.status_code == 200
    blocked = browser.submit(
        "/account/tf-validate", {"code": code_for(key)}, match="tf-validate",
        **ip("198.51.100.99"),
    )  # fmt: skip
    assert_throttled(blocked)
    assert browser.get("/admin/").status_code == 302  # still not logged in
