"""The site menu: what readers see in the header, and the dashboard view that edits it."""

import re
from contextlib import contextmanager
from datetime import timedelta

import pytest
from markupsafe import escape
from sqlalchemy import event, select

from cms.extensions import db
from cms.models import AuditEvent, NavItem, PostKind, PostStatus, utcnow
from cms.services.navigation import is_allowed_url, menu_items
from tests.admin.admin_helpers import bulk_action, delete_row, submit_admin, text
from tests.factories import PASSWORD, make_post, make_user
from tests.helpers import csrf_token_from

LIST = "/admin/navigation/"
NEW = "/admin/navigation/new/"
HOSTILE = '"><script>alert(1)</script>'


@pytest.fixture
def editor(ctx):
    """An editor who writes pages (not logged in)."""
    return make_user("menu-editor@example.com", roles=("editor",))


@pytest.fixture
def login_as(browser, ctx):
    """Create a user with one role, log them in through the real form and return them."""

    def login(role: str):
        user = make_user(f"{role}@example.com", roles=(role,))
        assert browser.login(user.email, PASSWORD).status_code == 302, "login failed"
        return user

    return login


@pytest.fixture
def clock(monkeypatch):
    """Set the time readers live in, without sleeping."""

    def set_time(moment):
        monkeypatch.setattr("cms.services.posts.utcnow", lambda: moment)
        monkeypatch.setattr("cms.services.visibility.utcnow", lambda: moment)
        monkeypatch.setattr("cms.models.content.utcnow", lambda: moment)

    return set_time


@contextmanager
def statements():
    """Collect the SQL statements run inside the block."""
    seen: list[str] = []

    def listener(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)


def make_page(author, title, **fields):
    """Create a page (published an hour ago unless told otherwise)."""
    return make_post(author, title=title, kind=PostKind.PAGE, **fields)


def add_item(label, position=0, page=None, url=""):
    """Add a menu item and commit."""
    item = NavItem(label=label, position=position, page=page, url=url)
    db.session.add(item)
    db.session.commit()
    return item


def account_nav(page: str) -> str:
    """Return the HTML of the header's account links."""
    match = re.search(r'<nav class="account-nav" aria-label="Account">(.*?)</nav>', page, re.S)
    assert match, "no labelled account navigation"
    return match.group(1)


def site_nav(page: str) -> str:
    """Return the HTML of the site's main navigation."""
    match = re.search(r'<nav class="site-nav" aria-label="Main">(.*?)</nav>', page, re.S)
    assert match, "no labelled site navigation"
    return match.group(1)


def nav_links(page: str) -> list[tuple[str, str]]:
    """Return (href, label) of the links in the site navigation, in order."""
    return re.findall(r'<a href="([^"]*)"[^>]*>([^<]*)</a>', site_nav(page))


# --- What readers see -------------------------------------------------------------------------


def test_menu_lists_visible_pages_and_addresses_in_order(app, client, editor):
    about = make_page(editor, "About")
    draft = make_page(editor, "Draft page", status=PostStatus.DRAFT)
    review = make_page(editor, "Review page", status=PostStatus.REVIEW)
    trashed = make_page(editor, "Trashed page", status=PostStatus.TRASHED)
    later = make_page(editor, "Later page", published_at=utcnow() + timedelta(days=1))
    expired = make_page(editor, "Old page", unpublish_at=utcnow() - timedelta(minutes=1))
    post = make_post(editor, title="A post, not a page")
    add_item("Contact", position=30, url="/contact")
    add_item("About us", position=10, page=about)
    add_item("Python", position=20, url="https://www.python.org/")
    for number, hidden in enumerate((draft, review, trashed, later, expired, post)):
        add_item(f"Hidden {number}", position=number, page=hidden)
    with app.test_request_context("/"):
        shown = [(item.label, item.href) for item in menu_items()]
    assert shown == [
        ("About us", "/about"),
        ("Python", "https://www.python.org/"),
        ("Contact", "/contact"),
    ]
    page = text(client.get("/"))
    assert nav_links(page)[:4] == [
        ("/", "Posts"),
        ("/about", "About us"),
        ("https://www.python.org/", "Python"),
        ("/contact", "Contact"),
    ]
    assert "Hidden" not in page


def test_unsafe_stored_addresses_are_never_links(app, client, editor):
    """Addresses that slipped past the form (an import, a bug) are dropped when shown."""
    for number, url in enumerate(
        ["javascript:alert(1)", "//evil.example.com", "/\\evil.example.com", "data:text/html,x"]
    ):
        add_item(f"Bad {number}", position=number, url=url)
    add_item("Good", position=99, url="/good")
    page = text(client.get("/"))
    assert "Bad" not in page and "evil" not in page and "javascript:" not in page
    assert ("/good", "Good") in nav_links(page)


def test_a_scheduled_page_joins_the_menu_at_its_time(app, client, editor, clock):
    start = utcnow().replace(microsecond=0) + timedelta(hours=3)
    page = make_page(editor, "Event", published_at=start, unpublish_at=start + timedelta(days=1))
    add_item("Our event", page=page)
    clock(start - timedelta(seconds=1))
    assert "Our event" not in text(client.get("/"))
    clock(start)
    assert ("/event", "Our event") in nav_links(text(client.get("/")))
    clock(start + timedelta(days=1))
    assert "Our event" not in text(client.get("/"))


