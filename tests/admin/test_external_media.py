"""Saving a post imports its external images and its videos' thumbnails, through the guard.

The other host is a real HTTP server on loopback, reachable because the test allows
127.0.0.1/32 in FETCH_ALLOWED_NETWORKS (as an intranet would be allowed in production).
"""

import json
import re
import time
from urllib.parse import quote

import pytest
from sqlalchemy import func, select

from cms.extensions import db
from cms.models import File, Post
from cms.services import external_media
from tests.admin.admin_helpers import submit_admin, text
from tests.factories import make_post
from tests.remote import RemoteServer, jpeg_bytes, png_bytes

NEW = "/admin/posts/new/"
YT = "dQw4w9WgXcQ"
WATCH = f"https://www.youtube.com/watch?v={YT}"


@pytest.fixture
def remote(app, monkeypatch):
    """A server on loopback that the app may fetch from."""
    monkeypatch.setitem(app.config, "FETCH_ALLOWED_NETWORKS", ["127.0.0.1/32"])
    with RemoteServer() as server:
        yield server


def publish(browser, title: str, body: str):
    """Create and publish a post through the real form; return the response (redirects followed)."""
    return submit_admin(
        browser,
        NEW,
        {"title": title, "body_md": body, "status": "published", "workflow": "publish"},
        follow_redirects=True,
    )


def post_titled(title: str) -> Post:
    """Return the post with this title, fresh from the database."""
    db.session.expire_all()
    return db.session.scalars(select(Post).where(Post.title == title)).one()


def files() -> list[File]:
    """Return every File row, oldest first."""
    db.session.expire_all()
    return list(db.session.scalars(select(File).order_by(File.id)))


def page_of(client, post: Post) -> str:
    """Return the public page of a post."""
    response = client.get(f"/posts/{post.slug}")
    assert response.status_code == 200
    return text(response)


def public_status(client, url: str) -> int:
    """Return the status a reader gets for a stored file (body read and closed)."""
    response = client.get(url)
    response.get_data()
    response.close()
    return response.status_code


def test_external_image_is_imported_and_the_markdown_rewritten(browser, login_as, remote, client):
    """The image is fetched, re-encoded into the library, and the body points at it."""
    editor = login_as("editor")
    url = remote.route("/pics/red.png", body=png_bytes(), content_type="image/png")
    response = publish(browser, "Red", f'Look:\n\n![A red square]({url} "Red")\n')
    assert response.status_code == 200
    [record] = files()
    assert record.source_url == url
    assert record.alt_text == "A red square"
    assert record.uploader_id == editor.id
    assert record.original_name == "red.png"
    assert record.content_type == "image/png" and record.width == 40
    post = post_titled("Red")
    assert post.body_md == f'Look:\n\n![A red square](/uploads/{record.stored_name} "Red")\n'
    assert f'src="/uploads/{record.stored_name}"' in post.body_html
    assert "127.0.0.1" not in post.body_html
    page = page_of(client, post)
    assert "127.0.0.1" not in page
    assert public_status(client, f"/uploads/{record.stored_name}") == 200
    assert remote.requests == ["/pics/red.png"]


def test_the_same_address_is_imported_once(browser, login_as, remote):
    """A second post (and a second save) showing the same address reuses the imported file."""
    login_as("editor")
    url = remote.route("/cat.jpg", body=jpeg_bytes(), content_type="image/jpeg")
    publish(browser, "One", f"![Cat]({url})\n\n![Cat again]({url})")
    publish(browser, "Two", f"Also ![Cat]({url}).")
    [record] = files()
    assert remote.requests == ["/cat.jpg"]
    for title in ("One", "Two"):
        assert url not in post_titled(title).body_md
        assert f"/uploads/{record.stored_name}" in post_titled(title).body_md
    assert post_titled("One").body_md.count(record.stored_name) == 2


