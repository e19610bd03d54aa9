"""The menu's one level of nesting: submenus for readers, the parent field, and saving the
whole order at once from the dashboard's order panel."""

import json
import re

import pytest
from sqlalchemy import select

from cms.extensions import db
from cms.models import AuditEvent, NavItem, PostKind, PostStatus
from cms.services.page_cache import VERSION_PREFIX, get_page_cache
from tests.admin.admin_helpers import bulk_action, delete_row, submit_admin, text
from tests.factories import PASSWORD, make_post, make_user
from tests.helpers import Browser, csrf_token_from

LIST = "/admin/navigation/"
ORDER = "/admin/navigation/order/"


@pytest.fixture
def editor(browser, ctx):
    """An editor, logged in through the real form."""
    user = make_user("menu-nesting@example.com", roles=("editor",))
    assert browser.login(user.email, PASSWORD).status_code == 302
    return user


def add_item(label, position, parent=None, url=None, page=None):
    """Add a menu item and commit."""
    item = NavItem(
        label=label, position=position, parent=parent, url=url or f"/{label.lower()}", page=page
    )
    db.session.add(item)
    db.session.commit()
    return item


def shape() -> list[tuple[str, str | None]]:
    """Return (label, parent label) of every item, read fresh, in menu order."""
    db.session.expire_all()
    rows = db.session.scalars(select(NavItem).order_by(NavItem.position, NavItem.id))
    return [(item.label, item.parent.label if item.parent else None) for item in rows]


def site_nav(page: str) -> str:
    """Return the HTML of the site's main navigation."""
    match = re.search(r'<nav class="site-nav" aria-label="Main">(.*?)</nav>', page, re.S)
    assert match, "no labelled site navigation"
    return match.group(1)


def submenus(page: str) -> dict[str, list[str]]:
    """Return the labels of each submenu of the public menu, by its item's label."""
    found = {}
    pattern = r'<li class="has-submenu"><a [^>]*>([^<]*)</a>\s*<ul class="submenu">(.*?)</ul>'
    for item in re.finditer(pattern, site_nav(page), re.S):
        found[item.group(1)] = re.findall(r">([^<]+)</a>", item.group(2))
    return found


def post_order(browser, order, token=None):
    """Post an order (a list of (item, parent item or None)) with the list page's token."""
    token = token or csrf_token_from(text(browser.get(LIST)))
    value = (
        order
        if isinstance(order, str)
        else json.dumps(
            [{"id": item.id, "parent": parent.id if parent else None} for item, parent in order]
        )
    )
    return browser.client.post(ORDER, data={"csrf_token": token, "order": value})


# --- What readers see -------------------------------------------------------------------------


def test_sub_items_are_a_submenu_and_a_hidden_parent_leaves_them_at_the_top(app, client, ctx):
    author = make_user("pages@example.com", roles=("editor",))
    draft = make_post(author, title="Soon", kind=PostKind.PAGE, status=PostStatus.DRAFT)
    about = add_item("About", 10)
    add_item("Team", 20, parent=about)
    add_item("History", 30, parent=about)
    soon = add_item("Soon", 40, url="", page=draft)
    add_item("Preview", 50, parent=soon)
    page = text(client.get("/"))
    assert submenus(page) == {"About": ["Team", "History"]}
    labels = re.findall(r">([^<]+)</a>", site_nav(page))
    assert labels == ["Posts", "About", "Team", "History", "Preview"]
    assert "Soon" not in labels


def test_deleting_a_parent_keeps_its_sub_items_at_the_top_level(app, client, browser, editor):
    about = add_item("About", 10)
    add_item("Team", 20, parent=about)
    add_item("Contact", 30)
    assert delete_row(browser, LIST, about.id).status_code == 302
    assert shape() == [("Team", None), ("Contact", None)]
    assert submenus(text(client.get("/"))) == {}
    assert re.findall(r">([^<]+)</a>", site_nav(text(client.get("/")))) == [
        "Posts",
        "Team",
        "Contact",
    ]


# --- The parent field ---------------------------------------------------------------------


def test_editor_puts_an_item_under_another_through_the_form(app, browser, editor):
    about = add_item("About", 10)
    team = add_item("Team", 20)
    response = submit_admin(browser, f"/admin/navigation/edit/?id={team.id}", {"parent": about.id})
    assert response.status_code == 302, text(response)
    assert shape() == [("About", None), ("Team", "About")]
    # A sub-item is not offered as a parent, and is refused when posted anyway.
    contact = add_item("Contact", 30)
    form = text(browser.get(f"/admin/navigation/edit/?id={contact.id}"))
    assert f'value="{about.id}"' in form and f'value="{team.id}"' not in form
    response = submit_admin(
        browser, f"/admin/navigation/edit/?id={contact.id}", {"parent": team.id}
    )
    assert "This choice is not available to you" in text(response)
    assert shape()[-1] == ("Contact", None)


