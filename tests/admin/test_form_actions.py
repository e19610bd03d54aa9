"""The post form's action buttons: what each role gets, what each does, the words after it.

Through the real edit and create forms with their CSRF tokens; the `workflow` value is the
button pressed (contract point 1).
"""

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from cms.extensions import db
from cms.models import AutosaveSlot, File, Post, PostKind, PostStatus, Revision, utcnow
from cms.services.media import store_upload
from tests.admin.admin_helpers import submit_admin, text
from tests.factories import image_bytes, make_post


def new_url(view="posts") -> str:
    """Return the create form's address."""
    return f"/admin/{view}/new/"


def edit_url(post, view="posts") -> str:
    """Return the edit form's address of a post."""
    return f"/admin/{view}/edit/?id={post.id}"


def fresh(post) -> Post:
    """Return the post as stored now."""
    db.session.expire_all()
    return db.session.get(Post, post.id)


def buttons(page: str) -> list[str]:
    """Return the values of the workflow buttons on a page, in order."""
    return re.findall(r'<button[^>]*name="workflow"[^>]*value="([a-z_]+)"', page)


def flashes(browser) -> str:
    """Return the page after a redirect (where the flash messages show)."""
    return text(browser.get("/admin/posts/"))


def only_post() -> Post:
    """Return the one post in the database."""
    db.session.expire_all()
    return db.session.scalars(select(Post)).one()


def local(moment) -> str:
    """Return a UTC time as the datetime-local text of a UTC writer."""
    return moment.strftime("%Y-%m-%dT%H:%M")


# --- Which buttons ---------------------------------------------------------------------------


def test_authors_get_save_and_submit_editors_get_publishing(browser, login_as, ctx):
    author = login_as("author")
    assert set(buttons(text(browser.get(new_url())))) == {"save", "submit"}
    draft = make_post(author, status=PostStatus.DRAFT)
    assert set(buttons(text(browser.get(edit_url(draft))))) == {"save", "submit", "trash"}


@pytest.mark.parametrize("role", ["editor", "admin"])
def test_publishers_get_the_buttons_of_each_state(browser, login_as, role):
    user = login_as(role)
    assert set(buttons(text(browser.get(new_url())))) == {"save", "publish", "schedule"}
    draft = make_post(user, status=PostStatus.DRAFT)
    assert set(buttons(text(browser.get(edit_url(draft))))) == {
        "save", "publish", "schedule", "trash",
    }  # fmt: skip
    live = make_post(user)
    assert set(buttons(text(browser.get(edit_url(live))))) == {"update", "unpublish", "trash"}
    later = make_post(user, published_at=utcnow() + timedelta(days=2))
    assert set(buttons(text(browser.get(edit_url(later))))) == {
        "update", "publish", "unpublish", "trash",
    }  # fmt: skip


# --- What each button does, and the words after it -----------------------------------------


def test_save_draft_says_draft_saved_never_record(browser, login_as):
    login_as("editor")
    response = submit_admin(browser, new_url(), {"title": "Notes", "workflow": "save"})
    assert response.status_code == 302
    post = only_post()
    assert post.status == PostStatus.DRAFT and post.published_at is None
    # Back to the form, which shows the plain words.
    assert response.location.startswith(edit_url(post))
    page = text(browser.get(response.location))
    assert "Draft saved." in page and "Record" not in page


def test_publish_now_publishes_with_a_view_link(browser, login_as, client):
    login_as("editor")
    response = submit_admin(
        browser, new_url(), {"title": "Big <news>", "body_md": "Hi", "workflow": "publish"}
    )
    assert response.status_code == 302
    post = only_post()
    assert post.status == PostStatus.PUBLISHED and post.is_public
    assert abs(post.published_at - utcnow()) < timedelta(minutes=1)
    page = text(browser.get(response.location))
    assert "Post published." in page
    assert f'<a href="/posts/{post.slug}">View post</a>' in page
    assert "Record" not in page
    assert client.get(f"/posts/{post.slug}").status_code == 200


def test_publish_now_with_a_future_time_publishes_now(browser, login_as):
    editor = login_as("editor")
    post = make_post(editor, status=PostStatus.DRAFT)
    later = utcnow() + timedelta(days=5)
    fields = {"published_at": local(later), "workflow": "publish"}
    assert submit_admin(browser, edit_url(post), fields).status_code == 302
    stored = fresh(post)
    assert stored.is_public and stored.published_at <= utcnow()


def test_schedule_needs_a_future_time(browser, login_as):
    editor = login_as("editor")
    post = make_post(editor, status=PostStatus.DRAFT)
    refused = submit_admin(browser, edit_url(post), {"workflow": "schedule"})
    assert refused.status_code == 200
    assert "choose a publication time in the future" in text(refused)
    past = {"published_at": local(utcnow() - timedelta(hours=1)), "workflow": "schedule"}
    assert submit_admin(browser, edit_url(post), past).status_code == 200
    assert fresh(post).status == PostStatus.DRAFT

    when = (utcnow() + timedelta(days=3)).replace(second=0, microsecond=0)
    fields = {"published_at": local(when), "workflow": "schedule"}
    response = submit_admin(browser, edit_url(post), fields)
    assert response.status_code == 302
    stored = fresh(post)
    assert stored.status == PostStatus.PUBLISHED and stored.published_at == when
    assert not stored.is_public
    page = text(browser.get(response.location))
    # "Scheduled for Dec 3, 9:00 AM" in English (UTC writer).
    day = f"{when:%b} {when.day}"
    assert f"Scheduled for {day}," in page
    assert (
        db.session.scalars(
            select(Revision.event)
            .where(Revision.post_id == post.id)
            .order_by(Revision.number.desc())
        ).first()
        == "schedule"
    )


