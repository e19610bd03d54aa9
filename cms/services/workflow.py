"""The editorial workflow: which status changes exist and who may make them.

draft -> review -> published, plus scheduled (published with a future time) and trashed.
Authors submit their drafts for review (and may take them back); editors and admins publish,
schedule, unpublish, send back with a comment, trash and restore; admins empty the trash.
Every check here runs on the server, for buttons, forms and bulk actions alike.
"""

from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l

from cms.extensions import db
from cms.models import Post, PostStatus, utcnow
from cms.services import media, revisions
from cms.services.media_library import MediaLibrary
from cms.services.rendering import render_markdown
from cms.services.roles import ADMIN, AUTHOR, can_publish, has_any_role

DRAFT, REVIEW, PUBLISHED, TRASHED = (
    PostStatus.DRAFT,
    PostStatus.REVIEW,
    PostStatus.PUBLISHED,
    PostStatus.TRASHED,
)


class TransitionRefused(ValueError):
    """This change of status is not allowed; the message is translated and safe to show."""


@dataclass(frozen=True)
class Transition:
    """One move of the workflow: where it may start, where it ends, and who may make it."""

    name: str
    label: object
    sources: frozenset
    target: PostStatus
    # "publisher": editors and admins; "writer": also the post's own author; "admin".
    who: str


TRANSITIONS = {
    t.name: t
    for t in (
        Transition("submit", _l("Submit for review"), frozenset({DRAFT}), REVIEW, "writer"),
        Transition("withdraw", _l("Back to draft"), frozenset({REVIEW}), DRAFT, "writer"),
        Transition(
            "publish", _l("Publish"), frozenset({DRAFT, REVIEW, PUBLISHED}), PUBLISHED, "publisher"
        ),
        Transition("unpublish", _l("Unpublish"), frozenset({PUBLISHED}), DRAFT, "publisher"),
        Transition(
            "send_back", _l("Send back to the author"), frozenset({REVIEW}), DRAFT, "publisher"
        ),
        Transition(
            "trash", _l("Move to trash"), frozenset({DRAFT, REVIEW, PUBLISHED}), TRASHED, "writer"
        ),
        Transition("restore", _l("Restore from trash"), frozenset({TRASHED}), DRAFT, "publisher"),
    )
}


def is_own(user, post: Post) -> bool:
    """Return whether the post belongs to this author."""
    owner = post.author_id if post.author_id is not None else getattr(post.author, "id", None)
    return has_any_role(user, AUTHOR) and owner == user.id


def allowed(user, post: Post, name: str) -> bool:
    """Return whether this person may make this move on this post now."""
    move = TRANSITIONS.get(name)
    if move is None or post.status not in move.sources:
        return False
    if can_publish(user):
        return True
    if move.who != "writer" or not is_own(user, post):
        return False
    # Authors trash only their own drafts; what is in review or live is the editors' call.
    return name != "trash" or post.status == DRAFT


def available(user, post: Post) -> list[Transition]:
    """Return the moves this person may make on this post, in workflow order."""
    return [move for name, move in TRANSITIONS.items() if allowed(user, post, name)]


def can_empty_trash(user) -> bool:
    """Return whether this person may delete trashed content for good (admins only)."""
    return has_any_role(user, ADMIN)


def apply(
    post: Post, name: str, user, *, note: str = "", when: datetime | None = None
) -> Transition:
    """Make one move on a post (the caller commits); TransitionRefused if it is not allowed."""
    if name not in TRANSITIONS:
        raise TransitionRefused(_l("This action does not exist."))
    if not allowed(user, post, name):
        raise TransitionRefused(_l("This action is not allowed for this item in its status."))
    note = (note or "").strip()
    if name == "send_back" and not note:
        raise TransitionRefused(_l("Please say what should change before sending it back."))
    move = TRANSITIONS[name]
    if name == "publish":
        # Reading only, before anything is written (on SQLite: before the write lock).
        with db.session.no_autoflush:
            # Readers must not get images nobody described (alt text, or marked decorative).
            missing = media.images_missing_alt(post)
            if missing:
                raise TransitionRefused(media.missing_alt_message(missing))
            # Rendered again, so the page shows the alt text given in the library since the save.
            post.body_html = render_markdown(post.body_md or "", library=MediaLibrary())
    now = utcnow()
    event = name
    if name == "publish":
        if when is not None:
            post.published_at = when
        elif post.published_at is None or post.state.value == "expired":
            post.published_at = now
        if post.unpublish_at is not None and post.unpublish_at <= now:
            post.unpublish_at = None
        if post.published_at > now:
            event = "schedule"
    if name == "trash":
        post.trashed_at = now
    if name == "restore":
        post.trashed_at = None
        # Not "restore": that names giving back an earlier revision.
        event = "untrash"
    if name == "send_back":
        post.review_note = note
    if name == "submit":
        post.review_note = ""
    post.status = move.target
    revisions.mark(post, event, note)
    return move


def untrash(post: Post, status: PostStatus, user) -> None:
    """Undo a move to the trash just made by this person: the post gets its state back.

    Publishing needs the right to publish, and every image the post shows described (as
    publishing does); otherwise the post comes back as a draft.
    """
    if post.status != TRASHED:
        raise TransitionRefused(_l("This action is not allowed for this item in its status."))
    if status == PUBLISHED and not can_publish(user):
        status = DRAFT
    if status == PUBLISHED:
        with db.session.no_autoflush:
            if media.images_missing_alt(post):
                status = DRAFT
    post.trashed_at = None
    post.status = status
    revisions.mark(post, "untrash")


def form_event(old_status: str | None, post: Post) -> str | None:
    """Return the workflow event a form save made by changing the status, if any."""
    if old_status == post.status:
        return None
    if post.status == PUBLISHED:
        return "schedule" if post.published_at and post.published_at > utcnow() else "publish"
    if post.status == REVIEW:
        return "submit"
    if old_status == PUBLISHED:
        return "unpublish"
    return "withdraw" if old_status == REVIEW else None
