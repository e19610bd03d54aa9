"""The catalogs: every string in the code is in them, German is complete, and it shows."""

from pathlib import Path

from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from tests.factories import PASSWORD, make_user

ROOT = Path(__file__).resolve().parent.parent
CATALOG = ROOT / "translations" / "de" / "LC_MESSAGES" / "messages.po"


def german_catalog():
    """Return the German catalog as Babel reads it."""
    with CATALOG.open("rb") as handle:
        return read_po(handle, locale="de")


def message_ids_in_code() -> set:
    """Extract the translatable strings from cms/ the way `make translations-extract` does."""
    with (ROOT / "babel.cfg").open() as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    keywords = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None}
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=keywords
    ):
        found.add(message if isinstance(message, str) else message[0])
    return found


def test_every_string_in_the_code_is_in_the_german_catalog():
    catalog = german_catalog()
    in_catalog = {m.id if isinstance(m.id, str) else m.id[0] for m in catalog if m.id}
    missing = message_ids_in_code() - in_catalog
    assert not missing, f"run `make translations-update` and translate: {sorted(missing)}"


def test_german_catalog_is_complete_and_not_fuzzy():
    untranslated = [
        m.id
        for m in german_catalog()
        if m.id and (m.fuzzy or not (m.string if isinstance(m.string, str) else all(m.string)))
    ]
    assert untranslated == []


def test_public_site_in_german(client):
    page = client.get("/de/").get_data(as_text=True)
    assert '<html lang="de">' in page
    assert "Neueste Beiträge" in page and "Latest posts" not in page
    # Flask-Security's own catalog (shipped as de_DE) is found for "de" too.
    login = client.get("/account/login?lang=de").get_data(as_text=True)
    assert "Passwort" in login


def test_dashboard_in_german_uses_our_and_flask_admin_catalogs(browser, client, ctx):
    make_user("redaktion@example.com", roles=("editor",))
    browser.login("redaktion@example.com", PASSWORD)
    token = browser.csrf("/")
    client.post("/language", data={"csrf_token": token, "language": "de", "next": "/admin/"})
    page = client.get("/admin/posts/").get_data(as_text=True)
    assert "Beiträge" in page  # ours
    assert "Neuer Beitrag" in page  # ours, instead of Flask-Admin's "Create"
    assert ">Suche</button>" in page  # Flask-Admin's own German catalog
    assert "Abmelden" in page
