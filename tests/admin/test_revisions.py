"""A post's history in the dashboard: listing, comparing and restoring revisions."""

from urllib.parse import urlencode

from sqlalchemy import select

from cms.extensions import db
from cms.models import AuditEvent, File, Post, PostStatus, Revision, Tag
from cms.services import revisions
from cms.services.media import store_upload
from tests.admin.admin_helpers import submit_admin, text
from tests.factories import PASSWORD, image_bytes, make_post, make_tag, make_user
from tests.helpers import Browser, parse_forms, snapshot

# Unicode, trailing spaces, tabs and Windows line endings: all must come back byte for byte.
EXACT_BODY = "Grüße aus Köln 👋  \r\n\r\n* eins\t \r\n* zwei  \r\n\r\n```\r\ncode   \r\n```\r\n"


def history_url(post) -> str:
    """Return the history page of a post."""
    return f"/admin/posts/history/{post.id}/"


def compare_url(post, a, b="current") -> str:
    """Return the comparison of two versions of a post."""
    return f"/admin/posts/compare/{post.id}/?" + urlencode({"a": a, "b": b})


def edit_url(post) -> str:
    """Return the edit page of a post."""
    return f"/admin/posts/edit/?id={post.id}"


def fresh(post) -> Post:
    """Return the post as the database has it now."""
    db.session.expire_all()
    return db.session.get(Post, post.id)


def numbers(post) -> list[int]:
    """Return the numbers of a post's revisions, oldest first."""
    db.session.expire_all()
    query = select(Revision.number).where(Revision.post_id == post.id).order_by(Revision.number)
    return list(db.session.scalars(query))


def stored_revisions(post) -> list[tuple]:
    """Return every column of every revision of a post, to prove none was rewritten."""
    db.session.expire_all()
    rows = db.session.scalars(
        select(Revision).where(Revision.post_id == post.id).order_by(Revision.number)
    )
    return [tuple(getattr(row, c.name) for c in Revision.__table__.columns) for row in rows]


def change(post, **fields) -> None:
    """Change a post outside the dashboard (a revision is recorded on commit)."""
    for name, value in fields.items():
        setattr(post, name, value)
    db.session.commit()


def restore_form(browser, url, revision, field=None) -> dict:
    """Return the restore form for a revision (or one field of it) on a page."""
    response = browser.get(url)
    assert response.status_code == 200, response.status_code
    for form in parse_forms(text(response)):
        fields = form["fields"]
        if (
            form["method"] == "post"
            and "/restore/" in form["action"]
            and fields.get("revision") == str(revision)
            and fields.get("field") == field
        ):
            return form
    raise AssertionError(f"no restore form for revision {revision} {field or ''} on {url}")


def post_form(browser, form, **overrides):
    """Send a form as its page has it, with some fields changed."""
    return browser.client.post(form["action"], data={**form["fields"], **overrides})


def make_history(author, **fields) -> Post:
    """Create a post with three revisions: created, then two saves."""
    post = make_post(author, title="First title", body="First body", **fields)
    change(post, title="Second title")
    change(post, body_md="Third body")
    assert numbers(post) == [1, 2, 3]
    return post


# --- History ---------------------------------------------------------------------------------


def test_history_lists_revisions_newest_first(browser, login_as):
    editor = login_as("editor", display_name="Erika Editor")
    post = make_history(editor)
    revisions.mark(post, "publish")
    change(post, status=PostStatus.PUBLISHED)

    page = text(browser.get(history_url(post)))

    assert "History of “First title”" not in page  # the current title is shown
    assert "History of “Second title”" in page
    positions = [page.index(f'id="cms-revision-{n}"') for n in (4, 3, 2, 1)]
    assert positions == sorted(positions)
    assert "4 revisions." in page
    for label in ("Created", "Saved", "Published"):
        assert label in page
    # Two radios per revision and one for the current version; defaults compare 3 with 4.
    (compare,) = [form for form in parse_forms(page) if form["method"] == "get"]
    assert compare["action"] == f"/admin/posts/compare/{post.id}/"
    assert compare["fields"] == {"a": "3", "b": "4"}
    assert page.count('type="radio" name="a"') == 4
    assert page.count('type="radio" name="b"') == 5
    assert page.count(f"/admin/posts/compare/{post.id}/?a=") == 4
    # Restore buttons for every revision but the newest (that is the current content).
    restores = [form for form in parse_forms(page) if "/restore/" in form["action"]]
    assert sorted(form["fields"]["revision"] for form in restores) == ["1", "2", "3"]
    assert all(form["fields"]["version"] == str(post.version) for form in restores)
    assert all(form["fields"]["csrf_token"] for form in restores)


