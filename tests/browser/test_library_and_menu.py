"""The Files grid and the focal point picker, and the menu's order panel, in a real browser.

The focal point is set by a click and by the arrow keys and read back from the server; menu
items are moved by keyboard (including into a submenu) and by dragging, saved in one POST, and
the public menu shows the submenu, opened by keyboard focus without any script of ours.
"""

import re
import secrets

from playwright.sync_api import Page, expect

from tests.browser.conftest import SCREENSHOTS
from tests.browser.people import PASSWORD, create_person, log_in, png, save_form
from tests.browser.test_accessibility import serious_violations


def shot(page: Page, name: str) -> None:
    """Save a screenshot of the page as it is now (to look at)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"library-{name}.png"), full_page=True)


def stored_focal_point(page: Page, file_id: str) -> str:
    """Return the focal point the details page shows (what the server stored)."""
    page.goto(f"/admin/files/details/?id={file_id}")
    row = page.get_by_role("row").filter(has=page.get_by_text("Focal point", exact=True))
    return row.locator("td").last.inner_text().strip()


def test_focal_point_by_click_and_by_keyboard(page, live_server):
    token = secrets.token_hex(3)
    log_in(page, create_person(live_server, "editor", "Fiona Focal"), PASSWORD)
    page.goto("/admin/files/new/")
    name = f"harbour-{token}.png"
    page.set_input_files(
        "#upload", files=[{"name": name, "mimeType": "image/png", "buffer": png(800, 500)}]
    )
    save_form(page)
    # Right after the upload: the alt text.
    page.get_by_label(f"Alt text for “{name}”").fill("Boats in a harbour")
    assert serious_violations(page) == []
    shot(page, "describe")
    page.get_by_role("button", name="Save and continue").click()

    # The grid: the card shows the thumbnail with its alt text and opens the edit page.
    card = page.get_by_role("link", name=re.compile(re.escape(name)))
    expect(card.get_by_role("img", name="Boats in a harbour")).to_be_visible()
    assert serious_violations(page) == []
    shot(page, "grid-1280")
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, "grid-390")
    page.set_viewport_size({"width": 1280, "height": 900})
    card.click()
    expect(page).to_have_url(re.compile(r"/admin/files/edit/\?id=\d+"))
    file_id = re.search(r"id=(\d+)", page.url)[1]

    area = page.locator("#cms-focal-area")
    status = page.locator("#cms-focal-status")
    expect(status).to_have_text("No focal point: crops keep the middle of the image.")
    box = area.bounding_box()
    area.click(position={"x": box["width"] * 0.25, "y": box["height"] * 0.75})
    expect(page.locator("#focal_x")).to_have_value(re.compile(r"^2[45](\.\d)?%$"))
    expect(page.locator("#focal_y")).to_have_value(re.compile(r"^7[45](\.\d)?%$"))
    expect(status).to_have_text(re.compile(r"Focal point: 2[45] % from left, 7[45] % from top\."))
    expect(page.locator("#cms-focal-marker")).to_be_visible()
    expect(area).to_be_focused()
    assert serious_violations(page) == []
    shot(page, "focal-point")
    save_form(page)
    assert re.fullmatch(r"2[45](\.\d)?% × 7[45](\.\d)?%", stored_focal_point(page, file_id))

    # By keyboard: from the middle after Clear, 1 % a step, 10 % with Shift.
    page.goto(f"/admin/files/edit/?id={file_id}")
    page.get_by_role("button", name="Clear focal point").click()
    expect(page.locator("#focal_x")).to_have_value("")
    area.focus()
    for key in ("ArrowRight", "ArrowRight", "Shift+ArrowDown", "ArrowUp"):
        page.keyboard.press(key)
    expect(status).to_have_text("Focal point: 52 % from left, 59 % from top.")
    save_form(page)
    assert stored_focal_point(page, file_id) == "52% × 59%"

    page.goto(f"/admin/files/edit/?id={file_id}")
    page.get_by_role("button", name="Clear focal point").click()
    save_form(page)
    assert stored_focal_point(page, file_id) == ""


def add_menu_item(page: Page, label: str) -> None:
    """Add a menu item pointing at a site path through the dashboard form."""
    page.goto("/admin/navigation/new/")
    page.get_by_label("Label").fill(label)
    page.get_by_label("Address").fill("/" + label.lower())
    save_form(page)


def tree_shape(page: Page, labels: list[str]) -> list[tuple[str, str | None]]:
    """Return (label, parent label) of the order panel's items among `labels`, in order."""
    shape = page.evaluate(
        """() => Array.from(document.querySelectorAll('#cms-menu-tree .cms-menu-node')).map(
            (node) => {
                const parent = node.parentElement.closest('.cms-menu-node');
                return [node.dataset.label, parent ? parent.dataset.label : null];
            })"""
    )
    return [(label, parent) for label, parent in shape if label in labels]


