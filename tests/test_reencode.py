"""Every image is re-encoded: only image data is stored (issue 10, item 5).

Appended documents, trailing bytes, text and unknown chunks, comments: all gone from what is
stored, for every image, not only those with metadata; pixels, size, transparency and an
animation's frames and timing stay.
"""

import io
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from cms.extensions import db
from cms.services.media import store_upload
from tests.factories import make_user

HTML = b"<!doctype html><html><body><script>alert(document.domain)</script></body></html>"


@pytest.fixture
def editor(ctx):
    """An editor who uploads."""
    return make_user("reencode@example.com", roles=("editor",))


def encoded(img: Image.Image, fmt: str, **params) -> bytes:
    """Return an image saved in memory."""
    out = io.BytesIO()
    img.save(out, format=fmt, **params)
    return out.getvalue()


def stored(app, editor, data: bytes, name: str) -> bytes:
    """Upload `data` and return the bytes that were stored."""
    record = store_upload(db.session, data, name, editor)
    db.session.commit()
    return (Path(app.config["UPLOAD_FOLDER"]) / record.stored_name).read_bytes()


def pattern(mode="RGB", size=(48, 32)) -> Image.Image:
    """Return a picture with distinct pixels (and, in RGBA, varied transparency)."""
    img = Image.new(mode, size)
    img.putdata(
        [
            (x * 5 % 256, y * 7 % 256, (x + y) * 3 % 256, (x * 16) % 256)[: len(mode)]
            for y in range(size[1])
            for x in range(size[0])
        ]
    )
    return img


def png_chunk(kind: bytes, body: bytes) -> bytes:
    """Return a PNG chunk."""
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def with_chunk_before_iend(png: bytes, chunk: bytes) -> bytes:
    """Return a PNG with an extra chunk before its IEND."""
    return png[:-12] + chunk + png[-12:]


def frames_of(data: bytes) -> list[tuple[bytes, int]]:
    """Return the RGBA pixels and duration of every frame of an image."""
    result = []
    with Image.open(io.BytesIO(data)) as img:
        for index in range(getattr(img, "n_frames", 1)):
            img.seek(index)
            img.load()
            result.append((img.convert("RGBA").tobytes(), img.info.get("duration")))
    return result


def test_png_with_an_appended_html_document(app, editor):
    """A valid PNG followed by HTML: the HTML is gone, the pixels are the same."""
    png = encoded(pattern(), "PNG")
    kept = stored(app, editor, png + HTML, "polyglot.png")
    assert b"<script" not in kept and b"<html" not in kept
    assert kept.endswith(png_chunk(b"IEND", b""))
    assert frames_of(kept) == frames_of(png)


def test_png_text_unknown_and_private_chunks_go(app, editor):
    """tEXt, zTXt, iTXt, tIME and unknown chunks go; transparency and pixels stay."""
    info = PngInfo()
    info.add_text("Comment", "<script>alert(1)</script>")
    info.add_text("Author", "Jane Doe", zip=True)
    info.add_itxt("Description", "Ünïcode note")
    png = encoded(pattern("RGBA"), "PNG", pnginfo=info)
    png = with_chunk_before_iend(png, png_chunk(b"prVt", HTML))
    kept = stored(app, editor, png, "chunks.png")
    for text in (b"<script", b"Jane", b"prVt", b"tEXt", b"zTXt", b"iTXt", b"Description"):
        assert text not in kept, text
    with Image.open(io.BytesIO(kept)) as img:
        assert img.mode == "RGBA" and img.size == (48, 32)
    assert frames_of(kept) == frames_of(png)


@pytest.mark.parametrize("comment", [b"", b"<script>alert(1)</script>"], ids=["plain", "comment"])
def test_jpeg_comment_and_trailing_bytes_go(app, editor, comment):
    """A JPEG (with or without a comment segment) and HTML after its end: only the picture."""
    jpeg = encoded(pattern(), "JPEG", quality=95, comment=comment)
    kept = stored(app, editor, jpeg + HTML, "photo.jpg")
    assert b"<script" not in kept and b"<html" not in kept
    assert kept.endswith(b"\xff\xd9")
    with Image.open(io.BytesIO(kept)) as img, Image.open(io.BytesIO(jpeg)) as original:
        assert img.size == original.size and "comment" not in img.info
        # Lossy, but the same picture: every channel within a small distance.
        diffs = [abs(a - b) for a, b in zip(img.tobytes(), original.tobytes(), strict=True)]
        assert sum(diffs) / len(diffs) < 3


