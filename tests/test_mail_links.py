"""Links that leave the site never come from a request's Host header (issue 10, item 7).

Every mail Flask-Security sends with a link (reset, confirmation, confirmation resend, the
"already registered" mail, the password-changed notice, e-mail change confirmation), and
every address of ours built with _external (preview links, canonical and social-image URLs)
names SITE_URL or SERVER_NAME; with neither set only the loopback names are answered.
"""

import logging
import re
import socket
import urllib.parse
from urllib.parse import urlsplit

import pytest

from cms import create_app
from cms.extensions import db
from cms.hosts import SiteURLError
from cms.models import PostStatus
from cms.services.accounts import ensure_roles
from cms.services.media import store_upload
from cms.services.previews import preview_url
from tests.factories import PASSWORD, image_bytes, make_post, make_user
from tests.helpers import IsolatedClient, csrf_token_from, links_in, parse_forms
from tests.servers import ServerProcess, fresh_database_url

NEW_PASSWORD = "another long passphrase 4 tests"
HOSTILE_HOSTS = [
    "attacker.example",
    "attacker.example:5000",
    "127.0.0.1.attacker.example",
    "127.0.0.1.attacker.example:5000",
    "localhost@attacker.example",
    "localhost:5000@attacker.example",
    "LOCALHOST.attacker.example",
    "localhost.attacker.example",
    "attacker.example#localhost",
    "attacker.example/localhost",
    "127.0.0.2",
    "0.0.0.0:5000",
    "[::2]:5000",
    "[::1].attacker.example",
    "",
]
# Headers some proxies set; without TRUSTED_PROXY_COUNT nobody may steer links with them.
FORWARDING_HEADERS = [
    {"X-Forwarded-Host": "attacker.example"},
    {"X-Forwarded-Host": "attacker.example", "X-Forwarded-Proto": "https"},
    {"X-Forwarded-Server": "attacker.example", "X-Host": "attacker.example"},
    {"Forwarded": "host=attacker.example;proto=https"},
    {"X-Original-Host": "attacker.example", "X-Forwarded-Port": "6666"},
]


# --- Mail flows: each posts one form and makes the app send one mail with a link ------------


def prepare_reset():
    make_user("reset@example.com")
    return "/account/reset", {"email": "reset@example.com"}, "/account/reset/"


def prepare_register():
    data = {"email": "new@example.com", "password": PASSWORD, "password_confirm": PASSWORD}
    return "/account/register", data, "/account/confirm/"


def prepare_register_existing():
    make_user("taken@example.com")
    data = {"email": "taken@example.com", "password": PASSWORD, "password_confirm": PASSWORD}
    return "/account/register", data, "/account/reset"


def prepare_resend_confirmation():
    make_user("pending@example.com", confirmed=False)
    return "/account/confirm", {"email": "pending@example.com"}, "/account/confirm/"


def prepare_change_password():
    make_user("changer@example.com")
    data = {
        "password": PASSWORD,
        "new_password": NEW_PASSWORD,
        "new_password_confirm": NEW_PASSWORD,
    }
    return "/account/change", data, "/account/reset", "changer@example.com"


def prepare_change_email():
    make_user("mover@example.com")
    data = {"email": "moved@example.com"}
    return "/account/change-email", data, "/account/change-email/", "mover@example.com"


FLOWS = {
    "reset": prepare_reset,
    "register": prepare_register,
    "register-existing": prepare_register_existing,
    "resend-confirmation": prepare_resend_confirmation,
    "change-password": prepare_change_password,
    "change-email": prepare_change_email,
}


class Visitor:
    """A browser on `host`: cookies kept by hand, so a forged Host still carries them."""

    def __init__(self, app, host="localhost", scheme=None, **headers):
        self.app = app
        self.client = app.test_client(use_cookies=False)
        self.host = host
        # The test client speaks PREFERRED_URL_SCHEME unless told otherwise.
        self.scheme = scheme or app.config["PREFERRED_URL_SCHEME"]
        self.headers = headers
        self.cookies = {}

    def request(self, method, url, host=None, **kwargs):
        host = self.host if host is None else host
        # Over https, forms need a same-site Referer (Flask-WTF's strict check), as browsers send.
        headers = {"Host": host, "Referer": f"{self.scheme}://{host}{url}", **self.headers}
        kwargs.setdefault("environ_overrides", {"wsgi.url_scheme": self.scheme})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        response = self.client.open(url, method=method, headers=headers, **kwargs)
        for value in response.headers.getlist("Set-Cookie"):
            name, _, rest = value.partition("=")
            self.cookies[name] = rest.split(";", 1)[0]
        return response

    def form_fields(self, url) -> dict:
        page = self.request("GET", url)
        assert page.status_code == 200, (url, page.status_code)
        html = page.get_data(as_text=True)
        forms = [f for f in parse_forms(html) if f["method"] == "post" and url in f["action"]]
        fields = dict(forms[0]["fields"]) if forms else {}
        fields["csrf_token"] = csrf_token_from(html)
        return fields

    def login(self, email):
        fields = self.form_fields("/account/login")
        fields.update(email=email, password=PASSWORD)
        response = self.request("POST", "/account/login", data=fields)
        assert response.status_code == 302, response.status_code


