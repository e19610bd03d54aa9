"""Full-text search over posts and pages, kept up to date in the same transaction as each save.

What is indexed: title, body (plain text of the rendered HTML, or the Markdown when there is
none), excerpt, tag names and the author's name, for every post and page whatever its status;
who may see a result is decided when searching, with the same condition as everywhere else
(cms.services.visibility), so a scheduled post is found exactly from its time on.

SQLite: words are stemmed here in Python with every Snowball stemmer of SEARCH_LANGUAGES (the
union of their stems is stored; SQLite's own `porter` knows English only) into an FTS5 table
with columns title, meta (tags, excerpt, author) and body. PostgreSQL: a weighted `tsvector`
(title A; tags, excerpt, author B; body C) from the same languages' text search configurations,
in a GIN index. A query is reduced to its words (letters and digits) before it reaches either:
no operator, quote or wildcard of the reader's ever gets to the database.

Ranking: only the newest SEARCH_CANDIDATES matches are ranked and counted, so a search costs
the same at 2,000 posts and at 100,000. Items whose title holds every word come first; then,
on SQLite, those whose tags, excerpt or author name hold every word, then the rest, newest
first within each (bm25 is not used: it counts every match of each word in the whole index on
every search); on PostgreSQL by ts_rank, then newest.

The index follows every ORM flush (session events below, registered when this module is
imported): new, changed and deleted posts and pages, renamed or deleted tags, renamed authors.
Writes that bypass the ORM (Core UPDATEs, bulk inserts) call `index_posts` themselves, or
`flask cms reindex` rebuilds everything.
"""

import functools
import html
import math
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice

import nh3
from flask import current_app, has_app_context
from markupsafe import Markup, escape
from sqlalchemy import (
    Connection,
    bindparam,
    case,
    cast,
    column,
    delete,
    event,
    func,
    insert,
    inspect,
    literal_column,
    or_,
    select,
    table,
)
from sqlalchemy.dialects.postgresql import REGCONFIG
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import BindParameter
from sqlalchemy.sql.visitors import replacement_traverse

from cms.extensions import db
from cms.models import Post, PostKind, SearchDocument, Tag, User, post_tags, utcnow
from cms.models.search import FTS_TABLE
from cms.services.statements import execute
from cms.services.visibility import is_visible

DEFAULT_LANGUAGES = ("english", "german")
# The longest query read, in characters and in words: the rest is ignored.
MAX_QUERY_CHARS = 200
MAX_WORDS = 10
# A word longer than this is cut (no language has stems that long).
MAX_WORD_CHARS = 64
# The last word matches as a prefix once it has this many characters ("pyth" finds Python),
# unless the index holds it as a whole word ("cat" then does not find "category").
MIN_PREFIX_CHARS = 2
# Snippets: this many words around the best place, found in the first this many characters.
SNIPPET_WORDS = 30
SNIPPET_SCAN_CHARS = 20_000
# Posts indexed per round of `index_posts` (bound parameters and memory stay small).
BATCH = 500

# A word: letters and digits of any script (no underscore, no punctuation, no operator).
WORD = re.compile(r"[^\W_]+")
BLOCK_END = re.compile(r"(</(?:p|li|dd|dt|td|th|tr|h[1-6]|pre|blockquote|div|figure)>|<br\s*/?>)")
SPACES = re.compile(r"\s+")
# Characters a query echoed into the page must not carry (controls, NUL, lone surrogates).
UNPRINTABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")

FTS = table(FTS_TABLE, column("rowid"), column("title"), column("meta"), column("body"))
DOCUMENT = SearchDocument.__table__
TOUCHED = "cms_search_touched"


# --- Text and words --------------------------------------------------------------------------


def languages() -> tuple[str, ...]:
    """Return the Snowball languages (and PostgreSQL configurations) words are indexed with."""
    if has_app_context():
        return tuple(current_app.config.get("SEARCH_LANGUAGES") or DEFAULT_LANGUAGES)
    return DEFAULT_LANGUAGES


