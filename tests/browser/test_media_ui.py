"""Uploading several files, dropping files, and putting images into a post, in a real browser.

The reader's page is checked too: library images come with a WebP <source>, srcset, width,
height and lazy loading, and every rendition they load answers.
"""

import base64
import re
import secrets

from playwright.sync_api import Page, expect

from tests.browser.people import (
    PASSWORD,
    create_person,
    fill_body,
    log_in,
    log_out_of_dashboard,
    png,
    press_action,
    save_form,
)

HTML = b"<!doctype html><html><body><script>alert(1)</script></body></html>"


def library(page: Page, name: str) -> dict:
    """Return the library entry of a file, as the post editor's picker gets it."""
    listing = page.request.get("/admin/files/library/", params={"q": name}).json()
    return next(item for item in listing["files"] if item["name"] == name)


def describe(page: Page, name: str, alt: str) -> None:
    """Give a library image its alt text through the Files edit form."""
    page.goto(f"/admin/files/edit/?id={library(page, name)['id']}")
    page.get_by_label("Alt text").fill(alt)
    save_form(page)
    expect(page.locator(".alert-success")).to_be_visible()


def drop_files(page: Page, selector: str, files: list[tuple[str, str, bytes]]) -> None:
    """Drop files on an element the way a browser does: a DataTransfer in drag events."""
    payload = [
        {"name": name, "type": kind, "data": base64.b64encode(data).decode()}
        for name, kind, data in files
    ]
    page.evaluate(
        """([selector, files]) => {
            const transfer = new DataTransfer();
            for (const file of files) {
                const bytes = Uint8Array.from(atob(file.data), (c) => c.charCodeAt(0));
                transfer.items.add(new File([bytes], file.name, { type: file.type }));
            }
            const target = document.querySelector(selector);
            for (const type of ["dragenter", "dragover", "drop"]) {
                target.dispatchEvent(new DragEvent(type, {
                    bubbles: true, cancelable: true, dataTransfer: transfer,
                }));
            }
        }""",
        [selector, payload],
    )


def test_several_files_through_the_form_and_by_dropping(page, live_server):
    editor = create_person(live_server, "editor", "Mona Multi")
    token = secrets.token_hex(3)
    log_in(page, editor, PASSWORD)

    # The plain form: three files chosen at once, one of them refused.
    page.goto("/admin/files/new/")
    page.set_input_files(
        "#upload",
        files=[
            {"name": f"quay-{token}.png", "mimeType": "image/png", "buffer": png(400, 300)},
            {"name": f"fake-{token}.jpg", "mimeType": "image/jpeg", "buffer": HTML},
            {"name": f"pier-{token}.png", "mimeType": "image/png", "buffer": png(300, 400)},
        ],
    )
    save_form(page)
    # The new images are described before going on (the refused file is not asked about).
    expect(page).to_have_url(re.compile(r"/admin/files/describe/\?ids="))
    message = page.locator(".cms-messages .alert")
    expect(message).to_contain_text(f"2 uploaded, 1 refused: fake-{token}.jpg — ")
    expect(message).to_contain_text("This type of file is not allowed")
    expect(page.get_by_role("heading", name="Describe the new images")).to_be_visible()
    page.get_by_label(f"Alt text for “quay-{token}.png”").fill("A quay in the rain")
    page.get_by_label("Decorative: screen readers skip it").nth(1).check()
    page.get_by_role("button", name="Save and continue").click()
    expect(page).to_have_url(re.compile(r"/admin/files/$"))
    expect(page.locator(".cms-messages .alert-success")).to_contain_text("2 images described.")
    for name in (f"quay-{token}.png", f"pier-{token}.png"):
        expect(page.get_by_role("link", name=name)).to_be_visible()
    expect(page.get_by_role("img", name="A quay in the rain")).to_be_visible()
    expect(page.get_by_role("link", name=f"fake-{token}.jpg")).to_have_count(0)

    # The drop zone: each dropped file is reported on its own, the good ones are stored.
    page.goto("/admin/files/new/")
    zone = page.locator("#cms-dropzone")
    expect(zone).to_be_visible()
    drop_files(
        page,
        "#cms-dropzone",
        [
            (f"dune-{token}.png", "image/png", png(500, 300)),
            (f"virus-{token}.jpg", "image/jpeg", HTML),
            (f"cliff-{token}.png", "image/png", png(200, 200)),
        ],
    )
    summary = page.locator("#cms-upload-summary")
    expect(summary).to_contain_text(f"2 uploaded, 1 refused: virus-{token}.jpg — ")
    results = page.locator("#cms-upload-results li")
    expect(results).to_have_count(3)
    expect(page.locator("#cms-upload-results .cms-upload-refused")).to_contain_text(
        f"virus-{token}.jpg — This type of file is not allowed"
    )
    expect(page.locator("#cms-upload-results .cms-upload-ok a")).to_have_count(2)
    # The next step is the alt text of the two new images; skipped here.
    describe = page.get_by_role("link", name="Next: write the alt text of the new images")
    expect(describe).to_be_focused()
    describe.click()
    expect(page.get_by_role("textbox")).to_have_count(2)
    page.get_by_role("link", name="Skip for now").click()
    expect(page).to_have_url(re.compile(r"/admin/files/$"))
    for name in (f"dune-{token}.png", f"cliff-{token}.png"):
        expect(page.get_by_role("link", name=name, exact=True)).to_be_visible()
    expect(page.get_by_role("link", name=f"virus-{token}.jpg")).to_have_count(0)