def run_flow(app, name, visitor, post_host=None):
    """Do one mail flow as `visitor`; the final POST may claim another Host. Return it."""
    prepared = FLOWS[name]()
    url, data, _ = prepared[:3]
    if len(prepared) > 3:
        visitor.login(prepared[3])
    fields = {**visitor.form_fields(url), **data}
    return visitor.request("POST", url, host=post_host, data=fields)


def mail_links(app) -> list[str]:
    """Return every link in every mail sent so far (text and HTML parts)."""
    found = []
    for message in app.extensions["mailman"].outbox:
        bodies = [message.body] + [part[0] for part in getattr(message, "alternatives", [])]
        for body in bodies:
            found.extend(links_in(body))
    return found


def all_mail_text(app) -> str:
    parts = []
    for message in app.extensions["mailman"].outbox:
        parts.append(message.body)
        parts.extend(part[0] for part in getattr(message, "alternatives", []))
    return "\n".join(parts)


def assert_refused(response):
    """A forged host gets the plain 400 of cms.errors, not a CSRF page or anything else."""
    assert response.status_code == 400
    assert response.mimetype == "text/plain"
    assert "attacker" not in response.get_data(as_text=True)


# --- Nothing configured: loopback only --------------------------------------------------------


@pytest.mark.parametrize("host", ["localhost", "localhost:5000", "127.0.0.1:5000", "[::1]:8000"])
@pytest.mark.parametrize("flow", FLOWS)
def test_mail_links_name_the_loopback_host_used(app, ctx, flow, host):
    """With nothing configured, links name the loopback address the request came to."""
    response = run_flow(app, flow, Visitor(app, host))
    assert response.status_code in (200, 302), response.status_code
    links = mail_links(app)
    assert links
    for link in links:
        assert urlsplit(link).netloc == host, link


def paired(first: list, second: list) -> list[tuple]:
    """Return pairs that use every item of both lists at least once (not every combination).

    The host check comes before any flow runs, so each hostile value needs one flow, and
    each flow one hostile value; the whole product only repeated the same check.
    """
    count = max(len(first), len(second))
    return [(first[n % len(first)], second[n % len(second)]) for n in range(count)]


@pytest.mark.parametrize(("flow", "host"), paired(list(FLOWS), HOSTILE_HOSTS))
def test_forged_host_gets_400_and_no_mail(app, ctx, flow, host):
    """A forged Host on the form's POST (with a valid session and token) sends nothing."""
    response = run_flow(app, flow, Visitor(app), post_host=host)
    assert_refused(response)
    assert app.extensions["mailman"].outbox == []


@pytest.mark.parametrize("host", HOSTILE_HOSTS)
def test_forged_host_gets_400_on_every_page(app, client, host):
    for url in ("/", "/account/reset", "/account/login", "/no-such-page", "/healthz"):
        response = client.get(url, headers={"Host": host})
        assert_refused(response)


@pytest.mark.parametrize(("flow", "headers"), paired(list(FLOWS), FORWARDING_HEADERS))
def test_forwarding_headers_do_not_steer_links(app, ctx, flow, headers):
    """X-Forwarded-Host and friends from a client (no trusted proxy) change no link."""
    response = run_flow(app, flow, Visitor(app, "localhost", **headers))
    assert response.status_code in (200, 302)
    links = mail_links(app)
    assert links and all(link.startswith("http://localhost/") for link in links), links
    assert "attacker" not in all_mail_text(app)


def test_absolute_url_in_the_test_client_is_its_host(app, ctx):
    """An absolute address names the host: a foreign one is refused like the Host header."""
    make_user("reset@example.com")
    visitor = Visitor(app)
    fields = {**visitor.form_fields("/account/reset"), "email": "reset@example.com"}
    response = visitor.client.post(
        "http://attacker.example/account/reset",
        data=fields,
        headers={"Cookie": "; ".join(f"{k}={v}" for k, v in visitor.cookies.items())},
    )
    assert_refused(response)
    assert app.extensions["mailman"].outbox == []


# --- SITE_URL / SERVER_NAME set --------------------------------------------------------------


