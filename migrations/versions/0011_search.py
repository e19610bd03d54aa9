"""full-text search: a document per post (plain text; PostgreSQL's tsvector), SQLite's FTS5 table

PostgreSQL: `search_document.vector` holds the weighted tsvector (title A; excerpt, tags and
author B; body C) from the 'english' and 'german' configurations, in a GIN index.
SQLite: `search_fts` (FTS5, rowid = post id) holds the Snowball stems (English and German) of
title, meta (excerpt, tags, author) and body; a trigger removes its row with the document.

Existing posts and pages are indexed here with this migration's own code (frozen, like the
schema it writes; the app's cms.services.search keeps the index from then on, and
`flask cms reindex` rebuilds it with the current settings). A SQL script made offline leaves
the index empty: run `flask cms reindex` after applying it.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 09:00:00.000000

"""
import html
import re

from alembic import context, op
import nh3
import snowballstemmer
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

LANGUAGES = ('english', 'german')
BATCH = 500
WORD = re.compile(r'[^\W_]+')
BLOCK_END = re.compile(r'(</(?:p|li|dd|dt|td|th|tr|h[1-6]|pre|blockquote|div|figure)>|<br\s*/?>)')
SPACES = re.compile(r'\s+')


LINK_MARKS = re.compile(r'<a [^>]*class="(?:c-anchor|footnote-backref)"[^>]*>.*?</a>', re.S)


def _plain_text(body_html, body_md):
    if not body_html:
        return SPACES.sub(' ', body_md or '').strip()
    unmarked = LINK_MARKS.sub('', body_html)
    stripped = nh3.clean(BLOCK_END.sub(r'\1 ', unmarked), tags=set(), attributes={})
    return SPACES.sub(' ', html.unescape(stripped)).strip()


def _stemmed(value, stemmers, cache):
    out = []
    for word in WORD.findall(value.lower()):
        word = word[:64]
        found = cache.get(word)
        if found is None:
            found = cache[word] = sorted({s.stemWord(word) for s in stemmers})
        out.extend(found)
    return ' '.join(out)


def _vector_sql():
    def part(param, weight):
        joined = ' || '.join(f"to_tsvector('{c}', :{param})" for c in LANGUAGES)
        return f"setweight({joined}, '{weight}')"

    return ' || '.join([part('title', 'A'), part('meta', 'B'), part('body', 'C')])


def _backfill(conn, dialect):
    stemmers = [snowballstemmer.stemmer(language) for language in LANGUAGES]
    cache = {}
    if dialect == 'postgresql':
        write = sa.text(
            'INSERT INTO search_document (post_id, body, vector) '
            f'VALUES (:id, :body, {_vector_sql()})'
        )
    else:
        write = sa.text('INSERT INTO search_document (post_id, body) VALUES (:id, :body)')
        write_fts = sa.text(
            'INSERT INTO search_fts (rowid, title, meta, body) VALUES (:id, :title, :meta, :body)'
        )
    last_id = 0
    while True:
        rows = conn.execute(
            sa.text(
                'SELECT p.id, p.title, p.body_html, p.body_md, p.excerpt, u.display_name, u.email'
                ' FROM post p JOIN "user" u ON u.id = p.author_id'
                ' WHERE p.id > :last ORDER BY p.id LIMIT :n'
            ),
            {'last': last_id, 'n': BATCH},
        ).all()
        if not rows:
            return
        last_id = rows[-1].id
        tags = {}
        for post_id, name in conn.execute(
            sa.text(
                'SELECT pt.post_id, t.name FROM post_tags pt JOIN tag t ON t.id = pt.tag_id'
                ' WHERE pt.post_id >= :first AND pt.post_id <= :last'
            ),
            {'first': rows[0].id, 'last': last_id},
        ):
            tags.setdefault(post_id, []).append(name)
        items = []
        for row in rows:
            author = row.display_name or (row.email or '').split('@', 1)[0]
            names = sorted(tags.get(row.id, ()))
            items.append({
                'id': row.id,
                'title': row.title or '',
                'meta': ' '.join([row.excerpt or '', *names, author]),
                'body': _plain_text(row.body_html, row.body_md),
            })
        conn.execute(write, items)
        if dialect != 'postgresql':
            conn.execute(write_fts, [
                {
                    'id': item['id'],
                    'title': _stemmed(item['title'], stemmers, cache),
                    'meta': _stemmed(item['meta'], stemmers, cache),
                    'body': _stemmed(item['body'], stemmers, cache),
                }
                for item in items
            ])


def upgrade():
    dialect = op.get_bind().dialect.name
    op.create_table(
        'search_document',
        sa.Column('post_id', sa.Integer(), nullable=False),
        sa.Column('body', sa.Text(), server_default='', nullable=False),
        sa.Column(
            'vector', postgresql.TSVECTOR().with_variant(sa.Text(), 'sqlite'), nullable=True
        ),
        sa.ForeignKeyConstraint(
            ['post_id'], ['post.id'],
            name=op.f('fk_search_document_post_id_post'), ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('post_id', name=op.f('pk_search_document')),
    )
    op.create_index(
        'ix_search_document_vector', 'search_document', ['vector'], unique=False,
        postgresql_using='gin',
    )
    if dialect == 'sqlite':
        # Stems computed in Python; the tokenizer only splits them and folds accents.
        op.execute(
            "CREATE VIRTUAL TABLE search_fts USING fts5(title, meta, body,"
            " tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3')"
        )
        op.execute(
            'CREATE TRIGGER search_document_delete AFTER DELETE ON search_document BEGIN'
            ' DELETE FROM search_fts WHERE rowid = old.post_id; END'
        )
    if not context.is_offline_mode():
        _backfill(op.get_bind(), dialect)


def downgrade():
    if op.get_bind().dialect.name == 'sqlite':
        op.execute('DROP TRIGGER IF EXISTS search_document_delete')
        op.execute('DROP TABLE IF EXISTS search_fts')
    op.drop_index('ix_search_document_vector', table_name='search_document')
    op.drop_table('search_document')
