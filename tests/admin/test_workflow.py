"""The editorial workflow through the dashboard: who may move a post where, buttons and bulk."""

from datetime import timedelta

from cms.extensions import db
from cms.models import AuditEvent, Post, PostStatus, Revision, utcnow
from tests.admin.admin_helpers import bulk_action, form_fields, submit_admin, text
from tests.factories import PASSWORD, make_post, make_user
from tests.helpers import Browser, csrf_token_from

LIST = "/admin/posts/"


def edit_url(post) -> str:
    """Return the dashboard edit address of a post."""
    return f"/admin/posts/edit/?id={post.id}"


def fresh(post) -> Post:
    """Return the post as stored now."""
    db.session.expire_all()
    return db.session.get(Post, post.id)


def move(browser, post, transition: str, **extra):
    """Press a workflow button on the post's edit page, with its token and version."""
    page = text(browser.get(edit_url(post)))
    data = {
        "csrf_token": csrf_token_from(page),
        "transition": transition,
        "version": str(fresh(post).version),
        **extra,
    }
    return browser.client.post(f"/admin/posts/workflow/{post.id}/", data=data)


def events(post) -> list[str]:
    """Return the events of the post's revisions, oldest first."""
    rows = db.session.scalars(
        db.select(Revision).where(Revision.post_id == post.id).order_by(Revision.number)
    )
    return [row.event for row in rows]


def test_author_submits_a_draft_and_can_no_longer_change_it(browser, login_as):
    author = login_as("author")
    post = make_post(author, status=PostStatus.DRAFT)
    page = text(browser.get(edit_url(post)))
    assert 'name="workflow" value="submit"' in page and "Submit for review" in page
    response = submit_admin(
        browser, edit_url(post), {"title": "Ready for review", "workflow": "submit"}
    )
    assert response.status_code == 302
    stored = fresh(post)
    assert (stored.status, stored.title) == (PostStatus.REVIEW, "Ready for review")
    assert events(post)[-1] == "submit"
    # In review, it is the editors' turn: the author reads it but cannot change it.
    assert browser.get(edit_url(post)).status_code == 404
    assert browser.get(f"/admin/posts/details/?id={post.id}").status_code == 200


def test_author_can_take_back_a_submission(browser, login_as, ctx):
    author = login_as("author")
    post = make_post(author, status=PostStatus.REVIEW)
    page = text(browser.get(f"/admin/posts/details/?id={post.id}"))
    token = csrf_token_from(page)
    response = browser.client.post(
        f"/admin/posts/workflow/{post.id}/",
        data={"csrf_token": token, "transition": "withdraw", "version": str(post.version)},
    )
    assert response.status_code == 302
    assert fresh(post).status == PostStatus.DRAFT


def test_author_cannot_publish_in_any_way(browser, login_as):
    author = login_as("author")
    post = make_post(author, status=PostStatus.DRAFT)
    for transition in ("publish", "unpublish", "send_back", "restore"):
        assert move(browser, post, transition, note="x").status_code == 403, transition
    # A crafted status field in the form is ignored: the field is not there for authors.
    response = submit_admin(browser, edit_url(post), {"status": "published"})
    assert response.status_code == 302
    assert fresh(post).status == PostStatus.DRAFT
    for name in ("publish", "unpublish"):
        assert bulk_action(browser, LIST, name, [post.id]).status_code == 403
    assert fresh(post).status == PostStatus.DRAFT


def test_author_cannot_move_someone_elses_post(browser, login_as, ctx):
    login_as("author")
    other = make_user("other@example.com", roles=("author",))
    post = make_post(other, status=PostStatus.DRAFT)
    token = csrf_token_from(text(browser.get(LIST)))
    response = browser.client.post(
        f"/admin/posts/workflow/{post.id}/",
        data={"csrf_token": token, "transition": "submit", "version": str(post.version)},
    )
    assert response.status_code == 404
    assert bulk_action(browser, LIST, "submit", [post.id]).status_code == 404
    assert fresh(post).status == PostStatus.DRAFT


def test_editor_sends_back_with_a_comment_the_author_sees(app, browser, login_as):
    editor = login_as("editor")
    author = make_user("author@example.com", roles=("author",))
    post = make_post(author, status=PostStatus.REVIEW)
    # A comment is required.
    response = move(browser, post, "send_back", note="   ")
    assert response.status_code == 302
    assert fresh(post).status == PostStatus.REVIEW
    response = move(browser, post, "send_back", note="Please add <sources>.")
    assert response.status_code == 302
    stored = fresh(post)
    assert (stored.status, stored.review_note) == (PostStatus.DRAFT, "Please add <sources>.")
    revision = db.session.scalars(
        db.select(Revision).where(Revision.post_id == post.id).order_by(Revision.number.desc())
    ).first()
    assert (revision.event, revision.note, revision.created_by_id) == (
        "send_back",
        "Please add <sources>.",
        editor.id,
    )
    assert db.session.scalar(db.select(AuditEvent).where(AuditEvent.action == "workflow:send_back"))

    other = Browser(app, app.test_client())
    other.login("author@example.com", PASSWORD)
    page = text(other.get(edit_url(post)))
    assert "Please add &lt;sources&gt;." in page
    # Submitting again clears the comment.
    submit_admin(other, edit_url(post), {"workflow": "submit"})
    assert (fresh(post).status, fresh(post).review_note) == (PostStatus.REVIEW, "")


