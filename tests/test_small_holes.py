"""Smaller holes of issue 10, item 9, each closed as a class: tags of unpublished posts,
previews of trashed or deleted posts, private SQLite files, one gunicorn control socket per
user, uploads counted per file, and logins with an off-site `next`."""

import io
import os
import stat
import subprocess
import urllib.request
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
from sqlalchemy import func, select, text

import settings
from cms.config import create_private_sqlite_file
from cms.extensions import db
from cms.models import File, Post, PostStatus, utcnow
from cms.services.previews import preview_token
from tests.accounts import HOSTILE_NEXT, assert_local, logged_in
from tests.factories import PASSWORD, image_bytes, make_post, make_tag, make_user
from tests.helpers import Browser, csrf_token_from
from tests.servers import ROOT, ServerProcess, fresh_database_url

# Every limit generous except the ones a test tightens.
LOOSE = {
    name: "1000 per minute"
    for name in dir(settings)
    if name.startswith("RATELIMIT_")
    and isinstance(getattr(settings, name), str)
    and " per " in getattr(settings, name)
}

# --- Tags: a tag no reader can see a post of has no page ------------------------------------

HIDDEN = {
    "draft": {"status": PostStatus.DRAFT},
    "review": {"status": PostStatus.REVIEW},
    "scheduled": {"published_at": timedelta(days=1)},
    "trashed": {"status": PostStatus.TRASHED},
    "unpublished-by-time": {"unpublish_at": -timedelta(minutes=1)},
    "published-without-time": {"status": PostStatus.PUBLISHED, "published_at": None},
}


def hidden_post(author, tag, state: str) -> Post:
    """A post carrying `tag` that readers cannot see, for the reason `state`."""
    fields = dict(HIDDEN[state])
    post = make_post(author, title=f"Hidden {state}", tags=[tag])
    for name, value in fields.items():
        if isinstance(value, timedelta):
            value = utcnow() + value
        setattr(post, name, value)
    db.session.commit()
    return post


@pytest.mark.parametrize("state", HIDDEN)
def test_tag_of_only_unpublished_posts_is_404(app, client, ctx, state):
    author = make_user("author@example.com", roles=("author",))
    tag = make_tag("Secret project")
    hidden_post(author, tag, state)
    unknown = client.get("/tags/no-such-tag")
    response = client.get(f"/tags/{tag.slug}")
    assert response.status_code == unknown.status_code == 404
    assert "Secret project" not in response.get_data(as_text=True)
    assert client.get(f"/tags/{tag.slug}?page=2").status_code == 404