LINK_MARKS = re.compile(r'<a [^>]*class="(?:c-anchor|footnote-backref)"[^>]*>.*?</a>', re.S)


def plain_text(body_html: str | None, body_md: str | None = "") -> str:
    """Return the readable text of a rendered body (or of its Markdown when none is stored)."""
    if not body_html:
        return SPACES.sub(" ", body_md or "").strip()
    # Heading anchors ("#") and footnote back links ("↩") are links, not words.
    spaced = BLOCK_END.sub(r"\1 ", LINK_MARKS.sub("", body_html))
    # No tags survive; script and style contents go too.
    stripped = nh3.clean(spaced, tags=set(), attributes={})
    return SPACES.sub(" ", html.unescape(stripped)).strip()


@functools.cache
def _stemmer(language: str):
    # Memory: the algorithms (~3 MiB) load with the first search or save, not with the app.
    import snowballstemmer

    return snowballstemmer.stemmer(language)


# Memory: readers' queries bring any words; these caches hold a few pages of results' worth
# (~1 KiB a word). Indexing keeps its own cache for the time of a call (`stemmed`).
WORD_CACHE = 4096


@functools.lru_cache(maxsize=WORD_CACHE)
def stems(word: str, langs: tuple[str, ...] = DEFAULT_LANGUAGES) -> frozenset[str]:
    """Return the stems of a lower-case word in each language (its union)."""
    return frozenset(_stemmer(language).stemWord(word) for language in langs)


def words(value: str) -> list[str]:
    """Return the lower-case words of a text."""
    return [word[:MAX_WORD_CHARS] for word in WORD.findall(value.lower())]


def stemmed(value: str, langs: tuple[str, ...], cache: dict | None = None) -> str:
    """Return a text as its words' stems, separated by spaces (what FTS5 indexes).

    `cache` (word: its sorted stems) is the caller's, for the texts of one indexing call.
    """
    cache = {} if cache is None else cache
    out = []
    for word in words(value):
        found = cache.get(word)
        if found is None:
            found = cache[word] = sorted({_stemmer(lang).stemWord(word) for lang in langs})
        out.extend(found)
    return " ".join(out)


def fold(word: str) -> str:
    """Return a word without accents (as FTS5's `remove_diacritics 2` compares them)."""
    decomposed = unicodedata.normalize("NFKD", word)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@functools.lru_cache(maxsize=WORD_CACHE)
def forms(word: str, langs: tuple[str, ...] = DEFAULT_LANGUAGES) -> frozenset[str]:
    """Return a lower-case word's stems without accents (what the index compares)."""
    return frozenset(fold(s) for s in stems(word[:MAX_WORD_CHARS], langs))


# --- Keeping the index ------------------------------------------------------------------------


@dataclass
class _Source:
    title: str
    meta: str
    body: str


def _sources(conn: Connection, ids: list[int]) -> dict[int, _Source]:
    """Read what is indexed of these posts, as they are in the current transaction."""
    rows = conn.execute(
        select(
            Post.id,
            Post.title,
            Post.body_html,
            Post.body_md,
            Post.excerpt,
            User.display_name,
            User.email,
        )
        .join(User, User.id == Post.author_id)
        .where(Post.id.in_(ids))
    ).all()
    tags: dict[int, list[str]] = {}
    for post_id, name in conn.execute(
        select(post_tags.c.post_id, Tag.name)
        .join(Tag, Tag.id == post_tags.c.tag_id)
        .where(post_tags.c.post_id.in_(ids))
    ):
        tags.setdefault(post_id, []).append(name)
    found = {}
    for row in rows:
        # The name readers see (User.name): the display name, else the address's first part.
        author = row.display_name or (row.email or "").split("@", 1)[0]
        meta = " ".join([row.excerpt or "", *tags.get(row.id, ()), author])
        found[row.id] = _Source(row.title or "", meta, plain_text(row.body_html, row.body_md))
    return found


