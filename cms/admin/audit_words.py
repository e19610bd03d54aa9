"""The audit log in words: "Ann published “Spring sale”", with a link while it exists."""

from flask import g, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from cms.models import Post, PostKind, PostStatus
from cms.services import audit_log
from cms.services.roles import can_edit_post

MOVED_TO_TRASH = _l("%(who)s moved %(what)s to trash")
# What each recorded action says; %(who)s is the person, %(what)s the object.
SENTENCES = {
    "create": _l("%(who)s created %(what)s"),
    "update": _l("%(who)s changed %(what)s"),
    "delete": _l("%(who)s deleted %(what)s"),
    "bulk:delete": _l("%(who)s deleted %(what)s"),
    "roles": _l("%(who)s changed the roles of %(what)s"),
    "trash": MOVED_TO_TRASH,
    "bulk:trash": MOVED_TO_TRASH,
    "workflow:trash": MOVED_TO_TRASH,
    "untrash": _l("%(who)s took %(what)s back out of the trash"),
    "restore": _l("%(who)s restored %(what)s"),
    "workflow:restore": _l("%(who)s restored %(what)s"),
    "purge": _l("%(who)s deleted %(what)s for good"),
    "workflow:submit": _l("%(who)s submitted %(what)s for review"),
    "bulk:submit": _l("%(who)s submitted %(what)s for review"),
    "workflow:withdraw": _l("%(who)s took %(what)s back to draft"),
    "workflow:publish": _l("%(who)s published %(what)s"),
    "bulk:publish": _l("%(who)s published %(what)s"),
    "workflow:unpublish": _l("%(who)s unpublished %(what)s"),
    "bulk:unpublish": _l("%(who)s unpublished %(what)s"),
    "workflow:send_back": _l("%(who)s sent %(what)s back to the author"),
    "bulk:move": _l("%(who)s moved %(what)s in the menu"),
    "upload": _l("%(who)s uploaded %(what)s"),
    "alt": _l("%(who)s described the image %(what)s"),
    "login": _l("%(who)s logged in"),
    "login_failed": _l("A login as %(who)s failed"),
    "logout": _l("%(who)s logged out"),
    "password_reset": _l("%(who)s reset their password by e-mail"),
    "password_change": _l("%(who)s changed their password"),
    "two_factor_change": _l("%(who)s changed their two-factor method"),
}
# The choices of the log's "Action" filter: a label and the recorded actions it covers.
ACTION_GROUPS = {
    "publish": (_l("Published"), ("workflow:publish", "bulk:publish")),
    "unpublish": (_l("Unpublished"), ("workflow:unpublish", "bulk:unpublish")),
    "review": (
        _l("Review (submitted, sent back, withdrawn)"),
        ("workflow:submit", "bulk:submit", "workflow:send_back", "workflow:withdraw"),
    ),
    "create": (_l("Created"), ("create",)),
    "update": (_l("Changed"), ("update", "roles", "alt", "bulk:move")),
    "trash": (_l("Moved to trash"), ("trash", "bulk:trash", "workflow:trash")),
    "restore": (_l("Restored"), ("restore", "untrash", "workflow:restore")),
    "delete": (_l("Deleted"), ("delete", "bulk:delete", "purge")),
    "upload": (_l("Uploaded"), ("upload",)),
    "login": (_l("Logins and logouts"), ("login", "logout")),
    "login_failed": (_l("Failed logins"), ("login_failed",)),
    "account": (
        _l("Passwords and two-factor"),
        ("password_reset", "password_change", "two_factor_change"),
    ),
}
# The word for an object that is gone and left no name.
KIND_WORDS = {
    "Post": _l("post"),
    "File": _l("file"),
    "Tag": _l("tag"),
    "NavItem": _l("menu entry"),
    "User": _l("person"),
    "LocalProxy": _l("person"),
    "Role": _l("role"),
}
# The dashboard page of each kind of object (Post chooses between posts, pages and trash).
EDIT_ENDPOINTS = {
    "File": "files.edit_view",
    "Tag": "tags.edit_view",
    "NavItem": "navigation.edit_view",
    "User": "users.edit_view",
    "Role": "roles.edit_view",
}


def page_context(context, event) -> dict:
    """Return the objects and people of the events shown with `event`, loaded once per page
    (the list's rows are in the template context as `data`)."""
    rows = list((context or {}).get("data") or [event])
    if event not in rows:
        rows = [event]
    key = tuple(row.id for row in rows)
    kept = g.get("cms_audit_page")
    if kept is None or kept["key"] != key:
        present = audit_log.subjects(rows)
        kept = {
            "key": key,
            "subjects": present,
            "names": audit_log.last_names(rows, present),
            "actors": audit_log.actors(rows),
        }
        g.cms_audit_page = kept
    return kept


def post_address(post: Post, user) -> str:
    """Return where the log links a post: its edit page, details, or its place in the trash."""
    if post.status == PostStatus.TRASHED:
        return url_for("trash.details_view", id=post.id)
    view = "pages" if post.kind == PostKind.PAGE else "posts"
    action = "edit_view" if can_edit_post(user, post) else "details_view"
    return url_for(f"{view}.{action}", id=post.id)


def object_words(event, page: dict, user) -> Markup:
    """Return the object of the sentence: a linked title, a last known title, or its kind."""
    model = audit_log.model_of(event.object_type)
    ident = event.object_id or ""
    if model is None or not ident.isdigit():
        return Markup("")
    row = page["subjects"].get((model, int(ident)))
    if row is None:
        name = page["names"].get((event.object_type, ident))
        if name:
            return Markup("“{}”").format(name)
        kind = KIND_WORDS.get(event.object_type, _("item"))
        return Markup("{}").format(_("a deleted %(kind)s", kind=kind))
    if model is Post:
        address = post_address(row, user)
    else:
        address = url_for(EDIT_ENDPOINTS[model.__name__], id=row.id)
    return Markup('<a href="{}">“{}”</a>').format(address, str(row))


def person_words(event, page: dict) -> Markup:
    """Return who acted: their name now, the e-mail recorded, or "Someone"."""
    person = page["actors"].get(event.actor_id)
    if person is not None:
        return Markup("<strong>{}</strong>").format(person.name)
    if event.actor_email:
        return Markup("<strong>{}</strong>").format(event.actor_email)
    return Markup("{}").format(_("Someone"))


def sentence(event, page: dict, user) -> Markup:
    """Return the event as a sentence: "Ann published “Spring sale”"."""
    who = person_words(event, page)
    what = object_words(event, page, user)
    summary = event.summary or ""
    if event.action == "two_factor_change" and summary == "two-factor disabled":
        template = _l("%(who)s turned off two-factor authentication")
    elif event.action == "login_failed" and event.actor_id is None and not event.actor_email:
        address = summary.removeprefix("email: ") or "?"
        return Markup("{}").format(
            _("A login with the unknown address %(email)s failed", email=address)
        )
    else:
        template = SENTENCES.get(event.action)
    if template is None:
        # An action this version does not know yet: its name, plainly.
        return Markup("{} · {} {}").format(who, event.action, what)
    # The translated frame is escaped; the parts are Markup already escaped above.
    return Markup.escape(str(template)) % {"who": who, "what": what}
