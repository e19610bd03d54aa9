"""The post editor (cms/static/admin/editor.js) in a real browser, under the site's real CSP.

Writing with the toolbar and the shortcuts, saving with Ctrl+S, the live preview, pasting real
Google Docs clipboard HTML (tests/browser/fixtures/, each file names its source and licence),
dropping an image and describing it in the alt-text dialog, and autosave surviving a closed
tab. Every page also listens for Content-Security-Policy violations: there must be none.
"""

import base64
import re
import secrets
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, SCREENSHOTS
from tests.browser.people import log_in, png
from tests.browser.test_accessibility import serious_violations
from tests.browser.test_media_ui import library

FIXTURES = Path(__file__).parent / "fixtures"
# Collected on every page of the test's browser profile (added before any page script runs).
CSP_LISTENER = """
window.cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
    window.cspViolations.push(`${event.violatedDirective} ${event.blockedURI}`);
});
"""
PASTE = """([html, text]) => {
    const data = new DataTransfer();
    if (html) data.setData("text/html", html);
    if (text) data.setData("text/plain", text);
    const event = new ClipboardEvent(
        "paste", {clipboardData: data, bubbles: true, cancelable: true},
    );
    document.querySelector("#cms-editor .cm-content").dispatchEvent(event);
}"""
DROP = """([file, x, y]) => {
    const bytes = Uint8Array.from(atob(file.data), (c) => c.charCodeAt(0));
    const transfer = new DataTransfer();
    transfer.items.add(new File([bytes], file.name, {type: file.type}));
    const target = document.querySelector("#cms-editor .cm-content");
    for (const type of ["dragenter", "dragover", "drop"]) {
        target.dispatchEvent(new DragEvent(type, {
            bubbles: true, cancelable: true, dataTransfer: transfer, clientX: x, clientY: y,
        }));
    }
}"""


@pytest.fixture(autouse=True)
def csp_listener(context):
    """Record CSP violations on every page of this test's browser profile."""
    context.add_init_script(CSP_LISTENER)


def no_csp_violations(page: Page) -> None:
    """Fail if the page reported a Content-Security-Policy violation."""
    assert page.evaluate("window.cspViolations") == []


def editor(page: Page):
    """Return the editor's text area (CodeMirror's content element)."""
    return page.locator("#cms-editor .cm-content")


def body_markdown(page: Page) -> str:
    """Return the Markdown the form would send: the hidden body textarea the editor fills."""
    return page.locator("#body_md").input_value()


def new_post(page: Page, title: str) -> None:
    """Open a new post's form, type its title and put the cursor into the empty editor."""
    page.goto("/admin/posts/new/")
    page.locator("#title").fill(title)
    expect(editor(page)).to_be_visible()
    # The textarea is replaced, not removed: the form still sends it.
    expect(page.locator("#body_md")).to_be_hidden()
    editor(page).click()


def save_with_ctrl_s(page: Page) -> None:
    """Press Ctrl+S in the editor and wait for the saved page."""
    with page.expect_navigation():
        page.keyboard.press("Control+s")
    expect(page.locator(".alert-success, .alert-info").first).to_be_visible()


def open_post(page: Page, title: str) -> None:
    """Open a post's edit form from the dashboard's post list."""
    page.goto("/admin/posts/")
    page.get_by_role("link", name=title, exact=True).click()
    expect(page.locator("#title")).to_have_value(title)
    expect(editor(page)).to_be_visible()


def new_block(page: Page) -> None:
    """Start a new paragraph at the end of the text (a blank line, as Enter twice would)."""
    page.keyboard.press("Control+End")
    # Typed as text: Enter would continue a list or quote (CodeMirror's Markdown keymap).
    page.keyboard.insert_text("\n\n")


def toolbar_button(page: Page, name: str):
    """Return a button of the editor's toolbar by its accessible name."""
    return page.get_by_role("toolbar").get_by_role("button", name=name, exact=True)


