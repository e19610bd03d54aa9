"""Issue 10, item 6: files of unpublished content are not public.

Stored names are the content's hash, so anyone holding a file can work out its address.
Readers get a file (original, thumbnail, every rendition) only while a post or page they can
see shows it; staff and preview pages reach the others through signed addresses that cannot
be derived from the content, and only for files they may see.
"""

import re
import time
from datetime import timedelta
from html import unescape

import pytest
from flask import current_app
from itsdangerous import URLSafeSerializer

from cms.extensions import db
from cms.models import File, Post, PostKind, PostStatus, utcnow
from cms.services import media_access, renditions
from cms.services.media import store_upload
from cms.services.media_access import KEY_ARG, SALT, make_key
from cms.services.previews import preview_token
from tests.factories import PASSWORD, image_bytes, make_post, make_user
from tests.helpers import files_in, without_tokens
from tests.media import fetch, show_publicly, signed
from tests.test_uploads import PDF

NONCE = re.compile(r"""nonce-?=?["']?[A-Za-z0-9_-]+""")
# Addresses of stored files in a page, with their key if they have one.
ADDRESS = re.compile(r"/(?:uploads|media)/[0-9a-f]{32}[a-z0-9_-]*\.[a-z0-9]+(?:\?k=[^\"'\s,]+)?")


@pytest.fixture
def other_author(ctx):
    return make_user("other@example.com", roles=("author",))


def upload(user, size=(900, 500), color=(200, 30, 30), name="photo.png") -> File:
    """Store an image for `user` and commit it."""
    record = store_upload(db.session, image_bytes("PNG", size=size, color=color), name, user)
    db.session.commit()
    return record


def image_md(record: File) -> str:
    return f"![A red square](/uploads/{record.stored_name})"


def every_address(record: File) -> list[str]:
    """Return the original, the thumbnail and every rendition the settings allow."""
    return [
        f"/uploads/{record.stored_name}",
        f"/uploads/{record.thumbnail_name}",
        *(f"/media/{name}" for name in renditions.rendition_names(record)),
    ]


def name_of(url: str) -> str:
    return url.split("?", 1)[0].rsplit("/", 1)[1]


def future() -> int:
    return int(time.time()) + 3600


def bad_keys(record: File, other: File, post: Post, showing: Post) -> dict[str, callable]:
    """Return makers of keys that must not open a name: junk, forged, expired, misplaced.

    `post` does not show the file; `showing` (a draft) does.
    """
    created = post.created_at.isoformat(timespec="seconds")
    born = showing.created_at.isoformat(timespec="seconds")
    return {
        "none": lambda name: None,
        "empty": lambda name: "",
        "junk": lambda name: "x.y",
        "long": lambda name: "a" * 5000,
        "forged": lambda name: URLSafeSerializer("not the key", salt=f"{SALT}:{name}").dumps(
            [0, future()]
        ),
        "other purpose": lambda name: URLSafeSerializer(
            current_app.config["SECRET_KEY"], salt="cms.post-preview"
        ).dumps([0, future()]),
        "expired": lambda name: make_key(name, (0, int(time.time()) - 5)),
        "another file's": lambda name: make_key(other.stored_name, (0, future())),
        "preview of a post not showing it": lambda name: make_key(
            name, (post.id, future(), created)
        ),
        "preview without its birth": lambda name: make_key(name, (showing.id, future(), "")),
        "preview of a post born later": lambda name: make_key(
            name, (showing.id, future(), "2099-01-01T00:00:00")
        ),
        "expired preview": lambda name: make_key(name, (showing.id, int(time.time()) - 5, born)),
        "dashboard key with a post": lambda name: make_key(name, (0, future(), created)),
        "negative post": lambda name: make_key(name, (-1, future())),
        "string expiry": lambda name: make_key(name, (0, "9999999999")),
    }


def with_key(url: str, key: str | None) -> str:
    return url if key is None else f"{url}?{KEY_ARG}={key}"


def normalized(response) -> str:
    """Return a page without what differs between any two requests (nonce, CSRF token)."""
    return without_tokens(NONCE.sub("", response.get_data(as_text=True)))


# --- Readers -------------------------------------------------------------------------------


