"""The file library as the renderer asks it: the adaptor for rendering.library.Library.

The rendering package looks nothing up itself; the services that render (posts, workflow,
the preview, re-rendering) pass a MediaLibrary, which may import media and renditions because
nothing below it imports this module.
"""

from sqlalchemy import select
from sqlalchemy.orm import Session, load_only

from cms.extensions import db
from cms.models import File
from cms.services import renditions, usage
from cms.services.rendering import LibraryImage
from cms.services.rendering.library import VideoThumbnail

# The columns read: enough for size, alt text and renditions. Listed so that re-rendering in a
# migration reads only columns that exist at that point of the schema's history.
COLUMNS = (
    File.id, File.stored_name, File.thumbnail_name, File.content_type, File.width,
    File.height, File.alt_text, File.decorative,
)  # fmt: skip


def _shows(row: File, name: str) -> bool:
    """Return whether the stored name (an object or one derived from it) is this row's."""
    if name in (row.stored_name, row.thumbnail_name):
        return True
    derived = name[usage.STEM_LENGTH : usage.STEM_LENGTH + 1] == "-"
    return derived and row.stored_name[: usage.STEM_LENGTH] == name[: usage.STEM_LENGTH]


def alt_of(rows: list[File]) -> str | None:
    """Return the alt text of the copies of one image, as media.alt_for decides it.

    The first described copy's text; "" if a copy is marked decorative; None if nobody
    described it.
    """
    for row in rows:
        if not row.decorative and (row.alt_text or "").strip():
            return row.alt_text.strip()
    return "" if any(row.decorative for row in rows) else None


class MediaLibrary:
    """The file library (rendering.library.Library), read through one database session."""

    def __init__(self, session: Session | None = None):
        """Read through `session` (the app's session when None)."""
        self.session = session

    def images(self, names: set[str]) -> dict[str, LibraryImage]:
        """Return the library images among these stored names, with alt text and srcsets."""
        session = self.session if self.session is not None else db.session
        with session.no_autoflush:
            rows = session.scalars(
                select(File)
                .options(load_only(*COLUMNS))
                .where(usage.names_condition(names))
                .order_by(File.id)
            ).all()
        found = {}
        for name in names:
            copies = [row for row in rows if _shows(row, name)]
            record = next((row for row in copies if row.stored_name == name and row.is_image), None)
            if record is None or not record.width or not record.height:
                continue
            srcset = renditions.srcset_for(record)
            found[name] = LibraryImage(
                stored_name=name,
                width=record.width,
                height=record.height,
                alt=alt_of(copies),
                srcset=tuple(srcset.original),
                webp=tuple(srcset.webp),
            )
        return found

    def thumbnails(self, urls: set[str]) -> dict[str, VideoThumbnail]:
        """Return the imported thumbnails of these video pages (services.embeds), by page.

        Reads File.source_url and source_title (migration 0008): a re-rendering migration
        that asks for thumbnails must come after it.
        """
        if not urls:
            return {}
        session = self.session if self.session is not None else db.session
        with session.no_autoflush:
            rows = session.scalars(
                select(File)
                .options(load_only(*COLUMNS, File.source_url, File.source_title))
                .where(File.source_url.in_(urls), File.width.is_not(None))
                .order_by(File.id)
            ).all()
        found: dict[str, VideoThumbnail] = {}
        for row in rows:
            if row.is_image and row.height and row.source_url not in found:
                found[row.source_url] = VideoThumbnail(
                    source_url=row.source_url,
                    stored_name=row.stored_name,
                    width=row.width,
                    height=row.height,
                    title=row.source_title or "",
                )
        return found