def test_tag_of_every_kind_of_hidden_post_is_404_until_one_is_published(app, client, ctx):
    author = make_user("author@example.com", roles=("author",))
    tag = make_tag("Mixed")
    for state in HIDDEN:
        hidden_post(author, tag, state)
    make_tag("Unused")  # a tag with no posts at all
    assert client.get(f"/tags/{tag.slug}").status_code == 404
    assert client.get("/tags/unused").status_code == 404
    make_post(author, title="Out now", tags=[tag])
    response = client.get(f"/tags/{tag.slug}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Out now" in page and "Hidden" not in page


# --- Previews end with the post ---------------------------------------------------------------


@pytest.fixture
def draft(ctx):
    author = make_user("author@example.com", roles=("author",))
    return make_post(author, title="Draft for review", status=PostStatus.DRAFT)


def token_for(app, post) -> str:
    with app.test_request_context():
        return preview_token(post)


def test_preview_stops_when_the_post_is_trashed(app, client, draft):
    token = token_for(app, draft)
    assert client.get(f"/preview/{token}").status_code == 200
    draft.status = PostStatus.TRASHED
    draft.trashed_at = utcnow()
    db.session.commit()
    response = client.get(f"/preview/{token}")
    assert response.status_code == 404
    assert "Draft for review" not in response.get_data(as_text=True)


def test_preview_stops_when_the_post_is_deleted(app, client, draft):
    token = token_for(app, draft)
    db.session.delete(draft)
    db.session.commit()
    assert client.get(f"/preview/{token}").status_code == 404


def test_preview_of_a_deleted_post_never_opens_a_newer_one_with_its_id(app, client, draft):
    """SQLite gives a deleted post's id to the next post; its old links must not open it."""
    token = token_for(app, draft)
    ident, author = draft.id, draft.author
    db.session.delete(draft)
    db.session.commit()
    newcomer = Post(
        id=ident,
        title="Someone else's secret",
        slug="someone-elses-secret",
        body_md="",
        body_html="<p>private</p>",
        status=PostStatus.DRAFT,
        author=author,
        created_at=utcnow() + timedelta(seconds=5),
    )
    db.session.add(newcomer)
    db.session.commit()
    response = client.get(f"/preview/{token}")
    assert response.status_code == 404
    assert "private" not in response.get_data(as_text=True)
    # The newcomer's own link works.
    assert client.get(f"/preview/{token_for(app, newcomer)}").status_code == 200


# --- The SQLite database is private like the secrets beside it ------------------------------


def test_fresh_instance_folder_and_database_are_private(variant, tmp_path):
    instance = tmp_path / "fresh" / "instance"
    database = instance / "cms.db"
    old_umask = os.umask(0o022)  # the usual one, under which SQLite makes 0644 files
    try:
        application = variant(
            INSTANCE_PATH=str(instance), SQLALCHEMY_DATABASE_URI=f"sqlite:///{database}"
        )
        with application.app_context(), db.engine.connect() as conn:
            conn.execute(text("CREATE TABLE probe (x INTEGER)"))
            conn.execute(text("INSERT INTO probe VALUES (1)"))
            conn.commit()
            # While a connection is open the WAL files exist (journal_mode=WAL at connect).
            modes = {
                path.name: stat.S_IMODE(path.stat().st_mode)
                for path in instance.iterdir()
                if path.name.startswith("cms.db")
            }
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(instance.stat().st_mode) == 0o700
    assert {"cms.db", "cms.db-wal", "cms.db-shm"} <= set(modes), modes
    assert all(mode == 0o600 for mode in modes.values()), {k: oct(v) for k, v in modes.items()}
    for secret in ("secret_key", "salt", "totp_secret", "recovery_codes_key"):
        if (instance / secret).exists():
            assert stat.S_IMODE((instance / secret).stat().st_mode) == 0o600


def test_existing_database_file_is_left_alone(variant, tmp_path):
    """Only what the app creates is made private; an operator's own file keeps its mode."""
    instance = tmp_path / "own"
    instance.mkdir()
    database = instance / "cms.db"
    database.touch(mode=0o640)
    os.chmod(database, 0o640)
    variant(INSTANCE_PATH=str(instance), SQLALCHEMY_DATABASE_URI=f"sqlite:///{database}")
    assert stat.S_IMODE(database.stat().st_mode) == 0o640


# --- gunicorn: no shared control socket -------------------------------------------------------


@pytest.fixture(scope="module")
def two_servers(tmp_path_factory, database_url):
    """Two servers at once, with a home and runtime folder of their own to look into."""
    home = tmp_path_factory.mktemp("home")
    servers = []
    for name in ("first", "second"):
        folder = tmp_path_factory.mktemp(name)
        servers.append(
            ServerProcess(
                folder,
                fresh_database_url(database_url, folder, f"side_{name}"),
                workers=1,
                HOME=str(home),
                XDG_RUNTIME_DIR=str(home / "run"),
            )
        )
    (home / "run").mkdir()
    try:
        for server in servers:
            server.start()
        yield home, servers
    finally:
        for server in servers:
            server.stop()


def answers(server) -> bool:
    with urllib.request.urlopen(server.url + "/healthz", timeout=10) as response:
        return response.status == 200


def test_two_servers_run_side_by_side_without_a_control_socket(two_servers):
    home, (first, second) = two_servers
    assert answers(first) and answers(second)
    sockets = [path for path in home.rglob("*") if path.is_socket() or path.suffix == ".ctl"]
    assert sockets == []
    for server in (first, second):
        assert "control socket" not in server.output().lower()
    first.stop()
    assert answers(second)


def test_make_run_starts_gunicorn_without_a_control_socket():
    dry_run = subprocess.run(
        ["make", "-n", "run", "PORT=5999"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    line = next(line for line in dry_run.splitlines() if "gunicorn" in line and "--bind" in line)
    assert "--no-control-socket" in line.split()


# --- Uploads are counted per file -------------------------------------------------------------


@pytest.fixture
def uploader(variant, ctx):
    """Build an app with the limits on; return it with an editor logged in."""

    def build(**limits):
        application = variant(
            RATELIMIT_ENABLED=True,
            RATELIMIT_STORAGE_URI="memory://",
            RATELIMIT_STORAGE_OPTIONS={"key_prefix": "cms-test-small-holes"},
            **{**LOOSE, **limits},
        )
        browser = Browser(application, application.test_client())
        make_user("editor@example.com", roles=("editor",))
        assert browser.login("editor@example.com", PASSWORD).status_code == 302
        return application, browser

    return build


def post_files(browser, count: int, as_json: bool):
    """Upload `count` different small images in one request (the form, or the editor's JSON)."""
    page = browser.get("/admin/files/new/").get_data(as_text=True)
    files = [
        (io.BytesIO(image_bytes(color=(n % 256, n // 256, 7))), f"pic{n}.png")
        for n in range(post_files.counter, post_files.counter + count)
    ]
    post_files.counter += count
    headers = {"Accept": "application/json"} if as_json else {}
    return browser.client.post(
        "/admin/files/new/",
        data={"csrf_token": csrf_token_from(page), "upload": files},
        content_type="multipart/form-data",
        headers=headers,
    )


post_files.counter = 0


def stored() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count(File.id)))


@pytest.mark.parametrize("as_json", [False, True], ids=["form", "editor-json"])
@pytest.mark.parametrize("setting", ["RATELIMIT_UPLOAD", "RATELIMIT_UPLOAD_ACCOUNT"])
def test_each_file_of_an_upload_counts_against_the_limit(uploader, setting, as_json):
    application, browser = uploader(**{setting: "5 per minute"})
    assert post_files(browser, 3, as_json).status_code in (200, 302)
    assert stored() == 3
    assert post_files(browser, 2, as_json).status_code in (200, 302)
    assert stored() == 5
    # The allowance is spent: the next request is refused whole, even with one file.
    assert post_files(browser, 1, as_json).status_code == 429
    assert stored() == 5


@pytest.mark.parametrize("as_json", [False, True], ids=["form", "editor-json"])
@pytest.mark.parametrize("setting", ["RATELIMIT_UPLOAD", "RATELIMIT_UPLOAD_ACCOUNT"])
def test_an_upload_over_the_allowance_stores_nothing(uploader, setting, as_json):
    application, browser = uploader(**{setting: "5 per minute"})
    assert post_files(browser, 3, as_json).status_code in (200, 302)
    # Three more would make six: none of them is stored, not even the two that would fit.
    assert post_files(browser, 3, as_json).status_code == 429
    assert stored() == 3


@pytest.mark.parametrize("count", [6, 20, 200])
def test_one_request_with_more_files_than_the_allowance_stores_nothing(uploader, count):
    application, browser = uploader(RATELIMIT_UPLOAD="5 per minute")
    assert post_files(browser, count, as_json=True).status_code == 429
    assert stored() == 0


def test_many_requests_cannot_bring_many_files(uploader):
    """The report's case: 20 requests of 50 files each brought 1,000 files."""
    application, browser = uploader(RATELIMIT_UPLOAD="60 per minute")
    statuses = [post_files(browser, 50, as_json=True).status_code for _ in range(20)]
    assert statuses.count(429) == 19
    assert stored() == 50


# --- Login with an off-site next: log in, go to the safe default -----------------------------

MORE_HOSTILE_NEXT = [
    "https://localhost.evil.example/",
    "http://localhost@evil.example/",
    "//localhost@evil.example",
    "https://evil.example\\@localhost/",
    "http:/\\evil.example",
    "\t//evil.example",
    "/\t/evil.example",
    "https://evil.example:443/account/",
    "HTTPS://EVIL.EXAMPLE",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    "//evil.example/%2e%2e",
    "https://evil.example#@localhost",
]
OFF_SITE = HOSTILE_NEXT + MORE_HOSTILE_NEXT


def assert_on_site(location: str) -> None:
    """A redirect a browser keeps on this site: no host, no `//` or backslash to escape by.

    Usually the account page (staff go on to the dashboard from there); Flask-Security turns
    some odd values into harmless paths of this site instead (`/%5Cevil...`, `/evil...`).
    """
    assert_local(location)
    parts = urlsplit(location)
    assert parts.netloc in ("", "localhost"), location
    assert not parts.path.startswith("//") and "\\" not in location, location
    assert not parts.scheme or parts.scheme in ("http", "https"), location


def assert_safe_landing(response, client):
    """Logged in, and sent to a page of this site."""
    assert response.status_code == 302, response.status_code
    assert_on_site(response.location)
    assert logged_in(client)


@pytest.mark.parametrize("target", OFF_SITE)
@pytest.mark.parametrize("where", ["query", "form", "both"])
def test_login_with_an_off_site_next_logs_in_and_goes_home(
    app, browser, client, ctx, target, where
):
    make_user("reader@example.com")
    url = "/account/login"
    if where in ("query", "both"):
        url += "?next=" + quote(target, safe="")
    form = browser.form(url, match="/account/login")
    fields = dict(form["fields"], email="reader@example.com", password=PASSWORD)
    if where in ("form", "both"):
        fields["next"] = target
    response = client.post(form["action"], data=fields)
    assert_safe_landing(response, client)
    if urlsplit(target.strip()).netloc:
        # Plainly another host: the usual landing page.
        assert urlsplit(response.location).path == "/account/"
    assert "Redirections outside the domain are forbidden" not in response.get_data(as_text=True)


@pytest.mark.parametrize("target", OFF_SITE[:6])
def test_off_site_next_with_the_wrong_password_still_fails(app, browser, client, ctx, target):
    make_user("reader@example.com")
    response = browser.submit(
        "/account/login",
        {"email": "reader@example.com", "password": "not the password", "next": target},
        match="/account/login",
    )
    assert response.status_code == 200
    assert not logged_in(client)


@pytest.mark.parametrize("target", ["/admin/tags/", "/posts/hello?page=2", "/account/"])
def test_login_with_an_on_site_next_goes_there(app, browser, client, ctx, target):
    make_user("editor@example.com", roles=("editor",))
    form = browser.form("/account/login?next=" + quote(target, safe=""), match="/account/login")
    fields = dict(form["fields"], email="editor@example.com", password=PASSWORD)
    response = client.post(form["action"], data=fields)
    assert response.status_code == 302
    parts = urlsplit(response.location)
    assert parts.netloc in ("", "localhost")
    assert parts.path + (f"?{parts.query}" if parts.query else "") == target


@pytest.mark.parametrize("target", OFF_SITE[:8])
def test_reauthentication_with_an_off_site_next_goes_home(app, browser, client, ctx, target):
    make_user("reader@example.com")
    assert browser.login("reader@example.com", PASSWORD).status_code == 302
    form = browser.form("/account/verify?next=" + quote(target, safe=""), match="/account/verify")
    response = client.post(form["action"], data=dict(form["fields"], password=PASSWORD))
    assert response.status_code == 302
    assert_on_site(response.location)


def test_the_database_file_path_helper_ignores_other_databases(tmp_path):
    """PostgreSQL URLs and in-memory SQLite create no file."""
    before = set(Path.cwd().iterdir())
    for url in ("postgresql+psycopg://u@h/db", "sqlite://", "sqlite:///:memory:"):
        create_private_sqlite_file(url)
    assert set(Path.cwd().iterdir()) == before
