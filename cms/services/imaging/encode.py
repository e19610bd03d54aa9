"""Decoding and encoding pixels: run only inside the image worker process (see worker.py).

Every image is re-encoded from its pixels, so what is stored is image data only: no metadata,
comments, unknown chunks or bytes after the end. Stills are decoded once and saved again;
animations are written frame by frame by our own APNG and GIF writers (Pillow's keep every
frame in a list), holding at most two decoded frames at a time. Imports stdlib and Pillow only.
"""

import io
import math
import struct
import zlib

from PIL import ExifTags, Image, ImageChops, ImageOps

from .probe import Probe

JPEG_QUALITY = 90
THUMBNAIL_QUALITY = 80
# EXIF orientations that turn the image a quarter: its width and height trade places.
QUARTER_TURNS = {5, 6, 7, 8}


class TooManyFrames(ValueError):
    """The file holds more frames than its headers said (or than the limit)."""


# --- Stills ---------------------------------------------------------------------------------


def _webp_is_lossless(data: bytes) -> bool:
    """Return whether a WebP file holds lossless (VP8L) pictures."""
    return b"VP8L" in data[:4096] and b"VP8 " not in data[:4096]


def _save_params(img: Image.Image, fmt: str, data: bytes) -> dict:
    """Return encoder settings that keep colours, transparency and quality, and no metadata."""
    # Empty values, not missing ones: some encoders fall back to the source's own metadata.
    params: dict = {"exif": b"", "xmp": b""}
    icc = img.info.get("icc_profile")
    if icc:
        params["icc_profile"] = icc
    if fmt == "JPEG":
        params.update(quality=JPEG_QUALITY, optimize=True, comment=b"")
    elif fmt in ("PNG", "GIF"):
        if img.info.get("transparency") is not None:
            params["transparency"] = img.info["transparency"]
        if fmt == "GIF":
            params["comment"] = b""
    elif fmt == "WEBP":
        lossless = _webp_is_lossless(data)
        params.update(lossless=lossless, quality=100 if lossless else JPEG_QUALITY)
    return params


def thumbnail(img: Image.Image, size: int) -> bytes:
    """Return a WebP no larger than `size` on its longest side; `img` is shrunk in place."""
    if img.mode not in ("RGB", "RGBA"):
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
    img.thumbnail((size, size))
    out = io.BytesIO()
    img.save(out, format="WEBP", quality=THUMBNAIL_QUALITY)
    return out.getvalue()


def _clean_still(img: Image.Image, fmt: str, data: bytes, thumb_size: int):
    """Return (bytes, width, height, thumbnail) of one picture, upright and without metadata."""
    params = _save_params(img, fmt, data)
    # In place: no second copy of the pixels when the picture is upright already.
    upright = ImageOps.exif_transpose(img, in_place=True) or img
    upright.info = {}
    if fmt == "JPEG" and upright.mode not in ("L", "RGB", "CMYK"):
        upright = upright.convert("RGB")
    out = io.BytesIO()
    upright.save(out, format=fmt, **params)
    size = upright.size
    if "transparency" in params:
        upright.info["transparency"] = params["transparency"]
    return out.getvalue(), *size, thumbnail(upright, thumb_size)


# --- Animations -----------------------------------------------------------------------------


def _changed_box(previous: Image.Image | None, current: Image.Image):
    """Return the box of pixels that differ from the previous frame (all when there is none)."""
    if previous is None:
        return (0, 0, *current.size)
    box = ImageChops.difference(previous, current).getbbox(alpha_only=False)
    # An unchanged frame still needs a (one-pixel) picture to carry its duration.
    return box or (0, 0, 1, 1)