def test_toolbar_shortcuts_ctrl_s_and_live_preview(page, live_server):
    log_in(page, ADMIN_EMAIL, ADMIN_PASSWORD)
    page.set_viewport_size({"width": 1400, "height": 1000})
    title = f"Desk notes {secrets.token_hex(3)}"
    new_post(page, title)
    keyboard = page.keyboard

    # Shortcuts: Ctrl+B and Ctrl+I wrap the cursor, Ctrl+K links the selected words.
    keyboard.type("A first paragraph with ")
    keyboard.press("Control+b")
    keyboard.type("bold words")
    keyboard.press("End")
    keyboard.type(" and ")
    keyboard.press("Control+i")
    keyboard.type("slanted")
    keyboard.press("End")
    keyboard.type(" text; see the docs")
    for _ in "the docs":
        keyboard.press("Shift+ArrowLeft")
    keyboard.press("Control+k")
    keyboard.type("https://example.org/docs")
    keyboard.press("End")
    keyboard.type(".")
    new_block(page)

    # The toolbar: a heading, a list with a nested item (Tab), a quote, code and a table.
    toolbar = page.get_by_role("toolbar")
    expect(toolbar).to_have_attribute("aria-label", re.compile(r"\S"))
    toolbar_button(page, "Heading").click()
    keyboard.type("Section")
    new_block(page)
    toolbar_button(page, "Bulleted list").click()
    keyboard.type("first")
    keyboard.press("Enter")  # the list goes on
    keyboard.press("Tab")  # nested under "first"
    keyboard.type("nested")
    keyboard.press("Enter")
    keyboard.press("Shift+Tab")
    keyboard.type("second")
    new_block(page)
    toolbar_button(page, "Quote").click()
    keyboard.type("Quoted words")
    new_block(page)
    toolbar_button(page, "Numbered list").click()
    keyboard.type("one")
    new_block(page)
    toolbar_button(page, "Code").click()
    keyboard.type("print('hi')")
    keyboard.press("Control+End")
    new_block(page)
    toolbar_button(page, "Table").click()

    # The toolbar is one Tab stop; arrow keys move between its buttons.
    toolbar_button(page, "Bold").focus()
    keyboard.press("ArrowRight")
    expect(toolbar_button(page, "Italic")).to_be_focused()

    typed = body_markdown(page)
    assert (
        "A first paragraph with **bold words** and *slanted* text; see [the docs](https://example.org/docs)."
        in typed
    )
    assert (
        "\n\n## Section\n\n- first\n  - nested\n- second\n\n> Quoted words\n\n1. one\n\n" in typed
    )
    assert "\n\n```\nprint('hi')\n```\n\n" in typed
    assert re.search(r"\n\| .+ \| .+ \|\n\| --- \| --- \|\n\|  \|  \|\n", typed)

    # The live preview shows the server's rendering of it, a moment after typing stops.
    preview = page.locator("#cms-live-preview")
    expect(preview.locator("strong", has_text="bold words")).to_be_visible()
    expect(preview.locator("a[href='https://example.org/docs']")).to_have_text("the docs")
    expect(preview.locator("ul ul li", has_text="nested")).to_be_visible()
    expect(page.locator("#cms-word-count")).to_have_text(re.compile(r"^\d+ words · 1 min read$"))
    page.screenshot(path=str(SCREENSHOTS / "editor-writing.png"), full_page=False)
    assert serious_violations(page) == []
    no_csp_violations(page)

    # Ctrl+S saves the draft, with nothing asked on leaving; the Markdown is what was typed.
    save_with_ctrl_s(page)
    open_post(page, title)
    assert body_markdown(page) == typed
    expect(editor(page)).to_contain_text("Quoted words")
    no_csp_violations(page)


def test_google_docs_paste_becomes_clean_markdown(page):
    log_in(page, ADMIN_EMAIL, ADMIN_PASSWORD)
    new_post(page, f"Pasted {secrets.token_hex(3)}")
    for name in ("formatting", "headings", "inline", "lists", "table"):
        html = (FIXTURES / f"google_docs_{name}.html").read_text()
        page.evaluate(PASTE, [html, "plain text that must not be used"])
        new_block(page)
    pasted = body_markdown(page)
    assert "plain text that must not be used" not in pasted
    assert "<" not in pasted and "style" not in pasted and "docs-internal" not in pasted

    # Docs' wrapper <b style="font-weight:normal"> does not make everything bold.
    assert "**Bold**\n\n*Italic*\n\nunderline\n\n***Bold Italic Underline***" in pasted
    assert "\nThis is a test of headings and paragraphs.\n" in pasted
    # Headings, links, inline styles.
    assert "\n# Heading 1\n\nSome text.\n\nAnother paragraph.\n\n## Heading 2\n" in pasted
    assert "\n### Heading 3\n" in pasted
    assert "This **is bold** ***and italic*** *or just italic*." in pasted
    assert "~~struck through~~, or [linked (to GitHub)](https://github.com/)." in pasted
    # Nested lists (Docs puts a nested list directly into the outer one), numbers, tasks.
    assert (
        "- List of stuff.\n  - With\n  - Subitems\n    - And\n    - Sub-subitems\n"
        "      1. But numbered not bulleted!\n- This item has line breaks.\\\n"
        "  Here is a second line.\n"
    ) in pasted
    assert "1. This is\n2. A numbered\n3. List of stuff.\n   1. With\n" in pasted
    assert "- [x] ~~This is~~\n- [ ] A checklist." in pasted
    # A table without a heading row gets its first row as the heading.
    assert "| a | b b | c |\n| --- | --- | --- |\n| d | e | f |" in pasted

    # Plain text stays plain: Markdown-looking text is not converted or escaped.
    page.evaluate(PASTE, [None, "Plain *stars* and <b>tags</b> stay."])
    assert body_markdown(page).endswith("Plain *stars* and <b>tags</b> stay.")
    # A right-to-left line is shown right to left.
    new_block(page)
    page.keyboard.insert_text("هذه جملة عربية.")
    line = editor(page).locator(".cm-line", has_text="جملة")
    expect(line).to_have_attribute("dir", "auto")
    assert line.evaluate("element => getComputedStyle(element).direction") == "rtl"
    no_csp_violations(page)


