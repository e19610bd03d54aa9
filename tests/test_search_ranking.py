"""Search ranking and reading (issue 12's speed work): where the words are found decides the
order, a whole known last word is not a prefix, snippets read only around their matches, and
a rebuilt SQLite index is one segment."""

from datetime import timedelta

from sqlalchemy import text

from cms.extensions import db
from cms.models import utcnow
from cms.services import search as search_service
from cms.services.search import Query, parse_query, snippet
from tests.factories import make_post, make_tag, make_user
from tests.test_search import found


def test_title_then_tags_excerpt_author_then_body_each_newest_first(client, ctx):
    writer = make_user("ranker@example.com", roles=("author",), display_name="Ann Ranker")
    now = utcnow()
    # An excerpt is made from the body when none is given: these have their own.
    make_post(
        writer, title="Body only, newest", body="A pelican.", excerpt="Birds.", published_at=now
    )
    make_post(
        writer,
        title="Tagged",
        body="Nothing here.",
        excerpt="Birds.",
        tags=[make_tag("Pelicans")],
        published_at=now - timedelta(days=3),
    )
    make_post(
        writer,
        title="Excerpt",
        body="Nothing.",
        excerpt="About a pelican.",
        published_at=now - timedelta(days=2),
    )
    for title, days in (("Pelican, oldest", 9), ("Pelican, newer", 5)):
        make_post(writer, title=title, body="x", excerpt="y", published_at=now - timedelta(days))
    make_post(
        writer,
        title="Body only, older",
        body="Pelicans.",
        excerpt="Birds.",
        published_at=now - timedelta(days=1),
    )
    assert found(client, "pelican") == [
        "Pelican, newer",
        "Pelican, oldest",
        "Excerpt",
        "Tagged",
        "Body only, newest",
        "Body only, older",
    ]


def test_a_title_needs_every_word_to_come_first(client, ctx):
    writer = make_user("words@example.com", roles=("author",))
    now = utcnow()
    make_post(writer, title="Red kite", body="Over the hill.", excerpt="Hill.", published_at=now)
    make_post(writer, title="Red kite over the hill", body="x", published_at=now - timedelta(9))
    assert found(client, "kite hill") == ["Red kite over the hill", "Red kite"]


def test_a_whole_word_the_index_knows_is_not_a_prefix(client, ctx):
    writer = make_user("someone@example.com", roles=("author",))
    make_post(writer, title="Cat pictures", body="Whiskers.")
    make_post(writer, title="Category theory", body="Arrows.")
    assert found(client, "cat") == ["Cat pictures"]
    assert found(client, "categ") == ["Category theory"]
    assert sorted(found(client, "ca")) == ["Cat pictures", "Category theory"]
    # Words typed before the last are never prefixes; the last one is, when unknown.
    assert found(client, "theory categ") == ["Category theory"]


def test_pages_of_results_follow_the_order_and_the_count(app, client, ctx):
    writer = make_user("pages@example.com", roles=("author",))
    per_page = app.config["POSTS_PER_PAGE"]
    start = utcnow() - timedelta(days=1)
    for number in range(per_page + 3):
        title = f"Heron {number}" if number % 2 else f"Note {number}"
        make_post(writer, title=title, body="heron", published_at=start + timedelta(minutes=number))
    first, second = found(client, "heron"), found(client, "heron", page=2)
    assert len(first) == per_page and len(second) == 3
    titled = [t for t in first + second if t.startswith("Heron")]
    assert first[: len(titled)] == titled  # every title match before any body match
    assert len(set(first + second)) == per_page + 3
    assert client.get("/search?q=heron&page=3").status_code == 404


def test_the_snippet_is_the_same_however_far_its_matches_are():
    filler = "lorem ipsum dolor sit amet " * 100
    text_ = filler + "the albatross glides " + filler + "albatross albatross " + filler
    query = Query(text="albatross", words=["albatross"], prefix=False)
    result = str(snippet(text_, query, size=10))
    assert result.count("<mark>albatross</mark>") == 2
    assert result.startswith("… ") and result.endswith(" …")
    assert len(result.split()) <= 10 + 2
    # At the very start and the very end the text's own edges stay.
    assert str(snippet("albatross at sea", query)) == "<mark>albatross</mark> at sea"
    tail = str(snippet(filler + "an albatross.", query, size=6))
    assert tail.endswith("<mark>albatross</mark>.") and tail.startswith("… ")
    # Accents and case: the same word.
    german = Query(text="häuser", words=["häuser"], prefix=False)
    assert "<mark>HAUS</mark>" in str(snippet("Ein HAUS am See.", german))


def test_the_matcher_remembers_a_bounded_number_of_words():
    query = parse_query("alpha")
    matcher = search_service._matcher(query)
    matcher.snippet(" ".join(f"a{i}" for i in range(5000)))
    assert len(matcher.judged) <= 2001


def test_a_rebuild_leaves_sqlite_one_segment(app, runner, ctx):
    writer = make_user("segments@example.com", roles=("author",))
    for number in range(3):
        make_post(writer, title=f"Segment {number}", body="Words.")
    result = runner.invoke(args=["cms", "reindex"])
    assert result.exit_code == 0, result.output
    if db.engine.dialect.name == "sqlite":
        segments = db.session.scalar(text("SELECT count(DISTINCT segid) FROM search_fts_idx"))
        assert segments == 1
    assert search_service.search(parse_query("segment")).count == 3


def test_snippets_mark_what_was_searched_for(client, ctx):
    writer = make_user("marks@example.com", roles=("author",))
    make_post(writer, title="Cat notes", body="A cat sat on the category page.", excerpt="x")
    page = client.get("/search?q=cat").get_data(as_text=True)
    assert "A <mark>cat</mark> sat on the category page." in page
    page = client.get("/search?q=categ").get_data(as_text=True)
    assert "A cat sat on the <mark>category</mark> page." in page
