"""Responsive copies of library images: smaller widths and focal-point crops, made on demand.

Two kinds of names, both kept in the storage service next to the originals:

    <stem>-w<width>.<ext>                 the whole image scaled to <width> pixels wide
    <stem>-c<w>x<h>-f<fx><fy>.<ext>       a w × h crop that keeps the focal point (fx, fy: 00-99 %)

The stem is the File's (media.file_stem), ext is webp or the original's own format. A name
always stands for the same pixels (same original bytes, same size, same focal point), so a
rendition is made once, on its first request, and then served from storage as immutable;
moving the focal point gives the crops new names. Only names the settings allow are ever made:
widths from RENDITION_WIDTHS smaller than the original, crops from RENDITION_CROPS at the file's
current focal point. A visitor cannot make the server render sizes of their choosing.
"""

import re
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import func, select

from cms.extensions import db
from cms.models import File
from cms.services import imaging
from cms.services.media import file_stem, register_derived_names, worker_limits
from cms.services.storage import get_storage
from cms.services.usage import STEM_LENGTH

# Where renditions and originals are served (cms/public/views.py: public.media, public.upload).
MEDIA_PREFIX = "/media/"
UPLOADS_PREFIX = "/uploads/"
# File extension -> (Pillow format, content type).
FORMATS = {
    "webp": ("WEBP", "image/webp"),
    "jpg": ("JPEG", "image/jpeg"),
    "png": ("PNG", "image/png"),
    "gif": ("GIF", "image/gif"),
}
NAME = re.compile(
    rf"(?P<stem>[0-9a-f]{{{STEM_LENGTH}}})-"
    r"(?:w(?P<width>[1-9][0-9]{0,4})"
    r"|c(?P<crop_w>[1-9][0-9]{0,4})x(?P<crop_h>[1-9][0-9]{0,4})-f(?P<fx>[0-9]{2})(?P<fy>[0-9]{2}))"
    r"\.(?P<ext>webp|jpg|png|gif)"
)
CROP = re.compile(r"([1-9][0-9]{0,4})x([1-9][0-9]{0,4})")
SAVE_OPTIONS = {
    "WEBP": {"quality": 80, "method": 4},
    "JPEG": {"quality": 82, "optimize": True, "progressive": True},
    "PNG": {},
    "GIF": {},
}


class RenditionError(ValueError):
    """An original that cannot (or may not) be decoded into a rendition."""


@dataclass(frozen=True)
class Spec:
    """What a rendition name asks for."""

    stem: str
    ext: str
    width: int
    # Set for crops only: the crop's height and the focal point in whole percent (0-99).
    height: int | None = None
    focal: tuple[int, int] | None = None

    @property
    def is_crop(self) -> bool:
        """Return whether this is a crop (rather than the whole image scaled)."""
        return self.height is not None

    @property
    def name(self) -> str:
        """Return the stored name of this rendition."""
        if self.is_crop:
            fx, fy = self.focal
            return f"{self.stem}-c{self.width}x{self.height}-f{fx:02d}{fy:02d}.{self.ext}"
        return f"{self.stem}-w{self.width}.{self.ext}"

    @property
    def content_type(self) -> str:
        """Return the content type of the rendition's bytes."""
        return FORMATS[self.ext][1]


@dataclass(frozen=True)
class Ready:
    """A rendition that is in storage, ready to serve."""

    name: str
    content_type: str


@dataclass(frozen=True)
class Moved:
    """A crop asked for at an old focal point: the current one has this name."""

    name: str


@dataclass(frozen=True)
class Srcset:
    """Candidates for an <img srcset> (original format) and a WebP <source>, as (url, width)."""

    original: list[tuple[str, int]]
    webp: list[tuple[str, int]]


def parse_name(name: str) -> Spec | None:
    """Return what a rendition name asks for, or None if it is not one of our names."""
    match = NAME.fullmatch(name or "")
    if match is None:
        return None
    if match["width"]:
        return Spec(match["stem"], match["ext"], int(match["width"]))
    focal = (int(match["fx"]), int(match["fy"]))
    return Spec(match["stem"], match["ext"], int(match["crop_w"]), int(match["crop_h"]), focal)


# --- Settings ------------------------------------------------------------------------------


