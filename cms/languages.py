"""Languages in the address: the default language unprefixed, the others under /<code>/.

A WSGI middleware moves a leading `/de` from PATH_INFO to SCRIPT_NAME, so the app sees
`/posts/x` mounted under `/de`: no route changes, and `url_for()` in a German request already
builds `/de/...` links. The app's own address (SITE_URL, a mount point) is kept before it.

    /de/posts/x       German, the route /posts/x
    /de               301 to /de/ (the German home)
    /en/posts/x       301 to /posts/x (the default language has no prefix)
    /posts/x?lang=de  301 to /de/posts/x (a public page has one address per language)
    /                 302 to /de/ when Accept-Language prefers German, else the English home
                      (both with Vary: Accept-Language); /?lang=en is the English home always

On public pages the address alone decides the language (cms.i18n); the dashboard and the
account pages also follow a person's saved choice, the session and Accept-Language.
Translated content (a later step) can read `url_language()` the same way.
"""

from collections.abc import Callable, Iterable
from urllib.parse import parse_qsl, quote, urlencode

from flask import Flask, current_app, has_request_context, request
from flask.globals import request_ctx
from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header
from werkzeug.utils import redirect

# Keys this middleware leaves in the WSGI environ for the app (and the page cache).
LANGUAGE_KEY = "cms.language"  # the language code the address named, when it named one
ROOT_KEY = "cms.script_root"  # SCRIPT_NAME before the language prefix was added to it
NEGOTIATED_KEY = "cms.negotiated"  # "/" was answered after looking at Accept-Language

# Pages that keep a person's own language choice (saved on the account, the session, ?lang=).
PERSONAL_PREFIXES = ("/admin", "/account", "/language")
# Files: the same bytes in every language, so their addresses never carry a prefix.
FILE_PREFIXES = ("/static", "/uploads", "/media")
FILE_ENDPOINTS = frozenset({"static", "public.upload", "public.media"})
# A language redirect is a fixed fact of the address: caches may keep it a day.
REDIRECT_CACHE_CONTROL = "public, max-age=86400"
# "/" redirects by a request header: only the browser may keep that answer.
NEGOTIATED_CACHE_CONTROL = "private, max-age=0"
# Characters left as they are when a path is written back into an address.
PATH_SAFE = "/:@!$&'()*+,;=-._~%"


def _under(path: str, prefixes: Iterable[str]) -> bool:
    """Return whether `path` is one of `prefixes` or below one of them."""
    return any(path == prefix or path.startswith(prefix + "/") for prefix in prefixes)


def is_personal_path(path: str) -> bool:
    """Return whether a route path is a dashboard or account page (or the language POST)."""
    return _under(path, PERSONAL_PREFIXES)


def is_public_path(path: str) -> bool:
    """Return whether a route path is a readers' page: not dashboard, account or a file."""
    return not _under(path, PERSONAL_PREFIXES + FILE_PREFIXES)


def _safe_path(path: str) -> str:
    """Return a path that cannot name another host: `//evil` and `/\\evil` become `/evil`."""
    return "/" + path.lstrip("/\\")


def _quoted(path: str) -> str:
    """Write a WSGI path (latin-1 decoded bytes) back as an address path."""
    return quote(path.encode("latin-1"), safe=PATH_SAFE)


class LanguagePrefixes:
    """WSGI middleware: a leading /<code> of a non-default language moves into SCRIPT_NAME."""

    def __init__(self, app: Callable, languages: Iterable[str], default: str):
        self.app = app
        self.languages = list(languages)
        self.default = default
        self.prefixed = {code for code in self.languages if code != default}

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO") or "/"
        root = environ.get("SCRIPT_NAME", "")
        query = environ.get("QUERY_STRING", "")
        method = environ.get("REQUEST_METHOD", "GET")
        reading = method in ("GET", "HEAD")
        first, slash, rest = path[1:].partition("/")
        if first in self.prefixed:
            if not slash:
                if reading:
                    return self._redirect(environ, start_response, f"{root}/{first}/", query)
                rest = ""
            environ[LANGUAGE_KEY] = first
            environ[ROOT_KEY] = root
            environ["SCRIPT_NAME"] = f"{root}/{first}"
            environ["PATH_INFO"] = path = "/" + rest
            code = first
        elif first == self.default and reading:
            # The default language has one address: the unprefixed one.
            target = f"{root}/{rest}"
            return self._redirect(environ, start_response, target, query)
        else:
            code = None
        if reading and "lang=" in query and is_public_path(path):
            moved = self._lang_argument(root, path, query, code)
            if moved is not None:
                return self._redirect(environ, start_response, *moved)
        if reading and code is None and path == "/" and not query:
            environ[NEGOTIATED_KEY] = True
            wanted = self._accepted(environ)
            if wanted in self.prefixed:
                return self._redirect(
                    environ, start_response, f"{root}/{wanted}/", "", negotiated=True
                )
        return self.app(environ, start_response)

    def _lang_argument(self, root: str, path: str, query: str, code: str | None):
        """Return (target, query) when ?lang= names a page's other address, else None.

        `/?lang=en` is the one address with ?lang=: the English home without the
        Accept-Language redirect (what the language switch links to).
        """
        pairs = parse_qsl(query, keep_blank_values=True)
        wanted = [value for name, value in pairs if name == "lang"]
        if not wanted or wanted[-1] not in self.languages:
            return None
        lang = wanted[-1]
        others = [(name, value) for name, value in pairs if name != "lang"]
        if lang == self.default and path == "/" and not others:
            if code is None and pairs == [("lang", lang)]:
                return None
            return f"{root}/", urlencode([("lang", lang)])
        prefix = "" if lang == self.default else f"/{lang}"
        return f"{root}{prefix}{path}", urlencode(others)

    def _accepted(self, environ) -> str | None:
        """Return the offered language the browser prefers, if it names one."""
        header = environ.get("HTTP_ACCEPT_LANGUAGE")
        if not header:
            return None
        return parse_accept_header(header, LanguageAccept).best_match(self.languages)

    @staticmethod
    def _redirect(environ, start_response, target: str, query: str, negotiated=False):
        """Answer a permanent (or, for "/", a temporary per-browser) redirect."""
        location = _quoted(_safe_path(target)) + (f"?{query}" if query else "")
        response = redirect(location, code=302 if negotiated else 301)
        headers = response.headers
        headers["X-Content-Type-Options"] = "nosniff"
        headers["Referrer-Policy"] = "strict-origin-when-cross-origin"
        headers["Content-Security-Policy"] = "default-src 'none'; frame-ancestors 'none'"
        if negotiated:
            headers["Vary"] = "Accept-Language"
            headers["Cache-Control"] = NEGOTIATED_CACHE_CONTROL
        else:
            headers["Cache-Control"] = REDIRECT_CACHE_CONTROL
        return response(environ, start_response)


