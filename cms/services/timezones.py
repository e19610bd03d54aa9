"""Time zones: each person reads and types times in their own zone; the database keeps UTC.

Stored times are naive UTC (see cms.models.base.utcnow). A person's zone is `User.timezone`
(an IANA name such as "Europe/Berlin"); empty means the site's TIMEZONE
(BABEL_DEFAULT_TIMEZONE).
"""

from datetime import UTC, datetime
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from flask import current_app, has_app_context

FALLBACK = "UTC"
# Longest zone name accepted (the column's size).
MAX_NAME_LENGTH = 64


class NonexistentTime(ValueError):
    """A local time the clocks skip (the hour lost when summer time starts)."""


@cache
def zone_names() -> tuple[str, ...]:
    """Return every IANA zone name this system knows, sorted (no legacy aliases like EST)."""
    names = {
        name
        for name in available_timezones()
        if "/" in name and not name.startswith(("Etc/", "SystemV/", "posix/", "right/"))
    }
    return tuple(sorted(names | {FALLBACK}))


def grouped_zone_names() -> list[tuple[str, list[str]]]:
    """Return the zone names grouped by region ("Europe", [...]), for a select's optgroups."""
    groups: dict[str, list[str]] = {}
    for name in zone_names():
        region = name.split("/", 1)[0] if "/" in name else ""
        groups.setdefault(region, []).append(name)
    return sorted(groups.items())


def is_valid(name: str | None) -> bool:
    """Return whether `name` is a zone this system knows (and one offered in the select)."""
    return bool(name) and len(name) <= MAX_NAME_LENGTH and name in zone_names()


def site_zone_name() -> str:
    """Return the site's zone name (TIMEZONE), or UTC when it is not a known zone."""
    name = current_app.config.get("BABEL_DEFAULT_TIMEZONE") if has_app_context() else None
    return name if name and _loads(name) else FALLBACK


def zone_name_of(user) -> str:
    """Return the zone name this person uses: their own choice, else the site's."""
    chosen = getattr(user, "timezone", None) or ""
    return chosen if is_valid(chosen) else site_zone_name()


def _loads(name: str) -> bool:
    """Return whether zoneinfo can load a zone of this name."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def to_utc(local: datetime | None, zone_name: str) -> datetime | None:
    """Return a wall-clock time of `zone_name` as naive UTC.

    A time the clocks skip (e.g. 02:30 on the night summer time starts) raises NonexistentTime.
    A time that happens twice (the hour repeated when summer time ends) is taken the first
    time it happens (fold=0, still summer time): the earlier of the two, so a post is never
    published later than the writer expects.
    """
    if local is None:
        return None
    zone = ZoneInfo(zone_name)
    aware = local.replace(tzinfo=zone, fold=0)
    utc = aware.astimezone(UTC)
    # A skipped time does not survive the round trip: it comes back moved by the gap.
    if utc.astimezone(zone).replace(tzinfo=None) != local.replace(tzinfo=None):
        raise NonexistentTime(local)
    return utc.replace(tzinfo=None)


def from_utc(stored: datetime | None, zone_name: str) -> datetime | None:
    """Return a stored naive-UTC time as the wall-clock time of `zone_name` (naive)."""
    if stored is None:
        return None
    return stored.replace(tzinfo=UTC).astimezone(ZoneInfo(zone_name)).replace(tzinfo=None)