def test_history_names_who_saved_through_the_dashboard(browser, login_as):
    login_as("editor", display_name="Erika Editor")
    post = make_post(make_user("writer@example.com", roles=("author",)), title="Hello")

    response = submit_admin(browser, edit_url(post), {"title": "Hello again"})
    assert response.status_code == 302, text(response)

    page = text(browser.get(history_url(post)))
    row = page[page.index('id="cms-revision-2"') :]
    assert "Erika Editor" in row[: row.index("</tr>")]


def test_history_and_details_link_to_each_other(browser, login_as):
    editor = login_as("editor")
    post = make_history(editor)
    details = text(browser.get(f"/admin/posts/details/?id={post.id}"))
    assert f'href="{history_url(post)}"' in details
    assert "3 revisions" in details
    page = text(browser.get(history_url(post)))
    assert f"/admin/posts/edit/?id={post.id}" in page


def test_history_is_paginated_by_fifty(browser, login_as):
    editor = login_as("editor")
    post = make_post(editor, title="Busy", body="0")
    for number in range(1, 55):
        change(post, body_md=str(number))
    assert len(numbers(post)) == 55

    first = text(browser.get(history_url(post)))
    second = text(browser.get(history_url(post) + "?page=2"))

    assert first.count('class="cms-history-row"') == 50
    assert 'id="cms-revision-55"' in first and 'id="cms-revision-6"' in first
    assert second.count('class="cms-history-row"') == 5
    assert 'id="cms-revision-5"' in second and 'id="cms-revision-1"' in second
    assert f'href="{history_url(post)}?page=2"' in first
    assert browser.get(history_url(post) + "?page=3").status_code == 404
    # Junk page numbers show the first page.
    assert browser.get(history_url(post) + "?page=-1").status_code == 200


def test_history_of_missing_post_is_404(browser, login_as):
    login_as("editor")
    assert browser.get("/admin/posts/history/999999/").status_code == 404
    assert browser.get("/admin/posts/compare/999999/?a=1").status_code == 404


# --- Compare ---------------------------------------------------------------------------------


def test_compare_two_revisions_with_the_history_form(browser, login_as):
    editor = login_as("editor")
    post = make_history(editor)

    page = text(browser.get(history_url(post)))
    (compare,) = [form for form in parse_forms(page) if form["method"] == "get"]
    response = browser.get(compare["action"] + "?" + urlencode({"a": "1", "b": "2"}))

    assert response.status_code == 200
    page = text(response)
    assert '<th scope="col">Revision 1</th>' in page
    assert '<th scope="col">Revision 2</th>' in page
    assert '<th scope="row">Title</th>' in page
    assert "<del>" in page and "First</del>" in page
    assert "<ins>" in page and "Second</ins>" in page
    # The body did not change between 1 and 2.
    assert 'id="cms-diff-body_md"' not in page


def test_compare_a_revision_with_the_current_version(browser, login_as):
    editor = login_as("editor")
    post = make_history(editor)

    page = text(browser.get(compare_url(post, 1)))

    assert "Current version" in page
    assert 'id="cms-diff-title"' in page and 'id="cms-diff-body_md"' in page
    assert "First</del> body" in page and "Third</ins> body" in page
    # The newest revision is the current content.
    assert "No differences" in text(browser.get(compare_url(post, 3)))
    # Without arguments: the newest revision against the current version.
    assert "No differences" in text(browser.get(f"/admin/posts/compare/{post.id}/"))


def test_compare_offers_restoring_each_restorable_field(browser, login_as):
    editor = login_as("editor")
    post = make_history(editor, status=PostStatus.DRAFT)
    change(post, status=PostStatus.PUBLISHED)

    page = text(browser.get(compare_url(post, 1)))
    fields = sorted(
        form["fields"]["field"]
        for form in parse_forms(page)
        if "/restore/" in form["action"] and form["fields"]["revision"] == "1"
    )
    # The status changed too, but a restore never changes the status.
    assert fields == ["body_md", "title"]
    assert 'id="cms-diff-status"' in page

    # Between two old revisions, each side that differs from now can be given back.
    page = text(browser.get(compare_url(post, 1, 2)))
    offered = {
        (form["fields"]["revision"], form["fields"]["field"])
        for form in parse_forms(page)
        if "/restore/" in form["action"]
    }
    assert offered == {("1", "title")}