def widths() -> list[int]:
    """Return the rendition widths of the settings, smallest first."""
    return sorted({int(w) for w in current_app.config.get("RENDITION_WIDTHS", ()) if int(w) > 0})


def crop_sizes() -> set[tuple[int, int]]:
    """Return the crop sizes of the settings as (width, height)."""
    sizes = set()
    for value in current_app.config.get("RENDITION_CROPS", ()):
        match = CROP.fullmatch(str(value).strip())
        if match:
            sizes.add((int(match[1]), int(match[2])))
    return sizes


# --- A File's renditions -------------------------------------------------------------------


def original_ext(record: File) -> str:
    """Return the extension of the stored original (jpg, png, gif, webp)."""
    return record.stored_name.rsplit(".", 1)[-1].lower()


def has_renditions(record: File) -> bool:
    """Return whether a file is an image we can make renditions of."""
    return bool(
        record is not None
        and record.is_image
        and record.width
        and record.height
        and original_ext(record) in FORMATS
    )


def focal_code(value: float | None) -> int:
    """Return a focal coordinate (0..1, None = centre) in whole percent, 0-99."""
    if value is None:
        return 50
    return min(max(int(round(float(value) * 100)), 0), 99)


def focal_codes(record: File) -> tuple[int, int]:
    """Return the file's focal point as it appears in crop names."""
    return focal_code(record.focal_x), focal_code(record.focal_y)


def width_exts(record: File) -> set[str]:
    """Return the formats of a file's width renditions (none for GIFs, which may be animated)."""
    ext = original_ext(record)
    if ext == "gif":
        return set()
    return {"webp", ext}


def crop_exts(record: File) -> set[str]:
    """Return the formats a file's crops come in."""
    ext = original_ext(record)
    return {"webp"} if ext == "gif" else {"webp", ext}


def media_url(name: str) -> str:
    """Return the public address of a rendition."""
    return MEDIA_PREFIX + name


def srcset_for(record: File) -> Srcset:
    """Return the srcset candidates of a library image (empty lists when it has none)."""
    if not has_renditions(record) or not width_exts(record):
        return Srcset([], [])
    stem, ext, full = file_stem(record), original_ext(record), record.width
    smaller = [width for width in widths() if width < full]
    if not smaller and ext == "webp":
        return Srcset([], [])
    original = [(media_url(Spec(stem, ext, width).name), width) for width in smaller]
    original.append((UPLOADS_PREFIX + record.stored_name, full))
    if ext == "webp":
        return Srcset(original, [])
    # The WebP source goes up to the full width too (a same-size WebP copy of the original).
    webp = [(media_url(Spec(stem, "webp", width).name), width) for width in [*smaller, full]]
    return Srcset(original, webp)


def crop_name(record: File, width: int, height: int, ext: str = "webp") -> str:
    """Return the name of a crop of a file at its current focal point."""
    return Spec(file_stem(record), ext, width, height, focal_codes(record)).name


def crop_url(record: File, width: int, height: int, ext: str = "webp") -> str:
    """Return the address of a crop (one of RENDITION_CROPS) at the file's focal point."""
    return media_url(crop_name(record, width, height, ext))


def allowed(spec: Spec, record: File) -> bool:
    """Return whether the settings allow this rendition of this file."""
    if not has_renditions(record) or file_stem(record) != spec.stem:
        return False
    if spec.is_crop:
        return (spec.width, spec.height) in crop_sizes() and spec.ext in crop_exts(record)
    if spec.ext not in width_exts(record):
        return False
    if spec.width in widths() and spec.width < record.width:
        return True
    # The same-size WebP copy of a JPEG or PNG, the largest candidate of the WebP <source>.
    return spec.width == record.width and spec.ext == "webp" != original_ext(record)


# --- Serving -------------------------------------------------------------------------------


def _records_for(stem: str) -> list[File]:
    """Return the image files whose stored object has this stem (copies share one)."""
    query = (
        select(File).where(func.substr(File.stored_name, 1, len(stem)) == stem).order_by(File.id)
    )
    return [
        record
        for record in db.session.scalars(query)
        if file_stem(record) == stem and has_renditions(record)
    ]


