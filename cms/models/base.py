"""Shared pieces of every model: the metadata and UTC timestamps."""

from datetime import UTC, datetime

from cms.extensions import db

metadata = db.metadata


def utcnow() -> datetime:
    """Return the current time in UTC without tzinfo, as every timestamp is stored."""
    # Flask-Security stores naive UTC; all our columns follow it so times compare directly.
    return datetime.now(UTC).replace(tzinfo=None)
