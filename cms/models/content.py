"""Posts and tags."""

import enum
from datetime import datetime

from sqlalchemy import (
    JSON,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    event,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from cms.extensions import db
from cms.models.base import utcnow
from cms.models.media import File
from cms.models.users import User

post_tags = Table(
    "post_tags",
    db.metadata,
    Column("post_id", Integer, ForeignKey("post.id", ondelete="CASCADE"), primary_key=True),
    Column("tag_id", Integer, ForeignKey("tag.id", ondelete="CASCADE"), primary_key=True),
    # Tag pages, tag counts and related posts look posts up by tag.
    Index("ix_post_tags_tag_id_post_id", "tag_id", "post_id"),
)


class PostStatus(enum.StrEnum):
    """Where a post stands; stored as its value in a plain string column.

    "Scheduled" is not stored: it is a published post whose publication time is still ahead,
    so readers see it exactly when that time comes, with no job to run.
    """

    DRAFT = "draft"
    REVIEW = "review"
    PUBLISHED = "published"
    TRASHED = "trashed"


class PostState(enum.StrEnum):
    """What a post is for readers right now: its status with the clock applied."""

    DRAFT = "draft"
    REVIEW = "review"
    SCHEDULED = "scheduled"
    PUBLISHED = "published"
    EXPIRED = "expired"
    TRASHED = "trashed"


class PostKind(enum.StrEnum):
    """Posts appear in lists and feeds; pages (About, Contact) stand alone at /<slug>."""

    POST = "post"
    PAGE = "page"


class Tag(db.Model):
    """A label that groups posts; has a public page."""

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    # Shown on the tag's public page and in its feed (plain text).
    description: Mapped[str] = mapped_column(Text, default="", server_default="")

    def __str__(self) -> str:
        return self.name


def count_words(text: str | None) -> int:
    """Return the number of words of a text (its whitespace-separated parts)."""
    return len((text or "").split())


def _words_of_inserted_body(context) -> int:
    """A post's word count when an INSERT names none (bulk inserts, seeds): its body's."""
    return count_words(context.get_current_parameters().get("body_md"))


class Post(db.Model):
    """An article: Markdown source, plus the sanitized HTML rendered from it at save time."""

    __table_args__ = (
        # Lists and counts of visible posts, newest first, from the index alone (0012).
        Index("ix_post_listing", "kind", "status", "published_at", "id", "unpublish_at"),
        # The next time a published post goes away (caches are capped by it); with the
        # publication time, the count of posts unpublished by time reads the index alone
        # (the status tabs, 0014).
        Index(
            "ix_post_kind_status_unpublish_at_published_at",
            "kind",
            "status",
            "unpublish_at",
            "published_at",
        ),
        # The dashboard's lists, one index per offered sort and filter, the id as tie-breaker
        # of keyset paging (0014): all, a status tab, an author, by title, by publication
        # time, the trash.
        Index("ix_post_kind_updated_at_id", "kind", "updated_at", "id"),
        Index("ix_post_kind_status_updated_at_id", "kind", "status", "updated_at", "id"),
        Index("ix_post_author_kind_updated_at_id", "author_id", "kind", "updated_at", "id"),
        Index("ix_post_kind_title_id", "kind", "title", "id"),
        Index("ix_post_kind_published_at_id", "kind", "published_at", "id"),
        Index("ix_post_status_trashed_at_id", "status", "trashed_at", "id"),
        # What waits for review, oldest first, posts and pages together (the dashboard home).
        Index("ix_post_status_updated_at_id", "status", "updated_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10), default=PostKind.POST, server_default="post")
    # Raised by every UPDATE; an UPDATE that finds another number changes nothing (no lost
    # update), and edit forms carry it to refuse saving over a newer version.
    version: Mapped[int] = mapped_column(default=1, server_default="1")
    title: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(200), unique=True)
    body_md: Mapped[str] = mapped_column(Text, default="")
    # The words of body_md, counted whenever it is set (reading time on every card and post,
    # without reading or splitting the body per request).
    word_count: Mapped[int] = mapped_column(default=_words_of_inserted_body, server_default="0")
    # Rendered and sanitized once when the post is saved; never rendered per request.
    body_html: Mapped[str] = mapped_column(Text, default="")
    excerpt: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default=PostStatus.DRAFT, index=True)
    published_at: Mapped[datetime | None] = mapped_column(index=True)
    # When set, readers stop seeing the post at this time.
    unpublish_at: Mapped[datetime | None]
    trashed_at: Mapped[datetime | None]
    # The editor's comment when a post in review is sent back to its author.
    review_note: Mapped[str] = mapped_column(Text, default="", server_default="")
    meta_title: Mapped[str] = mapped_column(String(200), default="", server_default="")
    meta_description: Mapped[str] = mapped_column(String(320), default="", server_default="")
    canonical_url: Mapped[str] = mapped_column(String(500), default="", server_default="")
    # Kept out of search engines (robots meta) and the sitemap; still shown to readers.
    noindex: Mapped[bool] = mapped_column(default=False, server_default=false())
    social_image_id: Mapped[int | None] = mapped_column(
        ForeignKey("file.id", ondelete="SET NULL"), index=True
    )
    author_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow, index=True)

    author: Mapped[User] = relationship(backref=db.backref("posts", lazy="dynamic"))
    tags: Mapped[list[Tag]] = relationship(
        secondary=post_tags,
        order_by=Tag.name,
        backref=db.backref("posts", lazy="dynamic"),
    )

    social_image: Mapped[File | None] = relationship()

    __mapper_args__ = {"version_id_col": version}

    @property
    def state(self) -> PostState:
        """Return the post's status with the clock applied (scheduled, expired)."""
        if self.status != PostStatus.PUBLISHED:
            return PostState(self.status)
        now = utcnow()
        if self.published_at is not None and self.published_at > now:
            return PostState.SCHEDULED
        if self.unpublish_at is not None and self.unpublish_at <= now:
            return PostState.EXPIRED
        return PostState.PUBLISHED

    @property
    def is_public(self) -> bool:
        """Return whether readers may see this post now."""
        return self.published_at is not None and self.state == PostState.PUBLISHED

    @property
    def is_page(self) -> bool:
        """Return whether this is a standalone page rather than a post."""
        return self.kind == PostKind.PAGE

    @validates("body_md")
    def _count_words(self, key: str, value: str | None) -> str | None:
        self.word_count = count_words(value)
        return value

    def __str__(self) -> str:
        return self.title