@pytest.mark.parametrize("case", ["itself", "has_children"])
def test_refused_parents_say_why_and_change_nothing(app, browser, editor, case):
    about = add_item("About", 10)
    add_item("Team", 20, parent=about)
    contact = add_item("Contact", 30)
    parent = about if case == "itself" else contact
    response = submit_admin(
        browser, f"/admin/navigation/edit/?id={about.id}", {"parent": parent.id}
    )
    message = {
        "itself": "An item cannot be in its own submenu.",
        "has_children": "This item has sub-items of its own",
    }[case]
    assert message in text(response)
    assert shape() == [("About", None), ("Team", "About"), ("Contact", None)]


# --- Saving the whole order -----------------------------------------------------------------


def test_the_order_panel_saves_order_and_nesting_in_one_post(app, browser, editor):
    about = add_item("About", 10)
    team = add_item("Team", 20, parent=about)
    contact = add_item("Contact", 30)
    blog = add_item("Blog", 40)
    listing = text(browser.get(LIST))
    assert 'id="cms-menu-tree"' in listing and "menu-order.js" in listing
    response = post_order(browser, [(contact, None), (blog, contact), (about, None), (team, None)])
    assert response.status_code == 302
    assert shape() == [("Contact", None), ("Blog", "Contact"), ("About", None), ("Team", None)]
    assert "The menu order was saved." in text(browser.get(LIST))
    moved = db.session.scalars(
        select(AuditEvent.object_id).where(AuditEvent.action == "move")
    ).all()
    assert sorted(int(ident) for ident in moved) == sorted(
        item.id for item in (contact, blog, about, team)
    )


def test_a_new_order_purges_the_cached_menu(variant):
    application = variant(PAGE_CACHE_IN_TESTS=True, PAGE_CACHE_TYPE="filesystem")
    with application.app_context():
        cache = get_page_cache(application)
        user = make_user("menu-cache@example.com", roles=("editor",))
        about = add_item("About", 10)
        contact = add_item("Contact", 20)
        reader = application.test_client()
        assert submenus(text(reader.get("/"))) == {}
        before = cache.backend.get(VERSION_PREFIX + "menu")
        staff = Browser(application, application.test_client())
        assert staff.login(user.email, PASSWORD).status_code == 302
        assert post_order(staff, [(about, None), (contact, about)]).status_code == 302
        assert cache.backend.get(VERSION_PREFIX + "menu") != before
        assert submenus(text(reader.get("/"))) == {"About": ["Contact"]}
        db.session.remove()


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("missing", "The menu changed since this page was opened"),
        ("unknown", "The menu changed since this page was opened"),
        ("twice", "The menu changed since this page was opened"),
        ("deep", "A sub-item cannot have sub-items of its own"),
        ("orphan", "A sub-item must come after the item it belongs to."),
        ("garbage", "The menu order could not be read."),
        ("not_ids", "The menu order could not be read."),
    ],
)
def test_bad_or_stale_orders_are_refused_and_change_nothing(app, browser, editor, case, message):
    about = add_item("About", 10)
    team = add_item("Team", 20, parent=about)
    contact = add_item("Contact", 30)
    ghost = NavItem(id=contact.id + 1000, label="Ghost")
    orders = {
        "missing": [(about, None), (team, about)],
        "unknown": [(about, None), (team, about), (contact, None), (ghost, None)],
        "twice": [(about, None), (team, about), (contact, None), (contact, None)],
        "deep": [(about, None), (team, about), (contact, team)],
        "orphan": [(team, contact), (about, None), (contact, None)],
        "garbage": "[{",
        "not_ids": json.dumps([{"id": "1", "parent": None}, {"id": True}]),
    }
    response = post_order(browser, orders[case])
    assert response.status_code == 409
    assert message in text(response)
    assert shape() == [("About", None), ("Team", "About"), ("Contact", None)]


def test_an_order_without_a_csrf_token_is_refused(app, browser, editor):
    about = add_item("About", 10)
    contact = add_item("Contact", 20)
    order = json.dumps([{"id": contact.id, "parent": None}, {"id": about.id, "parent": None}])
    response = browser.client.post(ORDER, data={"order": order})
    assert response.status_code == 400
    assert shape() == [("About", None), ("Contact", None)]


def test_authors_and_visitors_cannot_order_the_menu(app, browser, client, ctx):
    about = add_item("About", 10)
    order = json.dumps([{"id": about.id, "parent": None}])
    assert client.post(ORDER, data={"order": order}).status_code in (302, 400)
    author = make_user("menu-author@example.com", roles=("author",))
    assert browser.login(author.email, PASSWORD).status_code == 302
    token = csrf_token_from(text(browser.get("/admin/")))
    response = browser.client.post(ORDER, data={"csrf_token": token, "order": order})
    assert response.status_code == 403


def test_move_up_keeps_sub_items_with_their_parent(app, browser, editor):
    about = add_item("About", 10)
    add_item("Team", 20, parent=about)
    history = add_item("History", 30, parent=about)
    contact = add_item("Contact", 40)
    assert bulk_action(browser, LIST, "move_up", [contact.id]).status_code == 302
    assert shape() == [("Contact", None), ("About", None), ("Team", "About"), ("History", "About")]
    assert bulk_action(browser, LIST, "move_up", [history.id]).status_code == 302
    assert shape() == [("Contact", None), ("About", None), ("History", "About"), ("Team", "About")]
