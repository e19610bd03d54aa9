"""Which posts and pages show which files, kept in FileUsage on every save.

A post uses a file when its Markdown body names the file's stored object (an
`/uploads/<name>` address, or any address ending in one of our stored names: the object, its
thumbnail or a rendition) or when the file is its social media image. Several File rows may
share one stored object (the same bytes uploaded twice); a body naming that object uses all of
them. A social media image is one row.

The rows are rewritten by a flush listener, so every way of saving a post (the forms, the
workflow buttons, bulk actions, restoring a revision, the command line) keeps them right.
This module knows the naming of stored objects, not the media service: it imports only the
models (and the visibility rule), so the media service and the permission checks may import
it. Rendering posts again after an alt text change lives in cms.services.rerender.
"""

import re
from collections.abc import Iterable

from sqlalchemy import Connection, delete, event, func, insert, or_, select
from sqlalchemy.orm import Session, attributes

from cms.extensions import db
from cms.models import File, FileUsage, Post, PostKind
from cms.services.rendering.embeds import video_sources
from cms.services.visibility import is_visible

# Every stored object's name begins with a stem of this many lower-case hex digits: the first
# half of the content's SHA-256 (files stored before content naming: their random stem).
# Derived objects are named `<stem>-<spec>.<ext>`; see cms.services.media.file_stem.
STEM_LENGTH = 32
# A stored name inside an address: after a slash, the stem, anything we add, an extension.
NAME_IN_TEXT = re.compile(
    rf"/([0-9a-f]{{{STEM_LENGTH}}}[a-z0-9_-]{{0,48}}\.[a-z0-9]{{1,8}})(?![a-z0-9_-])"
)
# Post attributes that decide which files a post uses.
WATCHED = ("body_md", "social_image", "social_image_id")


def referenced_names(text: str | None) -> set[str]:
    """Return the stored names that `text` (Markdown or HTML) points to."""
    return set(NAME_IN_TEXT.findall(text or ""))


def names_condition(names: Iterable[str]):
    """Return the SQL condition for the File rows whose objects `names` point to.

    A name may be the stored object, its thumbnail, or a derived object (`<stem>-<spec>.ext`).
    """
    names = set(names)
    stems = {name[:STEM_LENGTH] for name in names if name[STEM_LENGTH : STEM_LENGTH + 1] == "-"}
    conditions = [File.stored_name.in_(names), File.thumbnail_name.in_(names)]
    if stems:
        conditions.append(func.substr(File.stored_name, 1, STEM_LENGTH).in_(stems))
    return or_(*conditions)


def _content_ids(connection: Connection, names: set[str]) -> set[int]:
    """Return the ids of every File row sharing an object that `names` point to."""
    if not names:
        return set()
    stored = select(File.stored_name).where(names_condition(names)).scalar_subquery()
    return set(connection.scalars(select(File.id).where(File.stored_name.in_(stored))))


def _thumbnail_ids(connection: Connection, body_md: str | None) -> set[int]:
    """Return the ids of the thumbnails imported for the videos the body names (embeds).

    The embed shows the thumbnail although the body names only the video's address.
    """
    sources = video_sources(body_md)
    if not sources:
        return set()
    return set(connection.scalars(select(File.id).where(File.source_url.in_(sources))))


def _rewrite(
    connection: Connection, post_id: int, body_md: str | None, social_image_id: int | None
) -> None:
    """Make the FileUsage rows of one post match its body and social image."""
    wanted = _content_ids(connection, referenced_names(body_md))
    wanted |= _thumbnail_ids(connection, body_md)
    if social_image_id is not None:
        wanted.add(social_image_id)
    have = set(connection.scalars(select(FileUsage.file_id).where(FileUsage.post_id == post_id)))
    gone = have - wanted
    if gone:
        connection.execute(
            delete(FileUsage).where(FileUsage.post_id == post_id, FileUsage.file_id.in_(gone))
        )
    new = wanted - have
    if new:
        # Ids that name no row (a social image deleted meanwhile) would fail the foreign key.
        existing = set(connection.scalars(select(File.id).where(File.id.in_(new))))
        rows = [{"file_id": ident, "post_id": post_id} for ident in sorted(existing)]
        if rows:
            connection.execute(insert(FileUsage), rows)


def _social_image_id(post: Post) -> int | None:
    """Return the id of the post's social image, whether set by id or by relationship."""
    state = attributes.instance_state(post)
    if "social_image" in state.dict or "social_image" in state.committed_state:
        image = post.social_image
        return image.id if image is not None else None
    return post.social_image_id


