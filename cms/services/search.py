"""Full-text search over posts and pages, kept up to date in the same transaction as each save.

What is indexed: title, body (plain text of the rendered HTML, or the Markdown when there is
none), excerpt, tag names and the author's name, for every post and page whatever its status;
who may see a result is decided when searching, with the same condition as everywhere else
(cms.services.visibility), so a scheduled post is found exactly from its time on.

SQLite: words are stemmed here in Python with every Snowball stemmer of SEARCH_LANGUAGES (the
union of their stems is stored; SQLite's own `porter` knows English only) into an FTS5 table
with the title in a column of its own, ranked by bm25. PostgreSQL: a weighted `tsvector` (title
A; tags, excerpt, author B; body C) from the same languages' text search configurations, in a
GIN index, ranked by ts_rank. A query is reduced to its words (letters and digits) before it
reaches either: no operator, quote or wildcard of the reader's ever gets to the database.

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

import nh3
import snowballstemmer
from flask import current_app, has_app_context
from markupsafe import Markup, escape
from sqlalchemy import (
    Connection,
    bindparam,
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
from sqlalchemy.orm import Session, load_only

from cms.extensions import db
from cms.models import Post, PostKind, SearchDocument, Tag, User, post_tags, utcnow
from cms.models.search import FTS_TABLE
from cms.services.visibility import is_visible

DEFAULT_LANGUAGES = ("english", "german")
# The longest query read, in characters and in words: the rest is ignored.
MAX_QUERY_CHARS = 200
MAX_WORDS = 10
# A word longer than this is cut (no language has stems that long).
MAX_WORD_CHARS = 64
# The last word matches as a prefix once it has this many characters ("pyth" finds Python).
MIN_PREFIX_CHARS = 2
# Relative weight of a match in the title, in tags/excerpt/author and in the body (SQLite bm25).
TITLE_WEIGHT, META_WEIGHT, BODY_WEIGHT = 10.0, 3.0, 1.0
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
    return snowballstemmer.stemmer(language)


@functools.lru_cache(maxsize=200_000)
def stems(word: str, langs: tuple[str, ...] = DEFAULT_LANGUAGES) -> frozenset[str]:
    """Return the stems of a lower-case word in each language (its union)."""
    return frozenset(_stemmer(language).stemWord(word) for language in langs)


def words(value: str) -> list[str]:
    """Return the lower-case words of a text."""
    return [word[:MAX_WORD_CHARS] for word in WORD.findall(value.lower())]


def stemmed(value: str, langs: tuple[str, ...]) -> str:
    """Return a text as its words' stems, separated by spaces (what FTS5 indexes)."""
    out = []
    for word in words(value):
        out.extend(sorted(stems(word, langs)))
    return " ".join(out)


def fold(word: str) -> str:
    """Return a word without accents (as FTS5's `remove_diacritics 2` compares them)."""
    decomposed = unicodedata.normalize("NFKD", word)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


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


def index_posts(conn: Connection, ids) -> None:
    """Write the index entries of these posts and pages (remove those that no longer exist)."""
    ids = sorted(set(ids))
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
                    "title": stemmed(s.title, langs),
                    "meta": stemmed(s.meta, langs),
                    "body": stemmed(s.body, langs),
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
    while True:
        ids = conn.scalars(
            select(Post.id).where(Post.id > last_id).order_by(Post.id).limit(batch)
        ).all()
        if not ids:
            return done
        index_posts(conn, ids)
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


def fts_match(query: Query) -> str:
    """Return the FTS5 MATCH expression of a query: every word by any of its stems."""
    groups = []
    for index, word in enumerate(query.words):
        options = sorted(_quoted(s) for s in stems(word, query.langs))
        if query.prefix and index == len(query.words) - 1:
            # The typed letters as a prefix ("pyth" finds "Python"), beside the exact stems.
            # A stem as a prefix ("cach*" from "caching") would join the lists of every word
            # starting so: 30 ms instead of 0.4 at 100,000 posts, for no better results.
            typed = fold(word)
            kept = {_quoted(s) for s in stems(word, query.langs) if not fold(s).startswith(typed)}
            options = sorted(kept | {_quoted(typed) + "*"})
        groups.append("(" + " OR ".join(options) + ")")
    return " AND ".join(groups)


