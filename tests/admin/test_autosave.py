"""Autosave: the form kept per person and post, offered back, never a revision (contract 2).

Also: every refused save (validation error, missing alt text, 409) leaves the typed text in
the slot, so the writer can leave the page and come back to it.
"""

from datetime import timedelta
from html import unescape

import pytest
from sqlalchemy import func, select

from cms.extensions import db
from cms.models import AutosaveSlot, Post, PostKind, PostStatus, Revision, utcnow
from cms.services.media import store_upload
from tests.admin.admin_helpers import form_fields, submit_admin, text
from tests.factories import PASSWORD, image_bytes, make_post, make_user
from tests.helpers import Browser, csrf_token_from

TYPED = "A paragraph typed just now, not saved yet."


def edit_url(post, view="posts") -> str:
    """Return the edit form's address of a post."""
    return f"/admin/{view}/edit/?id={post.id}"


def fresh(post) -> Post:
    """Return the post as stored now."""
    db.session.expire_all()
    return db.session.get(Post, post.id)


def slots() -> list[AutosaveSlot]:
    """Return every autosave slot."""
    db.session.expire_all()
    return db.session.scalars(select(AutosaveSlot).order_by(AutosaveSlot.id)).all()


def revisions_of(post) -> int:
    """Return how many revisions a post has."""
    return db.session.scalar(select(func.count(Revision.id)).where(Revision.post_id == post.id))


def autosave(browser, url, view="posts", **changes):
    """Post the form on `url` (with its token and version) to the autosave endpoint."""
    fields = form_fields(browser, url)
    post_id = url.split("id=")[1] if "id=" in url else ""
    data = {**fields, "post_id": post_id, **changes}
    return browser.client.post(f"/admin/{view}/autosave/", data=data)


def other_browser(app, email, role="editor"):
    """Return a second person, logged in in their own browser."""
    make_user(email, roles=(role,))
    browser = Browser(app, app.test_client())
    assert browser.login(email, PASSWORD).status_code == 302
    return browser


def test_autosave_keeps_the_form_without_touching_the_post(browser, login_as):
    editor = login_as("editor")
    post = make_post(editor, title="Stored", body="Stored body", status=PostStatus.DRAFT)
    before = (fresh(post).version, revisions_of(post))
    response = autosave(browser, edit_url(post), body_md=TYPED)
    assert response.status_code == 200, response.get_data(as_text=True)
    answer = response.get_json()
    assert answer["saved_at"].endswith("Z") and answer["label"].startswith("Saved at ")
    assert (fresh(post).version, revisions_of(post)) == before
    assert fresh(post).body_md == "Stored body"
    [slot] = slots()
    assert (slot.user_id, slot.post_id, slot.version) == (editor.id, post.id, post.version)
    assert slot.data["body_md"] == [TYPED]
    # A second autosave replaces the first: one slot per person and post.
    assert autosave(browser, edit_url(post), body_md=TYPED + " More.").status_code == 200
    assert [s.data["body_md"] for s in slots()] == [[TYPED + " More."]]


def test_the_edit_page_offers_restore_and_restore_fills_the_form(browser, login_as):
    editor = login_as("editor")
    post = make_post(editor, title="Stored", body="Stored body", status=PostStatus.DRAFT)
    page = text(browser.get(edit_url(post)))
    assert "cms-autosave-banner" not in page
    autosave(browser, edit_url(post), title="Typed title", body_md=TYPED)
    page = text(browser.get(edit_url(post)))
    assert "Restore the unsaved changes from" in page
    restored = form_fields(browser, edit_url(post) + "&restore=autosave")
    # (The test's form reader keeps the newline a <textarea> starts with; browsers drop it.)
    assert (restored["title"], restored["body_md"].strip()) == ("Typed title", TYPED)
    assert restored["version"] == str(post.version)
    # Saving the restored form stores it and clears the slot.
    response = submit_admin(browser, edit_url(post) + "&restore=autosave", {"workflow": "save"})
    assert response.status_code == 302
    assert fresh(post).body_md.strip() == TYPED and slots() == []
    assert "cms-autosave-banner" not in text(browser.get(edit_url(post)))


def test_a_slot_equal_to_the_stored_post_offers_nothing(browser, login_as):
    editor = login_as("editor")
    post = make_post(editor, title="Same", body="Same body", status=PostStatus.DRAFT)
    assert autosave(browser, edit_url(post)).status_code == 200
    assert "cms-autosave-banner" not in text(browser.get(edit_url(post)))