def refresh(post: Post, session: Session | None = None) -> None:
    """Rewrite the post's FileUsage rows from its body and social image (the post has an id).

    Called for every saved post by the flush listener below; call it yourself only for a post
    changed outside the ORM.
    """
    session = session or db.session
    _rewrite(session.connection(), post.id, post.body_md, _social_image_id(post))


def refresh_posts_showing(session: Session, stored_name: str) -> None:
    """Rewrite the usage of the posts that show a stored object (a new copy joins them)."""
    connection = session.connection()
    siblings = select(File.id).where(File.stored_name == stored_name)
    query = select(Post.id, Post.body_md, Post.social_image_id).where(
        Post.id.in_(select(FileUsage.post_id).where(FileUsage.file_id.in_(siblings)))
    )
    for post_id, body_md, social_image_id in connection.execute(query).all():
        _rewrite(connection, post_id, body_md, social_image_id)


def _changed(post: Post) -> bool:
    """Return whether a flushed post changed what it shows."""
    state = attributes.instance_state(post)
    return any(state.attrs[name].history.has_changes() for name in WATCHED)


@event.listens_for(Session, "after_flush")
def _keep_usage(session: Session, flush_context) -> None:
    """Rewrite the usage of every post the flush added or whose body or social image changed."""
    posts = [
        obj
        for obj in (*session.new, *session.dirty)
        if isinstance(obj, Post) and obj.id is not None and (obj in session.new or _changed(obj))
    ]
    if not posts:
        return
    connection = session.connection()
    for post in posts:
        _rewrite(connection, post.id, post.body_md, _social_image_id(post))


# --- Questions asked by the dashboard -------------------------------------------------------


def files_shown_by(post: Post, session: Session | None = None) -> list[File]:
    """Return the File rows the post shows (body and social image), unsaved changes included.

    Several rows sharing one object are all returned; callers group them by stored_name.
    """
    session = session or db.session
    found: dict[int, File] = {}
    with session.no_autoflush:
        names = referenced_names(post.body_md)
        if names:
            stored = select(File.stored_name).where(names_condition(names)).scalar_subquery()
            query = select(File).where(File.stored_name.in_(stored)).order_by(File.id)
            found.update((row.id, row) for row in session.scalars(query))
        image = post.social_image
        if image is None and post.social_image_id is not None:
            image = session.get(File, post.social_image_id)
        if image is not None:
            # Its copies may describe it too (alt text is looked up by stored object).
            query = select(File).where(File.stored_name == image.stored_name).order_by(File.id)
            found.update((row.id, row) for row in session.scalars(query))
    return sorted(found.values(), key=lambda row: row.id)


def users_of(file: File) -> list[Post]:
    """Return the posts and pages that show this file, trashed ones included, by title."""
    with db.session.no_autoflush:
        query = (
            select(Post)
            .join(FileUsage, FileUsage.post_id == Post.id)
            .where(FileUsage.file_id == file.id)
            .order_by(Post.title, Post.id)
        )
        return list(db.session.scalars(query))


def delete_blockers(files: Iterable[File]) -> dict[File, list[Post]]:
    """Return, for each file that may not be deleted with the others, the posts that need it.

    A post needs a file it has as its social image. A post that shows the file in its body
    needs it unless another row with the same stored object stays (it keeps the object).
    """
    files = list(files)
    leaving = {file.id for file in files}
    blocked: dict[File, list[Post]] = {}
    for file in files:
        posts = users_of(file)
        if not posts:
            continue
        with db.session.no_autoflush:
            copy_stays = db.session.scalar(
                select(func.count(File.id)).where(
                    File.stored_name == file.stored_name, File.id.not_in(leaving)
                )
            )
        needing = [post for post in posts if post.social_image_id == file.id or not copy_stays]
        if needing:
            blocked[file] = needing
    return blocked


def public_file_ids():
    """Return a SELECT of the ids of files shown by a post or page readers can see now."""
    visible = or_(is_visible(PostKind.POST), is_visible(PostKind.PAGE))
    return select(FileUsage.file_id).join(Post, Post.id == FileUsage.post_id).where(visible)


def is_in_public_post(file: File) -> bool:
    """Return whether a post or page readers can see now shows this file."""
    with db.session.no_autoflush:
        shown = public_file_ids().where(FileUsage.file_id == file.id).exists()
        return bool(db.session.scalar(select(shown)))
