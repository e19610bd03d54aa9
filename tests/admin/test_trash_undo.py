"""Trash as people expect: "Move to trash", a message with Undo, Restore on each trash row."""

import re
from html.parser import HTMLParser

from cms.extensions import db
from cms.models import AuditEvent, Post, PostKind, PostStatus, Revision
from cms.services.media import store_upload
from tests.admin.admin_helpers import bulk_action, delete_row, text
from tests.factories import PASSWORD, image_bytes, make_post, make_tag, make_user
from tests.helpers import csrf_token_from, parse_forms

POSTS = "/admin/posts/"
TRASH = "/admin/trash/"


def fresh(ident) -> Post:
    """Return the post as stored now."""
    db.session.expire_all()
    return db.session.get(Post, ident)


def undo_form(page: str) -> dict:
    """Return the Undo form of the message on a page."""
    for form in parse_forms(page):
        if form["action"].endswith("/undo/"):
            return form
    raise AssertionError("no Undo form on the page")


def press_undo(browser, page: str, **changes):
    """Press the page's Undo button (its own CSRF token and note), optionally altered."""
    form = undo_form(page)
    return browser.client.post(form["action"], data={**form["fields"], **changes})


def test_moving_to_trash_says_so_and_undo_puts_the_post_back_as_it_was(browser, login_as):
    editor = login_as("editor")
    post = make_post(editor, title="Spring sale", tags=[make_tag("Sales")])
    assert post.status == PostStatus.PUBLISHED
    listing = text(browser.get(POSTS))
    # The row's button asks plainly, naming the post.
    assert 'data-cms-confirm="Move “Spring sale” to trash? Editors can restore it' in listing
    assert delete_row(browser, POSTS, post.id).status_code == 302
    assert fresh(post.id).status == PostStatus.TRASHED
    page = text(browser.get(POSTS))
    assert "“Spring sale” moved to trash." in page
    form = undo_form(page)
    assert form["fields"]["csrf_token"] and form["fields"]["url"] == POSTS
    response = press_undo(browser, page)
    assert response.status_code == 302 and response.location.endswith(POSTS)
    stored = fresh(post.id)
    # Published again, not a draft: Undo puts back what was there.
    assert stored.status == PostStatus.PUBLISHED and stored.trashed_at is None
    assert [tag.name for tag in stored.tags] == ["Sales"]
    assert "“Spring sale” is back." in text(browser.get(POSTS))
    events = db.session.scalars(
        db.select(Revision.event).where(Revision.post_id == post.id).order_by(Revision.number)
    ).all()
    assert events[-2:] == ["trash", "untrash"]
    assert db.session.scalar(db.select(AuditEvent).where(AuditEvent.action == "untrash"))
    # The note is used up: the same Undo again changes nothing.
    assert "is back" not in text(browser.get(POSTS))
    again = press_undo(browser, page)
    assert again.status_code == 302 and fresh(post.id).status == PostStatus.PUBLISHED


def test_bulk_move_to_trash_gets_one_undo_for_all(browser, login_as):
    editor = login_as("editor")
    posts = [make_post(editor, title=f"Bulk {n}", status=PostStatus.DRAFT) for n in range(3)]
    review = make_post(editor, title="In review", status=PostStatus.REVIEW)
    ids = [post.id for post in [*posts, review]]
    assert bulk_action(browser, POSTS, "delete", ids).status_code == 302
    page = text(browser.get(POSTS))
    assert "4 items moved to trash." in page
    assert press_undo(browser, page).status_code == 302
    assert [fresh(ident).status for ident in ids] == ["draft"] * 3 + ["review"]
    assert "4 items are back." in text(browser.get(POSTS))


def test_an_author_undoes_trashing_their_own_draft(browser, login_as):
    author = login_as("author")
    post = make_post(author, title="Mine", status=PostStatus.DRAFT)
    delete_row(browser, POSTS, post.id)
    page = text(browser.get(POSTS))
    assert press_undo(browser, page).status_code == 302
    assert fresh(post.id).status == PostStatus.DRAFT


def test_pages_have_their_own_undo(browser, login_as):
    editor = login_as("editor")
    page_row = make_post(editor, title="About", kind=PostKind.PAGE)
    delete_row(browser, "/admin/pages/", page_row.id)
    page = text(browser.get("/admin/pages/"))
    assert undo_form(page)["action"] == "/admin/pages/undo/"
    press_undo(browser, page)
    assert fresh(page_row.id).status == PostStatus.PUBLISHED