def _frames(img: Image.Image, mode: str, max_frames: int):
    """Yield (frame in `mode`, duration in ms) decoding one frame at a time."""
    count = getattr(img, "n_frames", 1)
    if count > max_frames:
        raise TooManyFrames(count)
    for index in range(count):
        img.seek(index)
        img.load()
        duration = img.info.get("duration", 0) or 0
        yield (img.convert(mode) if img.mode != mode else img.copy()), duration


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    """Return one PNG chunk with its length and CRC."""
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _png_chunks(data: bytes):
    """Yield (kind, body) of a PNG we encoded ourselves."""
    pos = 8
    while pos < len(data):
        length, kind = struct.unpack_from(">I4s", data, pos)
        yield kind, data[pos + 8 : pos + 8 + length]
        pos += 12 + length


def _encode_png(img: Image.Image, icc: bytes | None = None) -> bytes:
    """Return a still PNG of `img` (no metadata)."""
    out = io.BytesIO()
    img.save(out, format="PNG", **({"icc_profile": icc} if icc else {}))
    return out.getvalue()


def _delay(duration: float) -> bytes:
    """Return an APNG frame delay (numerator, denominator) for a duration in ms."""
    duration = max(0, int(round(duration)))
    if duration <= 0xFFFF:
        return struct.pack(">HH", duration, 1000)
    return struct.pack(">HH", min(0xFFFF, round(duration / 10)), 100)


def _write_apng(img: Image.Image, max_frames: int, thumb_size: int):
    """Return (bytes, width, height, thumbnail) of an APNG re-encoded frame by frame.

    Each frame is the full picture Pillow composed; only the box that changed since the
    previous one is written (blend SOURCE, dispose NONE), as Pillow's own writer does.
    """
    alpha = img.mode in ("RGBA", "LA", "PA") or "transparency" in img.info
    mode = "RGBA" if alpha else "RGB"
    icc = img.info.get("icc_profile")
    loop = int(img.info.get("loop", 0))
    default_image = bool(img.info.get("default_image"))
    head, body, sequence, animated, previous, thumb = [], [], 0, 0, None, None
    for index, (frame, duration) in enumerate(_frames(img, mode, max_frames)):
        if index == 0:
            thumb = thumbnail(frame.copy(), thumb_size)
        if index == 0 and default_image:
            # A picture shown where animation is not supported, not part of the animation.
            chunks = list(_png_chunks(_encode_png(frame, icc)))
            head = [(kind, data) for kind, data in chunks if kind not in (b"IDAT", b"IEND")]
            body += [_png_chunk(kind, data) for kind, data in chunks if kind == b"IDAT"]
            frame.close()
            continue
        box = _changed_box(previous, frame)
        part = frame.crop(box)
        chunks = list(_png_chunks(_encode_png(part, icc)))
        if not head:
            head = [(kind, data) for kind, data in chunks if kind not in (b"IDAT", b"IEND")]
        control = struct.pack(">IIIII", sequence, part.width, part.height, box[0], box[1])
        body.append(_png_chunk(b"fcTL", control + _delay(duration) + b"\x00\x00"))
        sequence += 1
        for kind, data in chunks:
            if kind != b"IDAT":
                continue
            if animated == 0 and not default_image:
                body.append(_png_chunk(b"IDAT", data))
            else:
                body.append(_png_chunk(b"fdAT", struct.pack(">I", sequence) + data))
                sequence += 1
        animated += 1
        part.close()
        if previous is not None:
            previous.close()
        previous = frame
    out = [b"\x89PNG\r\n\x1a\n"]
    out += [_png_chunk(kind, data) for kind, data in head if kind != b"IEND"]
    out.append(_png_chunk(b"acTL", struct.pack(">II", animated, loop)))
    out += body
    out.append(_png_chunk(b"IEND", b""))
    return b"".join(out), img.width, img.height, thumb


