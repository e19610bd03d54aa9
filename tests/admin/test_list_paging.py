"""Keyset paging of the dashboard lists: newer/older links, date jumps, no OFFSET, no COUNT."""

import re
from contextlib import contextmanager
from datetime import datetime, timedelta
from html import unescape

import pytest
from itsdangerous import URLSafeSerializer
from sqlalchemy import event, insert

from cms.extensions import db
from cms.models import AuditEvent, Post, PostStatus
from cms.services import list_search
from cms.services.keyset import SALT
from tests.admin.admin_helpers import text
from tests.factories import make_post, make_user

POSTS = "/admin/posts/"
START = datetime(2026, 1, 1, 12, 0)
ROW_TITLE = re.compile(r'class="col-title">\s*<a [^>]*>([^<]*)</a>')


def seed(author, count: int, **fields) -> None:
    """Insert `count` posts "P000".. one hour apart (P000 oldest), in one Core statement."""
    rows = [
        {
            "title": f"P{number:03d}",
            "slug": f"p{number:03d}-{author.id}",
            "body_md": "Text",
            "body_html": "<p>Text</p>",
            "status": PostStatus.DRAFT,
            "author_id": author.id,
            "created_at": START,
            "updated_at": START + timedelta(hours=number),
            **fields,
        }
        for number in range(count)
    ]
    db.session.execute(insert(Post), rows)
    db.session.commit()


def titles(response) -> list[str]:
    """Return the titles of the list's rows, in order."""
    return [unescape(found) for found in ROW_TITLE.findall(text(response))]


def link(response, rel: str) -> str | None:
    """Return the pager's link with this rel (prev: newer, next: older), if there is one."""
    found = re.search(rf'<a class="page-link" href="([^"]+)" rel="{rel}"', text(response))
    return unescape(found.group(1)) if found else None


def walk(browser, url: str, rel: str = "next") -> list[list[str]]:
    """Follow the pager from `url` to the end; return every page's titles."""
    pages = []
    while url:
        response = browser.get(url)
        assert response.status_code == 200
        pages.append(titles(response))
        url = link(response, rel)
        assert len(pages) < 50
    return pages


@contextmanager
def statements():
    """Collect the SQL statements run meanwhile."""
    seen: list[str] = []

    def note(conn, cursor, statement, parameters, context, executemany):
        # SQLite's dialect writes "LIMIT ? OFFSET ?" with 0 for every LIMIT: that skips nothing.
        if statement.rstrip().endswith("OFFSET ?") and parameters[-1] == 0:
            statement = statement.rstrip()[: -len("OFFSET ?")]
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", note)


def test_newest_first_pages_older_and_back_newer(browser, login_as):
    editor = login_as("editor")
    seed(editor, 45)
    first = browser.get(POSTS)
    assert titles(first) == [f"P{n:03d}" for n in range(44, 24, -1)]
    assert link(first, "prev") is None
    pages = walk(browser, POSTS)
    assert [len(page) for page in pages] == [20, 20, 5]
    assert sum(pages, []) == [f"P{n:03d}" for n in range(44, -1, -1)]
    # Back from the last page, newer and newer: the same pages in reverse.
    last = browser.get(link(browser.get(link(first, "next")), "next"))
    assert link(last, "next") is None
    back = walk(browser, link(last, "prev"), rel="prev")
    assert back == [pages[1], pages[0]]


def test_a_page_reads_no_offset_and_counts_no_table(browser, login_as):
    editor = login_as("editor")
    seed(editor, 30)
    second = link(browser.get(POSTS), "next")
    with statements() as seen:
        assert browser.get(second).status_code == 200
    sql = " ".join(seen).upper()
    assert "OFFSET" not in sql, [s for s in seen if "OFFSET" in s]
    counts = [s for s in seen if "count(" in s.lower() and "FROM post " in s]
    # Only the clock-dependent tab counts, each a range of the published posts' index.
    assert all("published_at >" in s or "unpublish_at <=" in s for s in counts), counts
    assert "post_count" in sql.lower()


