"""The post editor's server side: editor config, image upload and alt text, slug preview.

Contract points 3, 4 and 5 (/work/notes/contract.md): each through the real app, with the
token the edit page carries, for posts and pages.
"""

import io
import json
import re
from html import unescape

import pytest
from sqlalchemy import func, select

from cms.extensions import db
from cms.models import AuditEvent, File, PostKind, PostStatus
from cms.services.media import store_upload
from tests.admin.admin_helpers import text
from tests.factories import PASSWORD, image_bytes, make_post, make_user
from tests.helpers import Browser, csrf_token_from, snapshot
from tests.media import fetch

PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
HTML = b"<!doctype html><html><script>alert(1)</script></html>"


def config_of(page: str) -> dict[str, str]:
    """Return the data-* attributes of <div id="cms-editor-config"> on a page."""
    found = re.search(r'<div id="cms-editor-config" hidden([^>]*)>', page)
    assert found, "no editor config on the page"
    return {
        name: unescape(value) for name, value in re.findall(r' (data-[a-z-]+)="([^"]*)"', found[1])
    }


def token(browser, url="/admin/posts/new/") -> str:
    """Return the CSRF token of a dashboard page."""
    return csrf_token_from(text(browser.get(url)))


def send_file(browser, data: bytes, name: str, view="posts", csrf=None):
    """Post a file to the editor's upload endpoint, as the editor script does."""
    payload = {"file": (io.BytesIO(data), name)}
    if csrf is not False:
        payload["csrf_token"] = csrf or token(browser, f"/admin/{view}/new/")
    return browser.client.post(
        f"/admin/{view}/upload/", data=payload, content_type="multipart/form-data"
    )


def file_count() -> int:
    """Return how many File rows exist."""
    db.session.expire_all()
    return db.session.scalar(select(func.count(File.id)))


# --- Editor config (contract point 3) ----------------------------------------------------


@pytest.mark.parametrize("view", ["posts", "pages"])
def test_the_edit_page_carries_the_editor_config(browser, login_as, view):
    editor = login_as("editor")
    kind = PostKind.PAGE if view == "pages" else PostKind.POST
    post = make_post(editor, status=PostStatus.DRAFT, kind=kind)
    config = config_of(text(browser.get(f"/admin/{view}/edit/?id={post.id}")))
    assert config["data-post-id"] == str(post.id)
    assert config["data-autosave-url"] == f"/admin/{view}/autosave/"
    assert config["data-autosave-discard-url"] == f"/admin/{view}/autosave/discard/"
    assert config["data-upload-url"] == f"/admin/{view}/upload/"
    assert config["data-alt-url"] == f"/admin/{view}/alt/"
    assert config["data-slug-url"] == f"/admin/{view}/slug/"
    assert config["data-preview-url"] == f"/admin/{view}/preview/"
    assert int(config["data-max-body-chars"]) > 0
    messages = json.loads(config["data-messages"])
    for key in ("bold", "italic", "link", "heading", "quote", "bulletList", "numberedList",
                "code", "table", "image", "preview", "saving", "saved", "saveFailed",
                "leaveWarning", "altPrompt", "altDecorative", "altSave", "uploadFailed",
                "uploading", "previewFailed", "previewEmpty", "tooLong"):  # fmt: skip
        assert messages[key].strip(), key
    assert messages["words_one"] == "{n} word" and messages["words_other"] == "{n} words"
    assert "{n}" in messages["readingTime_one"] and "{n}" in messages["readingTime_other"]
    # A new post's form has no id yet.
    assert config_of(text(browser.get(f"/admin/{view}/new/")))["data-post-id"] == ""


# --- Upload from the editor (contract point 4) -----------------------------------------------