def _gif_parts(data: bytes):
    """Return (colour table, transparent index or None, descriptor flags, LZW data) of a
    one-frame GIF that Pillow wrote."""
    flags = data[10]
    pos = 13
    table = data[pos : pos + (3 << ((flags & 7) + 1))] if flags & 0x80 else b""
    pos += len(table)
    transparent = None
    while data[pos] == 0x21:
        if data[pos + 1] == 0xF9 and data[pos + 3] & 1:
            transparent = data[pos + 6]
        pos += 2
        while data[pos]:
            pos += 1 + data[pos]
        pos += 1
    frame_flags = data[pos + 9]
    pos += 10
    if frame_flags & 0x80:
        table = data[pos : pos + (3 << ((frame_flags & 7) + 1))]
        pos += len(table)
    start = pos
    pos += 1
    while data[pos]:
        pos += 1 + data[pos]
    return table, transparent, frame_flags & 0x40, data[start : pos + 1]


def _write_gif(img: Image.Image, probe: Probe, max_frames: int, thumb_size: int):
    """Return (bytes, width, height, thumbnail) of a GIF re-encoded frame by frame.

    Without transparency, the first frame is whole and later ones only the box that changed
    (kept on screen: disposal 1). With transparency, every frame is whole and cleared after
    it is shown (disposal 2), so pixels that become transparent do too.
    """
    mode = "RGBA" if probe.alpha else "RGB"
    width, height = img.size
    out = [b"GIF89a", struct.pack("<HHBBB", width, height, 0, 0, 0)]
    if "loop" in img.info:
        loop = struct.pack("<H", int(img.info["loop"]) & 0xFFFF)
        out.append(b"\x21\xff\x0bNETSCAPE2.0\x03\x01" + loop + b"\x00")
    previous, thumb = None, None
    for index, (frame, duration) in enumerate(_frames(img, mode, max_frames)):
        if index == 0:
            thumb = thumbnail(frame.copy(), thumb_size)
        box = (0, 0, width, height) if probe.alpha else _changed_box(previous, frame)
        part = frame.crop(box)
        encoded = io.BytesIO()
        part.save(encoded, format="GIF", interlace=False)
        part.close()
        table, transparent, interlace, lzw = _gif_parts(encoded.getvalue())
        disposal = 2 if probe.alpha else 1
        packed = disposal << 2 | (transparent is not None)
        delay = min(0xFFFF, max(0, round(duration / 10)))
        out.append(struct.pack("<BBBBHBB", 0x21, 0xF9, 4, packed, delay, transparent or 0, 0))
        size_bits = max(0, (len(table) // 3).bit_length() - 2)
        flags = 0x80 | interlace | size_bits
        right, bottom = box[2] - box[0], box[3] - box[1]
        out.append(struct.pack("<BHHHHB", 0x2C, box[0], box[1], right, bottom, flags))
        out += [table, lzw]
        if previous is not None:
            previous.close()
        previous = frame
    out.append(b"\x3b")
    return b"".join(out), width, height, thumb


def _write_webp(img: Image.Image, probe: Probe, data: bytes, max_frames: int, thumb_size: int):
    """Return (bytes, width, height, thumbnail) of an animated WebP re-encoded.

    Pillow's WebP writer hands the source's frames to libwebp one at a time when the source
    itself is saved (no list of frames); durations come from the headers.
    """
    if img.n_frames > max_frames or img.n_frames != len(probe.durations):
        raise TooManyFrames(img.n_frames)
    img.seek(0)
    img.load()
    thumb = thumbnail(img.copy(), thumb_size)
    params = _save_params(img, "WEBP", data)
    img.info = {key: value for key, value in img.info.items() if key in ("loop", "background")}
    out = io.BytesIO()
    img.save(out, format="WEBP", save_all=True, duration=probe.durations, **params)
    return out.getvalue(), img.width, img.height, thumb


def clean(data: bytes, probe: Probe, max_frames: int, thumb_size: int):
    """Return (bytes, width, height, thumbnail) of an image re-encoded to its pixels only."""
    with Image.open(io.BytesIO(data)) as img:
        fmt = img.format
        if {"MPO": "JPEG"}.get(fmt, fmt) != probe.format:
            raise ValueError(f"{fmt} is not {probe.format}")
        if getattr(img, "n_frames", 1) > 1 and fmt != "MPO":
            if fmt == "PNG":
                return _write_apng(img, max_frames, thumb_size)
            if fmt == "GIF":
                return _write_gif(img, probe, max_frames, thumb_size)
            return _write_webp(img, probe, data, max_frames, thumb_size)
        # The second picture of a phone's MPO (a preview, a depth map) goes like metadata.
        return _clean_still(img, "JPEG" if fmt == "MPO" else fmt, data, thumb_size)


# --- Renditions -----------------------------------------------------------------------------


def crop_box(width: int, height: int, crop_w: int, crop_h: int, fx: float, fy: float):
    """Return the largest (left, top, right, bottom) box of the crop's shape around (fx, fy).

    The box is centred on the focal point and then moved back inside the image; the point
    stays inside it either way.
    """
    if width * crop_h > height * crop_w:
        box_h = height
        box_w = min(width, max(1, round(height * crop_w / crop_h)))
    else:
        box_w = width
        box_h = min(height, max(1, round(width * crop_h / crop_w)))
    left = min(max(fx * width - box_w / 2, 0), width - box_w)
    top = min(max(fy * height - box_h / 2, 0), height - box_h)
    return left, top, left + box_w, top + box_h


def mode_for(img: Image.Image, fmt: str) -> str:
    """Return the mode to save in: RGB, or RGBA when the image has transparency to keep."""
    if fmt == "JPEG":
        return "RGB"
    transparent = img.mode in ("RGBA", "LA", "PA") or "transparency" in img.info
    return "RGBA" if transparent else "RGB"


def render(data: bytes, fmt: str, width: int, height, focal, options: dict) -> bytes:
    """Return a rendition: the first frame scaled to `width`, or a crop of width × height
    around `focal` (whole percent); JPEGs are decoded at a reduced size when that is enough."""
    with Image.open(io.BytesIO(data)) as img:
        turned = img.getexif().get(ExifTags.Base.Orientation, 1) in QUARTER_TURNS
        full_w, full_h = (img.height, img.width) if turned else img.size
        if height is not None:
            fx, fy = (code / 100 for code in focal)
            box = crop_box(full_w, full_h, width, height, fx, fy)
            box_w, box_h = box[2] - box[0], box[3] - box[1]
            if box_w >= width:
                size, scale = (width, height), width / box_w
            else:
                # A small original: the crop is as large as the original allows, never upscaled.
                size, scale = (max(1, round(box_w)), max(1, round(box_h))), 1.0
        else:
            box = (0, 0, full_w, full_h)
            scale = width / full_w
            size = (width, max(1, round(full_h * scale)))
        if img.format == "JPEG":
            # Let the decoder scale down by 1/2, 1/4 or 1/8 when that is still large enough.
            need = (math.ceil(full_w * scale), math.ceil(full_h * scale))
            img.draft(None, (need[1], need[0]) if turned else need)
        upright = ImageOps.exif_transpose(img, in_place=True) or img
        # Drafting may have decoded at a reduced size: map the box onto what we have.
        ratio_x, ratio_y = upright.width / full_w, upright.height / full_h
        scaled_box = (box[0] * ratio_x, box[1] * ratio_y, box[2] * ratio_x, box[3] * ratio_y)
        mode = mode_for(upright, fmt)
        if upright.mode != mode:
            upright = upright.convert(mode)
        result = upright.resize(size, Image.Resampling.LANCZOS, box=scaled_box)
        upright.close()
        out = io.BytesIO()
        options = dict(options)
        icc = img.info.get("icc_profile")
        if icc and fmt in ("JPEG", "PNG", "WEBP"):
            options["icc_profile"] = icc
        # Nothing of the original's metadata (EXIF, GPS) is copied.
        result.save(out, format=fmt, **options)
        return out.getvalue()