def _pg_vector(count: int):
    """Return the weighted tsvector of :title, :meta and :body_text in configurations :c0..."""

    def part(param: str, weight: str):
        vectors = [
            func.to_tsvector(cast(bindparam(f"c{i}"), REGCONFIG), bindparam(param))
            for i in range(count)
        ]
        joined = vectors[0]
        for vector in vectors[1:]:
            joined = joined.op("||")(vector)
        return func.setweight(joined, literal_column(f"'{weight}'"))

    return part("title", "A").op("||")(part("meta", "B")).op("||")(part("body_text", "C"))


def index_posts(conn: Connection, ids, cache: dict | None = None) -> None:
    """Write the index entries of these posts and pages (remove those that no longer exist).

    `cache` keeps words' stems across calls (a rebuild's); by default, for this call only.
    """
    ids = sorted(set(ids))
    cache = {} if cache is None else cache
    langs = languages()
    dialect = conn.dialect.name
    for start in range(0, len(ids), BATCH):
        chunk = ids[start : start + BATCH]
        sources = _sources(conn, chunk)
        # A trigger removes the FTS5 rows with their documents (SQLite).
        conn.execute(delete(DOCUMENT).where(DOCUMENT.c.post_id.in_(chunk)))
        if not sources:
            continue
        if dialect == "postgresql":
            configs = {f"c{i}": language for i, language in enumerate(langs)}
            conn.execute(
                insert(DOCUMENT).values(
                    post_id=bindparam("post_id"),
                    body=bindparam("body_text"),
                    vector=_pg_vector(len(langs)),
                ),
                [
                    {"post_id": pid, "title": s.title, "meta": s.meta, "body_text": s.body}
                    | configs
                    for pid, s in sources.items()
                ],
            )
            continue
        conn.execute(
            insert(DOCUMENT), [{"post_id": pid, "body": s.body} for pid, s in sources.items()]
        )
        conn.execute(
            insert(FTS),
            [
                {
                    "rowid": pid,
                    "title": stemmed(s.title, langs, cache),
                    "meta": stemmed(s.meta, langs, cache),
                    "body": stemmed(s.body, langs, cache),
                }
                for pid, s in sources.items()
            ],
        )


def reindex_all(session: Session, batch: int = BATCH, after_batch=None) -> int:
    """Rebuild the whole index on the session's connection; return how many items it holds."""
    conn = session.connection()
    conn.execute(delete(DOCUMENT))
    if conn.dialect.name == "sqlite":
        # Whatever a trigger missed (a restored backup, a hand-made change) goes too.
        conn.execute(delete(FTS))
    done, last_id = 0, 0
    # Stems of the words seen, for the rebuild only (dropped with it).
    cache: dict[str, list[str]] = {}
    while True:
        ids = conn.scalars(
            select(Post.id).where(Post.id > last_id).order_by(Post.id).limit(batch)
        ).all()
        if not ids:
            if conn.dialect.name == "sqlite":
                # One segment instead of dozens: a search then reads each word's list once.
                command = table(FTS_TABLE, column(FTS_TABLE))
                conn.execute(insert(command).values({FTS_TABLE: "optimize"}))
            return done
        index_posts(conn, ids, cache)
        done += len(ids)
        last_id = ids[-1]
        if after_batch is not None:
            after_batch()
            conn = session.connection()


# Fields of a post whose change changes its index entry.
INDEXED_FIELDS = ("title", "body_md", "body_html", "excerpt", "author_id", "tags")


def _changed(item, fields) -> bool:
    state = inspect(item)
    return any(state.attrs[name].history.has_changes() for name in fields)


