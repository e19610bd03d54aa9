"""Rendering stored posts again with the current pipeline, as a background chore.

Neither a revision nor a new version: nobody edited anything, so history stays as it was and
nobody's open edit form becomes stale. Rows are written with Core UPDATEs (no flush, so the
revision and usage listeners do not run, and the version counter is left alone), each guarded
by the version it was read at, so a save made meanwhile is never overwritten.
"""

from collections.abc import Callable

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from cms.extensions import db
from cms.models import File, Post
from cms.models.base import begin_writing
from cms.services import search, usage
from cms.services.media_library import MediaLibrary
from cms.services.rendering import make_excerpt, render_markdown
from cms.services.rendering.excerpt import generated_excerpts

# Posts read, rendered and written per round of `rerender_all`.
BATCH_SIZE = 100
POST = Post.__table__


def rerender_users(file: File) -> int:
    """Render again the stored HTML of every post showing this file; return how many.

    The public HTML is made once at save time and carries the library's alt text; when that
    text changes, the posts showing the image get it without anyone saving them (their
    `updated_at` moves, as it always did; the version does not).
    """
    posts = usage.users_of(file)
    library = MediaLibrary()
    # Every body is rendered before the first UPDATE: on SQLite the first write takes the
    # database's write lock, and rendering under it would stall every other writer.
    with db.session.no_autoflush:
        rendered = [
            (post.id, post.version, render_markdown(post.body_md or "", library=library))
            for post in posts
        ]
    begin_writing(db.session)
    for post_id, version, body_html in rendered:
        written = db.session.execute(
            update(POST)
            .where(POST.c.id == post_id, POST.c.version == version)
            .values(body_html=body_html)
        )
        if written.rowcount == 0:
            # Saved by someone meanwhile: render the body as it is now (rare, so under the lock).
            body_md = db.session.scalar(select(POST.c.body_md).where(POST.c.id == post_id))
            if body_md is not None:
                db.session.execute(
                    update(POST)
                    .where(POST.c.id == post_id)
                    .values(body_html=render_markdown(body_md, library=library))
                )
    # Written without the ORM, so the search index is told here (same transaction).
    search.index_posts(db.session.connection(), [post_id for post_id, _, _ in rendered])
    return len(posts)


def rerendered_values(row, library: MediaLibrary) -> dict[str, str]:
    """Return the columns the current pipeline would store differently for one stored post.

    `row` has body_md, body_html and excerpt. The excerpt is replaced only when the renderer
    generated it (empty, or equal to what it made of the stored HTML, now or before).
    """
    values = {}
    body_html = render_markdown(row.body_md or "", library=library)
    if body_html != (row.body_html or ""):
        values["body_html"] = body_html
    excerpt = row.excerpt or ""
    if not excerpt.strip() or excerpt in generated_excerpts(row.body_html or ""):
        fresh = make_excerpt(body_html)
        if fresh != excerpt:
            values["excerpt"] = fresh
    return values


def rerender_all(
    session: Session,
    batch_size: int = BATCH_SIZE,
    after_batch: Callable[[], None] | None = None,
) -> int:
    """Render every stored post and page again; return how many rows changed.

    Runs on `session`'s connection (a migration passes a session bound to its own), reading
    and writing only the columns it needs. `after_batch` runs after each batch's writes (the
    command commits there, so no lock is held for long); a migration leaves it out.
    """
    library = MediaLibrary(session)
    columns = (POST.c.id, POST.c.version, POST.c.body_md, POST.c.body_html, POST.c.excerpt)
    changed, last_id = 0, 0
    while True:
        rows = session.execute(
            select(*columns).where(POST.c.id > last_id).order_by(POST.c.id).limit(batch_size)
        ).all()
        if not rows:
            return changed
        last_id = rows[-1].id
        # Everything is rendered before the batch's first write (SQLite's write lock).
        pending = [(row, rerendered_values(row, library)) for row in rows]
        for row, values in pending:
            if values:
                written = session.execute(
                    update(POST)
                    .where(POST.c.id == row.id, POST.c.version == row.version)
                    .values(**values, updated_at=POST.c.updated_at)
                )
                changed += written.rowcount
        if after_batch is not None:
            after_batch()
