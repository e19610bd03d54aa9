"""Autosave slots: the post form as its writer left it, kept apart from the revisions."""

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cms.extensions import db
from cms.models.base import utcnow
from cms.models.content import Post


class AutosaveSlot(db.Model):
    """One person's unsaved form of one post (or of a new post or page); not a revision.

    `slot` names what the form belongs to: "post:<id>" for an existing post or page, "new:post"
    or "new:page" for a create form. One slot per person and slot: a newer autosave replaces it.
    """

    __table_args__ = (UniqueConstraint("user_id", "slot"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    post_id: Mapped[int | None] = mapped_column(ForeignKey(Post.id, ondelete="CASCADE"), index=True)
    slot: Mapped[str] = mapped_column(String(40))
    # "post" or "page": which form the slot fills.
    kind: Mapped[str] = mapped_column(String(10))
    # {"field": ["value", ...]}, the known form fields only (as the rescue stash keeps them).
    data: Mapped[dict] = mapped_column(JSON)
    # The post's version the form was loaded from: restoring keeps it, so a save over a newer
    # version is still refused (409).
    version: Mapped[int | None]
    saved_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
