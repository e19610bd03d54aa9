"""Renditions of library images, and the responsive HTML that points at them.

Widths and crops are made once, on their first request, kept in storage and served as
immutable; only names the settings allow are ever made. A post's HTML (rendered at save time)
gives library images a WebP <source>, srcset/sizes, width/height, lazy loading and the
library's alt text.
"""

import io
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from cms.extensions import db
from cms.models import File
from cms.services import renditions
from cms.services.imaging import crop_box
from cms.services.media import delete_file, file_stem, store_upload
from cms.services.media_library import MediaLibrary
from cms.services.rendering import render_markdown as render_alone
from cms.services.renditions import Spec, crop_url, parse_name
from cms.services.storage import get_storage
from tests.factories import image_bytes, make_post
from tests.helpers import files_in
from tests.media import fetch, show_publicly
from tests.test_uploads import png_header

# Readers get renditions of images that published posts show, cached an hour (not a year:
# removing the image from the last published post must stop it).
PUBLIC = "public, max-age=3600"


def render_markdown(source: str) -> str:
    """Render a body as a save does: asking the file library."""
    return render_alone(source, library=MediaLibrary())


def upload(editor, data: bytes, name: str) -> File:
    """Store an upload, commit it, and show it in a published post (readers may fetch it)."""
    record = store_upload(db.session, data, name, editor)
    db.session.commit()
    show_publicly(record)
    return record


def decoded(response) -> Image.Image:
    """Return the image a response carries."""
    img = Image.open(io.BytesIO(response.data))
    img.load()
    return img


def rendition_files(folder: Path, record: File) -> set[str]:
    """Return the renditions of a file that are in the uploads folder."""
    stem = file_stem(record)
    return {name for name in files_in(folder) if parse_name(name) and name.startswith(stem)}


# --- Sizes and formats ----------------------------------------------------------------------