def init_languages(app: Flask) -> None:
    """Wrap the app in the language middleware; keep file addresses free of the prefix."""
    app.wsgi_app = LanguagePrefixes(
        app.wsgi_app, app.config["LANGUAGES"], app.config["BABEL_DEFAULT_LOCALE"]
    )
    app.url_for = _file_urls_unprefixed(app.url_for)
    app.jinja_env.globals["url_for"] = app.url_for


# Addresses url_for() built, by (script name, endpoint, arguments): building one through
# Werkzeug's rules costs ~25 µs and a page asks for 40-50. Emptied when it reaches this size.
BUILT_LIMIT = 20_000


def _file_urls_unprefixed(url_for: Callable) -> Callable:
    """Return url_for building static files, uploads and renditions without /<code>, and
    remembering what it built.

    The same bytes in every language get one address, so browsers and caches keep one copy.
    A relative address depends only on the script name, the endpoint and the arguments (the
    app has no URL defaults and no host rules), and a full one on the scheme and host too, so
    each is built once per process; calls with `_anchor`, `_method` or `_scheme`, relative
    endpoints (".name") or arguments that are not plain values go to Flask every time.
    """
    built: dict[tuple, str] = {}

    def build(endpoint: str, /, **values):
        if not has_request_context():
            return url_for(endpoint, **values)
        environ = request.environ
        adapter = request_ctx.url_adapter
        is_file = endpoint in FILE_ENDPOINTS or endpoint.endswith(".static")
        script_name = adapter.script_name
        if is_file and LANGUAGE_KEY in environ:
            script_name = environ[ROOT_KEY].rstrip("/") + "/"
        key = None
        if endpoint[:1] != "." and not any(
            name[:1] == "_" and name != "_external" for name in values
        ):
            where = (adapter.url_scheme, adapter.server_name, script_name)
            key = (*where, endpoint, *values.items())
            try:
                return built[key]
            except KeyError:
                pass
            except TypeError:  # an argument that is a list or another unhashable value
                key = None
        prefixed = adapter.script_name
        adapter.script_name = script_name
        try:
            address = url_for(endpoint, **values)
        finally:
            adapter.script_name = prefixed
        if key is not None and not current_app.url_default_functions:
            if len(built) >= BUILT_LIMIT:
                built.clear()
            built[key] = address
        return address

    return build


def url_language() -> str | None:
    """Return the language code the request's address named (None: the unprefixed default)."""
    if not has_request_context():
        return None
    return request.environ.get(LANGUAGE_KEY)


def language_url(code: str) -> str:
    """Return the current page's address in another language, keeping its query (?page=, ?q=).

    The default language's home is `/?lang=en` (no Accept-Language redirect); on dashboard and
    account pages the default language is asked for with ?lang= too, since there the address
    alone does not decide.
    """
    config = current_app.config
    root = request.environ.get(ROOT_KEY, request.script_root)
    path = request.path
    args = [(name, value) for name, value in request.args.items(multi=True) if name != "lang"]
    prefix = ""
    if code != config["BABEL_DEFAULT_LOCALE"]:
        prefix = f"/{code}"
    elif is_personal_path(path) or (path == "/" and not args):
        args.append(("lang", code))
    query = urlencode(args)
    return f"{root}{prefix}{quote(path, safe=PATH_SAFE)}" + (f"?{query}" if query else "")
