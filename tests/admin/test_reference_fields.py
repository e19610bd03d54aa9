"""Fields that reference files or rows take only what the person may see (issue 10, item 8).

The social image of posts and pages, the author, the tags, the page of a menu item, and a
restored revision's social image: the choices shown and the values accepted are the same set,
checked on the server. Refused values leave the database as it was.
"""

import re

import pytest
from sqlalchemy import select

from cms.extensions import db
from cms.models import File, NavItem, Post, PostKind, PostStatus, utcnow
from cms.services.media import store_upload
from tests.admin.admin_helpers import form_fields, submit_admin, text
from tests.factories import PASSWORD, image_bytes, make_post, make_tag, make_user
from tests.helpers import parse_forms
from tests.helpers import snapshot as all_rows

NOT_OFFERED = "This choice is not available to you"
# Values that name nothing an author may use, besides someone else's private file.
JUNK_IDS = ("999999", "abc", "-1", "0", "1.0", " 1", "1 OR 1=1", "%31", "1e0", "0x1")


def snapshot() -> dict:
    """Return every row but the autosave slots: a refused save keeps its form there, by design
    (tests/admin/test_autosave.py), and changes nothing else."""
    rows = all_rows()
    rows.pop("autosave_slot", None)
    return rows


def options(html: str, name: str) -> set[str]:
    """Return the values offered by the <select name=...> of a page."""
    match = re.search(rf'<select[^>]*name="{name}"[^>]*>(.*?)</select>', html, re.S)
    assert match, f"no select {name}"
    return set(re.findall(r'<option[^>]*value="([^"]*)"', match.group(1)))


def upload(who, name: str, shade: int) -> File:
    """Store an image uploaded by `who`."""
    record = store_upload(db.session, image_bytes(color=(shade, 10, 10)), name, who)
    db.session.commit()
    return record


@pytest.fixture
def library(ctx):
    """Files of three people: the author's own, another author's private, a public one."""
    other = make_user("other@example.com", roles=("author",))
    editor = make_user("boss@example.com", roles=("editor",))
    files = {
        "private": upload(other, "other-private.png", 20),
        "public": upload(other, "other-public.png", 40),
        "editors": upload(editor, "editor-private.png", 60),
    }
    make_post(other, title="Live", social_image=files["public"], status=PostStatus.PUBLISHED)
    files["other"], files["editor"] = other, editor
    return files


def refused(response) -> bool:
    """Return whether a form answer refused the save (a 4xx, or the form again with an error)."""
    if response.status_code >= 400:
        return True
    return response.status_code == 200 and NOT_OFFERED in text(response)


@pytest.mark.parametrize("view", ["posts", "pages"])
def test_authors_are_offered_only_their_own_and_public_images(browser, login_as, library, view):
    author = login_as("author")
    own = upload(author, "mine.png", 80)
    offered = options(text(browser.get(f"/admin/{view}/new/")), "social_image")
    assert offered == {"__None", str(own.id), str(library["public"].id)}


@pytest.mark.parametrize("view", ["posts", "pages"])
def test_editors_are_offered_every_image(browser, login_as, library, view):
    login_as("editor")
    offered = options(text(browser.get(f"/admin/{view}/new/")), "social_image")
    wanted = {str(library[key].id) for key in ("private", "public", "editors")}
    assert wanted <= offered


@pytest.mark.parametrize("view", ["posts", "pages"])
def test_an_author_cannot_attach_another_persons_private_image(browser, login_as, library, view):
    author = login_as("author")
    own = upload(author, "mine.png", 80)
    post = make_post(
        author,
        title="Mine",
        status=PostStatus.DRAFT,
        kind=PostKind.PAGE if view == "pages" else PostKind.POST,
        social_image=own,
    )
    for value in (str(library["private"].id), str(library["editors"].id), *JUNK_IDS):
        before = snapshot()
        created = submit_admin(
            browser, f"/admin/{view}/new/", {"title": "Sneaky", "social_image": value}
        )
        assert refused(created), (value, created.status_code)
        edited = submit_admin(browser, f"/admin/{view}/edit/?id={post.id}", {"social_image": value})
        assert refused(edited), (value, edited.status_code)
        assert snapshot() == before, value
    db.session.expire_all()
    assert db.session.get(Post, post.id).social_image_id == own.id
    assert db.session.scalar(select(Post.id).where(Post.title == "Sneaky")) is None


def test_an_author_may_attach_own_and_public_images_and_clear_them(browser, login_as, library):
    author = login_as("author")
    own = upload(author, "mine.png", 80)
    post = make_post(author, title="Mine", status=PostStatus.DRAFT)
    for record in (own, library["public"], None):
        value = str(record.id) if record else "__None"
        response = submit_admin(
            browser, f"/admin/posts/edit/?id={post.id}", {"social_image": value}
        )
        assert response.status_code == 302, value
        db.session.expire_all()
        assert db.session.get(Post, post.id).social_image_id == (record.id if record else None)


