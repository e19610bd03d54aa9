"""Search: kept in the same transaction as every change, visibility at query time, stemming,
ranking, snippets, pagination, and hostile queries (SQLite FTS5 and PostgreSQL tsvector)."""

import html
import re
import sqlite3
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, make_url, select, text

from cms.extensions import db
from cms.models import PostKind, PostStatus, SearchDocument, Tag, utcnow
from cms.services import page_deps
from cms.services import search as search_service
from cms.services.posts import prepare_for_save
from cms.services.search import Query, fts_match, parse_query, snippet
from tests.factories import make_post, make_tag, make_user


def found(client, q, **params) -> list[str]:
    """Return the titles a search lists, in order (marks taken out)."""
    response = client.get("/search", query_string={"q": q, **params})
    assert response.status_code == 200, response.status_code
    page = response.get_data(as_text=True)
    titles = re.findall(r'<h2><a href="/[^"]*">(.*?)</a></h2>', page)
    return [html.unescape(re.sub(r"</?mark>", "", title)) for title in titles]


def body_of(response) -> str:
    return response.get_data(as_text=True)


def index_rows() -> int:
    """Return how many posts the index holds (both of SQLite's tables agree)."""
    documents = db.session.scalar(select(func.count()).select_from(SearchDocument))
    if db.engine.dialect.name == "sqlite":
        fts = db.session.scalar(text("SELECT count(*) FROM search_fts"))
        assert fts == documents
    return documents


@pytest.fixture
def writer(ctx):
    return make_user("writer@example.com", roles=("author",), display_name="Rosalind Franklin")


# --- Kept up to date ------------------------------------------------------------------------


def test_a_saved_post_is_found_and_an_edit_moves_it(client, writer):
    post = make_post(writer, title="Gardening notes", body="Tomatoes like the sun.")
    assert found(client, "tomatoes") == ["Gardening notes"]
    post.title = "Balcony notes"
    post.body_md = "Peppers like the sun."
    prepare_for_save(post, excerpt_given=False)
    db.session.commit()
    assert found(client, "tomatoes") == []
    assert found(client, "peppers") == ["Balcony notes"]
    assert found(client, "balcony") == ["Balcony notes"]
    assert found(client, "gardening") == []


def test_excerpt_tags_and_author_are_searchable(client, writer):
    tag = make_tag("Astronomy")
    make_post(writer, title="Night sky", body="Stars.", excerpt="Telescopes explained", tags=[tag])
    assert found(client, "telescopes") == ["Night sky"]
    assert found(client, "astronomy") == ["Night sky"]
    assert found(client, "rosalind franklin") == ["Night sky"]


def test_a_rollback_leaves_the_index_unchanged(client, writer):
    post = make_post(writer, title="Original words", body="Nothing else.")
    rows = index_rows()
    post.title = "Replaced words"
    # The flush writes the index in the transaction; the rollback takes it back with the post.
    db.session.flush()
    assert search_service.search(parse_query("replaced")).count == 1
    db.session.rollback()
    assert index_rows() == rows
    assert found(client, "original") == ["Original words"]
    assert found(client, "replaced") == []


def test_a_deleted_post_leaves_the_index(client, writer):
    post = make_post(writer, title="Short lived", body="Ephemeral.")
    assert index_rows() == 1
    db.session.delete(post)
    db.session.commit()
    assert index_rows() == 0
    assert found(client, "ephemeral") == []


def test_renaming_or_deleting_a_tag_and_renaming_an_author_reindex_their_posts(client, writer):
    tag = make_tag("Birds")
    make_post(writer, title="Spring", body="Nests.", tags=[tag])
    tag.name = "Ornithology"
    db.session.commit()
    assert found(client, "birds") == []
    assert found(client, "ornithology") == ["Spring"]

    db.session.delete(db.session.get(Tag, tag.id))
    db.session.commit()
    assert found(client, "ornithology") == []
    assert found(client, "nests") == ["Spring"]

    writer.display_name = "Dorothy Hodgkin"
    db.session.commit()
    assert found(client, "rosalind") == []
    assert found(client, "hodgkin") == ["Spring"]


