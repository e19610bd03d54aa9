"""Uploaded files; the bytes live in the storage service, the facts about them here."""

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cms.extensions import db
from cms.models.base import utcnow
from cms.models.users import User


class File(db.Model):
    """One stored upload: a generated name on disk, the uploader's name for display only."""

    id: Mapped[int] = mapped_column(primary_key=True)
    stored_name: Mapped[str] = mapped_column(String(80), unique=True)
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

    uploader: Mapped[User | None] = relationship()

    @property
    def is_image(self) -> bool:
        """Return whether the file is an image that browsers may show inline."""
        return self.content_type.startswith("image/")

    def __str__(self) -> str:
        return self.original_name
