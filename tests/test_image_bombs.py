"""Images small on disk but huge decoded: refused from their headers, never grow a worker.

Issue 10, item 2. Each bomb is built in memory by hand (chunks, blocks), so building it costs
nothing. The memory tests run the real upload path and the rendition path in a separate
Python process and read its peak RSS (VmHWM) before and after: growth stays under 200 MiB.
"""

import io
import json
import struct
import subprocess
import sys
import textwrap
import zlib
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select

from cms.extensions import db
from cms.models import File
from cms.services import renditions
from cms.services.imaging import probe
from cms.services.imaging.encode import _gif_parts
from cms.services.media import UploadRejected, store_upload
from cms.services.renditions import Spec
from tests.factories import make_user
from tests.helpers import files_in

ROOT = Path(__file__).resolve().parent.parent
MIB = 1024 * 1024
# The bar of the issue: a worker's memory after any one upload or rendition.
MAX_GROWTH = 200 * MIB


def chunk(kind: bytes, body: bytes) -> bytes:
    """Return a PNG chunk."""
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def zero_rows(width: int, height: int, bands: int) -> bytes:
    """Return zlib data of `height` rows of zero pixels, compressed without holding them."""
    compressor, row, out = zlib.compressobj(9), b"\0" * (width * bands + 1), []
    for _ in range(height):
        out.append(compressor.compress(row))
    out.append(compressor.flush())
    return b"".join(out)


def apng_bomb(frames=10_000, size=(200, 100)) -> bytes:
    """Return an APNG of many full-canvas RGBA frames, with a text chunk (~790 MiB decoded)."""
    width, height = size
    data = zero_rows(width, height, 4)
    out = [
        b"\x89PNG\r\n\x1a\n",
        chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)),
    ]
    out += [chunk(b"acTL", struct.pack(">II", frames, 0)), chunk(b"tEXt", b"Comment\0bomb")]
    sequence = 0
    for index in range(frames):
        control = struct.pack(">IIIIIHHBB", sequence, width, height, 0, 0, 1, 100, 0, 0)
        out.append(chunk(b"fcTL", control))
        sequence += 1
        if index == 0:
            out.append(chunk(b"IDAT", data))
        else:
            out.append(chunk(b"fdAT", struct.pack(">I", sequence) + data))
            sequence += 1
    out.append(chunk(b"IEND", b""))
    return b"".join(out)


def big_png(size=(8000, 5000)) -> bytes:
    """Return a 40-megapixel RGBA PNG of zeros with a text chunk (~150 MiB decoded)."""
    width, height = size
    ihdr = chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0))
    text = chunk(b"tEXt", b"Comment\0a text chunk")
    idat = chunk(b"IDAT", zero_rows(width, height, 4))
    return b"\x89PNG\r\n\x1a\n" + ihdr + text + idat + chunk(b"IEND", b"")


def gif_frame(size) -> tuple[bytes, bytes]:
    """Return the colour table and LZW data of a one-colour frame that Pillow encodes."""
    out = io.BytesIO()
    Image.new("P", size, 1).save(out, format="GIF")
    table, _transparent, _interlace, lzw = _gif_parts(out.getvalue())
    return table, lzw