def test_widths_smaller_than_the_original_in_webp_and_the_original_format(app, client, editor):
    record = upload(editor, image_bytes("JPEG", size=(1000, 500)), "wide.jpg")
    stem = file_stem(record)
    for width in (320, 640, 960):
        for ext, fmt, mimetype in (("webp", "WEBP", "image/webp"), ("jpg", "JPEG", "image/jpeg")):
            response = fetch(client, f"/media/{stem}-w{width}.{ext}")
            assert response.status_code == 200, (width, ext)
            assert response.mimetype == mimetype
            img = decoded(response)
            assert (img.format, img.size) == (fmt, (width, width // 2))
            # No metadata of the original is carried over.
            assert not img.getexif()
    # Widths from the settings that are not smaller than the original are not made.
    for width in (1280, 1920):
        assert fetch(client, f"/media/{stem}-w{width}.webp").status_code == 404
    # Neither are widths the settings do not name.
    assert fetch(client, f"/media/{stem}-w500.webp").status_code == 404
    # The full-width WebP copy exists (the WebP <source>'s largest candidate); a full-width
    # JPEG would be the original again.
    full = fetch(client, f"/media/{stem}-w1000.webp")
    assert full.status_code == 200 and decoded(full).size == (1000, 500)
    assert fetch(client, f"/media/{stem}-w1000.jpg").status_code == 404
    assert fetch(client, f"/media/{stem}-w320.png").status_code == 404


def test_rendition_widths_are_the_setting(app, client, editor, monkeypatch):
    monkeypatch.setitem(app.config, "RENDITION_WIDTHS", [100, 200])
    record = upload(editor, image_bytes("PNG", size=(300, 150)), "small.png")
    stem = file_stem(record)
    assert fetch(client, f"/media/{stem}-w100.png").status_code == 200
    assert fetch(client, f"/media/{stem}-w200.webp").status_code == 200
    assert fetch(client, f"/media/{stem}-w320.webp").status_code == 404


def test_transparency_is_kept(app, client, editor):
    img = Image.new("RGBA", (800, 400), (0, 0, 0, 0))
    ImageDraw.Draw(img).rectangle((0, 0, 399, 399), fill=(200, 0, 0, 255))
    out = io.BytesIO()
    img.save(out, format="PNG")
    record = upload(editor, out.getvalue(), "logo.png")
    stem = file_stem(record)
    for ext in ("png", "webp"):
        made = decoded(fetch(client, f"/media/{stem}-w320.{ext}"))
        assert made.mode == "RGBA", ext
        assert made.getpixel((300, 100))[3] == 0 and made.getpixel((10, 10))[3] == 255


def test_gifs_get_crops_but_no_width_renditions(app, client, editor):
    record = upload(editor, image_bytes("GIF", size=(800, 400)), "anim.gif")
    stem = file_stem(record)
    assert fetch(client, f"/media/{stem}-w320.gif").status_code == 404
    assert fetch(client, f"/media/{stem}-w320.webp").status_code == 404
    assert fetch(client, crop_url(record, 160, 160)).status_code == 200


def test_documents_have_no_renditions(app, client, editor):
    from tests.test_uploads import PDF

    record = upload(editor, PDF, "paper.pdf")
    stem = file_stem(record)
    for name in (f"{stem}-w320.webp", f"{stem}-c160x160-f5050.webp"):
        assert fetch(client, f"/media/{name}").status_code == 404


# --- Caching and headers -------------------------------------------------------------------


def test_made_once_then_read_from_storage(app, client, editor, folder, monkeypatch):
    record = upload(editor, image_bytes("PNG", size=(700, 350)), "cached.png")
    made = []
    real_render = renditions.render
    monkeypatch.setattr(
        renditions, "render", lambda data, spec: made.append(spec) or real_render(data, spec)
    )
    read = []
    storage = get_storage()
    real_read = type(storage).read
    monkeypatch.setattr(
        type(storage), "read", lambda self, name: read.append(name) or real_read(self, name)
    )
    url = f"/media/{file_stem(record)}-w320.webp"

    first = fetch(client, url)
    assert first.status_code == 200 and len(made) == 1
    name = url.rsplit("/", 1)[1]
    assert name in files_in(folder)
    assert (folder / name).read_bytes() == first.data

    read.clear()
    second = fetch(client, url)
    assert second.status_code == 200 and second.data == first.data
    assert len(made) == 1, "the second request made the rendition again"
    # The cached object was served; the original was not read again.
    assert record.stored_name not in read


def test_public_headers_type_and_nosniff(app, client, editor):
    record = upload(editor, image_bytes("PNG", size=(700, 350)), "headers.png")
    for url in (f"/media/{file_stem(record)}-w320.png", crop_url(record, 160, 160)):
        response = fetch(client, url)
        assert response.status_code == 200
        assert response.headers["Cache-Control"] == PUBLIC
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.mimetype == ("image/png" if url.endswith(".png") else "image/webp")
        assert response.headers["Content-Disposition"].startswith("inline")
        etag = response.headers["ETag"]
        again = client.get(url, headers={"If-None-Match": etag})
        again.close()
        assert again.status_code == 304


# --- Focal point -----------------------------------------------------------------------------


def marked_image(size=(1200, 400), mark=(1080, 80)) -> bytes:
    """Return a blue PNG with a red square around `mark`."""
    img = Image.new("RGB", size, (20, 60, 200))
    x, y = mark
    ImageDraw.Draw(img).rectangle((x - 20, y - 20, x + 20, y + 20), fill=(230, 0, 0))
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()


def is_red(pixel) -> bool:
    red, green, blue = pixel[:3]
    return red > 180 and green < 60 and blue < 60


def test_crop_keeps_the_focal_point(app, client, editor):
    record = upload(editor, marked_image(), "harbour.png")
    centred = decoded(fetch(client, crop_url(record, 320, 320)))
    assert centred.size == (320, 320)
    assert not any(
        is_red(centred.getpixel((x, y))) for x in range(0, 320, 8) for y in range(0, 320, 8)
    )

    record.focal_x, record.focal_y = 0.9, 0.2
    db.session.commit()
    url = crop_url(record, 320, 320)
    assert url.endswith("-c320x320-f9020.webp")
    cropped = decoded(fetch(client, url))
    assert cropped.size == (320, 320)
    # The box is 400 × 400 from x=800: the point (1080, 80) lands at (224, 64).
    assert is_red(cropped.getpixel((224, 64)))


def test_social_card_crop_keeps_the_focal_point(app, client, editor):
    record = upload(editor, marked_image(size=(1600, 1600), mark=(400, 1500)), "tall.png")
    record.focal_x, record.focal_y = 0.25, 0.94
    db.session.commit()
    card = decoded(fetch(client, crop_url(record, 1200, 630, "png")))
    assert card.size == (1200, 630)
    # Box 1600 × 840 pushed up against the bottom edge (top = 760): (400, 1500) -> (300, 555).
    assert is_red(card.getpixel((300, 555)))


def test_moving_the_focal_point_changes_the_address(app, client, editor):
    record = upload(editor, marked_image(), "moved.png")
    before = crop_url(record, 160, 160)
    assert fetch(client, before).status_code == 200
    record.focal_x = 0.1
    db.session.commit()
    after = crop_url(record, 160, 160)
    assert after != before
    # The old address sends to the current crop; it is not made at the old focal point again.
    old = fetch(client, before)
    assert old.status_code == 302 and old.headers["Location"].endswith(after)
    assert fetch(client, after).status_code == 200


def test_small_originals_are_not_upscaled(app, client, editor):
    record = upload(editor, image_bytes("PNG", size=(100, 60)), "tiny.png")
    assert decoded(fetch(client, crop_url(record, 320, 320))).size == (60, 60)


@pytest.mark.parametrize(
    ("size", "crop", "focal"),
    [((1200, 400), (320, 320), (0.0, 0.0)), ((1200, 400), (320, 320), (1.0, 1.0)),
     ((400, 1200), (1200, 630), (0.5, 0.99)), ((500, 500), (160, 160), (0.3, 0.7))],
)  # fmt: skip
def test_crop_box_contains_the_focal_point(size, crop, focal):
    left, top, right, bottom = crop_box(*size, *crop, *focal)
    assert 0 <= left <= focal[0] * size[0] <= right <= size[0]
    assert 0 <= top <= focal[1] * size[1] <= bottom <= size[1]
    assert abs((right - left) / (bottom - top) - crop[0] / crop[1]) < 0.01


# --- Hostile names ------------------------------------------------------------------------


def hostile_names(stem: str) -> list[str]:
    return [
        "..", "%2e%2e%2fsettings.py", "..%2f..%2fsettings.py", "%00", "settings.py",
        f"{stem}.png", f"{stem}-thumb.webp", f"{stem}-w0320.webp", f"{stem}-w320.WEBP",
        f"{stem.upper()}-w320.webp", f"{stem}-w320.svg", f"{stem}-w320.html",
        f"{stem}-w320.webp.html", f"{stem}-w320.webp%00", f"{stem}-w999999.webp",
        f"{stem}-w320", f"{stem}--w320.webp", f"{stem[:-1]}-w320.webp", f"{stem}0-w320.webp",
        f"{stem}-c100x100-f5050.webp", f"{stem}-c320x320-f505.webp",
        f"{stem}-c320x320-f50500.webp", f"{stem}-c320x320.webp", "0" * 32 + "-w320.webp",
        f"{stem}-w320.webp/..", f"..%2f{stem}-w320.webp",
    ]  # fmt: skip


def test_hostile_names_are_404_and_make_nothing(app, client, editor, folder, monkeypatch):
    (folder.parent / "settings.py").write_text("SECRET_KEY = 'TOP SECRET'")
    record = upload(editor, image_bytes("PNG", size=(700, 350)), "target.png")
    before = files_in(folder)
    monkeypatch.setattr(renditions, "render", lambda *args: pytest.fail("rendered a hostile name"))
    for name in hostile_names(file_stem(record)):
        response = fetch(client, f"/media/{name}")
        assert response.status_code in (400, 404), (name, response.status_code)
        assert b"TOP SECRET" not in response.data
    assert files_in(folder) == before


def test_parse_name_accepts_only_canonical_names():
    stem = "0123456789abcdef" * 2
    assert parse_name(f"{stem}-w640.webp") == Spec(stem, "webp", 640)
    assert parse_name(f"{stem}-c320x320-f0599.png") == Spec(stem, "png", 320, 320, (5, 99))
    for name in (f"{stem}-w640.webp\n", f" {stem}-w640.webp", f"{stem}-w-640.webp", ""):
        assert parse_name(name) is None, name


# --- Decompression bombs -------------------------------------------------------------------


def test_generation_refuses_images_over_the_pixel_limit(app, client, editor, monkeypatch):
    record = upload(editor, image_bytes("PNG", size=(700, 350)), "big.png")
    # The limit was lowered after the upload: the original is not decoded for a rendition.
    monkeypatch.setitem(app.config, "MAX_IMAGE_PIXELS", 1000)
    decoded_frames = []
    real_load = Image.Image.load
    monkeypatch.setattr(
        "PIL.ImageFile.ImageFile.load", lambda self: decoded_frames.append(1) or real_load(self)
    )
    assert fetch(client, f"/media/{file_stem(record)}-w320.webp").status_code == 404
    assert decoded_frames == []


def test_render_refuses_a_pixel_bomb_before_decoding(app, ctx, monkeypatch):
    decoded_frames = []
    real_load = Image.Image.load
    monkeypatch.setattr(
        "PIL.ImageFile.ImageFile.load", lambda self: decoded_frames.append(1) or real_load(self)
    )
    limit = app.config["MAX_IMAGE_PIXELS"]
    stem = "0" * 32
    for bomb in (png_header(10_000, limit // 10_000 + 1), png_header(60_000, 60_000)):
        with pytest.raises(renditions.RenditionError):
            renditions.render(bomb, Spec(stem, "webp", 320))
    assert decoded_frames == []


# --- Deleting -------------------------------------------------------------------------------


def test_renditions_go_with_the_last_copy(app, client, editor, folder):
    data = image_bytes("PNG", size=(700, 350))
    first = upload(editor, data, "one.png")
    second = upload(editor, data, "two.png")
    for url in (f"/media/{file_stem(first)}-w320.webp", crop_url(first, 160, 160)):
        assert fetch(client, url).status_code == 200
    made = rendition_files(folder, first)
    assert len(made) == 2

    delete_file(db.session, db.session.get(File, first.id))
    db.session.commit()
    assert rendition_files(folder, second) == made  # the other copy still shows them

    delete_file(db.session, db.session.get(File, second.id))
    db.session.commit()
    assert rendition_files(folder, second) == set()
    assert files_in(folder) == set()


# --- The HTML of a post ----------------------------------------------------------------------


class Images(HTMLParser):
    """Collect <picture>, <source> and <img> tags with their attributes, in order."""

    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        if tag in ("picture", "source", "img"):
            self.tags.append((tag, dict(attrs)))


def images_in(html: str) -> list[tuple[str, dict]]:
    parser = Images()
    parser.feed(html)
    return parser.tags


def srcset_urls(srcset: str) -> dict[str, int]:
    return {url: int(width[:-1]) for url, width in (c.split() for c in srcset.split(", "))}


def test_library_images_get_picture_srcset_size_and_lazy_loading(app, client, editor):
    record = upload(editor, image_bytes("JPEG", size=(1000, 500)), "boats.jpg")
    post = make_post(editor, body=f"Look:\n\n![Boats at dawn](/uploads/{record.stored_name})")
    tags = images_in(post.body_html)
    assert [tag for tag, _attrs in tags] == ["picture", "source", "img"]
    source, img = tags[1][1], tags[2][1]
    stem = file_stem(record)

    assert source["type"] == "image/webp"
    assert srcset_urls(source["srcset"]) == {
        f"/media/{stem}-w320.webp": 320, f"/media/{stem}-w640.webp": 640,
        f"/media/{stem}-w960.webp": 960, f"/media/{stem}-w1000.webp": 1000,
    }  # fmt: skip
    assert srcset_urls(img["srcset"]) == {
        f"/media/{stem}-w320.jpg": 320, f"/media/{stem}-w640.jpg": 640,
        f"/media/{stem}-w960.jpg": 960, f"/uploads/{record.stored_name}": 1000,
    }  # fmt: skip
    assert img["sizes"] == source["sizes"] and "40rem" in img["sizes"]
    assert img["src"] == f"/uploads/{record.stored_name}"
    assert (img["width"], img["height"]) == ("1000", "500")
    assert (img["loading"], img["decoding"]) == ("lazy", "async")
    assert img["alt"] == "Boats at dawn"
    # Every candidate answers with an image of the width it claims.
    for url, width in {**srcset_urls(source["srcset"]), **srcset_urls(img["srcset"])}.items():
        response = fetch(client, url)
        assert response.status_code == 200, url
        assert decoded(response).width == width, url


def test_alt_text_comes_from_the_library_when_the_markdown_has_none(app, editor):
    described = upload(editor, image_bytes("PNG", size=(400, 200)), "a.png")
    described.alt_text = "A red field under a grey sky"
    decorative = upload(editor, image_bytes("PNG", size=(400, 200), color=(1, 2, 3)), "b.png")
    decorative.decorative = True
    db.session.commit()
    html = render_markdown(
        f"![](/uploads/{described.stored_name}) ![](/uploads/{decorative.stored_name}) "
        f"![Mine](/uploads/{described.stored_name})"
    )
    alts = [attrs["alt"] for tag, attrs in images_in(html) if tag == "img"]
    assert alts == ["A red field under a grey sky", "", "Mine"]


def test_webp_originals_need_no_source_and_small_ones_no_srcset(app, editor):
    webp = upload(editor, image_bytes("WEBP", size=(800, 400)), "w.webp")
    tiny = upload(editor, image_bytes("WEBP", size=(200, 100)), "t.webp")
    html = render_markdown(
        f"![w](/uploads/{webp.stored_name})\n\n![t](/uploads/{tiny.stored_name})"
    )
    tags = images_in(html)
    assert [tag for tag, _attrs in tags] == ["img", "img"]
    wide, small = tags[0][1], tags[1][1]
    assert srcset_urls(wide["srcset"]) == {
        f"/media/{file_stem(webp)}-w320.webp": 320, f"/media/{file_stem(webp)}-w640.webp": 640,
        f"/uploads/{webp.stored_name}": 800,
    }  # fmt: skip
    assert "srcset" not in small
    assert (small["width"], small["height"], small["loading"]) == ("200", "100", "lazy")


def test_other_images_are_left_alone_and_author_srcset_is_dropped(app, editor):
    record = upload(editor, image_bytes("PNG", size=(700, 350)), "p.png")
    html = render_markdown(
        "![x](https://example.org/a.png) ![y](/uploads/" + "0" * 64 + ".png)\n\n"
        f'<img src="/uploads/{record.stored_name}" srcset="https://evil.example/t.png 1w" '
        'onerror="alert(1)">\n\n'
        '<picture><source srcset="https://evil.example/s.png"><img src="/x.png"></picture>'
    )
    assert "evil.example" not in html and "onerror" not in html
    tags = images_in(html)
    # An image from another host is never loaded by readers' browsers: it becomes a link.
    assert 'href="https://example.org/a.png" rel="noopener noreferrer">x</a>' in html
    assert tags[0] == ("img", {"alt": "y", "src": "/uploads/" + "0" * 64 + ".png"})
    # The author's raw <img> of a library file is made responsive like any other.
    assert [tag for tag, _attrs in tags[1:4]] == ["picture", "source", "img"]
    assert tags[4] == ("img", {"src": "/x.png"})
    assert html.count("<picture>") == 1


def test_preview_shows_the_same_responsive_html(app, browser, editor):
    from tests.factories import PASSWORD

    record = upload(editor, image_bytes("PNG", size=(700, 350)), "preview.png")
    browser.login("editor@example.com", PASSWORD)
    token = re.search(
        r'name="csrf_token"[^>]*value="([^"]+)"',
        browser.get("/admin/posts/new/").get_data(as_text=True),
    )[1]
    response = browser.client.post(
        "/admin/posts/preview/",
        data={"body_md": f"![](/uploads/{record.stored_name})"},
        headers={"X-CSRFToken": token},
    )
    assert response.status_code == 200
    assert 'srcset="/media/' in response.get_json()["html"]
