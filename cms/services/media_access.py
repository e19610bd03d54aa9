"""Who may fetch a stored file, and the signed addresses that reach the ones readers may not.

Stored names are the SHA-256 of the content, so a name proves nothing: anyone holding the
bytes can work it out. Readers therefore get a file (its original, thumbnail and renditions:
everything named after its stem, for every row sharing the stored object) only while a post
or page they can see now shows it. Everything else is reached through a signed address,
`/uploads/<name>?k=<key>` or `/media/<name>?k=<key>`, whose key is an HMAC (itsdangerous,
SECRET_KEY) over the name and a grant that the key carries:

    [0, expires]                   a dashboard grant: made only for files the person may
                                   see there
    [post id, expires, created]    a preview grant: valid while that post (created then: ids
                                   of deleted posts come back on SQLite) is not trashed,
                                   still shows the file, its author may see the file, and
                                   the preview link lasts

Public addresses stay plain (they are in stored post HTML and srcsets); pages that show files
readers may not see yet sign the addresses in their HTML as they render it.
"""

import math
import re
import time
from collections.abc import Callable, Iterable

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import ColumnElement, and_, exists, false, select

from cms.extensions import db
from cms.models import File, FileUsage, Post, PostStatus, User
from cms.services import usage
from cms.services.dashboard import file_scope
from cms.services.renditions import MEDIA_PREFIX, UPLOADS_PREFIX
from cms.services.roles import is_staff
from cms.services.storage import InvalidName, check_name

# Separates media keys from every other value signed with the same secret key; the name goes
# into the salt, so a key opens one name only.
SALT = "cms.media-access"
# The query parameter that carries the key.
KEY_ARG = "k"
# How long a dashboard address works. Its expiry is rounded up to the hour, so a page loaded
# twice within the hour gets the same address and the browser's copy is used again.
DASHBOARD_LINK_SECONDS = 12 * 3600
LINK_ROUNDING = 3600
# Headers of every response that carries a stored file's bytes: nothing in it may run, load
# anything or be read as another type, whatever the browser thinks of the bytes.
FILE_CSP = "default-src 'none'; sandbox"
# A public file is cached an hour, revalidated by ETag after that (a 304 costs no bytes):
# removing it from the last published post stops it within the hour, also in shared caches.
PUBLIC_MAX_AGE = 3600
# Signed answers only in the fetching browser, briefly (a dashboard page reloaded soon after).
SIGNED_MAX_AGE = 600
# One of our stored names in an address of this site (original, thumbnail or rendition), not
# already followed by a query or fragment.
ADDRESS = re.compile(
    rf"({re.escape(UPLOADS_PREFIX)}|{re.escape(MEDIA_PREFIX)})"
    rf"([0-9a-f]{{{usage.STEM_LENGTH}}}[a-z0-9_-]{{0,48}}\.[a-z0-9]{{1,8}})(?![a-z0-9_?#-])"
)


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def _now() -> int:
    return int(time.time())


# (0, expires) for the dashboard, (post id, expires, created) for a preview.
Grant = tuple[int, int] | tuple[int, int, str]


def make_key(name: str, grant: Grant) -> str:
    """Return the key that opens `name` under a grant."""
    return _serializer().dumps(list(grant), salt=f"{SALT}:{name}")


def read_key(name: str, key: str | None) -> Grant | None:
    """Return the unexpired grant a key for `name` carries; None if it has none."""
    if not key or len(key) > 300:
        return None
    try:
        data = _serializer().loads(key, salt=f"{SALT}:{name}")
    except BadSignature:
        return None
    if not isinstance(data, list) or len(data) not in (2, 3):
        return None
    post_id, expires = data[0], data[1]
    if type(post_id) is not int or type(expires) is not int or post_id < 0:
        return None
    if (post_id == 0) != (len(data) == 2) or expires < _now():
        return None
    return tuple(data)


def signed_address(address: str, name: str, grant: Grant) -> str:
    """Return `address` (ending in `name`) with the key of a grant appended."""
    return f"{address}?{KEY_ARG}={make_key(name, grant)}"


def dashboard_expiry() -> int:
    """Return when a dashboard address made now stops working (rounded up to the hour)."""
    return math.ceil((_now() + DASHBOARD_LINK_SECONDS) / LINK_ROUNDING) * LINK_ROUNDING


def dashboard_url(name: str, prefix: str = UPLOADS_PREFIX) -> str:
    """Return the signed dashboard address of a stored name the caller has checked access to.

    Only for files the current person may see in the dashboard (a row of their file list).
    """
    return signed_address(prefix + name, name, (0, dashboard_expiry()))


# --- Which rows a name belongs to --------------------------------------------------------


