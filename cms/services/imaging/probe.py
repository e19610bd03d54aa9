"""Reading an image's size, frame count and bands from its headers, without decoding pixels.

Pillow's own header reading trusts what the file claims (an APNG's acTL, a GIF's screen size)
and only learns the truth while decoding; these walkers read every chunk or block header, so
the decoded size is known, and budgeted, before a single frame is decoded.
"""

import struct
from dataclasses import dataclass, field

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# JPEG start-of-frame markers (C4, C8 and CC are other segments).
JPEG_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


class ProbeError(ValueError):
    """Headers that are truncated, inconsistent or of a format we do not read."""


@dataclass
class Probe:
    """What an image's headers say: format, canvas, frames, and whether it has alpha."""

    format: str
    width: int
    height: int
    frames: int = 1
    # Transparency (an alpha channel, tRNS, a transparent GIF colour).
    alpha: bool = False
    # Bytes per pixel while we work on it: 3 (RGB), 4 (RGBA, CMYK, or GIF frames after the first).
    bands: int = 3
    # Milliseconds per frame, when the headers carry them (animated WebP).
    durations: list[int] = field(default_factory=list)

    @property
    def decoded_bytes(self) -> int:
        """Return the memory all frames would take once decoded: frames × w × h × bands."""
        return self.frames * self.width * self.height * self.bands

    @property
    def frame_bytes(self) -> int:
        """Return the memory one decoded frame takes."""
        return self.width * self.height * self.bands


def probe(data: bytes) -> Probe:
    """Return what the headers of a PNG/APNG, GIF, WebP or JPEG say; raise ProbeError."""
    try:
        if data.startswith(PNG_SIGNATURE):
            return _png(data)
        if data[:6] in (b"GIF87a", b"GIF89a"):
            return _gif(data)
        if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
            return _webp(data)
        if data[:2] == b"\xff\xd8":
            return _jpeg(data)
    except (struct.error, IndexError):
        raise ProbeError("truncated headers") from None
    raise ProbeError("not an image format we read")


def _png(data: bytes) -> Probe:
    """Walk a PNG's chunks up to IEND: IHDR, acTL and every fcTL."""
    pos, found, declared, counted, alpha = 8, None, 1, 0, False
    while pos + 8 <= len(data):
        length, kind = struct.unpack_from(">I4s", data, pos)
        body = data[pos + 8 : pos + 8 + length]
        if len(body) != length:
            raise ProbeError("truncated chunk")
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack_from(">IIBB", body)
            found = (width, height)
            alpha = colour in (4, 6)
        elif kind == b"tRNS":
            alpha = True
        elif kind == b"acTL":
            declared = struct.unpack_from(">I", body)[0]
        elif kind == b"fcTL":
            counted += 1
            frame_w, frame_h, left, top = struct.unpack_from(">IIII", body, 4)
            if found and (left + frame_w > found[0] or top + frame_h > found[1]):
                raise ProbeError("frame outside the canvas")
        elif kind == b"IEND":
            break
        pos += 12 + length
    if found is None:
        raise ProbeError("no IHDR")
    # Pillow decodes as many frames as acTL claims; count what is there if it claims fewer.
    frames = max(declared, counted, 1)
    return Probe("PNG", *found, frames=frames, alpha=alpha, bands=4 if alpha else 3)


def _sub_blocks_end(data: bytes, pos: int) -> int:
    """Return the position after a GIF sub-block chain starting at `pos`."""
    while True:
        size = data[pos]
        pos += 1 + size
        if size == 0:
            return pos


def _gif(data: bytes) -> Probe:
    """Walk a GIF's blocks up to the trailer; the canvas grows to hold every frame (as Pillow's)."""
    width, height, flags = struct.unpack_from("<HHB", data, 6)
    pos = 13 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)
    frames, alpha = 0, False
    while True:
        block = data[pos]
        if block == 0x3B:
            break
        if block == 0x21:
            label = data[pos + 1]
            if label == 0xF9 and data[pos + 2] >= 4 and data[pos + 3] & 1:
                alpha = True
            pos = _sub_blocks_end(data, pos + 2)
        elif block == 0x2C:
            left, top, frame_w, frame_h, frame_flags = struct.unpack_from("<HHHHB", data, pos + 1)
            width, height = max(width, left + frame_w), max(height, top + frame_h)
            pos += 10 + (3 << ((frame_flags & 7) + 1) if frame_flags & 0x80 else 0)
            pos = _sub_blocks_end(data, pos + 1)
            frames += 1
        else:
            raise ProbeError("unknown GIF block")
    if not frames:
        raise ProbeError("no frame")
    # Later frames are decoded in RGB(A) on top of the earlier ones: count them as RGBA too.
    return Probe("GIF", width, height, frames=frames, alpha=alpha, bands=4)


def _webp(data: bytes) -> Probe:
    """Walk a WebP's RIFF chunks: VP8X (canvas, flags), ANMF (frames, durations), VP8/VP8L."""
    pos, end = 12, min(len(data), 8 + struct.unpack_from("<I", data, 4)[0])
    size, alpha, durations = None, False, []
    while pos + 8 <= end:
        kind, length = struct.unpack_from("<4sI", data, pos)
        body = pos + 8
        if kind == b"VP8X":
            alpha = bool(data[body] & 0x10)
            width = int.from_bytes(data[body + 4 : body + 7], "little") + 1
            height = int.from_bytes(data[body + 7 : body + 10], "little") + 1
            size = (width, height)
        elif kind == b"ANMF":
            durations.append(int.from_bytes(data[body + 12 : body + 15], "little"))
        elif kind == b"VP8 " and size is None:
            width, height = struct.unpack_from("<HH", data, body + 6)
            size = (width & 0x3FFF, height & 0x3FFF)
        elif kind == b"VP8L" and size is None:
            bits = struct.unpack_from("<I", data, body + 1)[0]
            size = ((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1)
            alpha = bool(bits >> 28 & 1)
        pos = body + length + (length & 1)
    if size is None:
        raise ProbeError("no WebP picture")
    frames = len(durations) or 1
    # Animations are decoded into RGBA canvases.
    bands = 4 if alpha or frames > 1 else 3
    return Probe("WEBP", *size, frames=frames, alpha=alpha, bands=bands, durations=durations)


def _jpeg(data: bytes) -> Probe:
    """Walk a JPEG's segments to its start-of-frame: size and number of components."""
    pos = 2
    while True:
        if data[pos] != 0xFF:
            raise ProbeError("not a JPEG segment")
        marker = data[pos + 1]
        if marker == 0xFF:
            pos += 1
            continue
        if marker in (0x01, *range(0xD0, 0xD8)):
            pos += 2
            continue
        length = struct.unpack_from(">H", data, pos + 2)[0]
        if marker in JPEG_SOF:
            height, width, components = struct.unpack_from(">HHB", data, pos + 5)
            return Probe("JPEG", width, height, bands=4 if components == 4 else 3)
        if marker in (0xD9, 0xDA):
            raise ProbeError("no start of frame")
        pos += 2 + length
