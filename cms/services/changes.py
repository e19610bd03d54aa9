"""What a database write changes for readers: the page-cache names to purge after commit.

Listeners on every SQLAlchemy session (registered when this module is imported, by
cms.page_cache_app.init_page_cache):

- `after_flush` collects names from the flushed objects. One hook suffices: in after_flush the
  new rows have their ids and every attribute still has its pre-flush history, so changed
  fields, added/removed tags and deleted rows are all visible there.
- `do_orm_execute` collects names for bulk INSERT/UPDATE/DELETE statements run through the
  session (`session.execute(update(...))`), which bypass the unit of work.
- `after_commit` purges what was collected (cms.services.page_cache.purge): only committed
  changes are purged, and only after the commit, so no page is rebuilt from rows another
  transaction might still roll back. A failed purge (the cache server down) is logged, not
  raised: the write is already committed.
- `after_rollback` forgets what was collected.

What purges what (the vocabulary of cms.services.page_deps):

- Post: any change `post:<id>`; insertion, deletion or a change of a field that decides where
  it is listed or whether it is visible (VISIBILITY_FIELDS) also `posts` or `pages` (both when
  the kind changes); added or removed tags also `tag:<id>` of each and `tags` (counts).
- Tag: any change `tag:<id>`; insertion, deletion or a new name or slug also `tags`; deletion
  also `posts` (the lists shown with its posts lose it).
- User: `author:<id>` when a publicly shown field changes (AUTHOR_FIELDS) or it is deleted.
- File: `file:<id>` on any change or deletion. NavItem: `menu` on anything.
- A bulk UPDATE/DELETE whose WHERE names the rows' ids (`table.c.id == x`, `.in_(...)`, inside
  an AND) purges those rows' names; one that does not purges everything (`*`). Today the app's
  bulk statements on purged tables are cms.services.rerender (post bodies by id: precise) and
  cms.services.seed (bulk inserts of posts and their tags: `posts`, `pages`, `tags`).
  Statements run on a bare connection (not through the session) are not seen: none of the
  app's touches a purged table.

There is no site-settings table: settings live in settings.py and the environment, so `site`
is only purged by `purge_all()` (after a deploy that changes settings or templates).
"""

import logging

from flask import current_app, has_app_context
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import BinaryExpression, BindParameter, BooleanClauseList

from cms.models import File, NavItem, Post, PostKind, Tag, User
from cms.services.page_cache import ALL, get_page_cache

log = logging.getLogger(__name__)

# session.info key of the names collected in the current transaction.
PENDING = "page_cache_purge"
# Post fields that decide whether, where and in which order readers see a post.
VISIBILITY_FIELDS = (
    "status",
    "published_at",
    "unpublish_at",
    "slug",
    "kind",
    "tags",
    "author_id",
    "author",
    "trashed_at",
    "noindex",
)
# User fields shown on public pages.
AUTHOR_FIELDS = ("display_name", "slug", "bio")
TAG_LIST_FIELDS = ("name", "slug")


def _list_name(kind) -> str:
    return "pages" if kind == PostKind.PAGE else "posts"


def _changed(state, name: str) -> bool:
    return name in state.attrs and state.attrs[name].history.has_changes()


def post_names(post: Post, how: str) -> set[str]:
    """Return the names a flushed post touches; `how` is "new", "dirty" or "deleted"."""
    # "edits": any change to any post or page (the sitemap's lastmod dates follow every edit,
    # and a shard of 50,000 addresses should not carry 50,000 names).
    names = {f"post:{post.id}", "edits"}
    if how != "dirty":
        return names | {_list_name(post.kind)}
    state = inspect(post)
    if any(_changed(state, field) for field in VISIBILITY_FIELDS):
        names.add(_list_name(post.kind))
        kinds = state.attrs.kind.history
        for kind in (*kinds.deleted, *kinds.added):
            names.add(_list_name(kind))
        tags = state.attrs.tags.history
        changed_tags = [*tags.added, *tags.deleted]
        if changed_tags:
            names.add("tags")
            names.update(f"tag:{tag.id}" for tag in changed_tags if tag.id is not None)
    return names


def tag_names(tag: Tag, how: str) -> set[str]:
    """Return the names a flushed tag touches."""
    names = {f"tag:{tag.id}"}
    if how == "new":
        names.add("tags")
    elif how == "deleted":
        names.update(("tags", "posts"))
    elif any(_changed(inspect(tag), field) for field in TAG_LIST_FIELDS):
        names.add("tags")
    return names