@pytest.fixture(scope="module")
def site_apps(app, app_config, tmp_path_factory):
    """Apps with extra settings on the session's database, built once per settings per module.

    Building an app costs about as much as a mail flow; the cases below share a few settings.
    """
    made = {}

    def build(**settings):
        key = repr(sorted(settings.items()))
        if key not in made:
            folder = tmp_path_factory.mktemp("site")
            made[key] = create_app(
                {
                    **app_config,
                    "INSTANCE_PATH": str(folder / "instance"),
                    "UPLOAD_FOLDER": str(folder / "uploads"),
                    **settings,
                }
            )
            made[key].test_client_class = IsolatedClient
        application = made[key]
        # Each case reads only the mail it made itself.
        application.extensions["mailman"].outbox = []
        return application

    yield build
    for application in made.values():
        with application.app_context():
            db.engine.dispose()


SITE_SETTINGS = [
    ({"SITE_URL": "https://cms.example.org"}, "cms.example.org", "https://cms.example.org/"),
    ({"SITE_URL": "https://cms.example.org/"}, "cms.example.org", "https://cms.example.org/"),
    (
        {"SITE_URL": "http://cms.example.org:8080"},
        "cms.example.org:8080",
        "http://cms.example.org:8080/",
    ),
    ({"SERVER_NAME": "cms.example.org"}, "cms.example.org", "http://cms.example.org/"),
    (
        # Several names answered; links still name SITE_URL whichever one a request used.
        {
            "SITE_URL": "https://cms.example.org",
            "TRUSTED_HOSTS": ["cms.example.org", "old.example"],
        },
        "old.example",
        "https://cms.example.org/",
    ),
]


@pytest.mark.parametrize("settings,host,prefix", SITE_SETTINGS)
@pytest.mark.parametrize("flow", FLOWS)
def test_mail_links_name_the_configured_site(site_apps, ctx, flow, settings, host, prefix):
    application = site_apps(**settings)
    response = run_flow(application, flow, Visitor(application, host))
    assert response.status_code in (200, 302)
    links = mail_links(application)
    assert links and all(link.startswith(prefix) for link in links), links
    # Other hosts are refused.
    for hostile in ("attacker.example", "cms.example.org.attacker.example", "localhost"):
        assert_refused(application.test_client().get("/account/reset", headers={"Host": hostile}))


@pytest.mark.parametrize("flow", FLOWS)
def test_site_url_scheme_wins_over_the_request_scheme(site_apps, ctx, flow):
    """Behind a TLS proxy nobody declared, requests arrive over http: links stay https."""
    application = site_apps(SITE_URL="https://cms.example.org")
    response = run_flow(application, flow, Visitor(application, "cms.example.org", "http"))
    assert response.status_code in (200, 302)
    links = mail_links(application)
    assert links and all(link.startswith("https://cms.example.org/") for link in links), links


@pytest.mark.parametrize("trusted", [["internal.example"], ["127.0.0.1", "old.example"]])
def test_trusted_hosts_add_names_beside_the_site_url(site_apps, ctx, trusted):
    """TRUSTED_HOSTS names more hosts to answer; the site's own one is never dropped."""
    application = site_apps(SITE_URL="https://cms.example.org", TRUSTED_HOSTS=trusted)
    client = application.test_client()
    for host in ("cms.example.org", *trusted):
        assert client.get("/healthz", headers={"Host": host}).status_code == 200, host
    assert_refused(client.get("/healthz", headers={"Host": "attacker.example"}))


def test_site_url_names_canonical_social_image_and_preview_links(site_apps, ctx):
    """Canonical, og:image and preview addresses name SITE_URL, not the Host used."""
    application = site_apps(
        SITE_URL="https://cms.example.org", TRUSTED_HOSTS=["cms.example.org", "old.example"]
    )
    author = make_user("author@example.com", roles=("author",))
    image = store_upload(db.session, image_bytes(), "cover.png", author)
    db.session.commit()
    post = make_post(author, title="Hello there", social_image=image)
    draft = make_post(author, title="Not yet", status=PostStatus.DRAFT)
    page = (
        application.test_client()
        .get(
            f"/posts/{post.slug}",
            headers={"Host": "old.example"},
            environ_overrides={"wsgi.url_scheme": "http"},
        )
        .get_data(as_text=True)
    )
    canonical = re.search(r'<link rel="canonical" href="([^"]+)"', page).group(1)
    assert canonical == f"https://cms.example.org/posts/{post.slug}"
    absolute = re.findall(r'content="(https?://[^"]+)"', page)
    assert any("/uploads/" in url for url in absolute), absolute  # og:image, twitter:image
    for url in absolute:
        assert url.startswith("https://cms.example.org/"), url
    assert "old.example" not in page
    with application.test_request_context("/admin/", headers={"Host": "old.example"}):
        assert preview_url(draft).startswith("https://cms.example.org/preview/")


