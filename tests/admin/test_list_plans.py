"""PostgreSQL plans every dashboard list with indexes: no sequential scan of the big tables.

Enough rows are seeded (and ANALYZEd) for the planner to prefer a sequential scan wherever
no index serves; every SELECT a real request runs is then EXPLAINed with its own parameters.
"""

import os
import re
from datetime import datetime

import pytest
from sqlalchemy import event, select, text

from cms.extensions import db
from cms.models import Post
from tests.admin.admin_helpers import text as page_text
from tests.factories import make_user

pytestmark = pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql"),
    reason="plans are checked on PostgreSQL (TEST_DATABASE_URL)",
)

POSTS = 20_000
BIG_TABLES = ("post", "revision", "audit_event", "search_document")
SEQ_SCAN = re.compile(r"Seq Scan on (\w+)")

SEED_POSTS = """
INSERT INTO post (kind, version, title, slug, body_md, word_count, body_html, excerpt, status,
                  published_at, review_note, meta_title, meta_description, canonical_url,
                  noindex, author_id, created_at, updated_at, trashed_at)
SELECT CASE WHEN g % 50 = 0 THEN 'page' ELSE 'post' END, 1, 'Post ' || g, 'post-' || g,
       CASE WHEN g % 20 = 0 THEN 'Roses and tulips' ELSE 'Knives and pans' END,
       3, '<p>Body</p>', '',
       CASE WHEN g % 20 = 0 THEN 'draft' WHEN g % 20 = 1 THEN 'review'
            WHEN g % 97 = 0 THEN 'trashed' ELSE 'published' END,
       TIMESTAMP '2020-01-01' + g * INTERVAL '1 hour', '', '', '', '', false,
       CASE WHEN g % 3 = 0 THEN :author ELSE :editor END,
       TIMESTAMP '2020-01-01' + g * INTERVAL '1 hour',
       TIMESTAMP '2020-01-01' + g * INTERVAL '1 hour',
       CASE WHEN g % 97 = 0 THEN TIMESTAMP '2024-01-01' + g * INTERVAL '1 minute' END
FROM generate_series(1, :count) AS g
"""
# Documents as long as real ones (their plain text is kept for the snippets).
SEED_DOCUMENTS = """
INSERT INTO search_document (post_id, body, vector)
SELECT id, repeat(body_md || ' ', 60), to_tsvector('english', title || ' ' || body_md)
FROM post
"""
SEED_REVISIONS = """
INSERT INTO revision (post_id, number, title, slug, body_md, excerpt, tags, status,
                      meta_title, meta_description, canonical_url, created_by_name,
                      created_at, event, note)
SELECT p.id, n, p.title, p.slug, p.body_md, '', '[]'::json, 'draft', '', '', '', '',
       p.created_at + n * INTERVAL '1 minute', 'save', ''
FROM post AS p CROSS JOIN generate_series(1, 3) AS n WHERE p.id <> :busy
UNION ALL
SELECT :busy, n, 'Busy', 'busy', 'Text', '', '[]'::json, 'draft', '', '', '', '',
       TIMESTAMP '2025-01-01' + n * INTERVAL '1 minute', 'save', ''
FROM generate_series(1, 500) AS n
"""
SEED_AUDIT = """
INSERT INTO audit_event (created_at, actor_email, action, object_type, object_id, summary)
SELECT TIMESTAMP '2024-01-01' + g * INTERVAL '1 minute',
       CASE WHEN g % 7 = 0 THEN 'ann@example.com' ELSE 'bob@example.com' END,
       CASE WHEN g % 5 = 0 THEN 'delete' ELSE 'update' END, 'Post', g::text, 'changed'
FROM generate_series(1, :count) AS g
"""


def seed(editor, author) -> int:
    """Fill the big tables, ANALYZE them, and return the id of the post with 500 revisions."""
    db.session.execute(text(SEED_POSTS), {"count": POSTS, "author": author.id, "editor": editor.id})
    db.session.execute(text(SEED_DOCUMENTS))
    busy = db.session.scalar(select(Post.id).where(Post.status == "draft").limit(1))
    db.session.execute(text(SEED_REVISIONS), {"busy": busy})
    db.session.execute(text(SEED_AUDIT), {"count": POSTS})
    db.session.commit()
    with db.engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))
    return busy


def scans_of(browser, url: str) -> list[str]:
    """GET a page; return the big tables that a plan of one of its SELECTs reads in full."""
    seen = []

    def note(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", note)
    try:
        response = browser.get(url)
    finally:
        event.remove(db.engine, "before_cursor_execute", note)
    assert response.status_code == 200, url
    return [table for statement, parameters in seen for table in full_scans(statement, parameters)]


def full_scans(statement: str, parameters=None) -> list[str]:
    """Return the big tables PostgreSQL's plan of a statement reads in full."""
    with db.engine.connect() as conn:
        plan = conn.exec_driver_sql("EXPLAIN " + statement, parameters or {}).scalars().all()
    return [table for table in SEQ_SCAN.findall("\n".join(plan)) if table in BIG_TABLES]


def older_link(response) -> str:
    """Return the pager's "Older" link."""
    found = re.search(r'<a class="page-link" href="([^"]+)" rel="next"', page_text(response))
    assert found, "no older page"
    return found.group(1).replace("&amp;", "&")


def test_no_list_scans_a_big_table(browser, login_as):
    editor = login_as("editor")
    author = make_user("author@example.com", roles=("author",))
    busy = seed(editor, author)
    # The check itself sees a full scan where there is one (a LIKE over every body).
    assert full_scans("SELECT id FROM post WHERE body_md LIKE '%%x%%'") == ["post"]
    deep = "/admin/posts/"
    for _ in range(3):
        deep = older_link(browser.get(deep))
    urls = [
        "/admin/",
        "/admin/posts/",
        *(f"/admin/posts/?flt0_status_equals={s}" for s in ("draft", "review", "scheduled")),
        "/admin/posts/?flt0_status_equals=published",
        f"/admin/posts/?flt0_author_equals={author.id}",
        deep,
        "/admin/posts/?day=2021-03-01",
        "/admin/posts/?sort=0",
        "/admin/posts/?sort=4&desc=1",
        "/admin/posts/?search=tulips",
        "/admin/posts/?search=rose%20tul",
        "/admin/pages/",
        "/admin/trash/",
        "/admin/files/",
        f"/admin/posts/history/{busy}/",
        f"/admin/posts/history/{busy}/?page=9",
    ]
    scanned = {url: scans_of(browser, url) for url in urls}
    assert {url: tables for url, tables in scanned.items() if tables} == {}
    # The audit log and the accounts are the admins'.
    browser.logout()
    login_as("admin", email="boss@example.com")
    audit = [
        "/admin/users/",
        "/admin/audit/",
        "/admin/audit/?flt0_action_equals=delete",
        "/admin/audit/?flt0_person_equals=ann%40example.com",
        f"/admin/audit/?day={datetime(2024, 1, 5).date().isoformat()}",
    ]
    scanned = {url: scans_of(browser, url) for url in audit}
    assert {url: tables for url, tables in scanned.items() if tables} == {}