def _rows_of(names: Iterable[str]) -> ColumnElement[bool]:
    """Return the condition for every File row sharing an object one of `names` points to."""
    shared = select(File.stored_name).where(usage.names_condition(names)).scalar_subquery()
    return File.stored_name.in_(shared)


def _names_of(row: File) -> Callable[[str], bool]:
    """Return a test: does a stored name belong to this row (object, thumbnail, rendition)?"""
    stem = row.stored_name.split(".", 1)[0][: usage.STEM_LENGTH]

    def belongs(name: str) -> bool:
        if name in (row.stored_name, row.thumbnail_name):
            return True
        # A derived object: `<stem>-<spec>.<ext>` (cms.services.media.file_stem).
        return name.startswith(stem + "-")

    return belongs


def _valid_name(name: str) -> bool:
    try:
        check_name(name)
    except InvalidName:
        return False
    return True


# --- Readers -------------------------------------------------------------------------------


def is_public(name: str) -> bool:
    """Return whether readers may fetch this stored name: a post or page they see shows it."""
    if not _valid_name(name):
        return False
    shown = select(File.id).where(_rows_of([name]), File.id.in_(usage.public_file_ids()))
    return bool(db.session.scalar(select(exists(shown))))


# --- Previews ------------------------------------------------------------------------------


def preview_scope(post: Post) -> ColumnElement[bool]:
    """Return the condition for the files a preview of this post may show.

    The files the post shows that its author may see in the dashboard (editors and admins:
    all; authors: their own and public ones; someone no longer on the staff: public ones).
    A body naming someone else's private file by its hash does not make it visible: the
    name is no secret.
    """
    if post.status == PostStatus.TRASHED:
        return false()
    shown = select(FileUsage.file_id).where(FileUsage.post_id == post.id)
    author = db.session.get(User, post.author_id) if post.author_id is not None else None
    if author is None or not is_staff(author):
        allowed = File.id.in_(usage.public_file_ids())
    else:
        allowed = file_scope(author)
    return and_(File.id.in_(shown), allowed)


def preview_expiry(issued_at: float) -> int:
    """Return when the addresses of a preview page stop working: with the preview link."""
    max_age = current_app.config["PREVIEW_LINK_MAX_AGE"].total_seconds()
    return int(issued_at + max_age)


def _created(post: Post) -> str:
    """Return when a post was created, to the second (tells two posts with one id apart)."""
    return post.created_at.isoformat(timespec="seconds") if post.created_at else ""


def preview_grant(post: Post, issued_at: float) -> Grant:
    """Return the grant of the addresses on a preview page of this post."""
    return (post.id, preview_expiry(issued_at), _created(post))


def _grant_holds(name: str, grant: Grant) -> bool:
    """Return whether a valid key's grant still allows `name`."""
    if grant[0] == 0:
        # Made only for files the person could see; the file's existence is checked on serving.
        return True
    post = db.session.get(Post, grant[0])
    if post is None or _created(post) != grant[2]:
        return False
    query = select(File.id).where(_rows_of([name]), preview_scope(post))
    return bool(db.session.scalar(select(exists(query))))


def signed_grant(name: str, key: str | None) -> Grant | None:
    """Return the grant of a valid key for `name` if it still holds."""
    if not _valid_name(name):
        return None
    grant = read_key(name, key)
    if grant is None or not _grant_holds(name, grant):
        return None
    return grant


# --- Signing the addresses of a page -------------------------------------------------------


def sign_html(html: str, scope: ColumnElement[bool], grant: Grant) -> str:
    """Return `html` with each address of a file in `scope` signed under the grant.

    Addresses of other files are left as they are (readers' rules decide them).
    """
    names = {match[2] for match in ADDRESS.finditer(html or "")}
    names = {name for name in names if _valid_name(name)}
    if not names:
        return html
    rows = db.session.scalars(select(File).where(_rows_of(names), scope)).all()
    tests = [_names_of(row) for row in rows]
    allowed = {name for name in names if any(test(name) for test in tests)}
    if not allowed:
        return html

    def sign(match: re.Match) -> str:
        prefix, name = match[1], match[2]
        if name not in allowed:
            return match[0]
        return signed_address(prefix + name, name, grant)

    return ADDRESS.sub(sign, html)


def sign_for_dashboard(html: str, user) -> str:
    """Return `html` with the addresses of files this person may see in the dashboard signed."""
    return sign_html(html, file_scope(user), (0, dashboard_expiry()))


def sign_for_preview(html: str, post: Post, issued_at: float) -> str:
    """Return a preview page with the addresses of the files the preview may show signed."""
    return sign_html(html, preview_scope(post), preview_grant(post, issued_at))
