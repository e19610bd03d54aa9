"""Helpers for the dashboard tests: admin forms, bulk actions, uploads and CSV exports."""

import csv
import io
from pathlib import Path
from urllib.parse import urlsplit

from tests.helpers import csrf_token_from


def text(response) -> str:
    """Return a response body as text."""
    return response.get_data(as_text=True)


def submit_admin(browser, url: str, data: dict, **kwargs):
    """Fill and post the Flask-Admin form on `url` (not the navbar's language/logout forms)."""
    return browser.submit(url, data, match=urlsplit(url).path, **kwargs)


def form_fields(browser, url: str) -> dict:
    """Return the fields of the Flask-Admin form on `url`."""
    return browser.form(url, match=urlsplit(url).path)["fields"]


def bulk_action(browser, list_url: str, name: str, ids) -> object:
    """Run a bulk action through the list page's own action form and CSRF token."""
    form = browser.form(list_url, match="/action/")
    data = dict(form["fields"], action=name, rowid=[str(ident) for ident in ids])
    return browser.client.post(form["action"], data=data)


def delete_row(browser, list_url: str, ident: int):
    """Delete one row through the list's delete button (a POST form with its token)."""
    token = csrf_token_from(text(browser.get(list_url)))
    delete_url = list_url.rstrip("/") + "/delete/"
    return browser.client.post(delete_url, data={"csrf_token": token, "id": str(ident)})


def upload(browser, data: bytes, filename: str, **fields):
    """Upload a file through the dashboard's upload form."""
    form = browser.form("/admin/files/new/", match="/admin/files/new/")
    payload = dict(form["fields"], **fields)
    payload["upload"] = (io.BytesIO(data), filename)
    return browser.client.post(
        "/admin/files/new/", data=payload, content_type="multipart/form-data"
    )


def csv_rows(response) -> list[list[str]]:
    """Return the rows of a CSV response."""
    return list(csv.reader(io.StringIO(text(response))))


def stored_files(app) -> set[str]:
    """Return the names in the uploads folder (temporary files included)."""
    return {path.name for path in Path(app.config["UPLOAD_FOLDER"]).iterdir()}


def row_exists(model, ident: int) -> bool:
    """Return whether a row is in the database (without refreshing a deleted object)."""
    from sqlalchemy import select

    from cms.extensions import db

    db.session.expire_all()
    return db.session.scalar(select(model.id).where(model.id == ident)) is not None