def test_dropped_image_is_uploaded_and_described(page):
    log_in(page, ADMIN_EMAIL, ADMIN_PASSWORD)
    new_post(page, f"Dropped {secrets.token_hex(3)}")
    page.keyboard.type("Before the picture.")
    page.keyboard.press("Enter")
    page.keyboard.press("Enter")
    page.keyboard.type("After the picture.")

    # Dropped on the first line, after its text: the image goes in exactly there.
    name = f"harbour-{secrets.token_hex(3)}.png"
    first_line = editor(page).locator(".cm-line").first.bounding_box()
    x = first_line["x"] + first_line["width"] - 2
    y = first_line["y"] + first_line["height"] / 2
    payload = {"name": name, "type": "image/png", "data": base64.b64encode(png(64, 48)).decode()}
    page.evaluate(DROP, [payload, x, y])

    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    field = dialog.get_by_role("textbox")
    expect(field).to_be_focused()
    # Nothing is in the text yet: the Markdown goes in once the image is described.
    assert "/uploads/" not in body_markdown(page)
    field.fill("Boats [moored] at dusk")
    page.screenshot(path=str(SCREENSHOTS / "editor-alt-dialog.png"))
    dialog.get_by_role("button", name=re.compile("Save")).click()
    expect(dialog).to_have_count(0)

    # The Markdown goes in when the server has taken the description: wait for it.
    image = r"!\[Boats \\\[moored\\\] at dusk\]\((/uploads/[\w.-]+)\)"
    expect(page.locator("#body_md")).to_have_value(re.compile(image))
    markdown = body_markdown(page)
    match = re.search(image, markdown)
    assert match, markdown
    assert markdown.startswith("Before the picture.![Boats")
    assert markdown.endswith("\n\nAfter the picture.")
    # The library file has the alt text too.
    entry = library(page, name)
    assert entry["url"] == match.group(1) or match.group(1) in entry["markdown"]
    assert entry["markdown"].startswith("![Boats \\[moored\\] at dusk](")
    no_csp_violations(page)


def test_image_upload_refused_in_words_and_nothing_inserted(page, watch):
    log_in(page, ADMIN_EMAIL, ADMIN_PASSWORD)
    new_post(page, f"Refused {secrets.token_hex(3)}")
    page.keyboard.type("Some words.")
    watch.expect_status(400)
    # A "picture" that is not an image: the server's content check refuses it.
    payload = {
        "name": "fake.png",
        "type": "image/png",
        "data": base64.b64encode(b"not a picture").decode(),
    }
    box = editor(page).bounding_box()
    page.evaluate(DROP, [payload, box["x"] + 20, box["y"] + 20])
    alert = page.locator("#cms-editor [role='alert']")
    expect(alert).to_contain_text("fake.png")
    expect(page.locator(".cms-uploading")).to_have_count(0)
    assert body_markdown(page) == "Some words."
    no_csp_violations(page)


def test_closed_tab_is_restored_from_autosave(page, new_tab):
    log_in(page, ADMIN_EMAIL, ADMIN_PASSWORD)
    title = f"Autosaved {secrets.token_hex(3)}"
    new_post(page, title)
    page.keyboard.type("The stored first paragraph.")
    save_with_ctrl_s(page)

    # A second tab: typing, autosave, then the tab closes mid-sentence.
    writer = new_tab()
    open_post(writer, title)
    editor(writer).click()
    writer.keyboard.press("Control+End")
    writer.keyboard.type(" And then the ferry")
    # Leaving before the autosave asks first (the answer "stay" keeps the page).
    asked = []
    writer.on("dialog", lambda dialog: (asked.append(dialog.type), dialog.dismiss()))
    writer.close(run_before_unload=True)
    expect(editor(writer)).to_contain_text("And then the ferry")
    assert asked == ["beforeunload"]
    writer.keyboard.type(" turned towards")
    expect(writer.locator("#cms-autosave-status")).to_contain_text("Saved at", timeout=15000)
    # Kept in the autosave slot: closing the tab now asks nothing.
    writer.close(run_before_unload=True)
    for _ in range(50):
        if writer.is_closed():
            break
        page.wait_for_timeout(100)
    assert writer.is_closed()
    assert asked == ["beforeunload"]

    # Reopened: the banner offers the unsaved changes; restoring brings the sentence back.
    open_post(page, title)
    assert "ferry" not in body_markdown(page)
    banner = page.locator("#cms-autosave-banner")
    expect(banner).to_be_visible()
    banner.get_by_role("link", name=re.compile("Restore")).click()
    expect(editor(page)).to_contain_text("And then the ferry turned towards")
    assert body_markdown(page) == "The stored first paragraph. And then the ferry turned towards"
    no_csp_violations(page)