def get(name: str) -> Ready | Moved | None:
    """Return the rendition called `name`, made and stored on its first request.

    None for names that are not ours, files that do not exist, and sizes the settings do not
    allow. A crop at a focal point no copy of the file has any longer answers Moved, with the
    name at its current focal point.
    """
    spec = parse_name(name)
    if spec is None or spec.name != name:
        return None
    records = _records_for(spec.stem)
    if not records:
        return None
    record = records[0]
    if spec.is_crop:
        at_focal = [r for r in records if focal_codes(r) == spec.focal]
        if not at_focal:
            current = crop_name(record, spec.width, spec.height, spec.ext)
            return Moved(current) if allowed(parse_name(current), record) else None
        record = at_focal[0]
    if not allowed(spec, record):
        return None
    storage = get_storage()
    if storage.exists(name):
        return Ready(name, spec.content_type)
    try:
        data = render(storage.read(record.stored_name), spec)
    except (RenditionError, OSError):
        current_app.logger.warning("rendition %s could not be made", name, exc_info=True)
        return None
    # Atomic in the storage service: racing requests write the same bytes, readers see one.
    storage.save(name, data)
    return Ready(name, spec.content_type)


# --- Making ----------------------------------------------------------------------------------


def _checked_probe(data: bytes) -> imaging.Probe:
    """Return what an original's headers say; refuse, before decoding, what we do not decode
    and what is over the pixel limit or the decoded-size budget (the limits may have been
    lowered since the upload, and files stored before the budget existed were never checked).
    """
    try:
        probe = imaging.probe(data)
    except imaging.ProbeError as error:
        raise RenditionError(f"not an image we decode: {error}") from None
    if probe.format not in {fmt for fmt, _type in FORMATS.values()}:
        raise RenditionError(f"format {probe.format}")
    width, height = probe.width, probe.height
    if width * height > current_app.config["MAX_IMAGE_PIXELS"]:
        raise RenditionError(f"{width} × {height} pixels is over MAX_IMAGE_PIXELS")
    # A rendition decodes the first frame only.
    if probe.frame_bytes > current_app.config["MAX_IMAGE_DECODED_BYTES"]:
        raise RenditionError(f"{width} × {height} pixels is over MAX_IMAGE_DECODED_BYTES")
    return probe


def render(data: bytes, spec: Spec) -> bytes:
    """Return the bytes of a rendition of the original `data`.

    The headers are checked here; the decoding and scaling run in a memory-limited child
    process (services/imaging), so a request for a rendition of a huge or hostile original
    cannot grow the web worker. JPEGs are decoded at a reduced size when that is enough.
    """
    fmt = FORMATS[spec.ext][0]
    probe = _checked_probe(data)
    if probe.frames > 1 and not spec.is_crop:
        # Scaling would keep one frame; an animation keeps its size instead (WebP only:
        # GIFs get no width renditions).
        if probe.format == fmt:
            return data
        raise RenditionError("animated image")
    params = {
        "format": fmt,
        "width": spec.width,
        "height": spec.height,
        "focal": spec.focal,
        "options": SAVE_OPTIONS[fmt],
        "max_pixels": current_app.config["MAX_IMAGE_PIXELS"],
    }
    try:
        _header, (rendered,) = imaging.run("render", data, params, **worker_limits())
    except imaging.WorkerError as error:
        raise RenditionError(str(error)) from None
    return rendered


# --- Removing --------------------------------------------------------------------------------


def cached_names(stem: str) -> list[str]:
    """Return the renditions of a stem that are in the local storage folder now ([] on S3)."""
    root = getattr(get_storage(), "root", None)
    if root is None:
        return []
    found = []
    for path in root.glob(f"{stem}-*"):
        spec = parse_name(path.name)
        if spec is not None and spec.stem == stem and spec.name == path.name:
            found.append(path.name)
    return sorted(found)


@register_derived_names
def rendition_names(record: File) -> list[str]:
    """Return the renditions a file may have: what the settings allow, and what is stored.

    The media service deletes them (those that exist) with the last row naming the object.
    """
    if not has_renditions(record):
        return []
    stem, names = file_stem(record), set()
    for ext in width_exts(record):
        names.update(Spec(stem, ext, width).name for width in widths())
        names.add(Spec(stem, "webp", record.width).name)
    for ext in crop_exts(record):
        names.update(crop_name(record, w, h, ext) for w, h in crop_sizes())
    names.update(cached_names(stem))
    return sorted(names)
