"""Posts and tags."""

import enum
from datetime import datetime

from sqlalchemy import Column, ForeignKey, Index, Integer, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cms.extensions import db
from cms.models.base import utcnow
from cms.models.users import User

post_tags = Table(
    "post_tags",
    db.metadata,
    Column("post_id", Integer, ForeignKey("post.id", ondelete="CASCADE"), primary_key=True),
    Column("tag_id", Integer, ForeignKey("tag.id", ondelete="CASCADE"), primary_key=True),
)


class PostStatus(enum.StrEnum):
    """Where a post stands; stored as its value in a plain string column."""

    DRAFT = "draft"
    PUBLISHED = "published"


class Tag(db.Model):
    """A label that groups posts; has a public page."""

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)

    def __str__(self) -> str:
        return self.name


class Post(db.Model):
    """An article: Markdown source, plus the sanitized HTML rendered from it at save time."""

    __table_args__ = (Index("ix_post_status_published_at", "status", "published_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(200), unique=True)
    body_md: Mapped[str] = mapped_column(Text, default="")
    # Rendered and sanitized once when the post is saved; never rendered per request.
    body_html: Mapped[str] = mapped_column(Text, default="")
    excerpt: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default=PostStatus.DRAFT, index=True)
    published_at: Mapped[datetime | None] = mapped_column(index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow, index=True)

    author: Mapped[User] = relationship(backref=db.backref("posts", lazy="dynamic"))
    tags: Mapped[list[Tag]] = relationship(
        secondary=post_tags,
        order_by=Tag.name,
        backref=db.backref("posts", lazy="dynamic"),
    )

    @property
    def is_public(self) -> bool:
        """Return whether readers may see this post now."""
        return (
            self.status == PostStatus.PUBLISHED
            and self.published_at is not None
            and self.published_at <= utcnow()
        )

    def __str__(self) -> str:
        return self.title