def _before_flush(session: Session, flush_context, instances) -> None:
    """Note what the flush changes that the index shows (ids of tags' posts while they exist)."""
    touched = session.info.setdefault(TOUCHED, {"posts": set(), "ids": set(), "tags": set()})
    for item in session.new:
        if isinstance(item, Post):
            touched["posts"].add(item)
    for item in session.dirty:
        if isinstance(item, Post) and _changed(item, INDEXED_FIELDS):
            touched["posts"].add(item)
        elif isinstance(item, Tag) and _changed(item, ("name",)):
            touched["tags"].add(item.id)
        elif isinstance(item, User) and _changed(item, ("display_name", "email")):
            touched["ids"].update(
                session.connection().scalars(select(Post.id).where(Post.author_id == item.id))
            )
    deleted_tags = [item.id for item in session.deleted if isinstance(item, Tag)]
    if deleted_tags:
        # Their links are gone after the flush: read the posts now.
        touched["ids"].update(
            session.connection().scalars(
                select(post_tags.c.post_id).where(post_tags.c.tag_id.in_(deleted_tags))
            )
        )
    for item in session.deleted:
        if isinstance(item, Post) and item.id is not None:
            touched["ids"].add(item.id)


def _after_flush(session: Session, flush_context) -> None:
    """Write the index entries of everything the flush changed, on the flush's connection."""
    touched = session.info.pop(TOUCHED, None)
    if not touched:
        return
    ids = set(touched["ids"])
    ids.update(item.id for item in touched["posts"] if item.id is not None)
    conn = session.connection()
    if touched["tags"]:
        ids.update(
            conn.scalars(select(post_tags.c.post_id).where(post_tags.c.tag_id.in_(touched["tags"])))
        )
    if ids:
        index_posts(conn, ids)


def _forget(session: Session, *args) -> None:
    session.info.pop(TOUCHED, None)


# Only the app's own sessions (db.session): a migration's session works on a schema that may
# not have the index yet.
event.listen(db.session, "before_flush", _before_flush)
event.listen(db.session, "after_flush", _after_flush)
event.listen(db.session, "after_rollback", _forget)


# --- Queries ----------------------------------------------------------------------------------


@dataclass
class Query:
    """A reader's query reduced to words: all required, the last one also as a prefix."""

    text: str = ""
    words: list[str] = field(default_factory=list)
    prefix: bool = False
    langs: tuple[str, ...] = DEFAULT_LANGUAGES

    def __bool__(self) -> bool:
        return bool(self.words)

    def exact_stems(self) -> set[str]:
        """Return the stems that match a word exactly (every word's, folded)."""
        return {fold(s) for word in self.words for s in stems(word, self.langs)}

    def prefixes(self) -> set[str]:
        """Return the folded prefix the last word matches (the word as typed)."""
        if not self.prefix:
            return set()
        return {fold(self.words[-1])}


def parse_query(raw: str | None) -> Query:
    """Return the words of a raw query, safe for any backend; the rest is dropped."""
    cut = UNPRINTABLE.sub(" ", (raw or "")[:MAX_QUERY_CHARS]).strip()
    found = words(cut)[:MAX_WORDS]
    prefix = bool(found) and len(found[-1]) >= MIN_PREFIX_CHARS
    return Query(text=cut, words=found, prefix=prefix, langs=languages())


def _quoted(term: str) -> str:
    # Words hold letters and digits only; the quotes make FTS5 read keywords as plain words.
    return '"' + term.replace('"', "") + '"'


def fts_match(query: Query, prefix: bool | None = None) -> str:
    """Return the FTS5 MATCH expression of a query: every word by any of its stems.

    `prefix` False leaves the last word's prefix out (the query's own flag by default).
    """
    prefix = query.prefix if prefix is None else prefix and query.prefix
    groups = []
    for index, word in enumerate(query.words):
        options = sorted(_quoted(s) for s in stems(word, query.langs))
        if prefix and index == len(query.words) - 1:
            # The typed letters as a prefix ("pyth" finds "Python"), beside the exact stems.
            # A stem as a prefix ("cach*" from "caching") would join the lists of every word
            # starting so: 30 ms instead of 0.4 at 100,000 posts, for no better results.
            typed = fold(word)
            kept = {_quoted(s) for s in stems(word, query.langs) if not fold(s).startswith(typed)}
            options = sorted(kept | {_quoted(typed) + "*"})
        groups.append("(" + " OR ".join(options) + ")")
    return " AND ".join(groups)