def test_compare_refuses_bad_numbers(browser, login_as):
    editor = login_as("editor")
    post = make_history(editor)
    other = make_history(editor)
    change(other, title="Fourth")
    for query in ("a=9", "a=0", "a=abc", "a=-1", "a=1&b=9", "a=1&b=now", "a=1&b=", "a=4"):
        response = browser.get(f"/admin/posts/compare/{post.id}/?{query}")
        assert response.status_code == 404, query
    # Revision 4 exists, but of the other post.
    assert browser.get(compare_url(other, 4)).status_code == 200


# --- Restore ---------------------------------------------------------------------------------


def test_restore_a_whole_revision_gives_back_the_exact_text(browser, login_as):
    editor = login_as("editor", display_name="Erika Editor")
    python, flask = make_tag("Python"), make_tag("Flask")
    python_tag = {"id": python.id, "name": "Python"}
    post = make_post(
        editor,
        title="Original title",
        body=EXACT_BODY,
        tags=[python, flask],
        meta_title="Original meta",
        excerpt="A hand-written excerpt  with two spaces",
    )
    original = revisions.snapshot(fresh(post))
    assert original["body_md"] == EXACT_BODY

    response = submit_admin(
        browser,
        edit_url(post),
        {"title": "Changed title", "body_md": "Changed body", "tags": str(python.id)},
    )
    assert response.status_code == 302, text(response)
    assert fresh(post).body_md == "Changed body"
    before = stored_revisions(post)

    form = restore_form(browser, history_url(post), 1)
    response = post_form(browser, form)

    assert response.status_code == 302
    assert response.headers["Location"].endswith(edit_url(post))
    restored = fresh(post)
    assert restored.body_md == EXACT_BODY
    assert restored.body_md.encode() == EXACT_BODY.encode()
    assert restored.excerpt == "A hand-written excerpt  with two spaces"
    assert (restored.title, restored.slug, restored.meta_title) == (
        "Original title",
        original["slug"],
        "Original meta",
    )
    assert sorted(tag.name for tag in restored.tags) == ["Flask", "Python"]
    assert "Grüße" in restored.body_html
    # A new revision records the restore; the old ones are untouched.
    assert numbers(post) == [1, 2, 3]
    assert stored_revisions(post)[:2] == before
    newest = revisions.latest(db.session, post.id)
    assert (newest.event, newest.note, newest.created_by_name) == (
        "restore",
        "revision:1",
        "Erika Editor",
    )
    assert newest.body_md == EXACT_BODY
    restored_fields = revisions.snapshot(newest)
    for name in revisions.RESTORABLE:
        assert restored_fields[name] == original[name], name
    assert restored_fields["tags"] == [{"id": flask.id, "name": "Flask"}, python_tag]
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "restore")).one()
    assert event.object_id == str(post.id) and "revision 1" in event.summary
    # The message, and the history in words.
    assert "Restored revision 1." in text(browser.get(edit_url(post)))
    page = text(browser.get(history_url(post)))
    assert "Restored revision 1" in page
    assert "revision:1" not in page


def test_restore_one_field_from_the_compare_page(browser, login_as):
    editor = login_as("editor")
    post = make_history(editor)

    form = restore_form(browser, compare_url(post, 1), 1, field="title")
    response = post_form(browser, form)

    assert response.status_code == 302
    restored = fresh(post)
    assert (restored.title, restored.body_md) == ("First title", "Third body")
    newest = revisions.latest(db.session, post.id)
    assert (newest.number, newest.event, newest.note) == (4, "restore", "revision:1:title")
    assert "Restored “Title” from revision 1" in text(browser.get(history_url(post)))


def test_restoring_the_body_alone_keeps_a_generated_excerpt_in_step(browser, login_as):
    editor = login_as("editor")
    post = make_post(editor, title="Body", body="The *old* words")
    change(post, body_md="The new words")
    post.excerpt = ""
    from cms.services.posts import prepare_for_save

    prepare_for_save(post)
    db.session.commit()
    assert fresh(post).excerpt == "The new words"

    post_form(browser, restore_form(browser, compare_url(post, 1), 1, field="body_md"))

    assert (fresh(post).body_md, fresh(post).excerpt) == ("The *old* words", "The old words")


