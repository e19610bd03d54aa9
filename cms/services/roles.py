"""Roles and what each may do; every permission check in the CMS asks here."""

from flask_babel import lazy_gettext as _l

from cms.models.content import PostStatus
from cms.services.usage import is_in_public_post

ADMIN = "admin"
EDITOR = "editor"
AUTHOR = "author"
READER = "reader"

# Name -> description, in order of power; created by `flask cms bootstrap`.
ROLES = {
    ADMIN: _l("Everything, including users and roles"),
    EDITOR: _l("All posts, tags and files; publishes"),
    AUTHOR: _l("Writes own posts as drafts; sees own files"),
    READER: _l("A registered reader without dashboard access"),
}

STAFF = (ADMIN, EDITOR, AUTHOR)


def has_any_role(user, *names: str) -> bool:
    """Return whether an authenticated, active user holds one of the named roles."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.active:
        return False
    return any(user.has_role(name) for name in names)


def is_staff(user) -> bool:
    """Return whether the user may open the dashboard."""
    return has_any_role(user, *STAFF)


def can_manage_people(user) -> bool:
    """Return whether the user may see and change users and roles."""
    return has_any_role(user, ADMIN)


def can_manage_content(user) -> bool:
    """Return whether the user may change every post, tag and file."""
    return has_any_role(user, ADMIN, EDITOR)


def can_publish(user) -> bool:
    """Return whether the user may publish posts."""
    return has_any_role(user, ADMIN, EDITOR)


def can_view_post(user, post) -> bool:
    """Return whether the user may open this post in the dashboard."""
    if can_manage_content(user):
        return True
    return has_any_role(user, AUTHOR) and post.author_id == user.id


def can_edit_post(user, post) -> bool:
    """Return whether the user may change this post (authors: own drafts only).

    Nothing in the trash is edited: it is restored first.
    """
    if post.status == PostStatus.TRASHED:
        return False
    if can_manage_content(user):
        return True
    # Once submitted for review, an author's post is theirs to read, not to change.
    return can_view_post(user, post) and post.status == PostStatus.DRAFT


def can_see_file(user, file) -> bool:
    """Return whether the user may see this file in the dashboard.

    Editors and admins see every file; authors their own uploads, and the files shown by a
    post or page readers can see now (those are public anyway). Keep in step with
    cms.services.dashboard.file_scope, its SQL twin.
    """
    if can_manage_content(user):
        return True
    if not has_any_role(user, AUTHOR):
        return False
    if file.uploader_id == user.id:
        return True
    return is_in_public_post(file)


def can_change_file(user, file) -> bool:
    """Return whether the user may edit or delete this file (authors: their own uploads)."""
    if can_manage_content(user):
        return True
    return has_any_role(user, AUTHOR) and file.uploader_id == user.id
