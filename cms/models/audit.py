"""The audit log: who did what, when and from where. Rows are written once and never changed."""

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cms.extensions import db
from cms.models.base import utcnow
from cms.models.users import User


class AuditLogIsAppendOnly(RuntimeError):
    """Raised when code tries to change or delete a recorded audit event."""


class AuditEvent(db.Model):
    """One recorded action: a dashboard write, a bulk action, an upload or an account event."""

    __tablename__ = "audit_event"
    __table_args__ = (
        # The dashboard's list, newest first, whole or filtered by person, action or object
        # type, paged by keyset (0014).
        Index("ix_audit_event_created_at_id", "created_at", "id"),
        Index("ix_audit_event_actor_created_at_id", "actor_email", "created_at", "id"),
        Index("ix_audit_event_action_created_at_id", "action", "created_at", "id"),
        Index("ix_audit_event_type_created_at_id", "object_type", "created_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    # The person who acted; SET NULL when the account is deleted, the e-mail stays.
    actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL"), index=True
    )
    actor_email: Mapped[str | None] = mapped_column(String(255))
    # "create", "update", "delete", "bulk:publish", "upload", "roles", "login", ...
    action: Mapped[str] = mapped_column(String(40), index=True)
    object_type: Mapped[str | None] = mapped_column(String(40), index=True)
    object_id: Mapped[str | None] = mapped_column(String(64))
    # What changed ("field: old -> new"); never passwords, hashes or secrets.
    summary: Mapped[str] = mapped_column(Text, default="")
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(255))

    # No backref: deleting a user must not make the ORM touch (update) audit rows.
    actor: Mapped[User | None] = relationship()

    def __str__(self) -> str:
        return f"{self.action} {self.object_type or ''} {self.object_id or ''}".strip()


@event.listens_for(AuditEvent, "before_update")
def _refuse_update(mapper, connection, target) -> None:
    """Recorded events are never changed by the application."""
    raise AuditLogIsAppendOnly("audit events cannot be changed")


@event.listens_for(AuditEvent, "before_delete")
def _refuse_delete(mapper, connection, target) -> None:
    """Recorded events are never deleted by the application."""
    raise AuditLogIsAppendOnly("audit events cannot be deleted")
