"""Uploads: checking a file by its content, storing it and its thumbnail, and removing it."""

import hashlib
import io
import secrets
import warnings
from dataclasses import dataclass
from pathlib import PurePath

import filetype
from flask import current_app
from flask_babel import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy.orm import Session

from cms.models import File
from cms.services.storage import delete_in_transaction, save_in_transaction

# Pillow format -> (content type, extension, extensions accepted on the original name).
IMAGE_TYPES = {
    "JPEG": ("image/jpeg", "jpg", {"jpg", "jpeg", "jpe"}),
    "PNG": ("image/png", "png", {"png"}),
    "GIF": ("image/gif", "gif", {"gif"}),
    "WEBP": ("image/webp", "webp", {"webp"}),
}
# Content type detected from magic bytes -> (extension, extensions accepted on the name).
DOCUMENT_TYPES = {
    "application/pdf": ("pdf", {"pdf"}),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": (
        "docx",
        {"docx"},
    ),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ("xlsx", {"xlsx"}),
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": (
        "pptx",
        {"pptx"},
    ),
    "application/vnd.oasis.opendocument.text": ("odt", {"odt"}),
}
MAX_NAME_LENGTH = 255


class UploadRejected(ValueError):
    """An upload we refuse; the message is translated and safe to show."""


@dataclass
class Detected:
    """What the bytes of an upload turned out to be."""

    content_type: str
    extension: str
    width: int | None = None
    height: int | None = None


def clean_original_name(name: str | None) -> str:
    """Return the uploader's file name reduced to display text (no folders, no controls)."""
    base = PurePath((name or "").replace("\\", "/")).name
    base = "".join(ch for ch in base if ch.isprintable()).strip()
    return base[:MAX_NAME_LENGTH] or "upload"


def _extension(name: str) -> str:
    return name.rsplit(".", 1)[-1].lower() if "." in name else ""


def detect(data: bytes, original_name: str) -> Detected:
    """Return the type of `data` decided by its content, or raise UploadRejected."""
    if not data:
        raise UploadRejected(_("The file is empty."))
    extension = _extension(original_name)
    image = _detect_image(data)
    if image is not None:
        content_type, ext, accepted, width, height = image
        if extension not in accepted:
            raise UploadRejected(
                _("The file's name does not match its content (%(type)s).", type=content_type)
            )
        return Detected(content_type, ext, width, height)
    kind = filetype.guess(data)
    if kind is not None and kind.mime in DOCUMENT_TYPES:
        ext, accepted = DOCUMENT_TYPES[kind.mime]
        if extension not in accepted:
            raise UploadRejected(
                _("The file's name does not match its content (%(type)s).", type=kind.mime)
            )
        return Detected(kind.mime, ext)
    raise UploadRejected(
        _("This type of file is not allowed. Upload JPEG, PNG, GIF, WebP, PDF or office files.")
    )


def _detect_image(data: bytes):
    """Return (type, ext, accepted names, width, height) for an allowed image, else None."""
    max_pixels = current_app.config["MAX_IMAGE_PIXELS"]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:
                # Only the header is read so far: refuse huge images before decoding them.
                if img.format not in IMAGE_TYPES:
                    return None
                width, height = img.size
                if width * height > max_pixels:
                    raise UploadRejected(
                        _(
                            "The image is too large (%(width)s × %(height)s pixels).",
                            width=width,
                            height=height,
                        )
                    )
                img.verify()
                content_type, ext, accepted = IMAGE_TYPES[img.format]
    except (UnidentifiedImageError, Image.DecompressionBombWarning, Image.DecompressionBombError):
        return None
    except UploadRejected:
        raise
    except Exception:
        # verify() raises assorted errors for truncated or corrupt images.
        raise UploadRejected(_("The image is damaged and cannot be read.")) from None
    return content_type, ext, accepted, width, height


def make_thumbnail(data: bytes, size: int) -> bytes:
    """Return a WebP thumbnail no larger than `size` pixels on its longest side."""
    with Image.open(io.BytesIO(data)) as img:
        img = ImageOps.exif_transpose(img)
        if img.mode not in ("RGB", "RGBA"):
            img = img.convert("RGBA" if "transparency" in img.info else "RGB")
        img.thumbnail((size, size))
        out = io.BytesIO()
        img.save(out, format="WEBP", quality=80)
        return out.getvalue()


def store_upload(session: Session, data: bytes, original_name: str, uploader) -> File:
    """Check and store an upload, add its File row to the session, and return it.

    The caller commits; if the transaction rolls back, the stored bytes are removed too.
    """
    original_name = clean_original_name(original_name)
    if len(data) > current_app.config["MAX_CONTENT_LENGTH"]:
        raise UploadRejected(_("The file is larger than the upload limit."))
    detected = detect(data, original_name)
    stem = secrets.token_hex(16)
    stored_name = f"{stem}.{detected.extension}"
    thumbnail_name = None
    if detected.width is not None:
        thumbnail = make_thumbnail(data, current_app.config["THUMBNAIL_SIZE"])
        thumbnail_name = f"{stem}-thumb.webp"
    save_in_transaction(session, stored_name, data)
    if thumbnail_name:
        save_in_transaction(session, thumbnail_name, thumbnail)
    record = File(
        stored_name=stored_name,
        original_name=original_name,
        content_type=detected.content_type,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        width=detected.width,
        height=detected.height,
        thumbnail_name=thumbnail_name,
        uploader=uploader,
    )
    session.add(record)
    session.flush()
    return record


def delete_file(session: Session, record: File) -> None:
    """Delete a File row; its bytes go once the transaction commits."""
    delete_in_transaction(session, record.stored_name)
    if record.thumbnail_name:
        delete_in_transaction(session, record.thumbnail_name)
    session.delete(record)