def test_current_page_is_marked_and_account_links_stay(app, browser, client, editor):
    about = make_page(editor, "About")
    add_item("About", page=about, position=1)
    add_item("Elsewhere", url="https://example.org/", position=2)
    nav = site_nav(text(client.get("/about")))
    assert '<a href="/about" aria-current="page">About</a>' in nav
    assert nav.count("aria-current") == 1
    index_nav = site_nav(text(client.get("/")))
    assert '<a href="/" aria-current="page">Posts</a>' in index_nav
    assert index_nav.count("aria-current") == 1
    # Visitors still get the log in and register links (beside the menu).
    assert "/account/login" in account_nav(text(client.get("/")))
    assert "/account/register" in account_nav(text(client.get("/")))
    # Staff still get the dashboard, account and logout, and the language form works.
    browser.login(editor.email, PASSWORD)
    page = text(client.get("/about"))
    nav = account_nav(page)
    assert "/admin/" in nav and "/account/" in nav and 'action="/account/logout"' in nav
    assert ("/about", "About") in nav_links(page)
    # The language is switched with links on readers' pages.
    assert 'href="/de/about"' in page
    assert browser.logout().status_code in (302, 303)


def test_menu_labels_are_escaped(app, client, editor):
    add_item(HOSTILE, url="/x")
    page = text(client.get("/"))
    assert "<script>" not in page
    assert str(escape(HOSTILE)) in site_nav(page)


@pytest.mark.parametrize("count", [0, 1, 6])
def test_the_menu_costs_one_query_per_page(app, client, editor, count):
    pages = [make_page(editor, f"Page {number}") for number in range(count)]
    for number, page in enumerate(pages):
        add_item(f"Item {number}", position=number, page=page)
        add_item(f"Link {number}", position=number, url=f"/link-{number}")
    for url in ("/", "/account/login", "/posts/nothing", "/page-0" if pages else "/nowhere"):
        with statements() as seen:
            client.get(url)
        assert len([s for s in seen if "nav_item" in s]) == 1, url


def test_server_error_pages_do_not_read_the_menu(app, ctx):
    """A 500 page must not touch the database again (the menu is left out)."""
    add_item("Menu", url="/menu")
    with app.test_request_context("/"):
        from cms.errors import render_error

        with statements() as seen:
            page, code = render_error(500)
    assert code == 500
    assert not [s for s in seen if "nav_item" in s]
    assert "/menu" not in page


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("/", True),
        ("/about", True),
        ("/posts/hello?x=1#top", True),
        ("https://example.org", True),
        ("http://example.org/path", True),
        ("HTTPS://EXAMPLE.ORG/", True),
        ("", False),
        ("//evil.example.com", False),
        ("/\\evil.example.com", False),
        ("javascript:alert(1)", False),
        ("JavaScript:alert(1)", False),
        (" javascript:alert(1)", False),
        ("java\tscript:alert(1)", False),
        ("data:text/html,hi", False),
        ("mailto:me@example.com", False),
        ("ftp://example.org", False),
        ("https://", False),
        ("https:///path", False),
        ("about", False),
        ("/a b", False),
        ("/" + "a" * 600, False),
    ],
)
def test_allowed_menu_addresses(url, allowed):
    assert is_allowed_url(url) is allowed


# --- The dashboard view -----------------------------------------------------------------------


def items() -> list[NavItem]:
    """Return the menu items, read fresh, in menu order."""
    db.session.expire_all()
    return list(db.session.scalars(select(NavItem).order_by(NavItem.position, NavItem.id)))