def handle(page: Page, label: str):
    """Return the drag handle of a menu item in the order panel."""
    return page.get_by_role("button", name=f"Move “{label}”")


def test_menu_order_by_keyboard_and_by_drag_and_the_public_submenu(page, live_server):
    token = secrets.token_hex(2)
    labels = [f"{word}{token}" for word in ("Alpha", "Bravo", "Charlie", "Delta")]
    alpha, bravo, charlie, delta = labels
    log_in(page, create_person(live_server, "editor", "Nadia Nav"), PASSWORD)
    for label in labels:
        add_menu_item(page, label)
    page.goto("/admin/navigation/")
    assert tree_shape(page, labels) == [(label, None) for label in labels]
    assert serious_violations(page) == []

    # Keyboard: Charlie up one place, then into Alpha's submenu; every move is announced.
    live = page.locator("#cms-menu-live")
    handle(page, charlie).focus()
    page.keyboard.press("ArrowUp")
    expect(live).to_contain_text(f"“{charlie}”: position")
    page.keyboard.press("ArrowRight")
    expect(live).to_have_text(f"“{charlie}” is now in the submenu of “{alpha}”, position 1 of 1.")
    expect(handle(page, charlie)).to_be_focused()
    # A second level is refused: Bravo can go under Alpha, never under Charlie.
    expected = [(alpha, None), (charlie, alpha), (bravo, None), (delta, None)]
    assert tree_shape(page, labels) == expected
    expect(page.locator("#cms-menu-order-status")).to_have_text("The new order is not saved yet.")

    # Drag: Delta's handle dropped on the upper half of Bravo's row goes before Bravo.
    start = handle(page, delta).bounding_box()
    target = page.locator(f'.cms-menu-node[data-label="{bravo}"] > .cms-menu-row').bounding_box()
    page.mouse.move(start["x"] + start["width"] / 2, start["y"] + start["height"] / 2)
    page.mouse.down()
    page.mouse.move(target["x"] + 20, target["y"] + 4, steps=8)
    expect(page.locator(".cms-drop-before")).to_have_count(1)
    shot(page, "menu-dragging")
    page.mouse.up()
    dragged = [(alpha, None), (charlie, alpha), (delta, None), (bravo, None)]
    assert tree_shape(page, labels) == dragged
    page.get_by_role("button", name="Save order").click()
    expect(page.locator(".alert-success")).to_contain_text("The menu order was saved.")
    assert tree_shape(page, labels) == dragged
    shot(page, "menu-order")

    # Readers: Charlie in Alpha's submenu, reached with Tab and shown while it has focus.
    page.goto("/")
    nav = page.get_by_role("navigation", name="Main")
    parent = nav.get_by_role("link", name=alpha, exact=True)
    child = nav.get_by_role("link", name=charlie, exact=True)
    submenu = nav.locator(".submenu").filter(has=page.get_by_role("link", name=charlie))
    assert submenu.evaluate("element => getComputedStyle(element).opacity") == "0"
    parent.focus()
    page.keyboard.press("Tab")
    expect(child).to_be_focused()
    assert submenu.evaluate("element => getComputedStyle(element).opacity") == "1"
    assert serious_violations(page) == []
    shot(page, "public-submenu")
    links = [text.strip() for text in nav.get_by_role("link").all_inner_texts()]
    mine = [text for text in links if text in labels]
    assert mine == [alpha, charlie, delta, bravo]
