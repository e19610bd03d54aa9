"""One-time tokens of submitted create forms: a double-clicked Save creates one row."""

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from cms.extensions import db
from cms.models.base import utcnow


class FormSubmission(db.Model):
    """A create form that was saved; its token is the primary key, so it saves only once."""

    token: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