def test_failed_fetch_stays_a_link_with_a_note(browser, login_as, remote):
    """A 404: the Markdown keeps the address, readers get a link, the writer a note."""
    login_as("editor")
    url = remote.route("/missing.png", status=404, body=b"gone", content_type="text/plain")
    response = publish(browser, "Missing", f"![Lost picture]({url})")
    page = text(response)
    assert f"The image {url} could not be fetched: the server refused (HTTP 404)." in page
    assert "It is shown as a link." in page
    post = post_titled("Missing")
    assert post.body_md == f"![Lost picture]({url})"
    assert (
        f'<a class="c-offsite-image" href="{url}" rel="noopener noreferrer">Lost picture</a>'
        in (post.body_html)
    )
    assert "<img" not in post.body_html
    assert files() == []


def test_refused_address_is_named_in_the_note(browser, login_as, app, remote, monkeypatch):
    """Without the allow setting the loopback server is refused before anything is sent."""
    monkeypatch.setitem(app.config, "FETCH_ALLOWED_NETWORKS", [])
    login_as("editor")
    url = remote.route("/red.png", body=png_bytes(), content_type="image/png")
    page = text(publish(browser, "Private", f"![x]({url}) ![y](http://169.254.169.254/a.png)"))
    assert f"{url} could not be fetched: the address belongs to a private or local network." in page
    assert "http://169.254.169.254/a.png could not be fetched" in page
    assert remote.requests == []
    assert files() == []


def test_not_an_image_is_refused(browser, login_as, remote):
    """A page, a PDF or an SVG served as an "image" is not imported."""
    login_as("editor")
    html_url = remote.route(
        "/fake.png", body=b"<html><script>x</script></html>", content_type="image/png"
    )
    svg_url = remote.route(
        "/logo.svg", body=b'<svg xmlns="http://www.w3.org/2000/svg"><script>1</script></svg>',
        content_type="image/svg+xml",
    )  # fmt: skip
    page = text(publish(browser, "Fake", f"![a]({html_url})\n\n![b]({svg_url})"))
    assert f"The image {html_url} is not an image." in page
    assert f"The image {svg_url} is not an image." in page
    assert files() == []
    assert "<img" not in post_titled("Fake").body_html


def test_too_large_images_are_refused(browser, login_as, app, remote, monkeypatch):
    """Over EXTERNAL_IMAGE_MAX_BYTES (declared or not): not imported, a note says so."""
    monkeypatch.setitem(app.config, "EXTERNAL_IMAGE_MAX_BYTES", 2000)
    login_as("editor")
    big = png_bytes(size=(400, 400), color=(1, 2, 3)) + b"\0" * 3000
    declared = remote.route("/big.png", body=big, content_type="image/png")
    undeclared = remote.route("/big2.png", body=big, content_type="image/png", no_length=True)
    page = text(publish(browser, "Big", f"![a]({declared}) ![b]({undeclared})"))
    assert f"{declared} could not be fetched: it is too large." in page
    assert f"{undeclared} could not be fetched: it is too large." in page
    assert files() == []


def test_quota_applies_to_imports(browser, login_as, app, remote, monkeypatch):
    """The writer's file quota counts imports like uploads."""
    monkeypatch.setitem(app.config, "MAX_FILES_PER_USER", 1)
    login_as("editor")
    first = remote.route("/a.png", body=png_bytes(color=(1, 1, 1)), content_type="image/png")
    second = remote.route("/b.png", body=png_bytes(color=(2, 2, 2)), content_type="image/png")
    page = text(publish(browser, "Quota", f"![a]({first})\n\n![b]({second})"))
    [record] = files()
    assert record.source_url == first
    assert f"The image {second} was not imported: You have reached your limit of 1 file." in page
    body = post_titled("Quota").body_md
    assert f"/uploads/{record.stored_name}" in body and second in body