def test_jump_to_a_date(browser, login_as):
    editor = login_as("editor")
    seed(editor, 72)
    # P030 was changed on Jan 2, 18:00; P035 at 23:00; P036 at Jan 3, 00:00.
    response = browser.get(POSTS + "?day=2026-01-02")
    assert titles(response)[:2] == ["P035", "P034"]
    assert 'value="2026-01-02"' in text(response)
    assert titles(browser.get(link(response, "prev"))) == [f"P{n:03d}" for n in range(55, 35, -1)]
    # Oldest first: the day's first change comes first.
    ascending = browser.get(POSTS + "?sort=5&day=2026-01-02")
    assert titles(ascending)[:2] == ["P012", "P013"]
    # A day that is not one is ignored.
    assert titles(browser.get(POSTS + "?day=2026-13-45"))[0] == "P071"


@pytest.mark.parametrize(
    "hostile",
    [
        "junk",
        "'; DROP TABLE post;--",
        "x" * 100_000,
        URLSafeSerializer("another-key", salt=SALT).dumps(["updated_at", {"t": "2026"}, 1, True]),
    ],
)
def test_hostile_cursors_show_the_first_page(browser, login_as, hostile):
    editor = login_as("editor")
    seed(editor, 25)
    for arg in ("after", "before"):
        response = browser.get(POSTS, query_string={arg: hostile})
        assert response.status_code == 200
        assert titles(response)[0] == "P024"


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01", "2026-02-30", "x" * 10])
def test_a_jump_to_a_day_beyond_the_calendar_shows_the_first_page(browser, login_as, day):
    editor = login_as("editor")
    seed(editor, 25)
    for sort in ("", "&sort=1", "&sort=1&desc=1"):
        response = browser.get(f"{POSTS}?day={day}{sort}")
        assert response.status_code == 200, (day, sort)
    assert titles(browser.get(f"{POSTS}?day={day}"))[0] == "P024"


@pytest.mark.parametrize("name", ["endpoint", "_method", "_external", "_scheme", "_anchor"])
def test_list_arguments_named_like_url_fors_own_stay_arguments(browser, login_as, name):
    editor = login_as("editor")
    seed(editor, 25)
    response = browser.get(POSTS, query_string={name: "x"})
    assert response.status_code == 200
    older = link(response, "next")
    assert older.startswith(f"{POSTS}?") and f"{name}=x" in older
    assert browser.get(f"/admin/files/?{name}=x").status_code == 200


def test_cursor_of_another_type_or_sort_is_not_read(app, browser, login_as):
    editor = login_as("editor")
    seed(editor, 25)
    ours = URLSafeSerializer(app.secret_key, salt=SALT)
    for payload in (
        ["updated_at", "not a time", 5, True],
        ["updated_at", {"t": "2026-01-01T00:00:00"}, "5", True],
        ["title", "P010", 5, True],
        ["updated_at", {"t": "2026-99-01T00:00:00"}, 5, True],
        ["updated_at", {"t": "2026-01-01T00:00:00"}, 10**30, True],
    ):
        response = browser.get(POSTS, query_string={"after": ours.dumps(payload)})
        assert response.status_code == 200
        assert titles(response)[0] == "P024"


def test_sort_by_a_column_with_empty_values_lists_each_row_once(browser, login_as):
    editor = login_as("editor")
    seed(editor, 13)
    for number in range(0, 13, 3):
        post = db.session.scalar(db.select(Post).where(Post.title == f"P{number:03d}"))
        post.status = PostStatus.PUBLISHED
        post.published_at = START + timedelta(days=number % 2, hours=-number)
    db.session.commit()
    for sort in ("?sort=4", "?sort=4&desc=1", "?sort=0", "?sort=0&desc=1"):
        pages = walk(browser, POSTS + sort + "&page_size=5")
        listed = sum(pages, [])
        assert sorted(listed) == [f"P{n:03d}" for n in range(13)], sort
        # Back from the end: the same rows in the same order.
        last = browser.get(POSTS + sort + "&page_size=5")
        while link(last, "next"):
            last = browser.get(link(last, "next"))
        back = walk(browser, link(last, "prev"), rel="prev")
        assert sum(reversed(back), []) + pages[-1] == listed, sort
    by_title = sum(walk(browser, POSTS + "?sort=0&page_size=5"), [])
    assert by_title == [f"P{n:03d}" for n in range(13)]