def gif_bomb(frames=10_000, size=(200, 100), frame_sizes=None) -> bytes:
    """Return a GIF of many frames; `frame_sizes` lets frames claim more than the screen."""
    width, height = size
    out = [b"GIF89a", struct.pack("<HHBBB", width, height, 0, 0, 0)]
    out.append(b"\x21\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00")
    for index in range(frames):
        frame_w, frame_h = (frame_sizes or {}).get(index, size)
        table, lzw = gif_frame((frame_w, frame_h))
        bits = (len(table) // 3).bit_length() - 2
        out.append(b"\x21\xf9\x04\x04\x0a\x00\x00\x00")
        out.append(struct.pack("<BHHHHB", 0x2C, 0, 0, frame_w, frame_h, 0x80 | bits) + table + lzw)
        if frame_sizes is None:
            # Every frame alike: encode one, repeat it.
            block = out[-2] + out[-1]
            out += [block] * (frames - 1)
            break
    out.append(b";")
    return b"".join(out)


def webp_bomb(frames=1000, canvas=(2000, 2000)) -> bytes:
    """Return an animated WebP: many 1×1 frames on a large canvas (each decoded as the canvas)."""
    pixel = io.BytesIO()
    Image.new("RGBA", (1, 1), (1, 2, 3, 255)).save(pixel, format="WEBP", lossless=True)
    bitstream = pixel.getvalue()[12:]  # the VP8L chunk, header included

    def riff_chunk(kind: bytes, body: bytes) -> bytes:
        return kind + struct.pack("<I", len(body)) + body + b"\0" * (len(body) & 1)

    width, height = canvas
    vp8x = bytes([0x12, 0, 0, 0]) + (width - 1).to_bytes(3, "little")
    vp8x += (height - 1).to_bytes(3, "little")
    frame = riff_chunk(
        b"ANMF", bytes(6) + bytes(3) + bytes(3) + (100).to_bytes(3, "little") + b"\0" + bitstream
    )
    body = (
        b"WEBP"
        + riff_chunk(b"VP8X", vp8x)
        + riff_chunk(b"ANIM", bytes(4) + b"\0\0")
        + frame * frames
    )
    return b"RIFF" + struct.pack("<I", len(body)) + body


def big_jpeg(size=(8000, 5000)) -> bytes:
    """Return a 40-megapixel JPEG (small on disk, 114 MiB decoded)."""
    out = io.BytesIO()
    Image.new("RGB", size, (90, 120, 150)).save(out, format="JPEG", quality=60)
    return out.getvalue()


def lying_gif() -> bytes:
    """Return a GIF whose screen is 10 × 10 but whose second frame is 6000 × 6000."""
    return gif_bomb(frames=2, size=(10, 10), frame_sizes={0: (10, 10), 1: (6000, 6000)})


BOMBS = {
    "apng-10000-frames": (apng_bomb, "bomb.png"),
    "gif-10000-frames": (gif_bomb, "bomb.gif"),
    "webp-animated": (webp_bomb, "bomb.webp"),
    "png-40mp-rgba-text": (big_png, "big.png"),
    "gif-lying-header": (lying_gif, "lying.gif"),
}


@pytest.fixture
def editor(ctx):
    """An editor who uploads."""
    return make_user("bombs@example.com", roles=("editor",))


@pytest.mark.parametrize("kind", sorted(BOMBS))
def test_bombs_are_refused_from_their_headers(app, editor, monkeypatch, kind):
    """Over the frame limit or the decoded-size budget: refused, nothing decoded or left."""
    build, name = BOMBS[kind]
    data = build()
    assert len(data) < app.config["MAX_CONTENT_LENGTH"]
    decoded = []
    real_load = Image.Image.load
    monkeypatch.setattr(
        "PIL.ImageFile.ImageFile.load", lambda self: decoded.append(1) or real_load(self)
    )
    with pytest.raises(UploadRejected, match="too large|too many frames"):
        store_upload(db.session, data, name, editor)
    assert decoded == []
    db.session.rollback()
    assert files_in(Path(app.config["UPLOAD_FOLDER"])) == set()
    assert db.session.scalar(select(func.count(File.id))) == 0
    if kind.endswith("frames") or kind.startswith("webp"):
        return  # a rendition decodes the first frame only (in the image worker)
    # Stored before these limits existed: no rendition is made of it either.
    with pytest.raises(renditions.RenditionError):
        renditions.render(data, Spec("0" * 32, "webp", 320, 160, (50, 50)))
    assert decoded == []


def test_headers_are_read_without_decoding():
    """The probe finds the real frame count, canvas and bands of each bomb."""
    assert probe(apng_bomb()).frames == 10_000
    assert probe(gif_bomb()).frames == 10_000
    found = probe(webp_bomb())
    assert (found.frames, found.width, found.height, found.bands) == (1000, 2000, 2000, 4)
    lying = probe(lying_gif())
    assert (lying.width, lying.height) == (6000, 6000)
    assert probe(big_png()).decoded_bytes == 8000 * 5000 * 4


def test_frame_limit_is_the_setting(app, editor, monkeypatch):
    """MAX_IMAGE_FRAMES decides: a 3-frame animation over a limit of 2 is refused."""
    monkeypatch.setitem(app.config, "MAX_IMAGE_FRAMES", 2)
    with pytest.raises(UploadRejected, match="too many frames"):
        store_upload(db.session, apng_bomb(frames=3, size=(4, 4)), "a.png", editor)


def test_budget_is_the_setting(app, editor, monkeypatch):
    """MAX_IMAGE_DECODED_BYTES decides: 10 frames of 10 × 10 RGBA are 4,000 bytes."""
    monkeypatch.setitem(app.config, "MAX_IMAGE_DECODED_BYTES", 3999)
    with pytest.raises(UploadRejected, match="too large to process"):
        store_upload(db.session, apng_bomb(frames=10, size=(10, 10)), "a.png", editor)
    monkeypatch.setitem(app.config, "MAX_IMAGE_DECODED_BYTES", 4000)
    record = store_upload(db.session, apng_bomb(frames=10, size=(10, 10)), "a.png", editor)
    with Image.open(io.BytesIO(record_bytes(app, record))) as img:
        assert img.n_frames == 10


def record_bytes(app, record) -> bytes:
    """Return the stored bytes of a file."""
    return (Path(app.config["UPLOAD_FOLDER"]) / record.stored_name).read_bytes()


# --- Memory, measured in a separate process --------------------------------------------------

MEASURE = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path

    from flask_migrate import upgrade

    from cms import create_app
    from cms.extensions import db
    from cms.services import renditions
    from cms.services.media import UploadRejected, file_stem, store_upload
    from cms.services.renditions import RenditionError, Spec
    from tests.conftest import test_config
    from tests.factories import image_bytes

    def peak():
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024

    tmp, path, name = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
    app = create_app(test_config(tmp, f"sqlite:///{tmp / 'measure.db'}"))
    with app.app_context():
        upgrade(directory=app.config["MIGRATIONS_DIR"])
        # Warm up: every module loaded, one ordinary upload and rendition made.
        warm = store_upload(db.session, image_bytes("JPEG", size=(800, 600)), "warm.jpg", None)
        db.session.commit()
        assert renditions.get(f"{file_stem(warm)}-w320.webp") is not None
        data = path.read_bytes()
        before = peak()
        result = {}
        try:
            record = store_upload(db.session, data, name, None)
            db.session.commit()
            result["upload"] = "stored"
            for spec in (f"{file_stem(record)}-w320.webp", renditions.crop_name(record, 320, 320)):
                result[spec[-12:]] = renditions.get(spec) is not None
        except UploadRejected as error:
            db.session.rollback()
            result["upload"] = str(error)
        # The rendition path on the bytes as they are, as for a file stored before the limits.
        for spec in (Spec("0" * 32, "webp", 320), Spec("0" * 32, "webp", 320, 320, (50, 50))):
            try:
                renditions.render(data, spec)
                result[spec.name] = "made"
            except RenditionError as error:
                result[spec.name] = str(error)[:80]
        result["growth"] = peak() - before
        print(json.dumps(result))
    """
)


@pytest.mark.parametrize("kind", [*sorted(BOMBS), "jpeg-40mp"])
def test_memory_of_upload_and_rendition_stays_bounded(tmp_path, kind):
    """Upload and rendition of each bomb grow the process by less than 200 MiB (VmHWM)."""
    build, name = BOMBS.get(kind, (big_jpeg, "big.jpg"))
    path = tmp_path / name
    path.write_bytes(build())
    done = subprocess.run(  # noqa: S603 (our own interpreter and script)
        [sys.executable, "-c", MEASURE, str(tmp_path), str(path), name],
        capture_output=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    result = json.loads(done.stdout.decode().strip().splitlines()[-1])
    print(kind, result)
    assert result["growth"] < MAX_GROWTH, result
    if kind == "jpeg-40mp":
        # A large but honest photo is accepted, and its renditions are made.
        assert result["upload"] == "stored" and all(
            v for k, v in result.items() if k.endswith("webp")
        )
