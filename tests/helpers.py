"""Helpers for driving the app like a person: real forms, real CSRF tokens, real mail."""

import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

from flask.globals import _cv_app
from flask.testing import FlaskClient

from cms.extensions import db


class IsolatedClient(FlaskClient):
    """A test client whose requests never share the test's app context.

    Flask reuses an active app context for a request, so `g` (and the logged-in user cached
    in it) would leak from one request to the next. Each request here gets its own context,
    as in production; the test's own session is committed first so the request sees its data.
    """

    def open(self, *args, **kwargs):
        # A streamed response (the CSV export) is read here, so its contexts end here too.
        kwargs.setdefault("buffered", True)
        outer = _cv_app.get(None)
        if outer is None:
            return super().open(*args, **kwargs)
        db.session.commit()
        token = _cv_app.set(None)
        try:
            return super().open(*args, **kwargs)
        finally:
            _cv_app.reset(token)
            # Forget what the test's session read before, so it sees the request's writes.
            db.session.expire_all()


class FormParser(HTMLParser):
    """Collect the forms of a page with their action, method and field values."""

    def __init__(self):
        super().__init__()
        self.forms: list[dict] = []
        self._form = None
        self._select = None
        self._textarea = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self._form = {
                "action": attrs.get("action", ""),
                "method": (attrs.get("method") or "get").lower(),
                "id": attrs.get("id"),
                "name": attrs.get("name"),
                "fields": {},
            }
            self.forms.append(self._form)
        elif self._form is None:
            return
        elif tag == "input":
            name = attrs.get("name")
            kind = (attrs.get("type") or "text").lower()
            if not name or kind in ("submit", "button", "file", "image", "reset"):
                return
            if kind in ("checkbox", "radio") and "checked" not in attrs:
                return
            self._form["fields"][name] = attrs.get("value", "y" if kind == "checkbox" else "")
        elif tag == "textarea":
            self._textarea = attrs.get("name")
            if self._textarea:
                self._form["fields"][self._textarea] = ""
        elif tag == "select":
            self._select = attrs.get("name")
        elif tag == "option" and self._select and "selected" in attrs:
            self._form["fields"][self._select] = attrs.get("value", "")

    def handle_data(self, data):
        if self._form is not None and self._textarea:
            self._form["fields"][self._textarea] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "textarea":
            self._textarea = None
        elif tag == "select":
            self._select = None


def parse_forms(html: str) -> list[dict]:
    """Return the forms found in an HTML page."""
    parser = FormParser()
    parser.feed(html)
    return parser.forms


def csrf_token_from(html: str) -> str:
    """Return the first CSRF token in a page."""
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert match, "page has no CSRF token"
    return match.group(1)


def links_in(text: str) -> list[str]:
    """Return the http(s) links found in a text (a mail body, say)."""
    return re.findall(r"https?://[^\s\"'<>]+", text)


class Browser:
    """Drive the test client through pages the way a person would."""

    def __init__(self, app, client):
        self.app = app
        self.client = client

    def get(self, url, **kwargs):
        """GET a page."""
        return self.client.get(url, **kwargs)

    def csrf(self, url="/account/login") -> str:
        """Return a CSRF token read from a page of the site."""
        response = self.client.get(url)
        return csrf_token_from(response.get_data(as_text=True))

    def form(self, url, match=None) -> dict:
        """Return the first form on `url` whose action contains `match` (or the first POST)."""
        response = self.client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        for form in parse_forms(response.get_data(as_text=True)):
            if form["method"] != "post":
                continue
            if match is None or match in (form["action"] or url):
                form["action"] = form["action"] or url
                return form
        raise AssertionError(f"no POST form matching {match!r} on {url}")

    def submit(self, url, data=None, match=None, follow_redirects=False, **kwargs):
        """Fill the form found on `url` with `data` and post it with its own CSRF token."""
        form = self.form(url, match)
        fields = dict(form["fields"])
        for key, value in (data or {}).items():
            if value is None:
                fields.pop(key, None)
            else:
                fields[key] = value
        action = form["action"]
        if not action.startswith(("/", "http")):
            action = url
        return self.client.post(action, data=fields, follow_redirects=follow_redirects, **kwargs)

    def login(self, email, password, follow_redirects=False):
        """Log in through the real login form."""
        return self.submit(
            "/account/login",
            {"email": email, "password": password},
            match="/account/login",
            follow_redirects=follow_redirects,
        )

    def logout(self):
        """Log out with the POST form and its CSRF token."""
        token = self.csrf("/")
        return self.client.post("/account/logout", data={"csrf_token": token})

    @property
    def outbox(self):
        """Mail sent by the app during this test."""
        return self.app.extensions["mailman"].outbox

    def mailed_link(self, containing: str) -> str:
        """Return the path of the newest mailed link that contains `containing`."""
        for message in reversed(self.outbox):
            for link in links_in(message.body):
                if containing in link:
                    parts = urlsplit(link)
                    return parts.path + (f"?{parts.query}" if parts.query else "")
        raise AssertionError(f"no mailed link containing {containing!r}")

    def db_get(self, model, ident):
        """Load a row fresh from the database."""
        with self.app.app_context():
            db.session.expire_all()
            return db.session.get(model, ident)


def snapshot() -> dict:
    """Return every row of every table, to prove a refused request changed nothing."""
    db.session.expire_all()
    rows = {}
    with db.engine.connect() as conn:
        for table in db.metadata.sorted_tables:
            query = table.select().order_by(*table.primary_key.columns)
            rows[table.name] = [tuple(row) for row in conn.execute(query)]
    # Post counters are kept by triggers: one that went back to 0 is the same as none.
    rows["post_count"] = [row for row in rows["post_count"] if row[-1]]
    return rows


def files_in(folder) -> set[str]:
    """Return the names of the files in a folder (hidden temporary files included)."""
    from pathlib import Path

    return {path.name for path in Path(folder).iterdir() if path.is_file()}


def without_tokens(html: str, *texts: str) -> str:
    """Return a page with CSRF tokens and the given texts blanked, to compare two pages."""
    html = re.sub(r'(name="csrf_token"[^>]*value=")[^"]+', r"\1", html)
    for text in texts:
        html = html.replace(text, "<blanked>")
    return html


def delete_all_rows() -> None:
    """Empty every table, children first (a fresh database for commands that fill it)."""
    db.session.remove()
    with db.engine.begin() as conn:
        for table in reversed(db.metadata.sorted_tables):
            conn.execute(table.delete())