def test_discard_deletes_the_slot(browser, login_as):
    editor = login_as("editor")
    post = make_post(editor, status=PostStatus.DRAFT)
    autosave(browser, edit_url(post), body_md=TYPED)
    page = text(browser.get(edit_url(post)))
    token = csrf_token_from(page)
    response = browser.client.post(
        "/admin/posts/autosave/discard/", data={"csrf_token": token, "post_id": str(post.id)}
    )
    assert response.status_code == 200 and response.get_json() == {}
    assert slots() == []
    # The banner's own form (no script) goes back to the page.
    autosave(browser, edit_url(post), body_md=TYPED)
    form = browser.form(edit_url(post), match="/autosave/discard/")
    response = browser.client.post(form["action"], data=form["fields"])
    assert response.status_code == 303 and response.location.startswith(edit_url(post))
    assert slots() == []


def test_a_new_post_has_its_own_slot_per_kind(browser, login_as):
    login_as("author")
    assert autosave(browser, "/admin/posts/new/", title="New idea").status_code == 200
    assert autosave(browser, "/admin/pages/new/", "pages", title="New page").status_code == 200
    assert sorted((s.slot, s.kind, s.post_id) for s in slots()) == [
        ("new:page", "page", None),
        ("new:post", "post", None),
    ]
    assert "Restore the unsaved changes" in text(browser.get("/admin/posts/new/"))
    restored = form_fields(browser, "/admin/posts/new/?restore=autosave")
    assert restored["title"] == "New idea"
    response = submit_admin(browser, "/admin/posts/new/?restore=autosave", {"workflow": "save"})
    assert response.status_code == 302
    assert [s.slot for s in slots()] == ["new:page"]


def test_another_persons_slot_is_invisible(app, browser, login_as):
    editor = login_as("editor")
    post = make_post(editor, status=PostStatus.DRAFT)
    autosave(browser, edit_url(post), body_md=TYPED)
    colleague = other_browser(app, "colleague@example.com")
    page = text(colleague.get(edit_url(post)))
    assert "cms-autosave-banner" not in page and TYPED not in page
    restored = form_fields(colleague, edit_url(post) + "&restore=autosave")
    assert restored["body_md"].strip() != TYPED
    # Their discard does not touch mine.
    token = csrf_token_from(text(colleague.get(edit_url(post))))
    colleague.client.post(
        "/admin/posts/autosave/discard/", data={"csrf_token": token, "post_id": str(post.id)}
    )
    assert len(slots()) == 1


def test_autosave_needs_the_right_to_edit_the_post(app, browser, login_as):
    author = login_as("author")
    token = csrf_token_from(text(browser.get("/admin/posts/new/")))
    own_review = make_post(author, status=PostStatus.REVIEW)
    someone = make_user("someone@example.com", roles=("author",))
    theirs = make_post(someone, status=PostStatus.DRAFT)

    def send(ident, url="/admin/posts/autosave/"):
        data = {"csrf_token": token, "post_id": str(ident), "body_md": "x"}
        return browser.client.post(url, data=data)

    assert send(own_review.id).status_code == 403
    assert send(theirs.id).status_code == 404
    assert send("abc").status_code == 404
    assert send(theirs.id, "/admin/posts/autosave/discard/").status_code == 404
    assert send(own_review.id, "/admin/posts/autosave/discard/").status_code == 403
    assert "error" in send(theirs.id).get_json()
    # A page is not a post: the posts view does not autosave it.
    page = make_post(author, status=PostStatus.DRAFT, kind=PostKind.PAGE)
    assert send(page.id).status_code == 404
    assert slots() == []
    # No token: 400, nothing kept.
    refused = browser.client.post("/admin/posts/autosave/", data={"post_id": "", "title": "x"})
    assert refused.status_code == 400 and slots() == []


def test_autosave_keeps_the_body_limit_and_the_field_limits(app, browser, login_as, monkeypatch):
    login_as("editor")
    monkeypatch.setitem(app.config, "MAX_BODY_CHARS", 100)
    response = autosave(browser, "/admin/posts/new/", body_md="x" * 101)
    assert response.status_code == 413 and "too long" in response.get_json()["error"]
    response = autosave(browser, "/admin/posts/new/", title="t" * 2_001)
    assert response.status_code == 413
    assert slots() == []
    # Unknown fields are not kept.
    assert autosave(browser, "/admin/posts/new/", title="ok", evil="y").status_code == 200
    assert "evil" not in slots()[0].data and "csrf_token" not in slots()[0].data


def test_autosave_is_throttled_per_user(variant, ctx):
    throttled = variant(
        RATELIMIT_ENABLED=True,
        RATELIMIT_STORAGE_URI="memory://",
        RATELIMIT_EDITOR_ACCOUNT="2 per minute",
    )
    browser = Browser(throttled, throttled.test_client())
    make_user("fast@example.com", roles=("author",))
    assert browser.login("fast@example.com", PASSWORD).status_code == 302
    statuses = [autosave(browser, "/admin/posts/new/", title="x").status_code for _ in range(3)]
    assert statuses == [200, 200, 429]