def test_images_per_save_are_capped(browser, login_as, app, remote, monkeypatch):
    """EXTERNAL_IMAGES_PER_SAVE: the rest wait for the next save, as links."""
    monkeypatch.setitem(app.config, "EXTERNAL_IMAGES_PER_SAVE", 1)
    login_as("editor")
    urls = [
        remote.route(f"/{n}.png", body=png_bytes(color=(n, n, n)), content_type="image/png")
        for n in range(3)
    ]
    page = text(
        publish(browser, "Many", "\n\n".join(f"![{n}]({url})" for n, url in enumerate(urls)))
    )
    assert "2 more pictures from other hosts are imported when you save again" in page
    assert "one save imports at most 1, within 30 seconds" in page
    assert len(files()) == 1
    assert remote.requests == ["/0.png"]


def test_allow_setting_imports_nothing(browser, login_as, app, remote, monkeypatch):
    """EXTERNAL_IMAGES = "allow": the body keeps its addresses and nothing is fetched."""
    monkeypatch.setitem(app.config, "EXTERNAL_IMAGES", "allow")
    login_as("editor")
    url = remote.route("/a.png", body=png_bytes(), content_type="image/png")
    publish(browser, "Allowed", f"![a]({url})")
    assert post_titled("Allowed").body_md == f"![a]({url})"
    assert remote.requests == [] and files() == []


def test_code_is_never_rewritten(browser, login_as, remote):
    """The same address in a code block stays as typed; only the image is rewritten."""
    login_as("editor")
    url = remote.route("/a.png", body=png_bytes(), content_type="image/png")
    publish(browser, "Code", f"```\n![a]({url})\n```\n\n![a]({url})")
    body = post_titled("Code").body_md
    assert body.startswith(f"```\n![a]({url})\n```\n\n![a](/uploads/")


# --- Video thumbnails --------------------------------------------------------------------------


@pytest.fixture
def oembed(remote, monkeypatch):
    """Point the oEmbed endpoints at the loopback server (the real ones are off the machine)."""
    monkeypatch.setattr(
        external_media,
        "OEMBED_ENDPOINTS",
        {"youtube": remote.url("/oembed/youtube?url="), "vimeo": remote.url("/oembed/vimeo?url=")},
    )
    return remote


def answer_oembed(server, provider: str, video_url: str, title: str, thumbnail: str) -> None:
    """Make the loopback oEmbed endpoint describe one video."""
    server.route(
        f"/oembed/{provider}?url={quote(video_url, safe='')}",
        body=json.dumps({"title": title, "thumbnail_url": thumbnail, "type": "video"}).encode(),
        content_type="application/json",
    )


def test_embed_gets_title_and_thumbnail_at_save(browser, login_as, oembed, client):
    """oEmbed gives the title and thumbnail; the thumbnail is kept in the library."""
    login_as("editor")
    thumb = oembed.route("/vi/hq.jpg", body=jpeg_bytes(), content_type="image/jpeg")
    answer_oembed(oembed, "youtube", WATCH, "Never <Gonna> Give", thumb)
    publish(browser, "Video", f"Intro.\n\nhttps://youtu.be/{YT}?t=42\n")
    [record] = files()
    assert record.source_url == WATCH
    assert record.source_title == "Never <Gonna> Give"
    assert record.decorative
    post = post_titled("Video")
    assert post.body_md == f"Intro.\n\nhttps://youtu.be/{YT}?t=42\n"  # the writer's text stays
    page = page_of(client, post)
    figure = re.search(r'<figure class="c-embed".*?</figure>', page, re.S).group(0)
    assert f"/uploads/{record.stored_name}" in figure
    assert "Never &lt;Gonna&gt; Give</figcaption>" in figure
    assert 'data-start="42"' in figure
    # Readers may fetch the thumbnail: the post shows it, though its body names only the video.
    assert public_status(client, f"/uploads/{record.stored_name}") == 200
    # Saved again, or in another post: nothing is fetched again.
    count = len(oembed.requests)
    publish(browser, "Video again", WATCH)
    assert len(oembed.requests) == count
    assert f"/uploads/{record.stored_name}" in post_titled("Video again").body_html