def test_changing_the_tags_of_a_post_reindexes_it(client, writer):
    post = make_post(writer, title="Untagged", body="Plain.")
    post.tags = [make_tag("Volcanoes")]
    db.session.commit()
    assert found(client, "volcanoes") == ["Untagged"]


def test_reindex_command_rebuilds_the_index(app, runner, client, writer):
    make_post(writer, title="Rebuilt entry", body="Indexed again.")
    db.session.execute(SearchDocument.__table__.delete())
    db.session.commit()
    assert index_rows() == 0
    result = runner.invoke(args=["cms", "reindex"])
    assert result.exit_code == 0, result.output
    assert "Indexed 1 " in result.output
    assert found(client, "rebuilt") == ["Rebuilt entry"]


# --- Visibility at query time -----------------------------------------------------------------


def test_only_what_readers_may_see_is_found_or_counted(client, writer):
    now = utcnow()
    make_post(writer, title="Visible zebra")
    make_post(writer, title="Draft zebra", status=PostStatus.DRAFT)
    make_post(writer, title="Review zebra", status=PostStatus.REVIEW)
    make_post(writer, title="Trashed zebra", status=PostStatus.TRASHED)
    make_post(writer, title="Scheduled zebra", published_at=now + timedelta(days=1))
    make_post(writer, title="Expired zebra", unpublish_at=now - timedelta(minutes=1))
    make_post(writer, title="Page zebra", kind=PostKind.PAGE)
    make_post(writer, title="Draft page zebra", kind=PostKind.PAGE, status=PostStatus.DRAFT)
    assert sorted(found(client, "zebra")) == ["Page zebra", "Visible zebra"]
    assert "2 results for" in body_of(client.get("/search?q=zebra"))
    assert index_rows() == 8  # everything is indexed; readers see what is theirs


def test_a_scheduled_post_is_found_exactly_from_its_time(client, writer):
    post = make_post(writer, title="Future okapi", published_at=utcnow() + timedelta(hours=2))
    assert found(client, "okapi") == []
    # Time passes (the row is unchanged: no index write happens at publication time).
    db.session.execute(
        text("UPDATE post SET published_at = :t WHERE id = :id"),
        {"t": utcnow() - timedelta(seconds=1), "id": post.id},
    )
    db.session.commit()
    assert found(client, "okapi") == ["Future okapi"]


def test_pages_link_to_their_address(client, writer):
    make_post(writer, title="About the quokka", slug="about", kind=PostKind.PAGE)
    page = body_of(client.get("/search?q=quokka"))
    assert '<a href="/about">About the <mark>quokka</mark></a>' in page


# --- Language ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "title", "body"),
    [
        ("Haus", "Umzug", "Wir haben drei Häuser gesehen."),
        ("Häuser", "Umzug", "Ein kleines Haus am See."),
        ("run", "Training", "She was running every morning."),
        ("running", "Training", "We run at dawn."),
        ("Läufe", "Sport", "Die Läufer laufen schnell."),
        ("läuft", "Sport", "Er läuft jeden Tag."),
        ("studies", "Research", "One study became many."),
        ("pyth", "Languages", "We write Python."),
        ("Pyth", "Python tips", "Nothing else."),
    ],
)
def test_stemming_and_prefixes(client, writer, query, title, body):
    make_post(writer, title=title, body=body)
    make_post(writer, title="Unrelated", body="Nothing to see here.")
    assert found(client, query) == [title]


def test_only_the_last_word_is_a_prefix_and_every_word_is_required(client, writer):
    make_post(writer, title="Python packaging", body="Wheels and sdists.")
    make_post(writer, title="Python typing", body="Protocols.")
    assert found(client, "pyth wheels") == []
    assert found(client, "wheels pyth") == ["Python packaging"]
    assert sorted(found(client, "python")) == ["Python packaging", "Python typing"]
    assert found(client, "python protocols") == ["Python typing"]


def test_a_title_match_ranks_above_body_matches(client, writer):
    for number in range(5):
        make_post(writer, title=f"Filler {number}", body="Nothing about towers.")
    make_post(
        writer,
        title="Many mentions",
        body="Lighthouse lighthouse lighthouse. " * 5,
        published_at=utcnow() - timedelta(minutes=1),
    )
    make_post(
        writer,
        title="The lighthouse",
        body="A tall white tower by the sea.",
        published_at=utcnow() - timedelta(days=30),
    )
    assert found(client, "lighthouse") == ["The lighthouse", "Many mentions"]


