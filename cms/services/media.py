"""Uploads: checking a file by its content, cleaning and storing it, describing and removing it.

Stored objects are named after their content: `<sha256>.<ext>`, the SHA-256 of the bytes as
stored (re-encoded: image data only, no metadata). The same bytes uploaded twice are stored
once; each upload still gets its own File row (its own display name, alt text, focal point and
uploader), and the rows share the object. The object and everything derived from it go only
when the last row naming it is deleted.

Derived objects (the thumbnail, renditions) are named `<stem>-<spec>.<ext>` with
`file_stem(record)`; the thumbnail's spec is "thumb".
"""

import hashlib
import io
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import PurePath

import filetype
from flask import current_app
from flask_babel import format_decimal, ngettext
from flask_babel import gettext as _
from PIL import Image, UnidentifiedImageError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cms.extensions import db
from cms.models import File
from cms.models.base import begin_writing
from cms.services import imaging, usage
from cms.services.storage import delete_in_transaction, get_storage, save_in_transaction

# Pillow format -> (content type, extension, extensions accepted on the original name).
IMAGE_TYPES = {
    "JPEG": ("image/jpeg", "jpg", {"jpg", "jpeg", "jpe"}),
    "PNG": ("image/png", "png", {"png"}),
    "GIF": ("image/gif", "gif", {"gif"}),
    "WEBP": ("image/webp", "webp", {"webp"}),
    # Phones write JPEGs with a second, embedded picture; Pillow calls those MPO.
    "MPO": ("image/jpeg", "jpg", {"jpg", "jpeg", "jpe"}),
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
# Characters dropped from display names besides controls: markup has no place in a file name.
NAME_DROPPED = set("<>")
THUMBNAIL_SPEC = "thumb"


class UploadRejected(ValueError):
    """An upload we refuse; the message is translated and safe to show."""


@dataclass
class Detected:
    """What the bytes of an upload turned out to be."""

    content_type: str
    extension: str
    width: int | None = None
    height: int | None = None
    # What the image's headers say (frames, bands): the child process that re-encodes it needs it.
    probe: imaging.Probe | None = None

    @property
    def is_image(self) -> bool:
        """Return whether the upload is an image (which gets a thumbnail)."""
        return self.width is not None


def clean_original_name(name: str | None) -> str:
    """Return the uploader's file name reduced to display text (no folders, no controls)."""
    base = PurePath((name or "").replace("\\", "/")).name
    base = "".join(ch for ch in base if ch.isprintable() and ch not in NAME_DROPPED).strip()
    # A name of dots only ("..") is no name.
    return base[:MAX_NAME_LENGTH] if base.strip(".") else "upload"


def file_stem(record: "File | str") -> str:
    """Return the stem that every object derived from a stored file must be named after.

    Other code (renditions, srcset) names what it derives from a file
    `f"{file_stem(record)}-{spec}.{ext}"`, with a spec of lower-case letters, digits, `_` and
    `-` (e.g. `w640`); the thumbnail is `<stem>-thumb.webp`. The stem is the first 32
    characters of the stored name: the first half of the content's SHA-256 (for files stored
    before content naming, their random stem). Copies of one object share it. Register a
    function with `register_derived_names` so deleting the last copy removes what you made.
    """
    name = record if isinstance(record, str) else record.stored_name
    return name.split(".", 1)[0][: usage.STEM_LENGTH]


def derived_name(record: "File | str", spec: str, extension: str) -> str:
    """Return the stored name of an object derived from a file: `<stem>-<spec>.<ext>`."""
    return f"{file_stem(record)}-{spec}.{extension}"


_derived_providers: list[Callable[[File], Iterable[str]]] = []


def register_derived_names(provider: Callable[[File], Iterable[str]]):
    """Register a function returning the stored names derived from a file (e.g. renditions).

    When the last row naming a stored object is deleted, those names are deleted with it (once
    the transaction commits); names that do not exist are skipped. Usable as a decorator.
    """
    if provider not in _derived_providers:
        _derived_providers.append(provider)
    return provider


def derived_names(record: File) -> list[str]:
    """Return the names of everything stored for a file besides the file itself."""
    names = [record.thumbnail_name] if record.thumbnail_name else []
    for provider in _derived_providers:
        names.extend(provider(record) or ())
    return list(dict.fromkeys(name for name in names if name and name != record.stored_name))


def _extension(name: str) -> str:
    return name.rsplit(".", 1)[-1].lower() if "." in name else ""


def detect(data: bytes, original_name: str) -> Detected:
    """Return the type of `data` decided by its content, or raise UploadRejected."""
    if not data:
        raise UploadRejected(_("The file is empty."))
    extension = _extension(original_name)
    image = _detect_image(data)
    if image is not None:
        content_type, ext, accepted, probe = image
        if extension not in accepted:
            raise UploadRejected(
                _("The file's name does not match its content (%(type)s).", type=content_type)
            )
        return Detected(content_type, ext, probe.width, probe.height, probe)
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
    """Return (type, ext, accepted names, probe) for an allowed image, else None.

    Only headers are read: the pixel limit, the frame limit and the decoded-size budget
    (frames × width × height × bands) are checked before anything is decoded.
    """
    max_pixels = current_app.config["MAX_IMAGE_PIXELS"]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:
                if img.format not in IMAGE_TYPES:
                    return None
                size = img.size
                probe = imaging.probe(data)
                # Pillow's view and ours differ: a header that lies to one of them.
                if {"MPO": "JPEG"}.get(img.format, img.format) != probe.format or (
                    probe.width < size[0] or probe.height < size[1]
                ):
                    raise imaging.ProbeError("headers disagree")
                _check_budget(probe, max_pixels)
                img.verify()
                content_type, ext, accepted = IMAGE_TYPES[img.format]
    except UnidentifiedImageError:
        return None
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        # Pillow's own limit, met while reading the header: far too many pixels.
        raise UploadRejected(
            _(
                "The image is too large (more than %(limit)s pixels).",
                limit=format_decimal(max_pixels),
            )
        ) from None
    except UploadRejected:
        raise
    except Exception:
        # verify() and the header walk raise assorted errors for truncated or corrupt images.
        raise UploadRejected(_("The image is damaged and cannot be read.")) from None
    return content_type, ext, accepted, probe


def _check_budget(probe: imaging.Probe, max_pixels: int) -> None:
    """Refuse an image over the pixel limit, the frame limit or the decoded-size budget."""
    if probe.width * probe.height > max_pixels:
        raise UploadRejected(
            _(
                "The image is too large (%(width)s × %(height)s pixels).",
                width=probe.width,
                height=probe.height,
            )
        )
    max_frames = current_app.config["MAX_IMAGE_FRAMES"]
    if probe.frames > max_frames:
        raise UploadRejected(
            _(
                "The animation has too many frames (%(frames)s; the limit is %(limit)s).",
                frames=format_decimal(probe.frames),
                limit=format_decimal(max_frames),
            )
        )
    budget = current_app.config["MAX_IMAGE_DECODED_BYTES"]
    if probe.decoded_bytes > budget:
        raise UploadRejected(
            ngettext(
                "The image is too large to process: decoded, its %(num)d frame of "
                "%(width)s × %(height)s pixels would take %(size)s (the limit is %(limit)s). "
                "Upload a smaller image.",
                "The image is too large to process: decoded, its %(num)d frames of "
                "%(width)s × %(height)s pixels would take %(size)s (the limit is %(limit)s). "
                "Upload a smaller image or one with fewer frames.",
                probe.frames,
                width=probe.width,
                height=probe.height,
                size=format_bytes(probe.decoded_bytes),
                limit=format_bytes(budget),
            )
        )


def worker_limits() -> dict:
    """Return the memory and time limits of the child process that decodes images."""
    config = current_app.config
    return {"memory": config["IMAGE_WORKER_MEMORY"], "timeout": config["IMAGE_WORKER_TIMEOUT"]}


def clean_image(data: bytes, probe: imaging.Probe) -> tuple[bytes, int, int, bytes]:
    """Return the image as it is stored, its width and height, and its WebP thumbnail.

    Every image is re-encoded from its pixels in a memory-limited child process
    (services/imaging): only image data is kept (no EXIF, XMP, IPTC, comments, text or unknown
    chunks, nothing after the end of the image); stills are turned upright by their EXIF
    orientation first; colour profiles, transparency, and an animation's frames and timing
    are kept. Call only after `detect` accepted the image (its budget checked).
    """
    config = current_app.config
    params = {
        "probe": imaging.probe_params(probe),
        "max_frames": config["MAX_IMAGE_FRAMES"],
        "max_pixels": config["MAX_IMAGE_PIXELS"],
        "thumbnail_size": config["THUMBNAIL_SIZE"],
    }
    try:
        header, (cleaned, thumbnail) = imaging.run("clean", data, params, **worker_limits())
    except imaging.WorkerError as error:
        current_app.logger.warning("image refused by the worker: %s", error)
        if error.reason == "timeout":
            message = _("The image took too long to process. Upload a smaller or simpler image.")
        elif error.reason in ("memory", "frames"):
            message = _(
                "The image is too large to process. Upload a smaller image or one with fewer "
                "frames."
            )
        else:
            message = _("The image is damaged and cannot be read.")
        raise UploadRejected(message) from None
    return cleaned, header["width"], header["height"], thumbnail


# --- Quotas ---------------------------------------------------------------------------------


def format_bytes(size: int) -> str:
    """Return a byte count as B, KB, MB or GB (binary units) in the reader's number format."""
    for unit, factor in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if size >= factor:
            return f"{format_decimal(size / factor, format='#,##0.#')} {unit}"
    return f"{format_decimal(size)} B"


def check_quota(session: Session, uploader, sha256: str, size: int) -> None:
    """Refuse an upload that would take its uploader past MAX_FILES_PER_USER or
    MAX_UPLOAD_BYTES_PER_USER (0 means no limit). Everybody has them, editors and admins too.

    Bytes count each stored object once: bytes the uploader already stored count nothing more.
    """
    user_id = getattr(uploader, "id", None)
    if user_id is None:
        return
    max_files = int(current_app.config.get("MAX_FILES_PER_USER") or 0)
    max_bytes = int(current_app.config.get("MAX_UPLOAD_BYTES_PER_USER") or 0)
    mine = File.uploader_id == user_id
    with session.no_autoflush:
        if max_files:
            count = session.scalar(select(func.count(File.id)).where(mine))
            if count >= max_files:
                raise UploadRejected(
                    ngettext(
                        "You have reached your limit of %(num)d file. Delete files you no longer "
                        "need, or ask an administrator to raise the limit.",
                        "You have reached your limit of %(num)d files. Delete files you no "
                        "longer need, or ask an administrator to raise the limit.",
                        max_files,
                    )
                )
        if max_bytes:
            if session.scalar(select(File.id).where(mine, File.sha256 == sha256).limit(1)):
                return
            objects = select(File.stored_name, File.size).where(mine).distinct().subquery()
            used = session.scalar(select(func.coalesce(func.sum(objects.c.size), 0))) or 0
            if used + size > max_bytes:
                raise UploadRejected(
                    _(
                        "This upload would take your files past your limit of %(limit)s "
                        "(you use %(used)s, the file has %(size)s). Delete files you no longer "
                        "need, or ask an administrator to raise the limit.",
                        limit=format_bytes(max_bytes),
                        used=format_bytes(int(used)),
                        size=format_bytes(size),
                    )
                )


# --- Storing and deleting -------------------------------------------------------------------


def store_upload(session: Session, data: bytes, original_name: str, uploader) -> File:
    """Check, clean and store an upload, add its File row to the session, and return it.

    Images are re-encoded to their pixels only (see `clean_image`); the object is named after
    the SHA-256 of the stored bytes. Bytes stored before are not written again: the new row
    shares the object (and its thumbnail) with the rows already naming it. Refused
    (UploadRejected, with a message to show) when the content is not allowed, an image is over
    its limits, or the uploader's quota is used up.

    The caller commits; if the transaction rolls back, bytes written here are removed again
    (an object other rows already name is never written here, so it is never removed).
    """
    original_name = clean_original_name(original_name)
    if len(data) > current_app.config["MAX_CONTENT_LENGTH"]:
        raise UploadRejected(_("The file is larger than the upload limit."))
    detected = detect(data, original_name)
    thumbnail = None
    if detected.is_image:
        data, detected.width, detected.height, thumbnail = clean_image(data, detected.probe)
    sha256 = hashlib.sha256(data).hexdigest()
    # The slow work is done: from here on, what is read decides what is written (the quota,
    # whether another row already names the object, which a deletion may be removing). On
    # SQLite, take the write lock now so those reads see every earlier commit.
    begin_writing(session)
    check_quota(session, uploader, sha256, len(data))
    with session.no_autoflush:
        # Locks the rows naming this object (PostgreSQL), so a concurrent deletion of the last
        # of them waits for this upload, or this upload sees it gone.
        existing = session.scalars(
            select(File)
            .where(File.sha256 == sha256, File.size == len(data))
            .order_by(File.id)
            .limit(1)
            .with_for_update()
        ).first()
    storage = get_storage()
    if existing is not None:
        stored_name, thumbnail_name = existing.stored_name, existing.thumbnail_name
    else:
        stored_name, thumbnail_name = f"{sha256}.{detected.extension}", None
    if detected.is_image and thumbnail_name is None:
        thumbnail_name = derived_name(stored_name, THUMBNAIL_SPEC, "webp")
    # Write only what is missing: what other rows name must not go with a rollback of ours.
    if existing is None or not storage.exists(stored_name):
        save_in_transaction(session, stored_name, data)
    if thumbnail_name and (existing is None or not storage.exists(thumbnail_name)):
        save_in_transaction(session, thumbnail_name, thumbnail)
    record = File(
        stored_name=stored_name,
        original_name=original_name,
        content_type=detected.content_type,
        size=len(data),
        sha256=sha256,
        width=detected.width,
        height=detected.height,
        thumbnail_name=thumbnail_name,
        uploader=uploader,
    )
    session.add(record)
    session.flush()
    if existing is not None:
        # Posts showing this object in their body now show this copy too.
        usage.refresh_posts_showing(session, stored_name)
    return record


def delete_file(session: Session, record: File) -> None:
    """Delete a File row; its bytes go once the transaction commits, if no other row names them.

    The stored object, its thumbnail and everything registered with `register_derived_names`
    are removed only with the last row naming the object. Check `usage.delete_blockers` first:
    this deletes whatever it is given.
    """
    stored_name = record.stored_name
    names = [stored_name, *derived_names(record)]
    session.delete(record)
    session.flush()
    with session.no_autoflush:
        still_named = session.scalar(
            select(func.count(File.id)).where(File.stored_name == stored_name)
        )
    if not still_named:
        for name in names:
            delete_in_transaction(session, name)


# --- Alt text -------------------------------------------------------------------------------

# Longest alt text accepted; a longer description belongs in the text around the image.
MAX_ALT_LENGTH = 1000


def clean_alt_text(text: str | None) -> str:
    """Return alt text as one line of printable text (controls dropped, spaces collapsed)."""
    kept = "".join(ch if ch.isprintable() else " " for ch in text or "")
    return " ".join(kept.split())[:MAX_ALT_LENGTH]


def alt_for(stored_name: str) -> str | None:
    """Return the alt text for an image shown by its stored name (or a name derived from it).

    The first copy with alt text gives it; "" when the image is marked decorative; None when
    nobody described it (or no row names it). For the renderer of public pages.
    """
    if not stored_name:
        return None
    with db.session.no_autoflush:
        rows = db.session.scalars(
            select(File).where(usage.names_condition({stored_name})).order_by(File.id)
        ).all()
    for row in rows:
        if not row.decorative and (row.alt_text or "").strip():
            return row.alt_text.strip()
    if any(row.decorative for row in rows):
        return ""
    return None


def images_missing_alt(post) -> list[File]:
    """Return the images the post shows (body or social image) that nobody described.

    An image counts as described when one of the rows naming its stored object has alt text or
    is marked decorative. One row is returned per undescribed image: the post author's own
    copy when there is one, else the oldest. Unsaved changes of the post are taken as they are.
    """
    by_object: dict[str, list[File]] = {}
    for row in usage.files_shown_by(post):
        if row.is_image:
            by_object.setdefault(row.stored_name, []).append(row)
    missing = []
    for rows in by_object.values():
        if any(row.has_alt for row in rows):
            continue
        own = [row for row in rows if row.uploader_id and row.uploader_id == post.author_id]
        missing.append((own or rows)[0])
    return sorted(missing, key=lambda row: (row.original_name.lower(), row.id))


def missing_alt_message(files: Iterable[File]) -> str:
    """Return the refusal shown when publishing would put undescribed images in front of readers."""
    names = ", ".join(f"“{file.original_name}”" for file in files)
    return _(
        "This cannot be published yet: every image needs alt text (a short description for "
        "people who cannot see it) or must be marked as decorative. Add it under Files for: "
        "%(names)s.",
        names=names,
    )