def names_for(obj, how: str, session: Session) -> set[str]:
    """Return the names one flushed object touches (empty for objects readers never see)."""
    if isinstance(obj, Post):
        if how == "dirty" and not session.is_modified(obj):
            return set()
        return post_names(obj, how)
    if isinstance(obj, Tag):
        if how == "dirty" and not session.is_modified(obj):
            return set()
        return tag_names(obj, how)
    if isinstance(obj, User):
        if how == "deleted" or (
            how == "dirty" and any(_changed(inspect(obj), field) for field in AUTHOR_FIELDS)
        ):
            return {f"author:{obj.id}"}
        return set()
    if isinstance(obj, File):
        if how == "deleted" or (how == "dirty" and session.is_modified(obj)):
            return {f"file:{obj.id}"}
        return set()
    if isinstance(obj, NavItem):
        return {"menu"}
    return set()


def _pending(session: Session) -> set[str]:
    return session.info.setdefault(PENDING, set())


@event.listens_for(Session, "after_flush")
def _collect(session: Session, flush_context) -> None:
    """Note what this flush changed for readers."""
    names = set()
    for how, objects in (
        ("new", session.new),
        ("dirty", session.dirty),
        ("deleted", session.deleted),
    ):
        for obj in objects:
            names |= names_for(obj, how, session)
    if names:
        _pending(session).update(names)


# --- bulk statements -------------------------------------------------------------------------


def _is_id_column(column, table) -> bool:
    return (
        getattr(column, "key", None) == "id"
        and getattr(getattr(column, "table", None), "name", None) == table.name
    )


def ids_in_where(clause, table) -> set | None:
    """Return the ids a WHERE clause limits its rows to, or None when it does not."""
    if clause is None:
        return None
    if isinstance(clause, BooleanClauseList):
        if clause.operator is operators.and_:
            for part in clause.clauses:
                found = ids_in_where(part, table)
                if found is not None:
                    return found
        return None
    if isinstance(clause, BinaryExpression) and _is_id_column(clause.left, table):
        right = clause.right
        if isinstance(right, BindParameter):
            if clause.operator is operators.eq:
                return {right.effective_value}
            if clause.operator is operators.in_op:
                return set(right.effective_value or ())
    return None


def _set_columns(statement, parameters) -> set[str] | None:
    """Return the names of the columns an UPDATE sets (None: unknown)."""
    values = getattr(statement, "_values", None)
    if values:
        return {getattr(key, "key", key) for key in values}
    if isinstance(parameters, dict):
        return set(parameters)
    return None


POST_ROW_NAMES = {"post": "post:{}", "user": "author:{}", "file": "file:{}", "tag": "tag:{}"}


def bulk_names(statement, parameters) -> set[str]:
    """Return the names a bulk INSERT/UPDATE/DELETE on a purged table touches."""
    table = getattr(statement, "table", None)
    name = getattr(table, "name", None)
    if name is None:
        return set()
    if name == "nav_item":
        return {"menu"}
    if name == "post_tags":
        return {"posts", "tags"}
    if name not in POST_ROW_NAMES:
        return set()
    if statement.is_insert:
        return {"post": {"posts", "pages", "edits"}, "tag": {"tags"}}.get(name, set())
    ids = ids_in_where(statement.whereclause, table)
    if ids is None:
        return {ALL}
    names = {POST_ROW_NAMES[name].format(ident) for ident in ids}
    if name == "post":
        names.add("edits")
        columns = _set_columns(statement, parameters)
        if statement.is_delete or columns is None or columns & set(VISIBILITY_FIELDS):
            names.update(("posts", "pages"))
    elif name == "tag":
        names.add("tags")
    return names


@event.listens_for(Session, "do_orm_execute")
def _collect_bulk(orm_execute_state) -> None:
    """Note what a bulk statement run through the session changes for readers."""
    if not (
        orm_execute_state.is_insert or orm_execute_state.is_update or orm_execute_state.is_delete
    ):
        return
    names = bulk_names(orm_execute_state.statement, orm_execute_state.parameters)
    if names:
        _pending(orm_execute_state.session).update(names)


# --- commit and rollback ---------------------------------------------------------------------


@event.listens_for(Session, "after_commit")
def _purge(session: Session) -> None:
    """Purge what the committed transaction changed, on every worker and host."""
    names = session.info.pop(PENDING, None)
    if not names or not has_app_context():
        return
    cache = get_page_cache(current_app)
    if cache is None:
        return
    try:
        cache.purge(names)
    except Exception:
        # The rows are committed; readers may see the old pages until they expire.
        log.exception("page cache: purging %s failed", sorted(names))


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    """Nothing of a rolled-back transaction reached readers."""
    session.info.pop(PENDING, None)