def test_editor_creates_edits_and_deletes_items(app, browser, login_as):
    editor = login_as("editor")
    about = make_page(editor, "About")
    response = submit_admin(browser, NEW, {"label": " About ", "page": str(about.id)})
    assert response.status_code == 302, text(response)
    response = submit_admin(
        browser, NEW, {"label": "Python", "url": " https://www.python.org/ ", "position": "5"}
    )
    assert response.status_code == 302
    saved = items()
    assert [(i.label, i.page_id, i.url, i.position) for i in saved] == [
        ("Python", None, "https://www.python.org/", 5),
        # No position given: placed after the last item (there was none yet).
        ("About", about.id, "", 10),
    ]
    assert ("/about", "About") in nav_links(text(browser.get("/")))
    response = submit_admin(browser, NEW, {"label": "Last", "url": "/last"})
    assert response.status_code == 302
    assert items()[-1].position == 20
    listing = text(browser.get(LIST))
    assert listing.index("Python") < listing.index("About")
    # Edit: point the page item at an address instead.
    item = saved[1]
    edit = f"/admin/navigation/edit/?id={item.id}"
    response = submit_admin(browser, edit, {"label": "Home", "page": "__None", "url": "/"})
    assert response.status_code == 302
    assert [(i.label, i.page_id, i.url) for i in items()][1] == ("Home", None, "/")
    # Every write is in the audit log.
    actions = db.session.scalars(
        select(AuditEvent.action).where(AuditEvent.object_type == "NavItem")
    ).all()
    assert actions.count("create") == 3 and "update" in actions
    assert delete_row(browser, LIST, item.id).status_code == 302
    assert [i.label for i in items()] == ["Python", "Last"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"label": "Nothing"}, "Choose a page or enter an address."),
        (
            {"label": "Both", "url": "/x", "page": "PAGE"},
            "Choose a page or enter an address, not both.",
        ),
        ({"label": "Script", "url": "javascript:alert(1)"}, "Please enter a path on this site"),
        ({"label": "Other site", "url": "//evil.example.com"}, "Please enter a path on this site"),
        ({"label": "Data", "url": "data:text/html,x"}, "Please enter a path on this site"),
        ({"label": "", "url": "/x"}, "This field is required."),
        ({"label": "   ", "url": "/x"}, "This field is required."),
        ({"label": "x" * 81, "url": "/x"}, "Field cannot be longer than 80 characters."),
        ({"label": "Far", "url": "/x", "position": "99999999999999999999"}, "Number must be"),
        ({"label": "Word", "url": "/x", "position": "first"}, "Not a valid integer value."),
    ],
    ids=lambda value: value if isinstance(value, str) else value.get("label", "")[:10],
)
def test_invalid_items_are_refused_with_a_message(app, browser, login_as, data, message):
    editor = login_as("editor")
    page = make_page(editor, "A page")
    data = {key: str(page.id) if value == "PAGE" else value for key, value in data.items()}
    response = submit_admin(browser, NEW, data)
    assert response.status_code == 200
    assert message in text(response)
    assert items() == []


def test_only_pages_that_are_not_trashed_are_offered(app, browser, login_as):
    editor = login_as("editor")
    make_page(editor, "Kept page", status=PostStatus.DRAFT)
    gone = make_page(editor, "Trashed page", status=PostStatus.TRASHED)
    make_post(editor, title="Just a post")
    form = text(browser.get(NEW))
    options = re.findall(r"<option[^>]*>([^<]*)</option>", form)
    assert "Kept page" in options
    assert "Trashed page" not in options and "Just a post" not in options
    # Posting the id of a trashed page by hand is refused too.
    response = submit_admin(browser, NEW, {"label": "Sneaky", "page": str(gone.id)})
    assert response.status_code == 200
    assert items() == []


def test_move_up_and_down(app, browser, login_as):
    login_as("editor")
    first = add_item("First", position=1, url="/1")
    second = add_item("Second", position=1, url="/2")
    third = add_item("Third", position=7, url="/3")
    assert bulk_action(browser, LIST, "move_up", [third.id]).status_code == 302
    assert [i.label for i in items()] == ["First", "Third", "Second"]
    assert bulk_action(browser, LIST, "move_up", [first.id]).status_code == 302
    assert [i.label for i in items()] == ["First", "Third", "Second"]
    assert bulk_action(browser, LIST, "move_down", [first.id, third.id]).status_code == 302
    assert [i.label for i in items()] == ["Second", "First", "Third"]
    assert [i.position for i in items()] == [10, 20, 30]
    assert [label for _href, label in nav_links(text(browser.get("/")))][1:4] == [
        "Second",
        "First",
        "Third",
    ]
    assert second.id in {i.id for i in items()}


def test_authors_are_refused(app, browser, login_as):
    login_as("author")
    item = add_item("Kept", url="/kept")
    for url in (LIST, NEW, f"/admin/navigation/edit/?id={item.id}"):
        assert browser.get(url).status_code == 403, url
    token = csrf_token_from(text(browser.get("/")))
    response = browser.client.post(NEW, data={"csrf_token": token, "label": "X", "url": "/x"})
    assert response.status_code == 403
    response = browser.client.post(
        "/admin/navigation/delete/", data={"csrf_token": token, "id": str(item.id)}
    )
    assert response.status_code == 403
    assert [i.label for i in items()] == ["Kept"]


def test_anonymous_visitors_are_sent_to_log_in(app, client, ctx):
    for url in (LIST, NEW):
        response = client.get(url)
        assert response.status_code == 302
        assert "/account/login" in response.headers["Location"]
    token = csrf_token_from(text(client.get("/account/login")))
    response = client.post(NEW, data={"csrf_token": token, "label": "X", "url": "/x"})
    assert response.status_code == 302 and "/account/login" in response.headers["Location"]
    assert items() == []


def test_admins_may_use_it_and_readers_may_not(app, browser, ctx):
    make_user("boss@example.com", roles=("admin",))
    browser.login("boss@example.com", PASSWORD)
    assert browser.get(LIST).status_code == 200
    assert submit_admin(browser, NEW, {"label": "Admin link", "url": "/x"}).status_code == 302
    browser.logout()
    make_user("someone@example.com", roles=("reader",))
    browser.login("someone@example.com", PASSWORD)
    assert browser.get(LIST).status_code == 403