def test_restoring_over_a_newer_version_gets_the_conflict(app, browser, login_as):
    editor = login_as("editor")
    post = make_post(editor, title="First", status=PostStatus.DRAFT)
    autosave(browser, edit_url(post), body_md=TYPED)
    # Meanwhile a colleague saves.
    colleague = other_browser(app, "colleague@example.com")
    assert submit_admin(colleague, edit_url(post), {"title": "Theirs"}).status_code == 302
    newer = fresh(post).version
    restored = form_fields(browser, edit_url(post) + "&restore=autosave")
    assert int(restored["version"]) < newer
    response = submit_admin(browser, edit_url(post) + "&restore=autosave", {"workflow": "save"})
    assert response.status_code == 409
    assert fresh(post).title == "Theirs" and fresh(post).body_md.strip() != TYPED
    # The refused text is kept, with the version it was written over: restoring it again
    # leads to the conflict screen again, never to a silent overwrite.
    assert [text.strip() for text in slots()[0].data["body_md"]] == [TYPED]


def test_refused_saves_leave_a_slot(browser, login_as):
    editor = login_as("editor")
    post = make_post(editor, status=PostStatus.DRAFT)
    # A validation error (an empty title).
    response = submit_admin(browser, edit_url(post), {"title": "", "body_md": TYPED})
    assert response.status_code == 200
    assert [text.strip() for text in slots()[0].data["body_md"]] == [TYPED]
    # Leaving and coming back: the page offers the text.
    assert "Restore the unsaved changes" in text(browser.get(edit_url(post)))


def test_the_alt_text_refusal_keeps_the_paragraph_after_a_trip_to_files(browser, login_as):
    editor = login_as("editor")
    record = store_upload(db.session, image_bytes(), "photo.png", editor)
    db.session.commit()
    post = make_post(editor, body="Old text.", status=PostStatus.DRAFT)
    body = f"{TYPED}\n\n![](/uploads/{record.stored_name})"
    refused = submit_admin(browser, edit_url(post), {"body_md": body, "workflow": "publish"})
    assert refused.status_code == 200 and "alt text" in text(refused)
    # The writer goes to Files to describe the image ...
    files = browser.form(f"/admin/files/edit/?id={record.id}", match="/admin/files/edit/")
    fields = dict(files["fields"], alt_text="A red square")
    assert browser.client.post(files["action"], data=fields).status_code == 302
    # ... comes back, restores, and publishes.
    page = text(browser.get(edit_url(post)))
    assert "Restore the unsaved changes" in page
    restored = form_fields(browser, edit_url(post) + "&restore=autosave")
    assert TYPED in unescape(restored["body_md"])
    response = submit_admin(browser, edit_url(post) + "&restore=autosave", {"workflow": "publish"})
    assert response.status_code == 302
    assert fresh(post).is_public and TYPED in fresh(post).body_md
    assert slots() == []


def test_a_refused_new_post_keeps_its_text(browser, login_as):
    login_as("author")
    response = submit_admin(
        browser, "/admin/posts/new/", {"title": "", "body_md": TYPED, "workflow": "save"}
    )
    assert response.status_code == 200
    assert [s.slot for s in slots()] == ["new:post"]


@pytest.mark.parametrize("gone", ["user", "post"])
def test_slots_go_with_their_user_or_post(browser, login_as, gone):
    editor = login_as("editor")
    post = make_post(editor, status=PostStatus.DRAFT)
    autosave(browser, edit_url(post), body_md=TYPED)
    assert len(slots()) == 1
    browser.logout()
    if gone == "post":
        db.session.delete(fresh(post))
    else:
        db.session.execute(db.delete(Revision))
        db.session.execute(db.delete(Post))
        db.session.delete(db.session.get(type(editor), editor.id))
    db.session.commit()
    assert slots() == []


def test_old_slots_expire(app, browser, login_as, monkeypatch):
    editor = login_as("editor")
    post = make_post(editor, status=PostStatus.DRAFT)
    autosave(browser, edit_url(post), body_md=TYPED)
    slot = slots()[0]
    slot.saved_at = utcnow() - timedelta(days=31)
    db.session.commit()
    assert "cms-autosave-banner" not in text(browser.get(edit_url(post)))
    # The next autosave (of anything) clears expired slots.
    autosave(browser, "/admin/posts/new/", title="Other")
    assert [s.slot for s in slots()] == ["new:post"]
