"""Accounts and roles, with the columns Flask-Security-Too needs now and later (2FA)."""

from datetime import datetime

from flask_security import AsaList, RoleMixin, UserMixin
from sqlalchemy import Boolean, Column, ForeignKey, Index, Integer, String, Table, Text
from sqlalchemy.ext.mutable import MutableList
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cms.extensions import db
from cms.models.base import utcnow

roles_users = Table(
    "roles_users",
    db.metadata,
    Column("user_id", Integer, ForeignKey("user.id", ondelete="CASCADE"), primary_key=True),
    Column("role_id", Integer, ForeignKey("role.id", ondelete="CASCADE"), primary_key=True),
)


class Role(db.Model, RoleMixin):
    """A named set of rights: admin, editor, author or reader."""

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    description: Mapped[str | None] = mapped_column(String(255))
    permissions: Mapped[list[str] | None] = mapped_column(MutableList.as_mutable(AsaList()))
    update_datetime: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    def __str__(self) -> str:
        return self.name


class User(db.Model, UserMixin):
    """A person with an account; staff roles open the dashboard."""

    # The dashboard's list, paged by keyset by each sort it offers (0016).
    __table_args__ = (
        Index("ix_user_display_name_id", "display_name", "id"),
        Index("ix_user_confirmed_at_id", "confirmed_at", "id"),
        Index("ix_user_last_login_at_id", "last_login_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(255), unique=True)
    # Shown as the byline and used in /authors/<slug>.
    display_name: Mapped[str | None] = mapped_column(String(120))
    slug: Mapped[str | None] = mapped_column(String(140), unique=True)
    bio: Mapped[str | None] = mapped_column(Text)
    # The interface language this person chose; None follows the browser.
    locale: Mapped[str | None] = mapped_column(String(10))
    # The time zone (an IANA name such as "Europe/Berlin") this person reads and types times
    # in; empty follows the site's TIMEZONE.
    timezone: Mapped[str] = mapped_column(String(64), default="", server_default="")
    password: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    fs_uniquifier: Mapped[str] = mapped_column(String(64), unique=True)
    confirmed_at: Mapped[datetime | None]
    # Trackable.
    last_login_at: Mapped[datetime | None]
    current_login_at: Mapped[datetime | None]
    last_login_ip: Mapped[str | None] = mapped_column(String(64))
    current_login_ip: Mapped[str | None] = mapped_column(String(64))
    login_count: Mapped[int | None]
    # Two-factor and unified sign-in (used once two-factor is switched on).
    tf_primary_method: Mapped[str | None] = mapped_column(String(64))
    tf_totp_secret: Mapped[str | None] = mapped_column(String(255))
    tf_phone_number: Mapped[str | None] = mapped_column(String(128))
    # The time step of the last accepted code: a code is never accepted twice.
    tf_totp_last_counter: Mapped[int | None]
    mf_recovery_codes: Mapped[list[str] | None] = mapped_column(MutableList.as_mutable(AsaList()))
    us_totp_secrets: Mapped[str | None] = mapped_column(Text)
    us_phone_number: Mapped[str | None] = mapped_column(String(128), unique=True)
    create_datetime: Mapped[datetime] = mapped_column(default=utcnow)
    update_datetime: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    roles: Mapped[list[Role]] = relationship(
        secondary=roles_users, backref=db.backref("users", lazy="dynamic")
    )

    @property
    def name(self) -> str:
        """Return the name to show for this person."""
        return self.display_name or self.email.split("@", 1)[0]

    def __str__(self) -> str:
        return self.name