@pytest.mark.parametrize("view", ["posts", "pages"])
def test_an_image_dropped_into_the_editor_is_stored_like_a_files_upload(
    app, browser, login_as, view
):
    author = login_as("author")
    response = send_file(browser, image_bytes(), "Holiday photo.png", view=view)
    assert response.status_code == 201, response.get_data(as_text=True)
    answer = response.get_json()
    record = db.session.get(File, answer["id"])
    assert record.uploader_id == author.id and record.is_image
    assert answer["url"] == f"/uploads/{record.stored_name}"
    assert answer["name"] == "Holiday photo.png"
    assert answer["needs_alt"] is True and answer["alt"] == ""
    # The signed address opens the (unpublished) image for its uploader now.
    assert fetch(browser.client, answer["preview_url"]).status_code == 200
    assert fetch(browser.client, answer["url"]).status_code == 404
    # Audited like an upload through Files.
    actions = db.session.scalars(select(AuditEvent.action)).all()
    assert "upload" in actions


@pytest.mark.parametrize(
    ("data", "name"),
    [(HTML, "page.html"), (b"MZ\x90\x00" + b"\x00" * 200, "setup.exe"), (b"", "empty.png")],
    ids=["html", "executable", "empty"],
)
def test_the_editor_upload_refuses_what_files_refuses(browser, login_as, data, name):
    login_as("author")
    response = send_file(browser, data, name)
    assert response.status_code == 400
    assert response.get_json()["error"]
    assert file_count() == 0


def test_the_editor_upload_needs_a_file_and_a_token(browser, login_as):
    login_as("author")
    missing = browser.client.post(
        "/admin/posts/upload/", data={"csrf_token": token(browser)},
        content_type="multipart/form-data",
    )  # fmt: skip
    assert missing.status_code == 400 and missing.get_json()["error"]
    assert send_file(browser, image_bytes(), "a.png", csrf=False).status_code == 400
    assert file_count() == 0


def test_the_editor_upload_keeps_the_size_limit_and_quota(app, browser, login_as, monkeypatch):
    author = login_as("author")
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 2_000)
    big = image_bytes(size=(400, 400), color=(1, 2, 3)) + b"\x00" * 3_000
    assert send_file(browser, big, "big.png").status_code == 413
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 16 * 1024 * 1024)
    monkeypatch.setitem(app.config, "MAX_FILES_PER_USER", 1)
    store_upload(db.session, image_bytes(color=(9, 9, 9)), "first.png", author)
    db.session.commit()
    refused = send_file(browser, image_bytes(color=(8, 8, 8)), "second.png")
    assert refused.status_code == 400
    assert "limit" in refused.get_json()["error"]
    assert file_count() == 1


def test_the_editor_upload_is_throttled_with_the_files_upload(variant, ctx):
    throttled = variant(
        RATELIMIT_ENABLED=True,
        RATELIMIT_STORAGE_URI="memory://",
        RATELIMIT_UPLOAD_ACCOUNT="2 per minute",
    )
    browser = Browser(throttled, throttled.test_client())
    author = make_user("thrower@example.com", roles=("author",))
    assert browser.login(author.email, PASSWORD).status_code == 302
    csrf = token(browser)
    statuses = [
        send_file(browser, image_bytes(color=(n, n, n)), f"{n}.png", csrf=csrf).status_code
        for n in range(3)
    ]
    assert statuses == [201, 201, 429]


# --- Alt text from the editor ------------------------------------------------------------------


def set_alt(browser, ident, **fields):
    """Post alt text for a file to the editor's alt endpoint."""
    data = {"csrf_token": token(browser), "id": str(ident), **fields}
    return browser.client.post("/admin/posts/alt/", data=data)