def test_editor_publishes_and_schedules_with_the_form(browser, login_as):
    editor = login_as("editor")
    post = make_post(editor, status=PostStatus.REVIEW)
    when = (utcnow() + timedelta(days=2)).replace(microsecond=0)
    response = submit_admin(
        browser,
        edit_url(post),
        {"status": "published", "published_at": when.strftime("%Y-%m-%d %H:%M:%S")},
    )
    assert response.status_code == 302
    stored = fresh(post)
    assert (stored.status, stored.published_at, stored.state) == ("published", when, "scheduled")
    assert events(post)[-1] == "schedule"
    assert "Scheduled" in text(browser.get(LIST))
    listed = text(browser.get(LIST + "?flt0_status_equals=scheduled"))
    assert post.title in listed
    assert post.title not in text(browser.get(LIST + "?flt0_status_equals=published"))
    # The dashboard home shows what comes next.
    assert post.title in text(browser.get("/admin/"))


def test_unpublish_time_must_follow_publication(browser, login_as):
    editor = login_as("editor")
    post = make_post(editor, status=PostStatus.DRAFT)
    response = submit_admin(
        browser,
        edit_url(post),
        {
            "status": "published",
            "published_at": "2030-01-02 10:00:00",
            "unpublish_at": "2030-01-01 10:00:00",
        },
    )
    assert response.status_code == 200
    assert "must be after the publication time" in text(response)
    assert fresh(post).status == PostStatus.DRAFT


def test_bulk_submit_publish_unpublish(browser, login_as):
    editor = login_as("editor")
    drafts = [make_post(editor, status=PostStatus.DRAFT) for _ in range(3)]
    ids = [post.id for post in drafts]
    assert bulk_action(browser, LIST, "submit", ids).status_code == 302
    assert {fresh(post).status for post in drafts} == {PostStatus.REVIEW}
    assert bulk_action(browser, LIST, "publish", ids).status_code == 302
    assert {fresh(post).state for post in drafts} == {"published"}
    assert bulk_action(browser, LIST, "unpublish", ids).status_code == 302
    assert {fresh(post).status for post in drafts} == {PostStatus.DRAFT}
    assert events(drafts[0])[-3:] == ["submit", "publish", "unpublish"]


def test_bulk_move_is_all_or_nothing(browser, login_as):
    editor = login_as("editor")
    draft = make_post(editor, status=PostStatus.DRAFT)
    live = make_post(editor, status=PostStatus.PUBLISHED)
    # A published post cannot be submitted for review: nothing moves, not even the draft.
    assert bulk_action(browser, LIST, "submit", [draft.id, live.id]).status_code == 403
    assert fresh(draft).status == PostStatus.DRAFT


def test_workflow_button_refuses_a_stale_page(browser, login_as):
    editor = login_as("editor")
    post = make_post(editor, status=PostStatus.REVIEW)
    page = text(browser.get(edit_url(post)))
    stale = str(post.version)
    post.title = "Changed meanwhile"
    db.session.commit()
    response = browser.client.post(
        f"/admin/posts/workflow/{post.id}/",
        data={"csrf_token": csrf_token_from(page), "transition": "publish", "version": stale},
    )
    assert response.status_code == 409
    assert fresh(post).status == PostStatus.REVIEW


def test_unknown_transition_is_a_bad_request(browser, login_as):
    editor = login_as("editor")
    post = make_post(editor, status=PostStatus.DRAFT)
    assert move(browser, post, "explode").status_code == 400


def test_review_status_shows_in_list_and_filters(browser, login_as):
    editor = login_as("editor")
    waiting = make_post(editor, title="Waiting one", status=PostStatus.REVIEW)
    make_post(editor, title="Plain draft", status=PostStatus.DRAFT)
    page = text(browser.get(LIST + "?flt0_status_equals=review"))
    assert waiting.title in page and "Plain draft" not in page
    home = text(browser.get("/admin/"))
    assert "Waiting one" in home


def test_editor_form_offers_review_status(browser, login_as):
    editor = login_as("editor")
    post = make_post(editor, status=PostStatus.DRAFT)
    fields = form_fields(browser, edit_url(post))
    assert fields["version"] == str(post.version)
    response = submit_admin(browser, edit_url(post), {"status": "review"})
    assert response.status_code == 302
    assert fresh(post).status == PostStatus.REVIEW
    assert events(post)[-1] == "submit"
