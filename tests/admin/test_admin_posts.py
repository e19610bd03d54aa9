"""The posts dashboard: field rules per role, row scoping, bulk actions, list tools."""

from datetime import datetime, timedelta

import pytest
from markupsafe import escape
from sqlalchemy import select

from cms.extensions import db
from cms.models import Post, PostStatus, utcnow
from tests.admin.admin_helpers import (
    bulk_action,
    delete_row,
    form_fields,
    row_exists,
    submit_admin,
    text,
)
from tests.factories import make_post, make_tag, make_user
from tests.helpers import csrf_token_from

NEW = "/admin/posts/new/"
LIST = "/admin/posts/"


def edit_url(post) -> str:
    """Return the edit page of a post."""
    return f"/admin/posts/edit/?id={post.id}"


def only_post() -> Post:
    """Return the one post in the database."""
    db.session.expire_all()
    return db.session.scalars(select(Post)).one()


def test_author_creates_a_draft_through_the_real_form(browser, login_as):
    author = login_as("author")
    fields = form_fields(browser, NEW)
    # Authors are never offered the publisher fields.
    assert "csrf_token" in fields
    assert not {"status", "published_at", "author"} & fields.keys()

    response = submit_admin(browser, NEW, {"title": "My first draft", "body_md": "Hello *you*"})

    assert response.status_code == 302
    post = only_post()
    assert post.author_id == author.id
    assert post.status == PostStatus.DRAFT
    assert post.published_at is None
    assert post.slug == "my-first-draft"
    assert post.body_html == '<p dir="auto">Hello <em>you</em></p>'
    assert post.excerpt == "Hello you"


def test_save_without_csrf_token_is_refused(browser, login_as):
    login_as("editor")
    response = submit_admin(browser, NEW, {"title": "No token", "csrf_token": None})
    assert response.status_code == 400
    assert db.session.scalars(select(Post)).first() is None


def test_author_crafted_status_author_and_time_are_ignored(browser, login_as):
    author = login_as("author")
    editor = make_user("someone@example.com", roles=("editor",))
    crafted = {
        "title": "Sneaky",
        "body_md": "text",
        "status": "published",
        "author": str(editor.id),
        "author_id": str(editor.id),
        "published_at": "2020-01-01 10:00:00",
    }

    assert submit_admin(browser, NEW, crafted).status_code == 302
    post = only_post()
    assert (post.status, post.author_id, post.published_at) == (PostStatus.DRAFT, author.id, None)

    # The same on an edit of the author's own draft.
    assert submit_admin(browser, edit_url(post), crafted | {"title": "Sneaky 2"}).status_code == 302
    post = only_post()
    assert post.title == "Sneaky 2"
    assert (post.status, post.author_id, post.published_at) == (PostStatus.DRAFT, author.id, None)


def test_author_cannot_see_or_touch_others_posts(browser, login_as):
    author = login_as("author")
    other = make_user("other@example.com", roles=("author",))
    theirs = make_post(other, title="Not yours", status=PostStatus.DRAFT)
    mine = make_post(author, title="Mine", status=PostStatus.DRAFT)

    listing = text(browser.get(LIST))
    assert "Mine" in listing and "Not yours" not in listing
    assert browser.get(edit_url(theirs)).status_code == 404
    assert browser.get(f"/admin/posts/details/?id={theirs.id}").status_code == 404
    assert submit_admin(browser, edit_url(mine), {}).status_code == 302  # own draft: fine
    assert delete_row(browser, LIST, theirs.id).status_code == 404
    assert bulk_action(browser, LIST, "delete", [mine.id, theirs.id]).status_code == 404
    # Nothing was deleted, not even the author's own post in the refused bulk action.
    assert {p.title for p in db.session.scalars(select(Post))} == {"Not yours", "Mine"}


