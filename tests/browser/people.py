"""What a person does in the browser again and again: sign in, sign out, pick from select2."""

import io
import itertools
import secrets

from PIL import Image
from playwright.sync_api import Page, expect

# The password of the staff accounts the tests make.
PASSWORD = "a long staff password"

_numbers = itertools.count(1)


def unique_email(prefix: str) -> str:
    """Return an address no other test uses (the live server's database is shared)."""
    return f"{prefix}{next(_numbers)}@example.com"


def create_person(live_server, role: str, name: str) -> str:
    """Make a confirmed account with a role from the command line; return its e-mail."""
    email = unique_email(role)
    command = ("create-user", email, "--role", role, "--name", name, "--password", PASSWORD)
    live_server.flask("cms", *command)
    return email


def png(width: int, height: int) -> bytes:
    """Return a PNG of a colour no other test uses (so it is a file of its own)."""
    colour = tuple(secrets.randbelow(256) for _ in range(3))
    out = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(out, format="PNG")
    return out.getvalue()


def log_in(page: Page, email: str, password: str) -> None:
    """Fill and send the login form."""
    page.goto("/account/login")
    page.get_by_label("Email Address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Login").click()
    page.wait_for_load_state()


def log_out_of_dashboard(page: Page) -> None:
    """Open the person's menu in the dashboard's navbar and press Log out (a POST form)."""
    page.goto("/admin/")
    toggler = page.locator(".navbar-toggler")
    if toggler.is_visible():
        toggler.click()
    page.locator("#cms-account-menu").click()
    page.locator(".cms-logout-form button").click()
    page.wait_for_url(lambda url: url.endswith("/"))


def register(page: Page, email: str, password: str) -> None:
    """Fill and send the registration form."""
    page.goto("/account/register")
    page.get_by_label("Email Address").fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_label("Retype Password").fill(password)
    page.get_by_role("button", name="Register").click()


def choose_in_select2(page: Page, field_id: str, text: str) -> None:
    """Pick an option in a select2 (3.5) box the way a person does: open, type, choose."""
    container = page.locator(f"#s2id_{field_id}")
    container.click()
    # A multiple select types into the box itself; a single one into its drop-down.
    search = container.locator("input.select2-input")
    if not search.is_visible():
        search = page.locator(".select2-drop-active input.select2-input")
    search.fill(text)
    option = page.locator(".select2-drop-active .select2-result-label", has_text=text).first
    expect(option).to_be_visible()
    option.click()


def save_form(page: Page) -> None:
    """Press the dashboard form's Save button and wait for the next page.

    On a post or page form that is the quiet action: "Save draft" / "Save", or "Update" on a
    published post (the status stays as it is).
    """
    page.locator(
        "input[type=submit][value=Save], #cms-actions button[value=save], "
        "#cms-actions button[value=update]"
    ).first.click()
    page.wait_for_load_state()


def press_action(page: Page, name: str) -> None:
    """Press one of the post form's action buttons (publish, schedule, submit, ...) and wait."""
    page.locator(f"#cms-post-form button[name=workflow][value={name}]").click()
    page.wait_for_load_state()


def fill_body(page: Page, text: str) -> None:
    """Replace the post body as a writer does: in the editor (CodeMirror), once it is up."""
    editor = page.locator("#cms-editor .cm-content")
    expect(editor).to_be_visible()
    editor.fill(text)
    # The editor writes every change back into the form's textarea.
    expect(page.locator("#body_md")).to_have_value(text)