def pg_tsquery(query: Query):
    """Return the PostgreSQL tsquery of a query: every word in any configuration."""
    result = None
    for index, word in enumerate(query.words):
        is_prefix = query.prefix and index == len(query.words) - 1
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
    """One result: the post or page, and its title and snippet with the matches marked."""

    post: Post
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
    return max(1, int(current_app.config.get("SEARCH_CANDIDATES", 1000)))


def _over_cap(count_query, cap: int) -> bool:
    return (db.session.scalar(count_query) or 0) > cap


def _visible(now):
    return or_(is_visible(PostKind.POST, now), is_visible(PostKind.PAGE, now))


LISTED = (Post.id, Post.kind, Post.title, Post.slug, Post.published_at, Post.updated_at)
LISTED += (Post.author_id, Post.social_image_id, Post.excerpt)


def search(query: Query, page: int = 1, per_page: int = 10) -> Results:
    """Return the page'th page of visible posts and pages matching every word, best first.

    Items whose title holds every word come first, then by rank (bm25 or ts_rank), then
    newest first. The count is made in SQL and only the page's rows are loaded.
    """
    results = Results(query=query, page=page, per_page=per_page)
    if not query:
        return results
    now = utcnow()
    # Ranking costs per match: only the newest `cap` matches are ranked and counted, so a word
    # found in half of 100,000 posts costs what one found in a thousand does.
    cap = candidates()
    if db.session.get_bind().dialect.name == "postgresql":
        tsquery = pg_tsquery(query)
        newest = (
            select(DOCUMENT.c.post_id)
            .where(DOCUMENT.c.vector.op("@@")(tsquery))
            .order_by(DOCUMENT.c.post_id.desc())
            .limit(cap + 1)
            .subquery()
        )
        results.more = _over_cap(select(func.count()).select_from(newest), cap)
        kept = select(newest.c.post_id).order_by(newest.c.post_id.desc()).limit(cap)
        matching = (
            select(func.count())
            .select_from(DOCUMENT)
            .join(Post, Post.id == DOCUMENT.c.post_id)
            .where(DOCUMENT.c.post_id.in_(kept), _visible(now))
        )
        # The title is the vector's weight A.
        in_title = func.ts_filter(DOCUMENT.c.vector, literal_column("'{a}'")).op("@@")(tsquery)
        order = (in_title.desc(), func.ts_rank(DOCUMENT.c.vector, tsquery).desc())
        listed = matching.with_only_columns(Post, DOCUMENT.c.body)
    else:
        expression = fts_match(query)
        # bm25's column weights scale term counts before they saturate: a word repeated in a
        # body would outrank the title. Items found by their title alone come first instead.
        titles = FTS.alias("title_fts")
        title_match = literal_column("title_fts.search_fts").op("MATCH")(
            f"{{title}} : ({expression})"
        )
        # One full-text statement: the newest matches with their rank. Joined to `post` in
        # SQL, the planner may walk the visible posts and run the full-text query again for
        # every one of them; the (at most `cap` + 1) candidates are checked by id instead.
        matched = (
            select(
                FTS.c.rowid.label("post_id"),
                func.bm25(literal_column(FTS_TABLE), TITLE_WEIGHT, META_WEIGHT, BODY_WEIGHT).label(
                    "rank"
                ),
                FTS.c.rowid.in_(select(titles.c.rowid).where(title_match)).label("in_title"),
            )
            .where(literal_column(FTS_TABLE).op("MATCH")(expression))
            # FTS5 walks its lists in rowid order: the newest matches come first, and the walk
            # stops at the cap.
            .order_by(FTS.c.rowid.desc())
            .limit(cap + 1)
        )
        candidates_found = db.session.execute(matched).all()
        results.more = len(candidates_found) > cap
        ranks = {row.post_id: (not row.in_title, row.rank) for row in candidates_found[:cap]}
        if not ranks:
            # An empty IN (...) would let SQLite scan every visible post.
            return results
        visible = db.session.execute(
            select(Post.id, Post.published_at).where(Post.id.in_(ranks), _visible(now))
        ).all()
        # Title matches first, then bm25 (lower is better), then newest.
        visible.sort(key=lambda row: (*ranks[row.id], -row.published_at.timestamp(), -row.id))
        results.count = len(visible)
        start = (page - 1) * per_page
        chosen = [row.id for row in visible[start : start + per_page]]
        if not chosen:
            return results
        found = {
            post.id: (post, body)
            for post, body in db.session.execute(
                select(Post, DOCUMENT.c.body)
                .join(DOCUMENT, DOCUMENT.c.post_id == Post.id)
                .where(Post.id.in_(chosen))
                .options(load_only(*LISTED))
            ).all()
        }
        results.hits = [_hit(*found[post_id], query) for post_id in chosen if post_id in found]
        return results
    results.count = db.session.scalar(matching) or 0
    if not results.count or page > results.pages:
        return results
    rows = db.session.execute(
        listed.options(load_only(*LISTED))
        .order_by(*order, Post.published_at.desc(), Post.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    results.hits = [_hit(post, body, query) for post, body in rows]
    return results


def _hit(post: Post, body: str | None, query: Query) -> Hit:
    return Hit(post, mark(post.title, query), snippet(body or post.excerpt or "", query))


# --- Snippets ---------------------------------------------------------------------------------


def _matcher(query: Query):
    exact = query.exact_stems()
    prefixes = tuple(query.prefixes())
    langs = query.langs
    # A body repeats its words: each is judged once per query.
    judged: dict[str, bool] = {}

    def matches(word: str) -> bool:
        found = judged.get(word)
        if found is None:
            found = judged[word] = _judge(word)
        return found

    def _judge(word: str) -> bool:
        lower = word.lower()
        forms = {fold(s) for s in stems(lower[:MAX_WORD_CHARS], langs)}
        if forms & exact:
            return True
        if prefixes:
            forms.add(fold(lower))
            return any(f.startswith(prefixes) for f in forms)
        return False

    return matches


def _marked(value: str, spans: list[tuple[int, int]]) -> Markup:
    """Return the text escaped, with the given spans in <mark>."""
    out, at = [], 0
    for begin, end in spans:
        out.append(escape(value[at:begin]))
        out.append(Markup("<mark>%s</mark>") % value[begin:end])
        at = end
    out.append(escape(value[at:]))
    return Markup("").join(out)


def mark(value: str, query: Query) -> Markup:
    """Return a short text (a title) escaped, its matching words in <mark>."""
    matches = _matcher(query)
    spans = [m.span() for m in WORD.finditer(value) if matches(m.group())]
    return _marked(value, spans)


def snippet(value: str, query: Query, size: int = SNIPPET_WORDS) -> Markup:
    """Return the passage of `size` words with the most matching words, escaped and marked."""
    scanned = value[:SNIPPET_SCAN_CHARS]
    found = list(WORD.finditer(scanned))
    if not found:
        return escape(value[:200])
    matches = _matcher(query)
    hit = [matches(m.group()) for m in found]
    # The window with the most matches; the earliest of equals.
    window = min(size, len(found))
    current = best = sum(hit[:window])
    best_start = 0
    for start in range(1, len(found) - window + 1):
        current += hit[start + window - 1] - hit[start - 1]
        if current > best:
            best, best_start = current, start
    # Centred on its matches, so they come with words before and after them.
    inside = [i for i in range(best_start, best_start + window) if hit[i]]
    if inside:
        middle = (inside[0] + inside[-1]) // 2
        best_start = max(0, min(len(found) - window, middle - window // 2))
    chosen = range(best_start, best_start + window)
    begin = 0 if best_start == 0 else found[best_start].start()
    end = found[chosen[-1]].end()
    if chosen[-1] == len(found) - 1 and len(scanned) == len(value):
        end = len(value)
    spans = [(found[i].start() - begin, found[i].end() - begin) for i in chosen if hit[i]]
    marked = _marked(value[begin:end], spans)
    before = "… " if begin > 0 else ""
    after = " …" if end < len(value) else ""
    return escape(before) + marked + escape(after)