def place_cursor(page: Page, position: int) -> None:
    """Put the cursor of the body's editor at a character position, with the keyboard."""
    editor = page.locator("#cms-editor .cm-content")
    editor.click()
    editor.press("Control+Home")
    for _step in range(position):
        editor.press("ArrowRight")


def test_images_go_into_the_post_at_the_cursor_and_readers_get_srcset(
    page, chromium, live_server, watch
):
    editor = create_person(live_server, "editor", "Ines Insert")
    token = secrets.token_hex(3)
    existing, fresh = f"lighthouse-{token}.png", f"harbour-{token}.png"
    title = f"Coast {token}"
    log_in(page, editor, PASSWORD)
    page.goto("/admin/files/new/")
    page.set_input_files(
        "#upload", files=[{"name": existing, "mimeType": "image/png", "buffer": png(1400, 700)}]
    )
    save_form(page)
    describe(page, existing, "A white lighthouse on a rock")
    stored = library(page, existing)

    page.goto("/admin/posts/new/")
    page.locator("#title").fill(title)
    body = page.locator("#body_md")
    fill_body(page, "Intro.\n\n\n\nOutro.")
    panel = page.locator("#cms-media")
    expect(panel).to_be_visible()

    # Pick the existing image: it goes where the cursor is (between the two paragraphs).
    place_cursor(page, len("Intro.\n\n"))
    page.get_by_text("Pick an image from the library").click()
    page.get_by_label("Search by name").fill(f"lighthouse-{token}")
    # Only the match is left once the search has answered.
    expect(panel.locator("button.cms-media-pick")).to_have_count(1)
    pick = panel.locator("button.cms-media-pick", has_text=existing)
    expect(pick).to_have_count(1)
    expect(pick.locator("img")).to_have_attribute("src", stored["thumbnail"])
    pick.click()
    picked = f"![A white lighthouse on a rock]({stored['url']})"
    expect(body).to_have_value(f"Intro.\n\n{picked}\n\nOutro.")

    # Upload a new one from the editor: inserted at the cursor, after "Outro.".
    place_cursor(page, len(body.input_value()))
    page.set_input_files(
        "#cms-media-upload",
        files=[{"name": fresh, "mimeType": "image/png", "buffer": png(800, 600)}],
    )
    expect(page.locator("#cms-media-status")).to_contain_text(f"{fresh} — Inserted into the body.")
    uploaded = library(page, fresh)
    expect(body).to_have_value(f"Intro.\n\n{picked}\n\nOutro.![]({uploaded['url']})")
    # It is in the picker's list now too.
    expect(panel.locator("button.cms-media-pick", has_text=fresh)).to_have_count(1)
    save_form(page)
    expect(page.locator(".alert-success")).to_contain_text("Draft saved.")

    # The new image needs its alt text before the post may be published.
    describe(page, fresh, "Boats in the harbour")
    page.goto("/admin/posts/")
    page.get_by_role("link", name=title, exact=True).click()
    press_action(page, "publish")
    page.goto("/admin/posts/")
    expect(page.get_by_role("row").filter(has_text=title)).to_contain_text("Published")
    log_out_of_dashboard(page)

    # An anonymous reader gets responsive images that all load.
    reader = chromium.new_context(base_url=live_server.url)
    tab = reader.new_page()
    tab.on("response", watch.on_response)
    tab.on("pageerror", watch.on_page_error)
    media = []
    tab.on("response", lambda r: media.append((r.url, r.status)) if "/media/" in r.url else None)
    tab.goto("/")
    tab.get_by_role("link", name=title, exact=True).click()
    pictures = tab.locator("article picture")
    expect(pictures).to_have_count(2)
    expectations = [
        (stored, "A white lighthouse on a rock", (1400, 700)),
        (uploaded, "Boats in the harbour", (800, 600)),
    ]
    for index, (item, alt, (width, height)) in enumerate(expectations):
        picture = pictures.nth(index)
        source = picture.locator("source")
        expect(source).to_have_attribute("type", "image/webp")
        assert "/media/" in source.get_attribute("srcset")
        img = picture.locator("img")
        expect(img).to_have_attribute("alt", alt)
        expect(img).to_have_attribute("width", str(width))
        expect(img).to_have_attribute("height", str(height))
        expect(img).to_have_attribute("loading", "lazy")
        assert "/media/" in img.get_attribute("srcset")
        assert img.get_attribute("src") == item["url"]
        img.scroll_into_view_if_needed()
        tab.wait_for_function(
            "img => img.complete && img.naturalWidth > 0", arg=img.element_handle()
        )
        # The browser chose a WebP candidate from the <source>.
        assert "/media/" in img.evaluate("img => img.currentSrc")
    assert media and all(status == 200 for _url, status in media), media
    reader.close()