def pg_tsquery(query: Query, prefix: bool | None = None):
    """Return the PostgreSQL tsquery of a query: every word in any configuration.

    `prefix` False leaves the last word's prefix out (the query's own flag by default).
    """
    prefix = query.prefix if prefix is None else prefix and query.prefix
    result = None
    for index, word in enumerate(query.words):
        is_prefix = prefix and index == len(query.words) - 1
        term = word + ":*" if is_prefix else word
        configs = list(query.langs) + (["simple"] if is_prefix else [])
        either = None
        for config in configs:
            one = func.to_tsquery(cast(config, REGCONFIG), term)
            either = one if either is None else either.op("||")(one)
        result = either if result is None else result.op("&&")(either)
    return result


@dataclass
class Hit:
    """One result: the post or page, and its title and snippet with the matches marked.

    `post` is a row of the columns a results page shows (LISTED), not a loaded Post.
    """

    post: object
    title: Markup
    snippet: Markup


@dataclass
class Results:
    """One page of results and how many there are in all."""

    query: Query
    count: int = 0
    # True when more items matched than were ranked (SEARCH_CANDIDATES): `count` is then the
    # visible part of the newest candidates, and the page says "more than".
    more: bool = False
    page: int = 1
    per_page: int = 10
    hits: list[Hit] = field(default_factory=list)

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.count / self.per_page))

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def candidates() -> int:
    """Return how many of the newest matches a search ranks (SEARCH_CANDIDATES)."""
    return max(1, int(current_app.config.get("SEARCH_CANDIDATES", 200)))


def _visible(now):
    return or_(is_visible(PostKind.POST, now), is_visible(PostKind.PAGE, now))


# A time no post has: the visibility condition is built with it once, then its bound values
# become the parameter :now (the statements below are built once, not per search).
_SOME_TIME = datetime(1900, 1, 1, 0, 0, 7)


def _visible_now():
    """Return the visibility condition of cms.services.visibility with `now` as :now."""
    now = bindparam("now", type_=Post.published_at.type)

    def swap(element, **kw):
        if isinstance(element, BindParameter) and element.value == _SOME_TIME:
            return now
        return None

    return replacement_traverse(_visible(_SOME_TIME), {}, swap)


# The columns a results page shows (and page_deps records).
LISTED = (Post.id, Post.kind, Post.title, Post.slug, Post.published_at, Post.updated_at)
LISTED += (Post.author_id, Post.social_image_id, Post.excerpt)


def _fts(name: str, param: str):
    return literal_column(name).op("MATCH")(bindparam(param))


@functools.cache
def _sqlite_statements():
    """Return SQLite's statements: (the page of results, the count of candidates).

    The page's statement in one go: the newest `:over` (cap + 1) matches by rowid (FTS5 walks
    its lists in rowid order and stops there); the newest `:cap` of them that readers may see,
    ordered by where every word is found (title, then tags/excerpt/author, then body) and
    newest first; counted with a window; one page of them joined to their columns and text.
    The title and meta matches are looked up only among the candidates' rowids. No bm25: it
    counts every match of each word in the whole index (its idf) on every search.
    """
    found = (
        select(FTS.c.rowid.label("id"))
        .where(_fts(FTS_TABLE, "match"))
        .order_by(FTS.c.rowid.desc())
        .limit(bindparam("over"))
        .cte("found")
    )
    kept = select(found.c.id).order_by(found.c.id.desc()).limit(bindparam("cap")).cte("kept")
    oldest = select(func.min(kept.c.id)).scalar_subquery()

    def among_kept(alias: str, param: str):
        fts = FTS.alias(alias)
        matches = _fts(f"{alias}.{FTS_TABLE}", param)
        return Post.id.in_(select(fts.c.rowid).where(matches, fts.c.rowid >= oldest))

    tier = case(
        (among_kept("title_fts", "title_match"), 0),
        (among_kept("meta_fts", "meta_match"), 1),
        else_=2,
    ).label("tier")
    ranked = (
        select(
            Post.id.label("rid"),
            Post.published_at.label("rpub"),
            tier,
            func.count().over().label("total"),
        )
        .select_from(kept)
        .join(Post, Post.id == kept.c.id)
        .where(_visible_now())
        .order_by(tier, Post.published_at.desc(), Post.id.desc())
        .limit(bindparam("per_page"))
        .offset(bindparam("skip"))
        .subquery("ranked")
    )
    matched = select(func.count()).select_from(found).scalar_subquery().label("matched")
    page = (
        select(ranked.c.total, matched, *LISTED, DOCUMENT.c.body)
        .select_from(ranked)
        .join(Post, Post.id == ranked.c.rid)
        .outerjoin(DOCUMENT, DOCUMENT.c.post_id == Post.id)
        .order_by(ranked.c.tier, ranked.c.rpub.desc(), ranked.c.rid.desc())
    )
    counted = select(func.count()).select_from(found)
    return page, counted