class RevisionIsImmutable(RuntimeError):
    """Raised when code tries to change a stored revision."""


class Revision(db.Model):
    """A post or page exactly as it was after one save; never changed once written."""

    __table_args__ = (UniqueConstraint("post_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("post.id", ondelete="CASCADE"), index=True)
    # 1, 2, 3, ... per post.
    number: Mapped[int]
    title: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(200))
    body_md: Mapped[str] = mapped_column(Text, default="")
    excerpt: Mapped[str] = mapped_column(Text, default="")
    # [{"id": 3, "name": "Python"}, ...]: names survive the tag being deleted.
    tags: Mapped[list] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(20))
    published_at: Mapped[datetime | None]
    unpublish_at: Mapped[datetime | None]
    meta_title: Mapped[str] = mapped_column(String(200), default="")
    meta_description: Mapped[str] = mapped_column(String(320), default="")
    canonical_url: Mapped[str] = mapped_column(String(500), default="")
    # No foreign key: a revision is never updated, also not by the database.
    social_image_id: Mapped[int | None]
    author_id: Mapped[int | None]
    # Who saved it; the name stays when the account is deleted.
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL"), index=True
    )
    created_by_name: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    # What made this revision: "save", "submit", "publish", "send_back", "restore", ...
    event: Mapped[str] = mapped_column(String(20), default="save")
    # A comment that goes with it (the reason for sending back, what was restored).
    note: Mapped[str] = mapped_column(Text, default="")

    post: Mapped[Post] = relationship(
        backref=db.backref(
            "revisions",
            lazy="dynamic",
            passive_deletes=True,
            order_by="Revision.number.desc()",
        )
    )
    created_by: Mapped[User | None] = relationship()

    def __str__(self) -> str:
        return f"#{self.number}"


@event.listens_for(Revision, "before_update")
def _refuse_revision_update(mapper, connection, target) -> None:
    """Stored revisions are history: never rewritten."""
    raise RevisionIsImmutable("revisions cannot be changed")


class SlugRedirect(db.Model):
    """An address a published post or page had before; it answers with a 301 to the new one."""

    __table_args__ = (UniqueConstraint("kind", "slug"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    slug: Mapped[str] = mapped_column(String(200))
    post_id: Mapped[int] = mapped_column(ForeignKey("post.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    post: Mapped[Post] = relationship()


class NavItem(db.Model):
    """One entry of the site's navigation menu: a page, or any address."""

    id: Mapped[int] = mapped_column(primary_key=True)
    label: Mapped[str] = mapped_column(String(80))
    position: Mapped[int] = mapped_column(default=0, index=True)
    page_id: Mapped[int | None] = mapped_column(
        ForeignKey("post.id", ondelete="CASCADE"), index=True
    )
    url: Mapped[str] = mapped_column(String(500), default="")
    # One level of nesting: a top-level item's sub-items. Deleting the parent keeps its
    # sub-items, at the top level where they stood (never hidden with nothing pointing at them).
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("nav_item.id", ondelete="SET NULL"), index=True
    )

    page: Mapped[Post | None] = relationship()
    parent: Mapped["NavItem | None"] = relationship(
        remote_side=[id], back_populates="children", passive_deletes=True
    )
    children: Mapped[list["NavItem"]] = relationship(
        back_populates="parent", passive_deletes=True, order_by="NavItem.position"
    )

    def __str__(self) -> str:
        return self.label


class EditPresence(db.Model):
    """Someone has a post's edit form open; a soft notice for others that expires by itself."""

    post_id: Mapped[int] = mapped_column(
        ForeignKey("post.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user.id", ondelete="CASCADE"), primary_key=True
    )
    seen_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    user: Mapped[User] = relationship()


class RescuedForm(db.Model):
    """Text sent from an edit form after the session ended, kept until its writer logs in."""

    # SHA-256 of the token in the writer's URL and cookie; the token itself is not stored.
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    post_id: Mapped[int | None] = mapped_column(ForeignKey("post.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(10))
    data: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
