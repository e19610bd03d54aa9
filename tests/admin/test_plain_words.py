"""The dashboard speaks of posts, files and people, never of "records" (nor "Datensätze")."""

import re

import pytest

from cms.extensions import db
from cms.models import AuditEvent, NavItem, PostKind, PostStatus, Role, Tag
from cms.services.media import store_upload
from tests.admin.admin_helpers import delete_row, submit_admin, text
from tests.factories import image_bytes, make_post, make_tag, make_user

# Flask-Admin's word, in English and German, anywhere in a page: text, titles, confirmations.
RECORD = re.compile(r"record|datensatz|datensätze", re.IGNORECASE)
# The lists each role opens, as (list address, details/edit view prefix, sample key).
LISTS = {
    "author": ["posts", "pages", "files"],
    "editor": ["posts", "pages", "files", "tags", "navigation", "trash"],
    "admin": [
        "posts", "pages", "files", "tags", "navigation", "trash", "users", "roles", "audit",
    ],
}  # fmt: skip


def make_world(owner) -> dict[str, int]:
    """Create one row of each kind the dashboard lists and return their ids by view."""
    # Drafts: authors edit only those.
    post = make_post(owner, title="A post", status=PostStatus.DRAFT)
    page = make_post(owner, title="A page", kind=PostKind.PAGE, status=PostStatus.DRAFT)
    trashed = make_post(owner, title="Thrown away")
    trashed.status = "trashed"
    tag = make_tag("Sample")
    nav = NavItem(label="Sample link", url="/sample", position=1)
    role = Role(name="custom", description="A role made by the test")
    upload = store_upload(db.session, image_bytes(), "sample.png", owner)
    db.session.add_all([nav, role])
    db.session.commit()
    event = db.session.scalar(db.select(AuditEvent).limit(1))
    return {
        "posts": post.id, "pages": page.id, "files": upload.id, "tags": tag.id,
        "navigation": nav.id, "trash": trashed.id, "users": owner.id, "roles": role.id,
        "audit": event.id if event else None,
    }  # fmt: skip


def pages_of(role: str, ids: dict) -> list[str]:
    """Return every dashboard page this role opens: lists (also empty searches), forms."""
    urls = ["/admin/"]
    for view in LISTS[role]:
        base = f"/admin/{view}/"
        urls += [base, f"{base}?search=nothing-like-this"]
        if view not in ("trash", "audit"):
            urls.append(f"{base}new/")
        if ids.get(view) and view not in ("trash", "audit"):
            urls.append(f"{base}edit/?id={ids[view]}")
        if ids.get(view):
            urls.append(f"{base}details/?id={ids[view]}")
    return urls


def choose_language(browser, language: str) -> None:
    """Switch the dashboard's language with the navbar's form (its CSRF token included)."""
    form = browser.form("/admin/", match="/language")
    browser.client.post("/language", data=dict(form["fields"], language=language))
    assert "Beiträge" in text(browser.get("/admin/posts/")) or language == "en"


def without_scripts(html: str) -> str:
    """Return a page without its script tags (library code is no words a person reads)."""
    return re.sub(r"<script\b.*?</script>", "", html, flags=re.DOTALL)


def assert_plain(where: str, html: str) -> None:
    """Fail, quoting the place, if a page speaks of records."""
    page = without_scripts(html)
    found = RECORD.search(page)
    assert found is None, f"{where}: …{page[max(found.start() - 80, 0) : found.end() + 80]}…"


@pytest.mark.parametrize("language", ["en", "de"])
@pytest.mark.parametrize("role", ["author", "editor", "admin"])
def test_no_page_speaks_of_records(browser, login_as, role, language):
    user = login_as(role)
    ids = make_world(user)
    choose_language(browser, language)
    for url in pages_of(role, ids):
        response = browser.get(url)
        assert response.status_code == 200, url
        assert_plain(url, text(response))


@pytest.mark.parametrize("language", ["en", "de"])
def test_messages_after_save_and_delete_name_the_thing(browser, login_as, language):
    login_as("admin")
    choose_language(browser, language)
    created = submit_admin(browser, "/admin/tags/new/", {"name": "Birds", "slug": ""})
    assert created.status_code == 302
    tag = db.session.scalar(db.select(Tag).where(Tag.name == "Birds"))
    shown = [text(browser.get("/admin/tags/"))]
    submit_admin(browser, f"/admin/tags/edit/?id={tag.id}", {"name": "Birds of prey"})
    shown.append(text(browser.get("/admin/tags/")))
    delete_row(browser, "/admin/tags/", tag.id)
    shown.append(text(browser.get("/admin/tags/")))
    # A form sent with a field missing: the plain "nothing was saved" words.
    refused = submit_admin(browser, "/admin/tags/new/", {"name": ""})
    shown.append(text(refused))
    for number, page in enumerate(shown):
        assert_plain(f"page {number}", page)
    # A post refused for a missing title: its form says why, nothing about records.
    refused_post = submit_admin(browser, "/admin/posts/new/", {"title": "", "workflow": "save"})
    assert refused_post.status_code == 200
    assert_plain("refused post", text(refused_post))
    expected = {
        "en": ["Tag created.", "Tag saved.", "Tag deleted.", "Nothing was saved"],
        "de": ["Schlagwort angelegt.", "Schlagwort gespeichert.", "Schlagwort gelöscht.",
               "Nichts wurde gespeichert"],
    }[language]  # fmt: skip
    for page, words in zip(shown, expected, strict=True):
        assert words in page


def test_users_list_shows_times_in_words(browser, login_as):
    login_as("admin")
    make_user("someone@example.com", roles=("author",))
    page = text(browser.get("/admin/users/"))
    # No raw timestamps with microseconds: a <time> with a valid value and words.
    assert not re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+", page)
    assert re.search(r'<time datetime="\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ" title="[^"]+">', page)
    assert "ago</time>" in page or "now</time>" in page