def test_restore_brings_back_deleted_tags_and_keeps_renamed_ones(browser, login_as):
    editor = login_as("editor")
    gone, renamed = make_tag("Gone"), make_tag("Old name")
    post = make_post(editor, title="Tagged", tags=[gone, renamed])
    change(post, tags=[])
    renamed_id = renamed.id
    renamed.name = "New name"
    db.session.delete(gone)
    db.session.commit()

    post_form(browser, restore_form(browser, compare_url(post, 1), 1, field="tags"))

    restored = fresh(post)
    assert sorted(tag.name for tag in restored.tags) == ["Gone", "New name"]
    assert renamed_id in {tag.id for tag in restored.tags}
    again = db.session.scalars(select(Tag).where(Tag.name == "Gone")).one()
    assert again.slug == "gone"


def test_restore_skips_a_deleted_social_image(browser, login_as, app):
    editor = login_as("editor")
    first = store_upload(db.session, image_bytes(), "first.png", editor)
    second = store_upload(db.session, image_bytes(color=(0, 0, 200)), "second.png", editor)
    db.session.commit()
    post = make_post(editor, title="Pictured", social_image_id=first.id)
    change(post, social_image_id=second.id, title="Pictured again")

    post_form(browser, restore_form(browser, compare_url(post, 1), 1, field="social_image_id"))
    assert fresh(post).social_image_id == first.id

    change(fresh(post), social_image_id=second.id)
    db.session.delete(db.session.get(File, first.id))
    db.session.commit()
    response = post_form(browser, restore_form(browser, history_url(post), 1))
    assert response.status_code == 302
    restored = fresh(post)
    # The title comes back; the image that no longer exists does not replace the current one.
    assert (restored.title, restored.social_image_id) == ("Pictured", second.id)
    assert "was deleted" in text(browser.get(edit_url(post)))


def test_restore_of_the_same_content_changes_nothing(browser, login_as):
    editor = login_as("editor")
    post = make_history(editor)
    change(post, body_md="First body", title="First title")
    assert numbers(post) == [1, 2, 3, 4]
    rows = snapshot()

    response = post_form(browser, restore_form(browser, history_url(post), 1))

    assert response.status_code == 302
    assert snapshot() == rows
    assert "Nothing to restore" in text(browser.get(history_url(post)))


def test_stale_restore_is_refused_with_409_naming_who_changed_it(app, browser, login_as):
    editor = login_as("editor")
    post = make_history(editor)
    form = restore_form(browser, history_url(post), 1)

    # Someone else saves the post meanwhile, through their own dashboard session.
    make_user("other@example.com", roles=("editor",), display_name="Otto Other")
    other = Browser(app, app.test_client())
    assert other.login("other@example.com", PASSWORD).status_code == 302
    assert submit_admin(other, edit_url(post), {"title": "Otto's title"}).status_code == 302
    rows = snapshot()

    response = post_form(browser, form)

    assert response.status_code == 409
    page = text(response)
    assert "Otto Other changed this item at" in page
    assert "Nothing was restored" in page
    assert snapshot() == rows
    # The page offers restores against the new version.
    assert f'name="version" value="{fresh(post).version}"' in page


def test_restore_refuses_bad_requests(browser, login_as):
    editor = login_as("editor")
    post = make_history(editor)
    form = restore_form(browser, history_url(post), 1)
    rows = snapshot()
    for overrides, status in (
        ({"field": "status"}, 400),
        ({"field": "published_at"}, 400),
        ({"field": "body_html"}, 400),
        ({"version": "x"}, 400),
        ({"version": ""}, 400),
        ({"revision": ""}, 404),
        ({"revision": "abc"}, 404),
        ({"revision": "99"}, 404),
        ({"csrf_token": "forged"}, 400),
    ):
        assert post_form(browser, form, **overrides).status_code == status, overrides
    assert snapshot() == rows
    assert browser.client.get(form["action"]).status_code == 405


# --- Who may do what ----------------------------------------------------------------------------


def test_author_loses_history_and_restore_once_the_post_is_published(browser, login_as):
    """History and diffs need the same right as editing (SECURITY 11)."""
    author = login_as("author")
    post = make_history(author, status=PostStatus.DRAFT)
    assert browser.get(history_url(post)).status_code == 200
    form = restore_form(browser, history_url(post), 1)
    change(post, status=PostStatus.PUBLISHED)
    form["fields"]["version"] = str(fresh(post).version)
    rows = snapshot()

    assert browser.get(history_url(post)).status_code == 404
    assert browser.get(compare_url(post, 1)).status_code == 404
    assert post_form(browser, form).status_code == 404
    assert snapshot() == rows