def test_an_image_the_post_already_shows_stays_selectable(browser, login_as, library):
    """An editor set an image the author cannot otherwise see: the author's saves keep it."""
    author = login_as("author")
    post = make_post(
        author, title="Given", status=PostStatus.DRAFT, social_image=library["editors"]
    )
    url = f"/admin/posts/edit/?id={post.id}"
    assert str(library["editors"].id) in options(text(browser.get(url)), "social_image")
    assert form_fields(browser, url)["social_image"] == str(library["editors"].id)
    assert submit_admin(browser, url, {"title": "Given again"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(Post, post.id).social_image_id == library["editors"].id
    # It is not offered on another post of theirs.
    other = make_post(author, title="Other", status=PostStatus.DRAFT)
    offered = options(text(browser.get(f"/admin/posts/edit/?id={other.id}")), "social_image")
    assert str(library["editors"].id) not in offered


def test_an_editor_may_attach_anyones_image(browser, login_as, library):
    editor = login_as("editor")
    post = make_post(editor, title="Editorial", status=PostStatus.DRAFT)
    url = f"/admin/posts/edit/?id={post.id}"
    response = submit_admin(browser, url, {"social_image": str(library["private"].id)})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Post, post.id).social_image_id == library["private"].id


def test_the_author_field_takes_only_active_staff(browser, login_as, ctx):
    editor = login_as("editor")
    reader = make_user("reader@example.com", roles=("reader",))
    gone = make_user("gone@example.com", roles=("author",), active=False)
    post = make_post(editor, title="Owned", status=PostStatus.DRAFT)
    url = f"/admin/posts/edit/?id={post.id}"
    for value in (str(reader.id), str(gone.id), *JUNK_IDS, "__None", ""):
        before = snapshot()
        response = submit_admin(browser, url, {"author": value})
        message = "This field is required" if value == "" else NOT_OFFERED
        assert response.status_code == 200 and message in text(response), value
        assert snapshot() == before, value
    db.session.expire_all()
    assert db.session.get(Post, post.id).author_id == editor.id


def test_unknown_tags_are_refused(browser, login_as, ctx):
    author = login_as("author")
    tag = make_tag("Real")
    post = make_post(author, title="Tagged", status=PostStatus.DRAFT, tags=[tag])
    url = f"/admin/posts/edit/?id={post.id}"
    for value in JUNK_IDS:
        before = snapshot()
        response = submit_admin(browser, url, {"tags": [str(tag.id), value]})
        assert response.status_code == 200 and NOT_OFFERED in text(response), value
        assert snapshot() == before, value


def test_a_menu_item_takes_only_a_page_that_is_not_trashed(browser, login_as, ctx):
    editor = login_as("editor")
    page = make_post(editor, title="About", kind=PostKind.PAGE)
    trashed = make_post(
        editor, title="Old", kind=PostKind.PAGE, status=PostStatus.TRASHED, trashed_at=utcnow()
    )
    post = make_post(editor, title="Not a page", kind=PostKind.POST)
    item = NavItem(label="About", page=page, url="", position=10)
    db.session.add(item)
    db.session.commit()
    assert str(trashed.id) not in options(text(browser.get("/admin/navigation/new/")), "page")
    for value in (str(trashed.id), str(post.id), *JUNK_IDS):
        before = snapshot()
        created = submit_admin(
            browser, "/admin/navigation/new/", {"label": "Sneaky", "page": value, "url": ""}
        )
        assert created.status_code == 200 and NOT_OFFERED in text(created), value
        edited = submit_admin(browser, f"/admin/navigation/edit/?id={item.id}", {"page": value})
        assert edited.status_code == 200 and NOT_OFFERED in text(edited), value
        assert snapshot() == before, value


def restore_form(browser, post, number: int) -> dict:
    """Return the history page's form that restores a whole revision."""
    page = text(browser.get(f"/admin/posts/history/{post.id}/"))
    for form in parse_forms(page):
        fields = form["fields"]
        wanted = fields.get("revision") == str(number) and not fields.get("field")
        if "/restore/" in form["action"] and wanted:
            return form
    raise AssertionError(f"no restore form for revision {number}")


def test_restoring_a_revision_does_not_attach_a_file_the_restorer_may_not_use(
    app, browser, library
):
    """A revision names an editor's private image; the author restoring it does not get it."""
    author = make_user("writer@example.com", roles=("author",))
    post = make_post(author, title="First", status=PostStatus.DRAFT)
    # An editor gave the draft their private image, then took it away again.
    post.social_image_id = library["editors"].id
    post.title = "Second"
    db.session.commit()
    post.social_image_id = None
    post.title = "Third"
    db.session.commit()
    assert browser.login("writer@example.com", PASSWORD).status_code == 302
    form = restore_form(browser, post, 2)
    response = browser.client.post(form["action"], data=form["fields"])
    assert response.status_code == 302
    db.session.expire_all()
    restored = db.session.get(Post, post.id)
    assert (restored.title, restored.social_image_id) == ("Second", None)
    assert "a file you may not use" in text(browser.get(f"/admin/posts/edit/?id={post.id}"))
    # An editor restoring the same revision gets the image back.
    browser.logout()
    assert browser.login("boss@example.com", PASSWORD).status_code == 302
    form = restore_form(browser, post, 2)
    assert browser.client.post(form["action"], data=form["fields"]).status_code == 302
    db.session.expire_all()
    assert db.session.get(Post, post.id).social_image_id == library["editors"].id
