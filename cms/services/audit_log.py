"""Reading the audit log: the rows its events name, loaded for a whole page at once."""

from sqlalchemy import select

from cms.extensions import db
from cms.models import AuditEvent, File, NavItem, Post, Role, Tag, User

# The model behind each recorded object type. Older two-factor events name the user through
# the proxy Flask-Security handed over ("LocalProxy"); they are about the user.
MODELS = {
    "Post": Post,
    "File": File,
    "Tag": Tag,
    "NavItem": NavItem,
    "User": User,
    "Role": Role,
    "LocalProxy": User,
}
# Events whose summary is the object's name as it was (what is left once it is gone).
NAMING_ACTIONS = ("delete", "purge", "bulk:delete", "trash")
# At most this many people are offered in the log's "Person" filter.
MAX_PEOPLE = 500


def model_of(object_type: str | None):
    """Return the model class an event's object type names, or None."""
    return MODELS.get(object_type or "")


def subjects(events) -> dict[tuple[type, int], object]:
    """Return the rows the events are about that still exist, by (model, id): one query per
    kind of object on the page, none per event."""
    wanted: dict[type, set[int]] = {}
    for item in events:
        model = model_of(item.object_type)
        if model is not None and (item.object_id or "").isdigit():
            wanted.setdefault(model, set()).add(int(item.object_id))
    found = {}
    for model, ids in wanted.items():
        for row in db.session.scalars(select(model).where(model.id.in_(ids))):
            found[(model, row.id)] = row
    return found


def last_names(events, present) -> dict[tuple[str, str], str]:
    """Return the last recorded name of each object of `events` that no longer exists, by
    (object type, object id), read from its deletion (or trash) events in one query."""
    missing = {
        (item.object_type, item.object_id)
        for item in events
        if model_of(item.object_type) is not None
        and (item.object_id or "").isdigit()
        and (model_of(item.object_type), int(item.object_id)) not in present
    }
    if not missing:
        return {}
    query = (
        select(AuditEvent.object_type, AuditEvent.object_id, AuditEvent.summary)
        .where(
            AuditEvent.object_type.in_({kind for kind, _ident in missing}),
            AuditEvent.object_id.in_({ident for _kind, ident in missing}),
            AuditEvent.action.in_(NAMING_ACTIONS),
        )
        .order_by(AuditEvent.id)
    )
    names = {}
    for kind, ident, summary in db.session.execute(query):
        if (kind, ident) in missing and summary:
            names[(kind, ident)] = summary
    return names


def actors(events) -> dict[int, User]:
    """Return the people who acted in `events` (still existing), by id, in one query."""
    ids = {item.actor_id for item in events if item.actor_id is not None}
    if not ids:
        return {}
    return {user.id: user for user in db.session.scalars(select(User).where(User.id.in_(ids)))}


def people_choices() -> list[tuple[int, str]]:
    """Return (id, name) of the people the log can be filtered by, by name."""
    query = select(User).order_by(User.display_name, User.email).limit(MAX_PEOPLE)
    return [(user.id, user.name) for user in db.session.scalars(query)]
