"""The dashboard's search of posts and pages, through the site's full-text index.

A LIKE over title and body reads every body of the table on every search (100,000 bodies at
size); the full-text index (cms.services.search: FTS5 on SQLite, a GIN-indexed tsvector on
PostgreSQL) answers from its word lists instead, for every post whatever its status. The
words are those of the public search: every word required, the last one also as a prefix.

Only the newest LIST_SEARCH_CANDIDATES matches (by id: the most recently written) are listed,
so a word found in half of 100,000 posts costs what one found in a thousand does; a longer
search narrows them down.
"""

from sqlalchemy import ColumnElement, bindparam, false, literal_column, select

from cms.extensions import db
from cms.models import Post
from cms.models.search import FTS_TABLE
from cms.services.search import DOCUMENT, FTS, fts_match, parse_query, pg_tsquery

LIST_SEARCH_CANDIDATES = 1000


def _candidates(raw: str | None):
    """Return the SELECT of the newest matching ids, or None when there is nothing to find."""
    query = parse_query(raw)
    if not query:
        return None
    if db.session.get_bind().dialect.name == "postgresql":
        return (
            select(DOCUMENT.c.post_id)
            .where(DOCUMENT.c.vector.op("@@")(pg_tsquery(query)))
            .order_by(DOCUMENT.c.post_id.desc())
            .limit(LIST_SEARCH_CANDIDATES)
        )
    matches = literal_column(FTS_TABLE).op("MATCH")(bindparam("list_match", fts_match(query)))
    # FTS5 walks its lists in rowid order and stops at the limit.
    return (
        select(FTS.c.rowid)
        .where(matches)
        .order_by(FTS.c.rowid.desc())
        .limit(LIST_SEARCH_CANDIDATES)
    )


def condition(raw: str | None) -> ColumnElement[bool]:
    """Return the condition for the posts and pages matching a typed search.

    The matching ids are read first, as a list: the list's own query then looks them up by
    primary key (a subquery let PostgreSQL choose to read every post instead). Nothing to
    search for (only punctuation, say) matches nothing.
    """
    found = _candidates(raw)
    if found is None:
        return false()
    return Post.id.in_(list(db.session.scalars(found)))