def test_author_restores_own_draft(browser, login_as):
    author = login_as("author")
    post = make_history(author, status=PostStatus.DRAFT)
    assert post_form(browser, restore_form(browser, history_url(post), 1)).status_code == 302
    assert fresh(post).title == "First title"


def test_author_cannot_see_others_history(browser, login_as):
    login_as("author")
    someone = make_user("someone@example.com", roles=("author",))
    post = make_history(someone, status=PostStatus.DRAFT)
    rows = snapshot()
    token_page = text(browser.get("/admin/posts/"))
    token = token_page.split('name="csrf_token"', 1)[1].split('value="', 1)[1].split('"', 1)[0]

    assert browser.get(history_url(post)).status_code == 404
    assert browser.get(compare_url(post, 1)).status_code == 404
    response = browser.client.post(
        f"/admin/posts/restore/{post.id}/",
        data={"csrf_token": token, "revision": "1", "version": str(post.version)},
    )
    assert response.status_code == 404
    assert snapshot() == rows


def test_readers_and_visitors_are_kept_out(browser, client, ctx):
    owner = make_user("owner@example.com", roles=("editor",))
    post = make_history(owner)
    assert client.get(history_url(post)).status_code == 302
    make_user("reader@example.com", roles=("reader",))
    assert browser.login("reader@example.com", PASSWORD).status_code == 302
    assert browser.get(history_url(post)).status_code == 403
    assert browser.get(compare_url(post, 1)).status_code == 403


# --- Escaping ----------------------------------------------------------------------------------


def test_history_and_compare_escape_what_people_typed(browser, login_as):
    editor = login_as("editor", display_name="<b>Bold</b> editor")
    post = make_post(editor, title="<script>alert('title')</script>", body="Plain")
    change(post, body_md="<script>alert('body')</script>\n<img src=x onerror=alert(1)>")
    response = submit_admin(browser, edit_url(post), {"body_md": "<svg onload=alert(2)>"})
    assert response.status_code == 302, text(response)

    for url in (history_url(post), compare_url(post, 1), compare_url(post, 2, 3)):
        page = text(browser.get(url))
        assert "<script>alert" not in page, url
        assert "<img src=x" not in page and "<svg onload" not in page, url
        assert "<b>Bold</b>" not in page, url
    assert "&lt;script&gt;alert(&#39;body&#39;)&lt;/script&gt;" in text(
        browser.get(compare_url(post, 1, 2))
    )
    assert "&lt;b&gt;Bold&lt;/b&gt; editor" in text(browser.get(history_url(post)))


# --- Retention ---------------------------------------------------------------------------------


def test_revisions_keep_prunes_the_oldest(variant, ctx):
    app = variant(REVISIONS_KEEP=3)
    with app.app_context():
        editor = make_user("editor@example.com", roles=("editor",))
        post = make_post(editor, title="Kept", body="0")
        for number in range(1, 5):
            change(post, body_md=str(number))
        assert numbers(post) == [3, 4, 5]
        bodies = [revision.body_md for revision in post.revisions]
        assert bodies == ["4", "3", "2"]

        browser = Browser(app, app.test_client())
        assert browser.login("editor@example.com", PASSWORD).status_code == 302
        page = text(browser.get(history_url(post)))
        assert "Only the newest 3 revisions are kept." in page
        assert "3 revisions." in page
        # Restoring the oldest kept revision adds one and prunes again; numbers go on.
        assert post_form(browser, restore_form(browser, history_url(post), 3)).status_code == 302
        assert numbers(post) == [4, 5, 6]
        assert fresh(post).body_md == "2"


def test_revisions_keep_zero_keeps_them_all(ctx):
    editor = make_user("editor@example.com", roles=("editor",))
    post = make_post(editor, title="All kept", body="0")
    for number in range(1, 8):
        change(post, body_md=str(number))
    assert numbers(post) == list(range(1, 9))


# --- Pages ---------------------------------------------------------------------------------------


def test_pages_have_the_same_history(browser, login_as):
    editor = login_as("editor")
    page = make_history(editor, kind="page")

    assert browser.get(f"/admin/pages/history/{page.id}/").status_code == 200
    assert browser.get(f"/admin/pages/compare/{page.id}/?a=1").status_code == 200
    # Each view keeps to its own kind.
    assert browser.get(history_url(page)).status_code == 404
    form = restore_form(browser, f"/admin/pages/history/{page.id}/", 1)
    response = post_form(browser, form)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/admin/pages/edit/?id={page.id}")
    assert fresh(page).title == "First title"