def test_filters_and_search_keep_their_arguments_across_pages(browser, login_as):
    editor = login_as("editor")
    other = make_user("other@example.com", roles=("author",))
    seed(editor, 25)
    seed(other, 25)
    url = f"{POSTS}?flt0_author_equals={other.id}"
    pages = walk(browser, url)
    assert [len(page) for page in pages] == [20, 5]
    older = link(browser.get(url), "next")
    assert f"flt0_author_equals={other.id}" in older


def test_authors_page_through_their_own_posts_only(browser, login_as):
    author = login_as("author")
    seed(author, 22)
    seed(make_user("else@example.com", roles=("author",)), 30)
    assert len(sum(walk(browser, POSTS), [])) == 22


def iso_minute(minutes: int) -> str:
    """Return the <time> value of START plus these minutes, as the audit log writes it."""
    return (START + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_audit_log_pages_by_time(browser, login_as):
    admin = login_as("admin")
    db.session.execute(
        insert(AuditEvent),
        [
            {
                "created_at": START + timedelta(minutes=n),
                "actor_email": admin.email,
                "action": "update",
                "object_type": "Post",
                "object_id": str(n),
                "summary": f"change {n}",
            }
            for n in range(30)
        ],
    )
    db.session.commit()
    first = browser.get("/admin/audit/")
    assert first.status_code == 200
    older = browser.get(link(first, "next"))
    assert older.status_code == 200
    # Newest first, 20 a page (the logins' own events come first).
    times = re.findall(r'<time datetime="([^"]+)"', text(older))
    assert iso_minute(10) in times and iso_minute(29) not in times


def test_tags_files_users_and_trash_lists_answer(browser, login_as):
    admin = login_as("admin")
    make_post(admin, title="Gone", status=PostStatus.TRASHED)
    lists = ("tags", "files", "users", "roles", "navigation", "trash", "pages", "audit")
    for url in (f"/admin/{name}/" for name in lists):
        response = browser.get(url)
        assert response.status_code == 200, url
    assert "Gone" in text(browser.get("/admin/trash/?sort=0"))


def test_users_page_by_each_offered_sort(browser, login_as):
    login_as("admin")
    for number in range(25):
        name = f"S {number:02d}"
        make_user(f"sorted{number:02d}@example.com", roles=("reader",), display_name=name)
    for sort in range(4):  # e-mail, display name, confirmation, last login
        first = browser.get(f"/admin/users/?sort={sort}")
        assert first.status_code == 200, sort
        older = browser.get(link(first, "next"))
        assert older.status_code == 200, sort
        shown = set(re.findall(r"sorted\d\d@example\.com", text(first)))
        assert shown and not shown & set(re.findall(r"sorted\d\d@example\.com", text(older)))


def test_search_uses_the_full_text_index_and_pages(browser, login_as):
    editor = login_as("editor")
    for number in range(23):
        make_post(editor, title=f"Garden {number:02d}", body="Roses and tulips", status="draft")
    make_post(editor, title="Kitchen", body="Knives and pans")
    with statements() as seen:
        first = browser.get(POSTS + "?search=tulip")
    assert not any("LIKE" in statement.upper() for statement in seen)
    pages = walk(browser, POSTS + "?search=tulip")
    assert [len(page) for page in pages] == [20, 3]
    assert "Kitchen" not in sum(pages, [])
    assert "search=tulip" in link(first, "next")
    assert titles(browser.get(POSTS + "?search=kni")) == ["Kitchen"]
    # Nothing to search for: nothing found (and no error).
    response = browser.get(POSTS + "?search=%21%21")
    assert response.status_code == 200 and titles(response) == []


def test_search_lists_the_newest_matches_only(browser, login_as, monkeypatch):
    editor = login_as("editor")
    monkeypatch.setattr(list_search, "LIST_SEARCH_CANDIDATES", 5)
    for number in range(8):
        make_post(editor, title=f"Orchid {number}", status="draft")
    assert sorted(titles(browser.get(POSTS + "?search=orchid"))) == [
        f"Orchid {number}" for number in range(3, 8)
    ]