def test_author_can_read_but_not_change_own_published_post(browser, login_as):
    author = login_as("author")
    post = make_post(author, title="Published by an editor")

    assert browser.get(f"/admin/posts/details/?id={post.id}").status_code == 200
    # Like others' posts, it is not there for editing or deleting.
    assert browser.get(edit_url(post)).status_code == 404
    token = csrf_token_from(text(browser.get(LIST)))
    crafted = {"csrf_token": token, "title": "Changed", "body_md": "changed"}
    assert browser.client.post(edit_url(post), data=crafted).status_code == 404
    assert delete_row(browser, LIST, post.id).status_code == 404
    assert bulk_action(browser, LIST, "delete", [post.id]).status_code == 403
    listing = text(browser.get(LIST))
    assert f'href="/admin/posts/details/?id={post.id}' in listing
    assert f"/admin/posts/edit/?id={post.id}" not in listing
    assert row_exists(Post, post.id)
    db.session.expire_all()
    assert db.session.get(Post, post.id).title == "Published by an editor"


def test_author_deletes_own_draft_into_the_trash(browser, login_as):
    author = login_as("author")
    post = make_post(author, status=PostStatus.DRAFT)
    ident = post.id
    assert delete_row(browser, LIST, ident).status_code == 302
    db.session.expire_all()
    assert db.session.get(Post, ident).status == PostStatus.TRASHED
    assert f"id={ident}" not in text(browser.get(LIST))


def test_author_cannot_publish_with_a_bulk_action(browser, login_as):
    author = login_as("author")
    post = make_post(author, status=PostStatus.DRAFT)
    assert "execute('publish')" not in text(browser.get(LIST))
    for name in ("publish", "unpublish"):
        assert bulk_action(browser, LIST, name, [post.id]).status_code == 403
    assert bulk_action(browser, LIST, "no-such-action", [post.id]).status_code == 400
    db.session.expire_all()
    assert db.session.get(Post, post.id).status == PostStatus.DRAFT


def test_editor_publishes_with_the_form(app, browser, login_as, client):
    editor = login_as("editor")
    writer = make_user("writer@example.com", roles=("author",))
    news, notes = make_tag("News"), make_tag("Notes")
    fields = form_fields(browser, NEW)
    # The status comes from the buttons (Publish now, ...); the field still takes a value.
    assert {"published_at", "author"} <= fields.keys()
    assert fields["author"] == str(editor.id)  # new posts default to the editor

    response = submit_admin(
        browser,
        NEW,
        {
            "title": "Big news",
            "body_md": "Read **this**",
            "status": "published",
            "author": str(writer.id),
            "tags": [str(news.id), str(notes.id)],
        },
    )

    assert response.status_code == 302
    post = only_post()
    assert post.status == PostStatus.PUBLISHED
    assert post.author_id == writer.id
    assert post.published_at is not None and post.published_at <= utcnow()
    assert [tag.name for tag in post.tags] == ["News", "Notes"]
    assert client.get("/posts/big-news").status_code == 200


def test_editor_schedules_and_author_field_refuses_readers(browser, login_as):
    login_as("editor")
    reader = make_user("reader@example.com", roles=("reader",))
    later = (utcnow() + timedelta(days=3)).replace(microsecond=0)

    refused = submit_admin(browser, NEW, {"title": "By a reader", "author": str(reader.id)})
    assert refused.status_code == 200  # the form again, with the error
    assert db.session.scalars(select(Post)).first() is None

    stamp = later.strftime("%Y-%m-%d %H:%M:%S")
    fields = {"title": "Later", "status": "published", "published_at": stamp}
    assert submit_admin(browser, NEW, fields).status_code == 302
    post = only_post()
    assert post.published_at == later and not post.is_public


def test_editor_bulk_publish_and_unpublish(browser, login_as):
    login_as("editor")
    author = make_user("writer@example.com", roles=("author",))
    first = make_post(author, title="One", status=PostStatus.DRAFT)
    second = make_post(author, title="Two", status=PostStatus.DRAFT)

    assert bulk_action(browser, LIST, "publish", [first.id, second.id]).status_code == 302
    db.session.expire_all()
    assert {p.status for p in db.session.scalars(select(Post))} == {PostStatus.PUBLISHED}
    assert all(p.published_at for p in db.session.scalars(select(Post)))

    assert bulk_action(browser, LIST, "unpublish", [first.id]).status_code == 302
    db.session.expire_all()
    assert db.session.get(Post, first.id).status == PostStatus.DRAFT
    assert db.session.get(Post, second.id).status == PostStatus.PUBLISHED
    # Junk ids never reach SQL.
    assert bulk_action(browser, LIST, "publish", ["1 OR 1=1"]).status_code == 404


