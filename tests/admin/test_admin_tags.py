"""The tags dashboard: editors create, rename and delete; authors are refused."""

from sqlalchemy import select

from cms.extensions import db
from cms.models import Tag
from tests.admin.admin_helpers import delete_row, row_exists, submit_admin, text
from tests.factories import make_post, make_tag
from tests.helpers import csrf_token_from

NEW = "/admin/tags/new/"
LIST = "/admin/tags/"


def tag_named(name: str) -> Tag | None:
    """Return the tag with this name, read fresh."""
    db.session.expire_all()
    return db.session.scalars(select(Tag).where(Tag.name == name)).first()


def test_editor_creates_renames_and_deletes_a_tag(browser, login_as):
    login_as("editor")
    assert submit_admin(browser, NEW, {"name": "  Open Source ", "slug": ""}).status_code == 302
    tag = tag_named("Open Source")
    assert tag.slug == "open-source"

    edit = f"/admin/tags/edit/?id={tag.id}"
    response = submit_admin(browser, edit, {"name": "FOSS", "slug": "Free Software!"})
    assert response.status_code == 302
    tag = tag_named("FOSS")
    assert tag.slug == "free-software"
    assert "FOSS" in text(browser.get(LIST))

    ident = tag.id
    assert delete_row(browser, LIST, ident).status_code == 302
    assert not row_exists(Tag, ident)


def test_tag_slugs_stay_unique_and_names_cannot_repeat(browser, login_as):
    login_as("editor")
    make_tag("News")
    # A different name whose address would clash gets a numbered address.
    assert submit_admin(browser, NEW, {"name": "news!"}).status_code == 302
    assert tag_named("news!").slug == "news-2"
    # The same name is refused with a message, not an error page.
    response = submit_admin(browser, NEW, {"name": "News"})
    assert response.status_code == 200
    assert "This name is taken." in text(response)
    assert len(db.session.scalars(select(Tag)).all()) == 2


def test_deleting_a_tag_keeps_its_posts(browser, login_as):
    editor = login_as("editor")
    tag = make_tag("Gone")
    post = make_post(editor, tags=[tag])
    assert delete_row(browser, LIST, tag.id).status_code == 302
    db.session.expire_all()
    assert post.tags == []


def test_authors_are_refused_every_tag_page(browser, login_as):
    login_as("author")
    tag = make_tag("Kept")
    for url in (LIST, NEW, f"/admin/tags/edit/?id={tag.id}", f"/admin/tags/details/?id={tag.id}"):
        assert browser.get(url).status_code == 403, url
    token = csrf_token_from(text(browser.get("/")))
    response = browser.client.post(NEW, data={"csrf_token": token, "name": "Sneaky"})
    assert response.status_code == 403
    response = browser.client.post(
        "/admin/tags/delete/", data={"csrf_token": token, "id": str(tag.id)}
    )
    assert response.status_code == 403
    assert [t.name for t in db.session.scalars(select(Tag))] == ["Kept"]
