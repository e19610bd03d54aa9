"""The trash: deleting moves there; editors restore with slug, tags and revisions; admins empty."""

from cms.extensions import db
from cms.models import AuditEvent, Post, PostStatus, Revision, Tag
from tests.admin.admin_helpers import bulk_action, delete_row, text
from tests.factories import make_post, make_tag
from tests.helpers import csrf_token_from

POSTS = "/admin/posts/"
TRASH = "/admin/trash/"


def fresh(ident) -> Post | None:
    """Return the post with this id as stored now."""
    db.session.expire_all()
    return db.session.get(Post, ident)


def test_delete_moves_to_trash_and_hides_from_readers(browser, login_as, client):
    editor = login_as("editor")
    post = make_post(editor, title="Going away", tags=[make_tag("Keep")])
    assert client.get(f"/posts/{post.slug}").status_code == 200
    assert delete_row(browser, POSTS, post.id).status_code == 302
    stored = fresh(post.id)
    assert stored.status == PostStatus.TRASHED and stored.trashed_at is not None
    assert client.get(f"/posts/{post.slug}").status_code == 404
    assert "Going away" not in text(browser.get(POSTS))
    assert "Going away" in text(browser.get(TRASH))
    # Nothing in the trash is edited.
    assert browser.get(f"/admin/posts/edit/?id={post.id}").status_code == 404


def test_restore_gives_back_slug_tags_and_revisions(browser, login_as):
    editor = login_as("editor")
    post = make_post(editor, title="Come back", tags=[make_tag("Kept tag")])
    slug, ident = post.slug, post.id
    revisions_before = db.session.scalar(
        db.select(db.func.count(Revision.id)).where(Revision.post_id == ident)
    )
    bulk_action(browser, POSTS, "delete", [ident])
    assert fresh(ident).status == PostStatus.TRASHED
    assert bulk_action(browser, TRASH, "restore", [ident]).status_code == 302
    stored = fresh(ident)
    assert stored.status == PostStatus.DRAFT and stored.trashed_at is None
    assert stored.slug == slug
    assert [tag.name for tag in stored.tags] == ["Kept tag"]
    events = db.session.scalars(
        db.select(Revision.event).where(Revision.post_id == ident).order_by(Revision.number)
    ).all()
    assert len(events) == revisions_before + 2
    assert events[-2:] == ["trash", "untrash"]


def test_editor_cannot_empty_the_trash(browser, login_as):
    editor = login_as("editor")
    post = make_post(editor)
    bulk_action(browser, POSTS, "delete", [post.id])
    page = text(browser.get(TRASH))
    assert "Empty the trash" not in page
    token = csrf_token_from(page)
    assert browser.client.post(TRASH + "empty/", data={"csrf_token": token}).status_code == 403
    assert bulk_action(browser, TRASH, "purge", [post.id]).status_code == 403
    assert fresh(post.id) is not None


def test_admin_empties_the_trash_for_good(browser, login_as):
    admin = login_as("admin")
    kept = make_post(admin, title="Still live")
    gone = make_post(admin, title="Trashed", tags=[make_tag("Shared")]).id
    bulk_action(browser, POSTS, "delete", [gone])
    page = text(browser.get(TRASH))
    assert "Empty the trash" in page
    response = browser.client.post(TRASH + "empty/", data={"csrf_token": csrf_token_from(page)})
    assert response.status_code == 302
    assert fresh(gone) is None
    assert fresh(kept.id) is not None
    # Its revisions went with it; the tag stays for other posts.
    assert not db.session.scalar(db.select(Revision).where(Revision.post_id == gone))
    assert db.session.scalar(db.select(Tag).where(Tag.name == "Shared"))
    assert db.session.scalar(db.select(AuditEvent).where(AuditEvent.action == "purge"))


def test_empty_needs_a_csrf_token(browser, login_as):
    admin = login_as("admin")
    post = make_post(admin)
    bulk_action(browser, POSTS, "delete", [post.id])
    assert browser.client.post(TRASH + "empty/").status_code == 400
    assert fresh(post.id) is not None


def test_trash_refuses_rows_that_are_not_trashed(browser, login_as):
    editor = login_as("editor")
    live = make_post(editor)
    assert bulk_action(browser, TRASH, "restore", [live.id]).status_code == 404
    assert browser.get(f"{TRASH}details/?id={live.id}").status_code == 404
    assert fresh(live.id).status == PostStatus.PUBLISHED


def test_author_has_no_trash(browser, login_as):
    author = login_as("author")
    draft = make_post(author, status=PostStatus.DRAFT)
    delete_row(browser, POSTS, draft.id)
    assert fresh(draft.id).status == PostStatus.TRASHED
    assert browser.get(TRASH).status_code == 403