def test_loopback_canonical_and_preview_links_name_the_loopback_host(app, ctx):
    author = make_user("author@example.com", roles=("author",))
    post = make_post(author, title="Hello there")
    page = app.test_client().get(f"/posts/{post.slug}", headers={"Host": "127.0.0.1:5000"})
    assert f'href="http://127.0.0.1:5000/posts/{post.slug}"' in page.get_data(as_text=True)
    with app.test_request_context("/", headers={"Host": "localhost:5000"}):
        assert preview_url(post).startswith("http://localhost:5000/preview/")


@pytest.mark.parametrize(
    "value",
    [
        "cms.example.org",
        "ftp://cms.example.org",
        "javascript:alert(1)",
        "https://user:pw@cms.example.org",
        "https://cms.example.org/blog",
        "https://cms.example.org/?x=1",
        "https://cms.example.org/#top",
        "https://",
    ],
)
def test_site_url_must_be_a_plain_address(app_config, value):
    with pytest.raises(SiteURLError):
        create_app({**app_config, "SITE_URL": value})


def test_site_url_and_another_server_name_refuse_to_start(app_config):
    with pytest.raises(ValueError, match="differs"):
        create_app({**app_config, "SITE_URL": "https://a.example", "SERVER_NAME": "b.example"})


# --- The start-up warning ---------------------------------------------------------------------


POSTGRES = "postgresql+psycopg://cms@127.0.0.1:9/nowhere"


@pytest.mark.parametrize(
    "settings,warned",
    [
        ({"SQLALCHEMY_DATABASE_URI": POSTGRES}, True),
        ({"SQLALCHEMY_DATABASE_URI": POSTGRES, "TRUSTED_HOSTS": ["cms.example.org"]}, True),
        ({"SQLALCHEMY_DATABASE_URI": POSTGRES, "SITE_URL": "https://cms.example.org"}, False),
        ({"SQLALCHEMY_DATABASE_URI": POSTGRES, "SERVER_NAME": "cms.example.org"}, False),
        ({}, None),  # the suite's own database: SQLite warns nothing, PostgreSQL does
    ],
)
def test_start_warns_about_production_without_site_url(variant, caplog, settings, warned):
    with caplog.at_level(logging.WARNING, logger="cms"):
        application = variant(**settings)
    if warned is None:
        warned = not application.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite")
    messages = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("SITE_URL is not set" in m for m in messages) == warned, messages


# --- A real server: the request line's absolute URI is not the host ------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory, database_url, app_config):
    folder = tmp_path_factory.mktemp("mail-links")
    url = fresh_database_url(database_url, folder, "mail_links")
    process = ServerProcess(
        folder, url, workers=1, RATELIMIT_ENABLED="false", MAIL_BACKEND="console"
    )
    process.start()
    # The roles and the one account, written in this process: two `flask` commands (a Python
    # start and an app each) cost seconds.
    setup = create_app(
        {
            **app_config,
            "SQLALCHEMY_DATABASE_URI": url,
            "INSTANCE_PATH": str(folder / "setup"),
            "UPLOAD_FOLDER": str(folder / "setup-uploads"),
        }
    )
    with setup.app_context():
        ensure_roles()
        make_user("raw@example.com")
        db.engine.dispose()
    yield process
    process.stop()


def raw_request(server, request_line: str, host: str | None, body: str = "", cookie=""):
    """Send one HTTP/1.1 request as typed bytes; return (status, headers text, body)."""
    lines = [request_line]
    if host is not None:
        lines.append(f"Host: {host}")
    if cookie:
        lines.append(f"Cookie: {cookie}")
    if body:
        lines += ["Content-Type: application/x-www-form-urlencoded", f"Content-Length: {len(body)}"]
    lines += ["Connection: close", "", body]
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall("\r\n".join(lines).encode())
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, rest = data.decode("latin-1").partition("\r\n\r\n")
    return int(head.split()[1]), head, rest


def test_absolute_uri_request_line_does_not_name_the_host(server):
    """`POST http://attacker.example/account/reset` to the real server mails a loopback link."""
    own = f"127.0.0.1:{server.port}"
    status, head, page = raw_request(server, "GET /account/reset HTTP/1.1", own)
    assert status == 200
    cookie = re.search(r"Set-Cookie: (session=[^;]+)", head).group(1)
    token = csrf_token_from(page)
    body = urllib.parse.urlencode({"email": "raw@example.com", "csrf_token": token})
    before = server.output().count("/account/reset/")
    line = "POST http://attacker.example/account/reset HTTP/1.1"
    status, _, _ = raw_request(server, line, own, body, cookie)
    assert status in (200, 302)
    log = server.output()
    assert log.count("/account/reset/") > before
    links = [link for link in links_in(log) if "/account/reset/" in link]
    assert links and all(link.startswith(f"http://{own}/") for link in links), links
    assert "attacker" not in log.replace(line, "")
    # The same with the forged host in the Host header as well: refused.
    status, _, _ = raw_request(server, line, "attacker.example", body, cookie)
    assert status == 400