def test_embed_without_network_is_a_plain_placeholder(browser, login_as, oembed, client):
    """oEmbed failing (404 here; no network in production alike): neutral text, no picture."""
    login_as("editor")
    page = text(publish(browser, "Offline", "https://vimeo.com/76979871"))
    assert (
        "The title and picture of the video https://vimeo.com/76979871 could not be fetched" in page
    )
    post = post_titled("Offline")
    assert files() == []
    figure = re.search(r'<figure class="c-embed".*?</figure>', page_of(client, post), re.S).group(0)
    assert "Video on Vimeo</figcaption>" in figure
    assert "<img" not in figure
    assert 'href="https://vimeo.com/76979871"' in figure


def test_hostile_oembed_answers_change_nothing_dangerous(browser, login_as, oembed, client):
    """A thumbnail address on a refused host is not fetched; a hostile title is only text."""
    login_as("editor")
    answer_oembed(
        oembed, "youtube", WATCH, '"><script>alert(1)</script>', "http://169.254.169.254/latest"
    )
    page = text(publish(browser, "Hostile", WATCH))
    assert "could not be fetched" in page
    assert files() == []
    public = page_of(client, post_titled("Hostile"))
    assert "<script>alert(1)" not in public
    assert "169.254" not in public


def test_links_in_sentences_fetch_nothing(browser, login_as, oembed):
    """Only an address alone on a line is an embed; nothing else is looked up."""
    login_as("editor")
    publish(browser, "Sentence", f"Watch {WATCH} now, or [this]({WATCH}).")
    assert oembed.requests == []
    assert "c-embed" not in post_titled("Sentence").body_html
    assert db.session.scalar(select(func.count(File.id))) == 0


def test_editing_a_post_imports_too(browser, login_as, remote):
    """An edit (with its version check) imports like a new post, in one save."""
    editor = login_as("editor")
    post = make_post(editor, title="Edited", body="Old text.")
    version = post.version
    url = remote.route("/new.png", body=png_bytes(), content_type="image/png")
    response = submit_admin(
        browser, f"/admin/posts/edit/?id={post.id}", {"body_md": f"New ![pic]({url})"}
    )
    assert response.status_code == 302
    [record] = files()
    saved = post_titled("Edited")
    assert saved.body_md == f"New ![pic](/uploads/{record.stored_name})"
    assert saved.version > version
    assert f'src="/uploads/{record.stored_name}"' in saved.body_html


def test_a_save_spends_limited_time_fetching(browser, login_as, app, remote, monkeypatch):
    """EXTERNAL_IMPORT_SECONDS bounds the whole save: a slow host cannot hold it up."""
    monkeypatch.setitem(app.config, "EXTERNAL_IMPORT_SECONDS", 0.5)
    login_as("editor")
    slow = remote.route("/slow.png", body=png_bytes(), content_type="image/png", delay=5)
    later = remote.route("/later.png", body=png_bytes(color=(9, 9, 9)), content_type="image/png")
    started = time.monotonic()
    page = text(publish(browser, "Slow", f"![a]({slow})\n\n![b]({later})"))
    assert time.monotonic() - started < 4
    assert f"{slow} could not be fetched: the server took too long to answer." in page
    assert "1 more picture from another host is imported when you save again" in page
    assert "/later.png" not in remote.requests
    assert files() == []


def test_publishing_an_imported_image_without_alt_text_is_refused(browser, login_as, remote):
    """Alt text at publish holds for images from other hosts too; nothing is stored."""
    login_as("editor")
    url = remote.route("/pics/plain.png", body=png_bytes(), content_type="image/png")
    response = publish(browser, "No words", f"A paragraph.\n\n![]({url})\n")
    assert response.status_code == 200
    assert "every image needs alt text" in text(response)
    assert url in text(response)
    assert files() == []
    assert db.session.scalars(select(Post)).all() == []
    # With a description in the Markdown it publishes.
    response = publish(browser, "With words", f"A paragraph.\n\n![A grey square]({url})\n")
    assert post_titled("With words").status == "published"
    assert files()[0].alt_text == "A grey square"
