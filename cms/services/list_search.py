"""The dashboard's search of posts and pages, through the site's full-text index.

A LIKE over title and body reads every body of the table on every search (100,000 bodies at
size); the full-text index (cms.services.search: FTS5 on SQLite, a GIN-indexed tsvector on
PostgreSQL) answers from its word lists instead, for every post whatever its status. The
words are those of the public search: every word required, the last one also as a prefix.
"""

from sqlalchemy import Select, bindparam, literal_column, select

from cms.extensions import db
from cms.models.search import FTS_TABLE
from cms.services.search import DOCUMENT, FTS, fts_match, parse_query, pg_tsquery


def matching_ids(raw: str | None) -> Select | None:
    """Return a SELECT of the ids of the posts and pages matching a typed search.

    None when the text holds no word to search for (only punctuation, say).
    """
    query = parse_query(raw)
    if not query:
        return None
    if db.session.get_bind().dialect.name == "postgresql":
        return select(DOCUMENT.c.post_id).where(DOCUMENT.c.vector.op("@@")(pg_tsquery(query)))
    matches = literal_column(FTS_TABLE).op("MATCH")(bindparam("list_match", fts_match(query)))
    return select(FTS.c.rowid).where(matches)