def test_a_draft_only_file_is_404_everywhere_for_readers(app, client, editor, folder, monkeypatch):
    record = upload(editor)
    other = upload(editor, color=(10, 200, 10), name="other.png")
    show_publicly(other)
    draft = make_post(editor, body=image_md(record), status=PostStatus.DRAFT)
    unrelated = make_post(editor, body="No images", status=PostStatus.DRAFT)
    before = files_in(folder)
    monkeypatch.setattr(
        renditions, "render", lambda *args: pytest.fail("rendered for an anonymous request")
    )
    keys = bad_keys(record, other, unrelated, draft)
    # The one right key, as a preview page of the draft would have made it, opens it.
    right = make_key(record.stored_name, media_access.preview_grant(draft, time.time()))
    assert fetch(client, with_key(f"/uploads/{record.stored_name}", right)).status_code == 200
    for url in every_address(record):
        name = name_of(url)
        # A name of the same shape that does not exist.
        absent = ("ab" * 40)[: len(name.split(".")[0])] + "." + name.split(".")[1]
        for label, make in keys.items():
            key = make(name)
            response = fetch(client, with_key(url, key))
            assert response.status_code == 404, (url, label)
            # Exactly like a name that does not exist (the page names the address asked for).
            missing = fetch(client, with_key(url.replace(name, absent), key))
            assert missing.status_code == 404
            assert normalized(response).replace(name, absent) == normalized(missing), label
            assert sorted(response.headers.keys()) == sorted(missing.headers.keys())
    assert files_in(folder) == before
    assert draft.status == PostStatus.DRAFT


def test_a_published_file_is_served_with_thumbnail_and_renditions(app, client, editor):
    record = upload(editor)
    show_publicly(record)
    for url in every_address(record)[:2] + [f"/media/{record.stored_name[:32]}-w320.webp"]:
        response = fetch(client, url)
        assert response.status_code == 200, url
        assert response.headers["Cache-Control"] == "public, max-age=3600"


def test_a_page_or_social_image_makes_a_file_public_and_copies_share_it(
    app, client, editor, author
):
    record = upload(editor)
    copy = upload(author)  # same bytes, another row: one stored object
    assert copy.stored_name == record.stored_name
    make_post(editor, body="Text", social_image_id=copy.id, kind=PostKind.PAGE, slug="about-us")
    assert fetch(client, f"/uploads/{record.stored_name}").status_code == 200
    assert fetch(client, f"/uploads/{record.thumbnail_name}").status_code == 200


@pytest.mark.parametrize("change", ["unpublish", "trash", "edit", "unpublish_at", "delete"])
def test_leaving_the_last_published_post_stops_serving(app, client, editor, change):
    record = upload(editor)
    kept = make_post(editor, body=image_md(record), status=PostStatus.DRAFT)
    post = make_post(editor, body=image_md(record))
    urls = every_address(record)[:2] + [f"/media/{record.stored_name[:32]}-w320.png"]
    for url in urls:
        assert fetch(client, url).status_code == 200, url
    post = db.session.get(Post, post.id)
    if change == "unpublish":
        post.status = PostStatus.DRAFT
    elif change == "trash":
        post.status = PostStatus.TRASHED
    elif change == "edit":
        post.body_md = "The picture is gone."
    elif change == "unpublish_at":
        post.unpublish_at = utcnow() - timedelta(minutes=1)
    else:
        db.session.delete(post)
    db.session.commit()
    for url in urls:
        assert fetch(client, url).status_code == 404, (change, url)
    assert db.session.get(Post, kept.id).status == PostStatus.DRAFT


def test_a_scheduled_posts_file_appears_with_the_post(app, client, editor):
    record = upload(editor)
    post = make_post(editor, body=image_md(record), published_at=utcnow() + timedelta(hours=1))
    url = f"/uploads/{record.stored_name}"
    assert fetch(client, url).status_code == 404
    assert fetch(client, f"/media/{record.stored_name[:32]}-w320.webp").status_code == 404
    # Its time comes.
    post = db.session.get(Post, post.id)
    post.published_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert fetch(client, url).status_code == 200
    assert fetch(client, f"/media/{record.stored_name[:32]}-w320.webp").status_code == 200


def test_staff_get_no_plain_address_of_a_private_file(app, browser, client, editor):
    """Logged in or not, the plain address is the readers' one; staff use signed ones."""
    record = upload(editor)
    browser.login("editor@example.com", PASSWORD)
    assert fetch(client, f"/uploads/{record.stored_name}").status_code == 404


# --- Signed addresses ----------------------------------------------------------------------