def _known_word(word: str) -> bool:
    """Return whether a word is in SQLite's index as it is (as one of its own stems)."""
    # On the driver's connection (the session's, in its transaction): a statement through
    # the session costs more than this lookup does.
    driver = db.session.connection().connection.driver_connection
    found = driver.execute(KNOWN_SQL, (_quoted(fold(word)),)).fetchone()
    return found is not None


# The table's name is a constant; the word is a parameter.
KNOWN_SQL = f"SELECT 1 FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH ? LIMIT 1"  # noqa: S608


def _search_sqlite(query: Query, prefix: bool, page: int, per_page: int, cap: int):
    """Return (rows of the page, count, more) on SQLite."""
    statement, counted = _sqlite_statements()
    expression = fts_match(query, prefix=prefix)
    params = {
        "match": expression,
        "title_match": f"{{title}} : ({expression})",
        "meta_match": f"{{meta}} : ({expression})",
        "over": cap + 1,
        "cap": cap,
        "now": utcnow(),
        "per_page": per_page,
        "skip": (page - 1) * per_page,
    }
    rows = execute(statement, **params)
    if rows:
        return rows, rows[0].total, rows[0].matched > cap
    if page > 1:
        # Past the last page: the count says how far the results go.
        first = db.session.execute(statement, params | {"skip": 0, "per_page": 1}).first()
        if first is not None:
            return [], first.total, first.matched > cap
    return [], 0, (db.session.scalar(counted, params) or 0) > cap


def _pg_known_word(word: str) -> bool:
    """Return whether a word is a lexeme of PostgreSQL's index as it is."""
    lexeme = func.to_tsquery(cast("simple", REGCONFIG), word)
    known = select(DOCUMENT.c.post_id).where(DOCUMENT.c.vector.op("@@")(lexeme)).limit(1)
    return db.session.scalar(known) is not None


