"""Times in the dashboard: "3 hours ago" in the reader's language, the exact time on hover."""

from datetime import UTC, datetime

from flask_babel import format_datetime, format_timedelta
from markupsafe import Markup

from cms.models import utcnow


def machine_time(value: datetime) -> str:
    """Return a stored UTC time as the HTML `datetime` value (whole seconds, "Z")."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    # The Nu Html Checker refuses fractions of seconds longer than three digits.
    return value.replace(microsecond=0).isoformat() + "Z"


def relative_time(value: datetime) -> str:
    """Return how long ago (or how soon) a stored UTC time is: "3 hours ago", "in 2 days"."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return format_timedelta(value - utcnow(), add_direction=True, threshold=0.9)


def time_tag(value: datetime | None) -> Markup:
    """Return a <time> showing the relative time, with the exact local time as its title."""
    if value is None:
        return Markup("")
    exact = format_datetime(value, "medium")
    return Markup('<time datetime="{}" title="{}">{}</time>').format(
        machine_time(value), exact, relative_time(value)
    )