def test_a_dashboard_key_opens_one_name_until_it_expires(app, client, editor, monkeypatch):
    record = upload(editor)
    url = media_access.dashboard_url(record.stored_name)
    response = fetch(client, url)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == f"private, max-age={media_access.SIGNED_MAX_AGE}"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    # The key is for that name only.
    key = url.split("?k=")[1]
    assert fetch(client, f"/uploads/{record.thumbnail_name}?k={key}").status_code == 404
    monkeypatch.setattr(
        media_access, "_now", lambda: int(time.time()) + media_access.DASHBOARD_LINK_SECONDS + 7200
    )
    assert fetch(client, url).status_code == 404


def test_a_signed_crop_at_an_old_focal_point_redirects_with_a_key(app, client, editor):
    record = upload(editor)
    old = renditions.crop_name(record, 160, 160)
    record.focal_x, record.focal_y = 0.2, 0.3
    db.session.commit()
    response = fetch(client, media_access.dashboard_url(old, "/media/"))
    assert response.status_code == 302
    target = response.headers["Location"]
    assert renditions.crop_name(record, 160, 160) in target and "?k=" in target
    assert fetch(client, target).status_code == 200
    # Readers get no redirect for a private file.
    assert fetch(client, f"/media/{old}").status_code == 404


# --- Preview pages -------------------------------------------------------------------------


def preview_addresses(client, token) -> tuple[int, list[str]]:
    response = client.get(f"/preview/{token}")
    page = unescape(response.get_data(as_text=True))
    return response.status_code, sorted(set(ADDRESS.findall(page)))


def test_a_preview_page_shows_its_images_through_signed_addresses(app, client, author):
    record = upload(author)
    draft = make_post(
        author, body=image_md(record), status=PostStatus.DRAFT, social_image_id=record.id
    )
    with app.test_request_context():
        token = preview_token(draft)
    status, addresses = preview_addresses(client, token)
    assert status == 200
    # The body's <img>, its srcset candidates, and og:image (the social image).
    assert any(url.startswith(f"/uploads/{record.stored_name}?k=") for url in addresses)
    assert any(url.startswith("/media/") for url in addresses)
    assert all("?k=" in url for url in addresses), addresses
    page = client.get(f"/preview/{token}").get_data(as_text=True)
    assert re.search(r'property="og:image" content="[^"]*\?k=', page)
    for url in addresses:
        assert fetch(client, unescape(url)).status_code == 200, url
        assert fetch(client, url.split("?")[0]).status_code == 404, url

    # Taking the image out of the draft closes its addresses (the social image stays).
    draft = db.session.get(Post, draft.id)
    draft.body_md, draft.social_image_id = "No picture now.", None
    db.session.commit()
    for url in addresses:
        assert fetch(client, unescape(url)).status_code == 404, url


@pytest.mark.parametrize("end", ["trash", "expire", "delete"])
def test_preview_addresses_end_with_the_preview(app, client, author, monkeypatch, end):
    record = upload(author)
    draft = make_post(author, body=image_md(record), status=PostStatus.DRAFT)
    with app.test_request_context():
        token = preview_token(draft)
    status, addresses = preview_addresses(client, token)
    assert status == 200 and addresses
    if end == "trash":
        draft = db.session.get(Post, draft.id)
        draft.status = PostStatus.TRASHED
        db.session.commit()
        assert client.get(f"/preview/{token}").status_code == 404
    elif end == "expire":
        later = int(time.time()) + app.config["PREVIEW_LINK_MAX_AGE"].total_seconds() + 60
        monkeypatch.setattr(media_access, "_now", lambda: int(later))
    else:
        db.session.delete(db.session.get(Post, draft.id))
        db.session.commit()
        # A new post that may get the same id (SQLite).
        make_post(author, body="Another draft", status=PostStatus.DRAFT)
    for url in addresses:
        assert fetch(client, unescape(url)).status_code == 404, (end, url)


def test_a_preview_does_not_sign_someone_elses_private_file(app, client, author, other_author):
    theirs = upload(other_author, color=(1, 2, 3), name="theirs.png")
    mine = upload(author)
    # The author knows the hash of the other's file (they have the file) and names it.
    draft = make_post(
        author, body=image_md(mine) + "\n\n" + image_md(theirs), status=PostStatus.DRAFT
    )
    with app.test_request_context():
        token = preview_token(draft)
    status, addresses = preview_addresses(client, token)
    assert status == 200
    assert not [url for url in addresses if theirs.stored_name[:32] in url and "?k=" in url]
    assert [url for url in addresses if mine.stored_name in url and "?k=" in url]
    for url in addresses:
        if theirs.stored_name[:32] in url:
            assert fetch(client, unescape(url)).status_code == 404