def _search_postgresql(query: Query, prefix: bool, page: int, per_page: int, cap: int):
    """Return (rows of the page, count, more) on PostgreSQL."""
    now = utcnow()
    tsquery = pg_tsquery(query, prefix=prefix)
    newest = (
        select(DOCUMENT.c.post_id)
        .where(DOCUMENT.c.vector.op("@@")(tsquery))
        .order_by(DOCUMENT.c.post_id.desc())
        .limit(cap + 1)
        .subquery()
    )
    more = (db.session.scalar(select(func.count()).select_from(newest)) or 0) > cap
    kept = select(newest.c.post_id).order_by(newest.c.post_id.desc()).limit(cap)
    matching = (
        select(func.count())
        .select_from(DOCUMENT)
        .join(Post, Post.id == DOCUMENT.c.post_id)
        .where(DOCUMENT.c.post_id.in_(kept), _visible(now))
    )
    count = db.session.scalar(matching) or 0
    if not count or page > max(1, math.ceil(count / per_page)):
        return [], count, more
    # The title is the vector's weight A.
    in_title = func.ts_filter(DOCUMENT.c.vector, literal_column("'{a}'")).op("@@")(tsquery)
    rank = func.ts_rank(DOCUMENT.c.vector, tsquery)
    rows = db.session.execute(
        matching.with_only_columns(*LISTED, DOCUMENT.c.body)
        .order_by(in_title.desc(), rank.desc(), Post.published_at.desc(), Post.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return rows, count, more


def search(query: Query, page: int = 1, per_page: int = 10) -> Results:
    """Return the page'th page of visible posts and pages matching every word, best first.

    Ranking costs per match: only the newest SEARCH_CANDIDATES matches are ranked and
    counted, so a word found in half of 100,000 posts costs what one found in a thousand does.
    Items whose title holds every word come first. Then, on SQLite, those whose tags, excerpt
    or author name hold every word, and newest first; on PostgreSQL by ts_rank, then newest.
    The count is made in SQL and only the page's rows (their listed columns) are read.
    """
    results = Results(query=query, page=page, per_page=per_page)
    if not query:
        return results
    cap = candidates()
    postgresql = db.session.get_bind().dialect.name == "postgresql"
    # A last word the index holds as it is was typed whole: no prefix ("cat" does not find
    # "category"; "categ" does). Read as one, it joins the lists of every word starting so
    # (on SQLite all of them, whatever the LIMIT: FTS5 reads a prefix's lists whole), which
    # costs with the size of the index.
    known = _pg_known_word if postgresql else _known_word
    prefix = query.prefix and not known(query.words[-1])
    run = _search_postgresql if postgresql else _search_sqlite
    rows, results.count, results.more = run(query, prefix, page, per_page, cap)
    if rows:
        # The snippets mark what was searched for.
        matcher = _matcher_of(tuple(query.words), prefix, query.langs)
        results.hits = [
            Hit(row, matcher.mark(row.title), matcher.snippet(row.body or row.excerpt or ""))
            for row in rows
        ]
    return results


# --- Snippets ---------------------------------------------------------------------------------


@functools.cache
def _initials() -> dict[str, str]:
    """Return, for a letter without accents, the other characters that fold to it first."""
    table: dict[str, list[str]] = {}
    # Latin, Greek, Cyrillic and more; ligatures and full-width forms.
    for code in (*range(0x80, 0x3000), *range(0xFB00, 0xFFF0)):
        char = chr(code)
        folded = fold(char.lower())
        if folded and folded[0] != char.lower():
            table.setdefault(folded[0], []).append(char)
    return {letter: "".join(chars) for letter, chars in table.items()}


class _Matcher:
    """Which words of a text match a query: one of their stems, or the last word's prefix.

    Only words whose first letter (without accents) starts a stem or the prefix are judged,
    found by one regular expression; each distinct word is judged once.
    """

    def __init__(self, exact: frozenset[str], prefixes: tuple[str, ...], langs):
        self.exact, self.prefixes, self.langs = exact, prefixes, langs
        self.judged: dict[str, bool] = {}
        firsts = sorted({term[0] for term in (*exact, *prefixes) if term})
        initials = _initials()
        letters = "".join(
            re.escape(c + (c.upper() if len(c.upper()) == 1 else "") + initials.get(c, ""))
            for c in firsts
        )
        # A whole word (as WORD finds it) starting with one of those letters: the letter first
        # and no IGNORECASE (so the regular expression engine skips ahead to such a letter),
        # then what comes before it.
        self.pattern = re.compile(rf"[{letters}](?<![^\W_].)[^\W_]*", re.S) if letters else None

    def matches(self, word: str) -> bool:
        found = self.judged.get(word)
        if found is None:
            lower = word.lower()
            stemmed = forms(lower, self.langs)
            found = bool(stemmed & self.exact) or any(
                form.startswith(self.prefixes) for form in (*stemmed, fold(lower))
            )
            if len(self.judged) > 2_000:
                self.judged.clear()
            self.judged[word] = found
        return found

    def spans(self, value: str) -> list[tuple[int, int]]:
        """Return where the matching words of a text are."""
        if self.pattern is None:
            return []
        return [m.span() for m in self.pattern.finditer(value) if self.matches(m.group())]

    def mark(self, value: str) -> Markup:
        """Return a short text (a title) escaped, its matching words in <mark>."""
        return _marked(value, self.spans(value))

    def snippet(self, value: str, size: int = SNIPPET_WORDS) -> Markup:
        """Return the passage of `size` words with the most matching words, escaped and marked.

        The words are read only around the best place: the matches are found first, and the
        best run of them (most matches within `size` words, the earliest of equals) decides.
        """
        scanned = value[:SNIPPET_SCAN_CHARS]
        spans = self.spans(scanned)
        start_at, run_words = 0, 1
        if spans:
            # Words between one match and the next.
            gaps = [
                len(WORD.findall(scanned, a[1], b[0]))
                for a, b in zip(spans, spans[1:], strict=False)
            ]
            most = 0
            for i in range(len(spans)):
                j, words_in = i, 1
                while j + 1 < len(spans) and words_in + gaps[j] + 1 <= size:
                    words_in += gaps[j] + 1
                    j += 1
                if j - i + 1 > most:
                    most, start_at, run_words = j - i + 1, spans[i][0], words_in
        # The window starts at most `size` words before the run and ends within `size` after.
        after = list(islice(WORD.finditer(scanned, start_at), size + 1))
        at_end = len(after) <= size
        need = max(0, size // 2 - (run_words - 1) // 2)
        if at_end:
            need = max(need, size - len(after))
        need = min(need, size)
        before, low, chunk = [], start_at, 8 * need + 16
        while need and low:
            low = max(0, start_at - chunk)
            before = list(WORD.finditer(scanned, low, start_at))
            if low:
                before = before[1:]  # perhaps the end of a word cut at `low`
            if len(before) >= need:
                break
            chunk *= 4
        at_start = not low and len(before) <= need
        before = before[max(0, len(before) - need) :] if need else []
        found = before + after
        if not found:
            return escape(value[:200])
        window = min(size, len(found))
        best_start = 0
        if spans:
            # Centred on its matches, so they come with words before and after them.
            middle = len(before) + (run_words - 1) // 2
            best_start = max(0, min(len(found) - window, middle - window // 2))
        last = best_start + window - 1
        begin = 0 if best_start == 0 and at_start else found[best_start].start()
        end = found[last].end()
        if last == len(found) - 1 and at_end and len(scanned) == len(value):
            end = len(value)
        starts = {first for first, _ in spans}
        marked = _marked(
            value[begin:end],
            [
                (word.start() - begin, word.end() - begin)
                for word in found[best_start : last + 1]
                if word.start() in starts
            ],
        )
        before_text = "… " if begin > 0 else ""
        return before_text + marked + (" …" if end < len(value) else "")


@functools.lru_cache(maxsize=64)
def _matcher_of(words: tuple[str, ...], prefix: bool, langs: tuple[str, ...]) -> _Matcher:
    query = Query(words=list(words), prefix=prefix, langs=langs)
    return _Matcher(frozenset(query.exact_stems()), tuple(query.prefixes()), langs)


def _matcher(query: Query) -> _Matcher:
    return _matcher_of(tuple(query.words), query.prefix, query.langs)


def _marked(value: str, spans: list[tuple[int, int]]) -> Markup:
    """Return the text escaped, with the given spans in <mark>."""
    out, at = [], 0
    for begin, end in spans:
        out += (escape(value[at:begin]), "<mark>", escape(value[begin:end]), "</mark>")
        at = end
    out.append(escape(value[at:]))
    # Every piece is escaped or one of the two tags.
    return Markup("".join(out))  # noqa: S704


def mark(value: str, query: Query) -> Markup:
    """Return a short text (a title) escaped, its matching words in <mark>."""
    return _matcher(query).mark(value)


def snippet(value: str, query: Query, size: int = SNIPPET_WORDS) -> Markup:
    """Return the passage of `size` words with the most matching words, escaped and marked."""
    return _matcher(query).snippet(value, size)