def test_gif_comment_and_trailing_bytes_go(app, editor):
    """A still GIF with a comment extension and bytes after the trailer."""
    gif = encoded(pattern().convert("P"), "GIF", comment=b"<script>alert(1)</script>")
    kept = stored(app, editor, gif + HTML, "still.gif")
    assert b"<script" not in kept and b"<html" not in kept
    assert kept.endswith(b";") and b"\x21\xfe" not in kept
    assert frames_of(kept) == frames_of(gif)


def test_animated_gif_keeps_frames_timing_and_transparency(app, editor):
    """Re-encoded frame by frame: same frame count, durations, pixels and transparency."""
    frames = []
    for index, colour in enumerate(("red", "lime", "blue", "blue")):
        frame = Image.new("RGBA", (40, 30), (0, 0, 0, 0))
        frame.paste(Image.new("RGBA", (20, 15), colour), (index * 5, index * 3))
        frames.append(frame)
    gif = encoded(
        frames[0], "GIF", save_all=True, append_images=frames[1:], duration=[100, 200, 300, 400],
        loop=0, disposal=2, comment=b"<script>x</script>",
    )  # fmt: skip
    kept = stored(app, editor, gif + HTML, "anim.gif")
    assert b"<script" not in kept and b"<html" not in kept
    assert frames_of(kept) == frames_of(gif)
    with Image.open(io.BytesIO(kept)) as img:
        assert img.n_frames == 4 and img.info.get("loop") == 0


def test_opaque_animated_gif_keeps_its_frames(app, editor):
    """An opaque animation (written as changed boxes) shows the same frames."""
    frames = [pattern(size=(32, 24))]
    for shift in (4, 8):
        frame = frames[-1].copy()
        frame.paste(Image.new("RGB", (6, 6), (shift * 20, 0, 0)), (shift, shift))
        frames.append(frame)
    gif = encoded(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=[50, 60, 70])
    kept = stored(app, editor, gif, "opaque.gif")
    assert frames_of(kept) == frames_of(gif)


@pytest.mark.parametrize("text", [False, True], ids=["plain", "text"])
def test_apng_keeps_frames_timing_and_alpha_and_loses_text(app, editor, text):
    """An APNG is re-encoded from its frames, one at a time; a text chunk goes."""
    frames = [pattern("RGBA", (24, 16))]
    frames.append(Image.new("RGBA", (24, 16), (0, 0, 255, 128)))
    frames.append(frames[0].transpose(Image.Transpose.FLIP_LEFT_RIGHT))
    info = PngInfo()
    if text:
        info.add_text("Comment", "<script>alert(1)</script>")
    png = encoded(
        frames[0], "PNG", save_all=True, append_images=frames[1:], duration=[100, 250, 400],
        loop=2, pnginfo=info,
    )  # fmt: skip
    kept = stored(app, editor, png + HTML, "anim.png")
    assert b"<script" not in kept and b"tEXt" not in kept and kept.endswith(b"IEND\xaeB`\x82")
    assert frames_of(kept) == frames_of(png)
    with Image.open(io.BytesIO(kept)) as img:
        assert img.n_frames == 3 and img.info.get("loop") == 2


def test_animated_webp_keeps_frames_and_timing_and_loses_trailing_bytes(app, editor):
    """An animated WebP (lossless here) keeps its frames exactly; bytes after RIFF go."""
    frames = [pattern("RGBA", (24, 16)), Image.new("RGBA", (24, 16), (9, 200, 9, 255))]
    webp = encoded(
        frames[0], "WEBP", save_all=True, append_images=frames[1:], duration=[120, 240],
        lossless=True,
    )  # fmt: skip
    kept = stored(app, editor, webp + HTML, "anim.webp")
    assert b"<script" not in kept
    assert frames_of(kept) == frames_of(webp)


def test_still_webp_with_trailing_bytes(app, editor):
    """A still lossless WebP keeps its pixels; bytes after the RIFF container go."""
    webp = encoded(pattern("RGBA"), "WEBP", lossless=True)
    kept = stored(app, editor, webp + HTML, "still.webp")
    assert b"<script" not in kept
    assert frames_of(kept) == frames_of(webp)


def test_an_ordinary_png_keeps_size_and_pixels(app, editor):
    """An ordinary image still uploads: same size, same pixels, with palette transparency."""
    img = pattern().convert("P")
    png = encoded(img, "PNG", transparency=0)
    kept = stored(app, editor, png, "plain.png")
    with Image.open(io.BytesIO(kept)) as result:
        assert result.size == (48, 32) and "transparency" in result.info
    assert frames_of(kept) == frames_of(png)
