"""The search index: each post's or page's text, kept beside it in the same transaction.

Every dialect keeps one `search_document` row per post or page (the plain text of its body,
for the snippets of a results page). PostgreSQL also keeps the weighted `tsvector` there (GIN
index); SQLite keeps the Snowball-stemmed words in an FTS5 table, `search_fts` (rowid = post
id), which the migrations create and a trigger empties along with `search_document`. That
table and FTS5's shadow tables are not models: `include_name` keeps them out of Alembic's
comparisons.
"""

import re

from sqlalchemy import ForeignKey, Index, Text
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from cms.extensions import db

# The FTS5 table of SQLite and the shadow tables FTS5 makes for it.
FTS_TABLE = "search_fts"
FTS_TABLES = re.compile(r"search_fts(?:_(?:data|idx|content|docsize|config))?")


def include_name(name, type_, parent_names) -> bool:
    """Alembic's `include_name` hook: leave SQLite's full-text tables out of comparisons."""
    return not (type_ == "table" and name and FTS_TABLES.fullmatch(name))


class SearchDocument(db.Model):
    """What search reads of one post or page besides the post row itself."""

    __tablename__ = "search_document"
    __table_args__ = (Index("ix_search_document_vector", "vector", postgresql_using="gin"),)

    post_id: Mapped[int] = mapped_column(
        ForeignKey("post.id", ondelete="CASCADE"), primary_key=True
    )
    # The body as plain text: the snippets of a results page are cut from it.
    body: Mapped[str] = mapped_column(Text, default="", server_default="")
    # PostgreSQL: title (A), tags, excerpt and author (B), body (C). SQLite: unused (NULL);
    # its words are in the FTS5 table.
    vector: Mapped[str | None] = mapped_column(TSVECTOR().with_variant(Text(), "sqlite"))
