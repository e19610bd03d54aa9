"""Tags typed into the post form: created at save for editors and admins (and authors when
AUTHORS_MAY_CREATE_TAGS allows), matched case-insensitively, refused clearly otherwise."""

import re

import pytest
from sqlalchemy import insert, select

from cms.extensions import db
from cms.models import Post, PostStatus, Tag
from cms.services import tags as tag_rules
from tests.admin.admin_helpers import submit_admin, text
from tests.factories import make_post, make_tag

NEW = "/admin/posts/new/"


def only_post() -> Post:
    """Return the one post in the database."""
    db.session.expire_all()
    return db.session.scalars(select(Post)).one()


def tag_names() -> list[str]:
    """Return every tag's name, sorted."""
    db.session.expire_all()
    return sorted(db.session.scalars(select(Tag.name)))


@pytest.mark.parametrize("role", ["editor", "admin"])
def test_publishers_create_tags_while_writing(browser, login_as, role):
    login_as(role)
    python = make_tag("Python")
    page = text(browser.get(NEW))
    tags_input = re.search(r'<input[^>]*name="tags"[^>]*>', page)[0]
    assert 'data-role="select2-tags"' in tags_input and "Python" in tags_input
    # An existing id, a "new:" name, and a name as select2 sends a typed one.
    value = f"{python.id},new:Web Frameworks,C++#1733650000123 "
    response = submit_admin(browser, NEW, {"title": "Tagged", "tags": value, "workflow": "save"})
    assert response.status_code == 302
    post = only_post()
    assert [tag.name for tag in post.tags] == ["C++", "Python", "Web Frameworks"]
    slugs = {tag.name: tag.slug for tag in post.tags}
    assert slugs["Web Frameworks"] == "web-frameworks" and slugs["C++"] == "c"


def test_new_names_reuse_existing_tags_case_insensitively(browser, login_as):
    login_as("editor")
    make_tag("Python")
    value = "new:python,new:  PYTHON ,new:Flask,new:flask"
    assert submit_admin(browser, NEW, {"title": "x", "tags": value}).status_code == 302
    assert tag_names() == ["Flask", "Python"]
    assert [tag.name for tag in only_post().tags] == ["Flask", "Python"]


def test_new_tags_get_unique_addresses(browser, login_as):
    login_as("editor")
    db.session.add(Tag(name="Café old", slug="cafe"))
    db.session.commit()
    value = "new:Café,new:Cafe!"
    assert submit_admin(browser, NEW, {"title": "x", "tags": value}).status_code == 302
    assert sorted(tag.slug for tag in only_post().tags) == ["cafe-2", "cafe-3"]


@pytest.mark.parametrize(
    ("value", "message"),
    [("new:", "cannot be empty"), ("new:" + "x" * 65, "too long"), ("new:\x00\t ", "empty")],
)
def test_bad_names_are_refused_and_nothing_is_saved(browser, login_as, value, message):
    login_as("editor")
    response = submit_admin(browser, NEW, {"title": "Bad tag", "tags": value})
    assert response.status_code == 200 and message in text(response)
    assert tag_names() == [] and db.session.scalars(select(Post)).first() is None


def test_authors_pick_existing_tags_only(browser, login_as):
    author = login_as("author")
    python = make_tag("Python")
    page = text(browser.get(NEW))
    assert re.search(r'<select[^>]*name="tags"', page)
    assert 'data-role="select2-tags"' not in page
    # Existing ones, also by name, are fine.
    fields = {"title": "Mine", "tags": [str(python.id), "new:python"]}
    assert submit_admin(browser, NEW, fields).status_code == 302
    assert [tag.name for tag in only_post().tags] == ["Python"]
    # A crafted new name: refused, clearly, with nothing saved.
    draft = make_post(author, title="Draft", status=PostStatus.DRAFT)
    url = f"/admin/posts/edit/?id={draft.id}"
    response = submit_admin(browser, url, {"title": "Changed", "tags": "new:Sneaky"})
    assert response.status_code == 200
    assert "you may only choose existing tags" in text(response)
    assert tag_names() == ["Python"]
    db.session.expire_all()
    assert db.session.get(Post, draft.id).title == "Draft"


def test_authors_may_create_tags_when_the_setting_allows(app, browser, login_as, monkeypatch):
    monkeypatch.setitem(app.config, "AUTHORS_MAY_CREATE_TAGS", True)
    login_as("author")
    assert 'data-role="select2-tags"' in text(browser.get(NEW))
    fields = {"title": "Mine", "tags": "new:Gardening"}
    assert submit_admin(browser, NEW, fields).status_code == 302
    assert tag_names() == ["Gardening"]


def test_a_refused_form_shows_the_typed_new_tags_again(browser, login_as):
    login_as("editor")
    fields = {"title": "x", "canonical_url": "javascript:alert(1)", "tags": "new:Kept"}
    response = submit_admin(browser, NEW, fields)
    assert response.status_code == 200
    tags_input = re.search(r'<input[^>]*name="tags"[^>]*>', text(response))[0]
    assert "new:Kept" in tags_input
    assert tag_names() == []


def test_a_tag_created_meanwhile_by_someone_else_is_used_not_doubled(
    app, browser, login_as, monkeypatch
):
    """The form saw no "Kite"; another writer creates "kite" before the save writes."""
    login_as("editor")
    original = tag_rules.find_by_names
    calls = []

    def racing(names):
        calls.append(names)
        if len(calls) == 1:
            # Validation reads first: nothing yet. Then the other writer commits.
            found = original(names)
            with db.engine.begin() as conn:
                conn.execute(insert(Tag).values(name="kite", slug="kite"))
            return found
        return original(names)

    monkeypatch.setattr(tag_rules, "find_by_names", racing)
    response = submit_admin(
        browser, NEW, {"title": "Windy", "tags": "new:Kite", "workflow": "save"}
    )
    assert response.status_code == 302
    assert len(calls) == 2
    assert tag_names() == ["kite"]
    assert [tag.name for tag in only_post().tags] == ["kite"]