# --- The page ---------------------------------------------------------------------------------


def test_empty_query_shows_only_the_form(client, ctx):
    for url in ("/search", "/search?q=", "/search?q=+++", "/search?q=%22%2A"):
        response = client.get(url)
        assert response.status_code == 200
        page = body_of(response)
        assert 'role="search"' in page
        assert "search-count" not in page and "search-results" not in page


def test_the_form_is_a_labelled_get_form_without_a_token_or_cookie(client, writer):
    make_post(writer, title="Cookie free")
    response = client.get("/search?q=cookie")
    assert "Set-Cookie" not in response.headers
    page = body_of(response)
    forms = re.findall(r'<form class="search-form"[^>]*>.*?</form>', page, re.DOTALL)
    # The page's own form (the header may carry another).
    form = next(form for form in forms if "search-page-q" in form)
    assert 'method="get"' in form and 'role="search"' in form and 'action="/search"' in form
    assert "csrf" not in form
    assert '<label for="search-page-q"' in form
    assert re.search(r'<input type="search" id="search-page-q" name="q" value="cookie"', form)
    assert '<meta name="robots" content="noindex, follow">' in page


def test_results_are_counted_and_paginated(app, client, writer):
    per_page = app.config["POSTS_PER_PAGE"]
    start = utcnow() - timedelta(days=1)
    for number in range(per_page + 2):
        make_post(writer, title=f"Walrus {number}", published_at=start + timedelta(minutes=number))
    first = body_of(client.get("/search?q=walrus"))
    assert f"{per_page + 2} results for" in first
    assert "Page 1 of 2" in first
    assert 'rel="next" href="/search?q=walrus&amp;page=2"' in first
    assert len(found(client, "walrus")) == per_page
    # Equal ranks: newest first.
    assert found(client, "walrus")[0] == f"Walrus {per_page + 1}"
    assert found(client, "walrus", page=2) == ["Walrus 1", "Walrus 0"]
    assert "Page 2 of 2" in body_of(client.get("/search?q=walrus&page=2"))
    assert client.get("/search?q=walrus&page=3").status_code == 404
    for junk in ("0", "-1", "x", "1e3", "²", "99999999"):
        assert client.get("/search", query_string={"q": "walrus", "page": junk}).status_code == 404
    # No results: no pages to run past, the page says so.
    assert "0 results for" in body_of(client.get("/search?q=narwhal"))


def test_one_result_is_counted_in_the_singular(client, writer):
    make_post(writer, title="Solitary heron")
    assert "1 result for “heron”" in body_of(client.get("/search?q=heron"))


def test_snippets_mark_matches_and_escape_everything_else(client, writer):
    body = (
        "Intro words here. " * 20
        + "Never paste `<script>alert(1)</script>` into a mollusc & expect <b>safety</b>."
        + " Filler words follow. " * 20
    )
    make_post(writer, title="Escaping <em>matters</em>", body=body)
    page = body_of(client.get("/search?q=mollusc"))
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; into a <mark>mollusc</mark> &amp; expect" in page
    assert "Escaping &lt;em&gt;matters&lt;/em&gt;" in page
    snippet_html = re.search(r'<p class="search-snippet">(.*?)</p>', page, re.DOTALL).group(1)
    assert snippet_html.startswith("… ") and snippet_html.endswith(" …")


def test_snippet_picks_the_window_with_most_matches():
    text_ = "alpha " * 50 + "beta gamma beta " + "alpha " * 50 + "beta " + "alpha " * 50
    query = Query(text="beta gamma", words=["beta", "gamma"], prefix=False)
    result = str(snippet(text_, query, size=10))
    assert "<mark>beta</mark> <mark>gamma</mark> <mark>beta</mark>" in result
    assert result.count("<mark>") == 3
    short = str(snippet("A <b> tiny & text", Query(text="tiny", words=["tiny"])))
    assert short == "A &lt;b&gt; <mark>tiny</mark> &amp; text"