def test_excerpt_follows_the_body_until_someone_types_one(browser, login_as):
    login_as("editor")
    submit_admin(browser, NEW, {"title": "Excerpts", "body_md": "First body"})
    post = only_post()
    assert post.excerpt == "First body"

    submit_admin(browser, edit_url(post), {"body_md": "Second body"})
    assert only_post().excerpt == "Second body"

    submit_admin(browser, edit_url(post), {"body_md": "Third body", "excerpt": "Mine"})
    assert only_post().excerpt == "Mine"


def test_list_search_filters_and_sorting(browser, login_as):
    login_as("editor")
    author = make_user("writer@example.com", roles=("author",), display_name="Writer")
    tag = make_tag("Python")
    make_post(author, title="Alpha about snakes", body="pythons everywhere", tags=[tag])
    make_post(author, title="Beta draft", status=PostStatus.DRAFT)
    old = utcnow() - timedelta(days=400)
    make_post(author, title="Gamma old", published_at=old)

    def titles(query: str) -> set[str]:
        page = text(browser.get(LIST + query))
        return {t for t in ("Alpha", "Beta", "Gamma") if f">{t} " in page}

    assert titles("?search=everywhere") == {"Alpha"}
    assert titles("?flt0_status_equals=draft") == {"Beta"}
    assert titles(f"?flt0_tag_equals={tag.id}") == {"Alpha"}
    assert titles(f"?flt0_author_equals={author.id}") == {"Alpha", "Beta", "Gamma"}
    since = (utcnow() - timedelta(days=30)).strftime("%Y-%m-%d %H:%M:%S")
    # Filters read naturally: "Publication time after …".
    assert titles(f"?flt0_publication_time_after={since}") == {"Alpha"}
    assert browser.get(LIST + "?sort=2&desc=1").status_code == 200


@pytest.mark.parametrize(
    "query",
    [
        "?page=-1",
        "?page=1000000000000",
        "?search=%27%3B--",
        "?search=" + "x%20" * 40_000,
        "?flt0_tag_equals=1%20OR%201%3D1",
        "?flt0_author_equals=99999999999999999999",
        "?flt0_status_equals=%27",
        "?flt0_publication_time_greater_than=yesterday",
        "?sort=999&desc=-1&page_size=1000000",
        "?id=%00",
    ],
)
def test_hostile_list_arguments_never_fail(browser, login_as, query):
    author = login_as("author")
    make_post(author, title="Mine")
    response = browser.get(LIST + query)
    assert response.status_code in (200, 400), response.status_code


@pytest.mark.parametrize("ident", ["abc", "-1", "0", "1e3", "99999999999999999999", "%27"])
def test_hostile_ids_are_not_found(browser, login_as, ident):
    login_as("editor")
    assert browser.get(f"/admin/posts/edit/?id={ident}").status_code == 404
    assert browser.get(f"/admin/posts/details/?id={ident}").status_code == 404


def test_titles_are_escaped_everywhere_in_the_dashboard(browser, login_as):
    editor = login_as("editor")
    title = '"><svg onload=alert(1)>'
    post = make_post(editor, title=title, body="<script>alert(1)</script>ok")
    for url in (LIST, edit_url(post), f"/admin/posts/details/?id={post.id}", "/admin/"):
        page = text(browser.get(url))
        assert title not in page, url
        assert "<script>alert(1)" not in page, url
        assert str(escape(title)) in page, url


def test_published_time_is_shown_and_sorted(browser, login_as):
    editor = login_as("editor")
    make_post(editor, title="Dated", published_at=datetime(2024, 3, 5, 14, 30))
    page = text(browser.get(LIST))
    # How long ago, in words, with the exact local time on hover and a valid machine value.
    assert '<time datetime="2024-03-05T14:30:00Z" title="Mar 5, 2024, 2:30:00\u202fPM">' in page
    assert "years ago</time>" in page
