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

import io
import math
import re
import warnings
from dataclasses import dataclass

from flask import current_app
from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError
from sqlalchemy import func, select

from cms.extensions import db
from cms.models import File
from cms.services.media import file_stem, register_derived_names
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
# EXIF orientations that turn the image a quarter: its width and height trade places.
QUARTER_TURNS = {5, 6, 7, 8}


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


def _open_checked(data: bytes) -> Image.Image:
    """Open an original for decoding; refuse anything over the pixel limit before decoding."""
    max_pixels = current_app.config["MAX_IMAGE_PIXELS"]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
    except (UnidentifiedImageError, Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise RenditionError("not an image we decode") from None
    if img.format not in {fmt for fmt, _type in FORMATS.values()}:
        img.close()
        raise RenditionError(f"format {img.format}")
    width, height = img.size
    # Checked by the upload already; checked again, the limit may have been lowered since.
    if width * height > max_pixels:
        img.close()
        raise RenditionError(f"{width} × {height} pixels is over MAX_IMAGE_PIXELS")
    return img


def _mode_for(img: Image.Image, fmt: str) -> str:
    """Return the mode to save in: RGB, or RGBA when the image has transparency to keep."""
    if fmt == "JPEG":
        return "RGB"
    transparent = img.mode in ("RGBA", "LA", "PA") or "transparency" in img.info
    return "RGBA" if transparent else "RGB"


def render(data: bytes, spec: Spec) -> bytes:
    """Return the bytes of a rendition of the original `data`."""
    fmt = FORMATS[spec.ext][0]
    with _open_checked(data) as img:
        if getattr(img, "is_animated", False) and not spec.is_crop:
            # Scaling would keep one frame; an animation keeps its size instead (WebP only:
            # GIFs get no width renditions).
            if img.format == fmt:
                return data
            raise RenditionError("animated image")
        turned = img.getexif().get(ExifTags.Base.Orientation, 1) in QUARTER_TURNS
        full_w, full_h = (img.height, img.width) if turned else img.size
        if spec.is_crop:
            fx, fy = (code / 100 for code in spec.focal)
            box = crop_box(full_w, full_h, spec.width, spec.height, fx, fy)
            box_w, box_h = box[2] - box[0], box[3] - box[1]
            if box_w >= spec.width:
                size, scale = (spec.width, spec.height), spec.width / box_w
            else:
                # A small original: the crop is as large as the original allows, never upscaled.
                size, scale = (max(1, round(box_w)), max(1, round(box_h))), 1.0
        else:
            box = (0, 0, full_w, full_h)
            scale = spec.width / full_w
            size = (spec.width, max(1, round(full_h * scale)))
        if img.format == "JPEG":
            # Let the decoder scale down by 1/2, 1/4 or 1/8 when that is still large enough.
            need = (math.ceil(full_w * scale), math.ceil(full_h * scale))
            img.draft(None, (need[1], need[0]) if turned else need)
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            try:
                upright = ImageOps.exif_transpose(img)
            except (Image.DecompressionBombWarning, Image.DecompressionBombError):
                raise RenditionError("decompression bomb") from None
            except Exception as error:
                raise RenditionError(f"cannot decode: {error}") from None
        # Drafting may have decoded at a reduced size: map the box onto what we have.
        ratio_x, ratio_y = upright.width / full_w, upright.height / full_h
        scaled_box = (box[0] * ratio_x, box[1] * ratio_y, box[2] * ratio_x, box[3] * ratio_y)
        mode = _mode_for(upright, fmt)
        if upright.mode != mode:
            upright = upright.convert(mode)
        result = upright.resize(size, Image.Resampling.LANCZOS, box=scaled_box)
        out = io.BytesIO()
        options = dict(SAVE_OPTIONS[fmt])
        icc = img.info.get("icc_profile")
        if icc and fmt in ("JPEG", "PNG", "WEBP"):
            options["icc_profile"] = icc
        # Nothing of the original's metadata (EXIF, GPS) is copied.
        result.save(out, format=fmt, **options)
        return out.getvalue()


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