def test_alt_text_is_set_from_the_editor_and_reaches_published_posts(
    app, browser, login_as, client
):
    editor = login_as("editor")
    record = store_upload(db.session, image_bytes(), "cat.png", editor)
    db.session.commit()
    post = make_post(editor, body=f"![](/uploads/{record.stored_name})")
    response = set_alt(browser, record.id, alt="  A cat\nasleep  ")
    assert response.status_code == 200
    assert response.get_json()["alt"] == "A cat asleep"
    db.session.expire_all()
    assert db.session.get(File, record.id).alt_text == "A cat asleep"
    # The stored HTML of the post showing it carries the new alt text.
    assert 'alt="A cat asleep"' in client.get(f"/posts/{post.slug}").get_data(as_text=True)

    decorative = set_alt(browser, record.id, decorative="1")
    assert decorative.status_code == 200 and decorative.get_json()["alt"] == ""
    db.session.expire_all()
    assert db.session.get(File, record.id).decorative is True


def test_alt_text_needs_words_an_image_and_the_right_to_change_it(browser, login_as):
    author = login_as("author")
    other = make_user("other@example.com", roles=("author",))
    mine = store_upload(db.session, image_bytes(), "mine.png", author)
    theirs = store_upload(db.session, image_bytes(color=(1, 1, 1)), "theirs.png", other)
    document = store_upload(db.session, PDF, "notes.pdf", author)
    db.session.commit()
    assert set_alt(browser, mine.id, alt="   ").status_code == 400
    assert set_alt(browser, document.id, alt="words").status_code == 400
    # Another author's private upload: not even its existence is told.
    assert set_alt(browser, theirs.id, alt="mine now").status_code == 404
    assert set_alt(browser, "abc", alt="x").status_code == 404
    # A file the author sees (shown by a published post) but did not upload: 403.
    make_post(other, body=f"![x](/uploads/{theirs.stored_name})")
    assert set_alt(browser, theirs.id, alt="mine now").status_code == 403
    db.session.expire_all()
    assert db.session.get(File, theirs.id).alt_text == ""
    assert (
        browser.client.post("/admin/posts/alt/", data={"id": mine.id, "alt": "x"}).status_code
        == 400
    )


# --- Slug preview (contract point 5) -------------------------------------------------------


def slug_of(browser, view="posts", **args):
    """Ask the slug preview endpoint."""
    response = browser.client.get(f"/admin/{view}/slug/", query_string=args)
    assert response.status_code == 200, response.status_code
    return response.get_json()


def test_slug_preview_shows_what_a_save_would_store(browser, login_as):
    editor = login_as("editor")
    taken = make_post(editor, title="Hello World")
    answer = slug_of(browser, title="Grüße aus Köln!")
    assert answer["slug"] == "grusse-aus-koln"
    assert answer["url"].endswith("/posts/grusse-aus-koln")
    # A taken address gets -2, as the save would give it; the post itself keeps its own.
    assert slug_of(browser, title="Hello world")["slug"] == "hello-world-2"
    assert slug_of(browser, title="Hello world", id=str(taken.id))["slug"] == "hello-world"
    # A typed address wins over the title; nothing usable falls back like the save.
    assert slug_of(browser, title="Ignored", slug="My Address")["slug"] == "my-address"
    assert slug_of(browser, title="!!!")["slug"] == "post"
    assert browser.client.get("/admin/posts/slug/?title=x&id=abc").status_code == 400


def test_slug_preview_of_pages_warns_about_site_addresses(browser, login_as):
    login_as("editor")
    answer = slug_of(browser, view="pages", title="Admin")
    assert answer["slug"] == "admin" and answer["error"]
    about = slug_of(browser, view="pages", title="About us")
    assert about["url"].endswith("/about-us") and "error" not in about


def test_slug_preview_writes_nothing(browser, login_as):
    login_as("editor")
    before = snapshot()
    slug_of(browser, title="Nothing is written")
    assert snapshot() == before


def test_an_image_described_before_needs_no_alt_text_again(browser, login_as):
    editor = login_as("editor")
    earlier = store_upload(db.session, image_bytes(), "first.png", editor)
    earlier.alt_text = "A red square"
    db.session.commit()
    answer = send_file(browser, image_bytes(), "again.png").get_json()
    assert answer["id"] != earlier.id
    assert (answer["needs_alt"], answer["alt"]) == (False, "A red square")