def test_undo_refuses_a_forged_a_foreign_or_an_outdated_note(browser, login_as, client):
    editor = login_as("editor")
    post = make_post(editor, title="Careful")
    delete_row(browser, POSTS, post.id)
    page = text(browser.get(POSTS))
    note = undo_form(page)["fields"]["note"]
    # Forged: one character changed.
    forged = note[:-2] + ("A" if note[-2] != "A" else "B") + note[-1]
    response = press_undo(browser, page, note=forged)
    assert response.status_code == 302 and fresh(post.id).status == PostStatus.TRASHED
    assert "This undo has expired" in text(browser.get(POSTS))
    # Without the CSRF token: refused before anything happens.
    refused = browser.client.post(f"{POSTS}undo/", data={"note": note})
    assert refused.status_code == 400 and fresh(post.id).status == PostStatus.TRASHED
    # Someone else's session cannot use the note.
    browser.logout()
    login_as("editor", email="other@example.com")
    press_undo(browser, page.replace(csrf_token_from(page), browser.csrf("/admin/")))
    assert fresh(post.id).status == PostStatus.TRASHED
    assert "This undo is not yours." in text(browser.get(POSTS))
    # Changed since (restored and trashed again by someone else): the old note is stale.
    bulk_action(browser, TRASH, "restore", [post.id])
    bulk_action(browser, POSTS, "delete", [post.id])
    browser.logout()
    browser.login(editor.email, PASSWORD)
    press_undo(browser, page.replace(csrf_token_from(page), browser.csrf("/admin/")))
    assert fresh(post.id).status == PostStatus.TRASHED
    assert "It changed since it was moved. Nothing was restored." in text(browser.get(POSTS))


def test_restore_is_a_row_button_in_the_trash(browser, login_as):
    editor = login_as("editor")
    post = make_post(editor, title="Come back")
    bulk_action(browser, POSTS, "delete", [post.id])
    # Undo offered, but not taken: restore from the trash list instead.
    browser.get(POSTS)
    listing = text(browser.get(TRASH))
    forms = [form for form in parse_forms(listing) if form["action"].endswith("/restore/")]
    assert len(forms) == 1 and forms[0]["fields"]["id"] == str(post.id)
    assert forms[0]["fields"]["csrf_token"]
    response = browser.client.post(forms[0]["action"], data=forms[0]["fields"])
    assert response.status_code == 302
    assert fresh(post.id).status == PostStatus.DRAFT
    assert "“Come back” restored as a draft." in text(browser.get(TRASH))
    # Only what is in the trash can be restored; junk ids are refused.
    token = csrf_token_from(listing)
    for junk in (str(post.id), "abc", "-1"):
        answer = browser.client.post(f"{TRASH}restore/", data={"csrf_token": token, "id": junk})
        assert answer.status_code == 404


def test_authors_get_no_trash_button_on_what_they_may_not_trash(browser, login_as):
    author = login_as("author")
    other = make_user("other@example.com", roles=("author",))
    mine = make_post(author, title="My draft", status=PostStatus.DRAFT)
    make_post(author, title="My live post")
    make_post(other, title="Not mine", status=PostStatus.DRAFT)
    listing = text(browser.get(POSTS))
    buttons = re.findall(r'data-cms-confirm="Move “([^”]+)” to trash', listing)
    assert buttons == [mine.title]


class IdCollector(HTMLParser):
    """Collect every id attribute of a page."""

    def __init__(self):
        super().__init__()
        self.ids = []

    def handle_starttag(self, tag, attrs):
        self.ids += [value for name, value in attrs if name == "id"]


def test_list_pages_repeat_no_element_id(browser, login_as):
    admin = login_as("admin")
    for number in range(3):
        make_post(admin, title=f"Post {number}")
        make_tag(f"Tag {number}")
    trashed = make_post(admin, title="Gone")
    bulk_action(browser, POSTS, "delete", [trashed.id])
    for url in (POSTS, TRASH, "/admin/tags/", "/admin/users/", "/admin/pages/"):
        collector = IdCollector()
        collector.feed(text(browser.get(url)))
        repeated = {ident for ident in collector.ids if collector.ids.count(ident) > 1}
        assert not repeated, (url, repeated)


def test_undo_brings_a_post_back_as_a_draft_when_an_image_lost_its_alt_text(browser, login_as):
    editor = login_as("editor")
    image = store_upload(db.session, image_bytes(), "pier.png", editor)
    image.alt_text = "A pier at dusk"
    db.session.commit()
    body = f"![pier](/uploads/{image.stored_name})"
    post = make_post(editor, title="Pier post", body=body)
    assert post.status == PostStatus.PUBLISHED
    assert delete_row(browser, POSTS, post.id).status_code == 302
    page = text(browser.get(POSTS))
    # Meanwhile the image's alt text is taken away: readers must not get it undescribed.
    image.alt_text = ""
    db.session.commit()
    assert press_undo(browser, page).status_code == 302
    assert fresh(post.id).status == PostStatus.DRAFT
