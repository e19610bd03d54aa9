"""Uploaded files; the bytes live in the storage service, the facts about them here."""

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cms.extensions import db
from cms.models.base import utcnow
from cms.models.users import User


class File(db.Model):
    """One stored upload: a generated name on disk, the uploader's name for display only."""

    # The dashboard's list, paged by keyset by each sort it offers (0014, 0016).
    __table_args__ = (
        Index("ix_file_created_at_id", "created_at", "id"),
        Index("ix_file_original_name_id", "original_name", "id"),
        Index("ix_file_content_type_id", "content_type", "id"),
        Index("ix_file_size_id", "size", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Named after the content (SHA-256): the same bytes uploaded twice are stored once, and
    # several rows may share one stored object.
    stored_name: Mapped[str] = mapped_column(String(80), index=True)
    original_name: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    width: Mapped[int | None]
    height: Mapped[int | None]
    thumbnail_name: Mapped[str | None] = mapped_column(String(80))
    uploader_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    # What a screen reader says for the image; or `decorative` when it says nothing.
    alt_text: Mapped[str] = mapped_column(Text, default="", server_default="")
    decorative: Mapped[bool] = mapped_column(default=False, server_default="0")
    # Where crops keep the subject: fractions of width and height (0..1); None = centre.
    focal_x: Mapped[float | None]
    focal_y: Mapped[float | None]
    # Where the file was fetched from when the server imported it (an external image in a post,
    # or a video's page for its thumbnail), so each address is imported once; None if uploaded.
    source_url: Mapped[str | None] = mapped_column(String(2048), index=True)
    # The title the source gave it (a video's title, shown on its embed); empty if none.
    source_title: Mapped[str] = mapped_column(String(300), default="", server_default="")

    uploader: Mapped[User | None] = relationship()

    @property
    def has_alt(self) -> bool:
        """Return whether the image is described or marked decorative."""
        return self.decorative or bool((self.alt_text or "").strip())

    @property
    def is_image(self) -> bool:
        """Return whether the file is an image that browsers may show inline."""
        return self.content_type.startswith("image/")

    def __str__(self) -> str:
        return self.original_name


class FileUsage(db.Model):
    """A post or page that shows a file (in its body or as its social image)."""

    __tablename__ = "file_usage"

    file_id: Mapped[int] = mapped_column(
        ForeignKey("file.id", ondelete="CASCADE"), primary_key=True
    )
    post_id: Mapped[int] = mapped_column(
        ForeignKey("post.id", ondelete="CASCADE"), primary_key=True, index=True
    )