# --- Dashboard pages -----------------------------------------------------------------------


def signed_in(page: str) -> list[str]:
    return [unescape(url) for url in ADDRESS.findall(page) if "?k=" in url]


def test_dashboard_pages_show_thumbnails_through_working_signed_addresses(
    app, browser, client, editor
):
    record = upload(editor)
    draft = make_post(editor, body=image_md(record), status=PostStatus.DRAFT)
    browser.login("editor@example.com", PASSWORD)
    pages = {
        "file list": "/admin/files/",
        "file details": f"/admin/files/details/?id={record.id}",
        "file edit": f"/admin/files/edit/?id={record.id}",
        "dashboard": "/admin/",
        "post details": f"/admin/posts/details/?id={draft.id}",
    }
    for label, page_url in pages.items():
        response = client.get(page_url)
        assert response.status_code == 200, label
        found = signed_in(response.get_data(as_text=True))
        assert found, label
        for url in found:
            assert fetch(client, url).status_code == 200, (label, url)
    library = client.get("/admin/files/library/?type=image").get_json()
    thumbnail = library["files"][0]["thumbnail"]
    assert "?k=" in thumbnail and fetch(client, thumbnail).status_code == 200
    # What goes into the Markdown stays the public address.
    assert library["files"][0]["url"] == f"/uploads/{record.stored_name}"
    token = browser.csrf("/admin/posts/new/")
    preview = client.post(
        "/admin/posts/preview/", data={"body_md": image_md(record), "csrf_token": token}
    )
    found = signed_in(preview.get_json()["html"])
    assert found and all(fetch(client, url).status_code == 200 for url in found)
    # Logged out, the signed addresses still open the files (they are the capability)...
    browser.logout()
    assert fetch(client, found[0]).status_code == 200


def test_an_author_gets_no_signed_address_of_anothers_private_file(
    app, browser, client, author, other_author
):
    theirs = upload(other_author, color=(1, 2, 3), name="theirs.png")
    mine = upload(author)
    own_draft = make_post(
        author, body=image_md(mine) + "\n\n" + image_md(theirs), status=PostStatus.DRAFT
    )
    browser.login("author@example.com", PASSWORD)
    stem = theirs.stored_name[:32]
    pages = [
        "/admin/",
        "/admin/files/",
        f"/admin/files/details/?id={theirs.id}",
        f"/admin/files/edit/?id={theirs.id}",
        f"/admin/posts/details/?id={own_draft.id}",
        f"/admin/posts/edit/?id={own_draft.id}",
        "/admin/files/library/",
        "/admin/files/library/?type=image&q=theirs",
    ]
    for page_url in pages:
        response = client.get(page_url)
        body = response.get_data(as_text=True)
        assert not [url for url in signed_in(body) if stem in url], page_url
    token = browser.csrf("/admin/posts/new/")
    preview = client.post(
        "/admin/posts/preview/", data={"body_md": image_md(theirs), "csrf_token": token}
    )
    assert preview.status_code == 200
    assert stem in preview.get_json()["html"]
    assert not signed_in(preview.get_json()["html"])
    # Their own image in the same body is signed.
    own = client.post(
        "/admin/posts/preview/", data={"body_md": image_md(mine), "csrf_token": token}
    )
    assert signed_in(own.get_json()["html"])


@pytest.mark.parametrize("how", ["public", "signed"])
def test_a_download_never_carries_another_uploaders_private_name(app, client, editor, author, how):
    """Copies of one object keep their uploaders' names; a download shows none it may not."""
    mine = store_upload(db.session, PDF, "annual-report.pdf", editor)
    theirs = store_upload(db.session, PDF, "secret-merger-plan.pdf", author)
    db.session.commit()
    assert mine.stored_name == theirs.stored_name
    url = f"/uploads/{mine.stored_name}"
    if how == "public":
        show_publicly(mine)
    else:
        url = signed(url)
    response = fetch(client, url)
    assert response.status_code == 200
    disposition = response.headers["Content-Disposition"]
    assert "secret-merger-plan" not in disposition and "annual-report" not in disposition
    assert mine.stored_name in disposition