def test_update_and_unpublish_say_what_happened(browser, login_as, client):
    editor = login_as("editor")
    post = make_post(editor, title="Live one")
    response = submit_admin(browser, edit_url(post), {"title": "Live two", "workflow": "update"})
    assert response.status_code == 302
    assert fresh(post).status == PostStatus.PUBLISHED and fresh(post).title == "Live two"
    page = text(browser.get(response.location))
    assert "Post updated." in page and f'href="/posts/{fresh(post).slug}"' in page

    response = submit_admin(browser, edit_url(post), {"workflow": "unpublish"})
    assert response.status_code == 302
    assert fresh(post).status == PostStatus.DRAFT
    assert "Post unpublished: it is a draft again." in text(browser.get(response.location))
    assert client.get(f"/posts/{fresh(post).slug}").status_code == 404


def test_move_to_trash_from_the_form_saves_nothing_else(browser, login_as):
    editor = login_as("editor")
    post = make_post(editor, title="Keep this title", status=PostStatus.DRAFT)
    response = submit_admin(browser, edit_url(post), {"title": "Typed", "workflow": "trash"})
    assert response.status_code == 302
    stored = fresh(post)
    assert stored.status == PostStatus.TRASHED and stored.title == "Keep this title"
    assert "“Keep this title” moved to trash." in flashes(browser)


def test_author_submits_for_review_with_the_button(browser, login_as):
    author = login_as("author")
    response = submit_admin(
        browser, new_url(), {"title": "For review", "body_md": "x", "workflow": "submit"}
    )
    assert response.status_code == 302
    assert only_post().status == PostStatus.REVIEW
    assert "Submitted for review." in flashes(browser)
    assert only_post().author_id == author.id


@pytest.mark.parametrize("crafted", ["publish", "schedule", "update", "unpublish", "bogus"])
def test_an_author_crafting_a_publishing_button_publishes_nothing(browser, login_as, crafted):
    author = login_as("author")
    post = make_post(author, title="Mine", status=PostStatus.DRAFT)
    fields = {
        "title": "Crafted",
        "workflow": crafted,
        "status": "published",
        "published_at": local(utcnow()),
    }
    response = submit_admin(browser, edit_url(post), fields)
    assert response.status_code == 200
    assert "This action is not available to you" in text(response)
    stored = fresh(post)
    assert (stored.status, stored.title, stored.published_at) == (PostStatus.DRAFT, "Mine", None)
    created = submit_admin(browser, new_url(), {"title": "New crafted", "workflow": crafted})
    assert created.status_code == 200
    assert db.session.scalars(select(Post).where(Post.title == "New crafted")).first() is None


def test_an_editor_cannot_use_a_button_the_state_does_not_offer(browser, login_as):
    editor = login_as("editor")
    live = make_post(editor, title="Live")
    # "save" is for drafts; a published post is updated or unpublished.
    response = submit_admin(browser, edit_url(live), {"title": "Changed", "workflow": "save"})
    assert response.status_code == 200
    assert fresh(live).title == "Live"


def test_publishing_an_image_without_alt_text_is_refused(browser, login_as):
    editor = login_as("editor")
    record = store_upload(db.session, image_bytes(), "photo.png", editor)
    db.session.commit()
    post = make_post(editor, status=PostStatus.DRAFT)
    body = f"A paragraph typed now.\n\n![](/uploads/{record.stored_name})"
    response = submit_admin(browser, edit_url(post), {"body_md": body, "workflow": "publish"})
    assert response.status_code == 200
    assert "every image needs alt text" in text(response)
    assert fresh(post).status == PostStatus.DRAFT
    assert db.session.get(File, record.id).alt_text == ""


# --- Pages ---------------------------------------------------------------------------------


def test_pages_say_page(browser, login_as):
    editor = login_as("editor")
    response = submit_admin(
        browser, new_url("pages"), {"title": "About us", "body_md": "Hi", "workflow": "publish"}
    )
    assert response.status_code == 302
    page = only_post()
    assert page.kind == PostKind.PAGE and page.is_public
    shown = text(browser.get(response.location))
    assert "Page published." in shown and '<a href="/about-us">View page</a>' in shown
    response = submit_admin(browser, edit_url(page, "pages"), {"workflow": "unpublish"})
    assert "Page unpublished: it is a draft again." in text(browser.get(response.location))
    assert editor.id == fresh(page).author_id


def test_flash_links_are_escaped(browser, login_as):
    login_as("editor")
    response = submit_admin(
        browser,
        new_url(),
        {"title": "x", "slug": '"><script>alert(1)</script>', "workflow": "publish"},
    )
    assert response.status_code == 302
    page = text(browser.get(response.location))
    assert "<script>alert(1)</script>" not in page


def test_a_refused_move_to_trash_keeps_the_typed_text(browser, login_as):
    """Trash over a newer version is refused; what was typed waits in the autosave slot."""
    editor = login_as("editor")
    post = make_post(editor, title="Old title", status=PostStatus.DRAFT)
    fields = browser.form(edit_url(post), match="/admin/posts/edit/")["fields"]
    # Someone saves a newer version meanwhile.
    fresh(post).title = "Their title"
    db.session.commit()
    fields.update(
        {"body_md": "A sentence typed just before pressing Move to trash.", "workflow": "trash"}
    )
    response = browser.client.post(edit_url(post), data=fields)
    assert response.status_code == 302
    assert fresh(post).status == PostStatus.DRAFT
    slot = db.session.scalars(select(AutosaveSlot).where(AutosaveSlot.post_id == post.id)).one()
    assert "A sentence typed just before" in str(slot.data)
    assert "Restore the unsaved changes" in text(browser.get(edit_url(post)))