def test_the_page_records_what_it_shows(app, writer):
    post = make_post(writer, title="Recorded puffin")
    with app.test_request_context("/search?q=puffin"):
        app.view_functions["public.search"]()
        names, changed = page_deps.recorded()
    assert {"posts", "pages", f"post:{post.id}", f"author:{writer.id}"} <= names
    assert changed == post.updated_at


# --- Hostile queries --------------------------------------------------------------------------

HOSTILE = [
    '"',
    '""',
    "foo AND",
    "AND OR NOT",
    "*",
    "foo*",
    "NEAR(",
    "NEAR(a b, 2)",
    "title:foo",
    "^foo",
    "-foo",
    "%_",
    "' OR 1=1 --",
    "a & b | !c :* <-> ()",
    "x" * 10_000,
    "word " * 2_000,
    "a\x00b",
    "\x00",
    "\ud800",
    "Ⅻ ½ ² ١٢ ǅ ª",
    "ﬁ ß İ",
    "\u0301\u0301",
    "日本語のテキスト",
]


@pytest.mark.parametrize("query", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_queries_never_fail(client, writer, query):
    make_post(writer, title="Ordinary foo", body="Some text.")
    response = client.get("/search", query_string={"q": query.encode("utf-8", "surrogatepass")})
    assert response.status_code in (200, 400)


@pytest.mark.parametrize(
    "raw",
    ["q=%00", "q=%ED%A0%80", "q=%FF%FE", "q=%", "q=%%25", "q=a&q=b", "q=%E2%80%AE", "page=%00"],
)
def test_hostile_query_strings_never_fail(client, writer, raw):
    make_post(writer, title="Ordinary foo", body="Some text.")
    assert client.get("/search?" + raw).status_code in (200, 400, 404)


def test_queries_are_cut_to_their_words():
    query = parse_query("x" * 500)
    assert query.text == "x" * 200
    long = parse_query(" ".join(f"w{i}" for i in range(30)))
    assert len(long.words) == 10
    assert parse_query('foo AND "bar" NEAR( baz*').words == ["foo", "and", "bar", "near", "baz"]
    assert parse_query("a\x00b").words == ["a", "b"]
    assert not parse_query('" * %_ ()')
    match = fts_match(parse_query("and or"))
    assert match == '("and") AND ("or"*)'


def test_a_query_matching_more_than_the_candidates_says_more_than(app, client, writer):
    app.config["SEARCH_CANDIDATES"] = 3
    try:
        for number in range(5):
            make_post(writer, title=f"Gardening note {number}", body="Tomatoes and beans.")
        make_post(writer, title="Tomatoes in review", body="Tomatoes.", status=PostStatus.REVIEW)
        page = body_of(client.get("/search?q=tomatoes"))
        assert "More than" in page
        # The newest three matches are ranked; the one in review is among them but never shown.
        assert page.count('class="post-summary"') == 2
        assert "in review" not in page
        assert "Gardening note 4" in page and "Gardening note 3" in page
        assert "Gardening note 2" not in page
    finally:
        app.config["SEARCH_CANDIDATES"] = 1000
    page = body_of(client.get("/search?q=tomatoes"))
    assert "5 results" in page


def test_snippets_leave_out_heading_anchors_and_footnote_links():
    body = (
        '<h2 id="c-caching">Caching <a class="c-anchor" href="#c-caching" aria-label="Link">#</a>'
        '</h2><p>Caching helped.<sup><a href="#c-fn-1">1</a></sup></p>'
        '<ol><li><p>A note. <a href="#c-fnref-1" class="footnote-backref" aria-label="Back">↩</a>'
        "</p></li></ol>"
    )
    text = search_service.plain_text(body)
    assert "#" not in text and "↩" not in text
    assert text.startswith("Caching Caching helped.")


def test_searching_never_takes_sqlites_write_lock(app, client, writer):
    """The search statement starts with WITH: it reads, so it answers while a writer holds
    the lock (it used to queue for it, one search at a time across workers)."""
    make_post(writer, title="Locked out", body="Gardening notes.")
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's write lock")
    path = make_url(app.config["SQLALCHEMY_DATABASE_URI"]).database
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        started = time.monotonic()
        assert found(client, "gardening") == ["Locked out"]
        assert time.monotonic() - started < 2
    finally:
        holder.execute("ROLLBACK")
        holder.close()
