"""The page cache in front of the app: a WSGI middleware, so a hit never enters Flask.

A hit costs a key built from the environ, one `get_many` (the entry and the "last purge"
value, cms.services.page_cache) and the choice of a stored encoding: no request context, no
session, no before/after-request hooks, no database. That is what lets a cached page answer
about as fast as a bare "hello" view.

Which requests the cache may answer (anything else passes through untouched):
- GET or HEAD (HEAD is answered from the GET entry, without the body);
- no session or remember cookie (PAGE_CACHE_BYPASS_COOKIES, plus SESSION_COOKIE_NAME and
  REMEMBER_COOKIE_NAME) and no Authorization or Authentication-Token header: a logged-in
  person is never served a stored page, and their pages are never stored;
- a path outside PAGE_CACHE_BYPASS_PREFIXES (dashboard, account, static files, uploads,
  renditions, previews: these have their own caching or are private);
- a query string with no parameter outside PAGE_CACHE_QUERY_ARGS: unknown parameters (tracking
  tags, cache busters) would otherwise create endless copies of one page, so such requests go
  to the app uncached.

The key is scheme + host + SCRIPT_NAME + PATH_INFO + the allowed query parameters sorted by
name. SCRIPT_NAME carries the language prefix (/de): the language middleware is outside this
one (init_page_cache wraps the app first, so everything wrapped later is outer), so this layer
sees the prefix already moved there. The host is part of the key because without SITE_URL the
app builds absolute links from the request's Host; a Host the app refuses gets 400, which is
never stored.

What is stored: only 200 responses whose view recorded page dependencies (an after_request
hook hands `page_deps.recorded()` over in the environ, under ENV_DEPS; a page that recorded
nothing is not kept: the safe default), without Set-Cookie (a response that sets one is never
stored), not `private`/`no-store`/`no-cache`, with no Vary beyond Accept-Encoding (and
PAGE_CACHE_IGNORE_VARY: `Cookie` by default, because requests carrying the login cookies never
reach the cache; and Accept-Language on "/" when the language middleware already negotiated it,
see ENV_NEGOTIATED), at most PAGE_CACHE_MAX_BYTES. 301s and 404s are not stored: what they depend
on is an absence (no post has this slug yet) that views do not record, and they are cheap.

To store identity bytes the app is called without Accept-Encoding (and without conditional
headers, as a GET): flask-compress then leaves the body alone (the original header is kept in
the environ under ENV_ACCEPT_ENCODING for anyone who needs it). gzip and brotli copies are made
once, at store time; hits pick one by Accept-Encoding and say `Vary: Accept-Encoding`.
If-None-Match (and If-Modified-Since) are answered with 304 from the stored ETag (the app's,
or a hash of the body when it sent none; each encoding has its own strong tag).

On a miss, one request renders (single flight, cms.services.page_cache) and the others poll
for its entry; when the cache backend fails, requests are served by the app uncached.
"""

import logging
import time
from urllib.parse import parse_qsl, urlencode

from flask import Flask, request
from flask_caching import Cache
from werkzeug.http import parse_date

from cms.services import (
    changes,  # noqa: F401  (registers the purge listeners)
    page_deps,
)
from cms.services.page_cache import (
    CONDITIONAL_HEADERS,
    PASS,
    PageCache,
    seconds_until_next_change,
)

log = logging.getLogger(__name__)

# Environ keys shared with the app (the after_request hook below) and other layers.
ENV_CANDIDATE = "cms.page_cache.candidate"
ENV_DEPS = "cms.page_cache.deps"
ENV_SEEN = "cms.page_cache.seen"
ENV_UNTIL = "cms.page_cache.until"
ENV_ACCEPT_ENCODING = "cms.page_cache.accept_encoding"
# Set by the language middleware (cms.languages.NEGOTIATED_KEY, outside this layer) on "/" when
# it already looked at Accept-Language and chose not to redirect: the page that reaches the app
# is then the same for every such request, and its Vary: Accept-Language is for other caches.
ENV_NEGOTIATED = "cms.negotiated"
UNCACHEABLE_DIRECTIVES = ("private", "no-store", "no-cache")
BACKENDS = {
    "filesystem": "cms.services.page_cache.PageFileSystemCache",
    "redis": "cms.services.page_cache.PageRedisCache",
    "simple": "SimpleCache",
}
CACHE_HEADER = "X-Page-Cache"


def choose_encoding(accept: str | None, available) -> str:
    """Return the best stored encoding the client accepts (brotli, then gzip, else identity)."""
    if not accept:
        return "identity"
    weights = {}
    for part in accept.split(","):
        name, _, params = part.partition(";")
        weight = 1.0
        params = params.strip().replace(" ", "")
        if params.startswith("q="):
            try:
                weight = float(params[2:])
            except ValueError:
                weight = 0.0
        weights[name.strip().lower()] = weight
    best, best_weight = "identity", 0.0
    for encoding in ("br", "gzip"):
        weight = weights.get(encoding, weights.get("*", 0.0))
        if encoding in available and weight > best_weight:
            best, best_weight = encoding, weight
    return best


def etag_matches(header: str, etags) -> bool:
    """Return whether If-None-Match names one of the stored tags (weak comparison)."""
    if header.strip() == "*":
        return True
    return any(tag.strip().removeprefix("W/") in etags for tag in header.split(","))


class PageCacheMiddleware:
    """Answer anonymous GET/HEAD requests for public pages from the page cache."""

    def __init__(self, wsgi_app, cache: PageCache, config: dict):
        self.app = wsgi_app
        self.cache = cache
        self.query_args = frozenset(config.get("PAGE_CACHE_QUERY_ARGS", ("page", "q")))
        prefixes = config.get("PAGE_CACHE_BYPASS_PREFIXES", ())
        self.bypass_exact = frozenset(p.rstrip("/") for p in prefixes)
        self.bypass_prefixes = tuple(p.rstrip("/") + "/" for p in prefixes)
        self.bypass_cookies = frozenset(
            {
                *config.get("PAGE_CACHE_BYPASS_COOKIES", ()),
                config.get("SESSION_COOKIE_NAME") or "session",
                config.get("REMEMBER_COOKIE_NAME") or "remember_token",
            }
        )
        self.ignore_vary = frozenset(
            v.lower() for v in (*config.get("PAGE_CACHE_IGNORE_VARY", ()), "Accept-Encoding")
        )
        self.max_bytes = int(config.get("PAGE_CACHE_MAX_BYTES", 10 * 1024 * 1024))
        self.poll_seconds = float(config.get("PAGE_CACHE_POLL_SECONDS", 0.02))

    # --- which requests, which key ---------------------------------------------------------

    def key_for(self, environ) -> str | None:
        """Return the cache key of a request, or None when the cache must stay out of it."""
        if environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
            return None
        path = environ.get("PATH_INFO") or "/"
        if path in self.bypass_exact or path.startswith(self.bypass_prefixes):
            return None
        if "HTTP_AUTHORIZATION" in environ or "HTTP_AUTHENTICATION_TOKEN" in environ:
            return None
        cookie = environ.get("HTTP_COOKIE")
        if cookie:
            for part in cookie.split(";"):
                if part.split("=", 1)[0].strip() in self.bypass_cookies:
                    return None
        query = environ.get("QUERY_STRING")
        if query:
            pairs = parse_qsl(query, keep_blank_values=True)
            for name, _value in pairs:
                if name not in self.query_args:
                    return None
            # Sorted by name only: repeated parameters keep their order.
            pairs.sort(key=lambda pair: pair[0])
            query = urlencode(pairs)
        host = environ.get("HTTP_HOST") or (
            f"{environ.get('SERVER_NAME', '')}:{environ.get('SERVER_PORT', '')}"
        )
        return (
            f"{environ.get('wsgi.url_scheme', 'http')}://{host.lower()}"
            f"{environ.get('SCRIPT_NAME', '')}{path}?{query or ''}"
        )

    # --- the request -----------------------------------------------------------------------

    def __call__(self, environ, start_response):
        key = self.key_for(environ)
        if key is None:
            return self.app(environ, start_response)
        answered = self.answer(key, environ, start_response)
        if answered is not None:
            return answered
        return self.fill(key, environ, start_response)

    def answer(self, key: str, environ, start_response):
        """Answer from the store: the entry on a hit, the app for a pass marker or when the
        store fails; None on a miss."""
        try:
            found = self.cache.lookup(key)
        except Exception:
            log.exception("page cache: lookup failed; answering uncached")
            return self.app(environ, start_response)
        if found is PASS:
            return self.app(environ, start_response)
        if found is not None:
            return self.serve(found, environ, start_response, "hit")
        return None

    def fill(self, key: str, environ, start_response):
        """Render a missing or stale page once (single flight); others wait for its entry."""
        cache = self.cache
        deadline = time.monotonic() + 2 * cache.lock_seconds + 1
        while True:
            try:
                token = cache.acquire(key)
            except Exception:
                log.exception("page cache: lock failed; answering uncached")
                return self.app(environ, start_response)
            if token is not None:
                try:
                    # The previous holder may have stored it just before we got the lock.
                    answered = self.answer(key, environ, start_response)
                    if answered is not None:
                        return answered
                    return self.render(key, environ, start_response)
                finally:
                    cache.release(key, token)
            time.sleep(self.poll_seconds)
            answered = self.answer(key, environ, start_response)
            if answered is not None:
                return answered
            if time.monotonic() > deadline:
                # The lock outlived its timeout (a stuck backend): do not wait any longer.
                return self.app(environ, start_response)

    def call_app(self, environ) -> tuple[str, list, bytes]:
        """Run the app and return its status, headers and whole body."""
        captured = {}
        chunks = []

        def capture(status, headers, exc_info=None):
            captured["status"], captured["headers"] = status, headers
            return chunks.append

        result = self.app(environ, capture)
        try:
            for chunk in result:
                chunks.append(chunk)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        return captured["status"], list(captured["headers"]), b"".join(chunks)

    def render(self, key: str, environ, start_response):
        """Have the app make the page (identity bytes, unconditional GET), store it, answer."""
        inner = dict(environ)
        inner[ENV_ACCEPT_ENCODING] = inner.pop("HTTP_ACCEPT_ENCODING", None)
        # Removed when the app renders a page to store.
        for name in CONDITIONAL_HEADERS:
            inner.pop(name, None)
        inner["REQUEST_METHOD"] = "GET"
        inner[ENV_CANDIDATE] = True
        last = self.cache.current_last()
        status, headers, body = self.call_app(inner)
        verdict = self.storable(inner, status, headers, body)
        if verdict is True:
            entry = self.cache.store(
                key,
                inner[ENV_DEPS],
                last,
                status,
                headers,
                body,
                inner.get(ENV_UNTIL),
                seen=inner.get(ENV_SEEN),
            )
            if entry is not None:
                return self.serve(entry, environ, start_response, "miss")
        elif verdict is PASS:
            self.cache.store_pass(key)
        start_response(status, [*headers, (CACHE_HEADER, "miss")])
        return [] if environ.get("REQUEST_METHOD") == "HEAD" else [body]

    def storable(self, inner, status: str, headers, body: bytes):
        """Return True to store a response, PASS when the page is never stored, else False."""
        if not status.startswith("200") or not inner.get(ENV_DEPS):
            return PASS
        if len(body) > self.max_bytes:
            return PASS
        for name, value in headers:
            lower = name.lower()
            if lower == "set-cookie":
                return PASS
            if lower == "cache-control" and any(
                directive in value.lower() for directive in UNCACHEABLE_DIRECTIVES
            ):
                return PASS
            if lower == "content-encoding" and value.strip().lower() != "identity":
                return PASS
            if lower == "vary":
                allowed = self.ignore_vary
                if inner.get(ENV_NEGOTIATED):
                    allowed = allowed | {"accept-language"}
                if any(
                    part.strip().lower() not in allowed for part in value.split(",") if part.strip()
                ):
                    return PASS
        return True

    def serve(self, entry: dict, environ, start_response, label: str):
        """Answer from a stored entry: the client's encoding, 304 when it has it already."""
        variants = entry["variants"]
        encoding = "identity"
        if len(variants) > 1:
            encoding = choose_encoding(environ.get("HTTP_ACCEPT_ENCODING"), variants)
        headers, body, not_modified = variants[encoding]
        if_none_match = environ.get("HTTP_IF_NONE_MATCH")
        if if_none_match is not None:
            if etag_matches(if_none_match, entry["etags"]):
                start_response("304 Not Modified", [*not_modified, (CACHE_HEADER, label)])
                return []
        elif entry.get("last_modified") and "HTTP_IF_MODIFIED_SINCE" in environ:
            since = _parse_http_date(environ["HTTP_IF_MODIFIED_SINCE"])
            if since is not None and entry["last_modified"] <= since:
                start_response("304 Not Modified", [*not_modified, (CACHE_HEADER, label)])
                return []
        start_response(entry["status"], [*headers, (CACHE_HEADER, label)])
        return [] if environ.get("REQUEST_METHOD") == "HEAD" else [body]


def _parse_http_date(value: str) -> float | None:
    parsed = parse_date(value)
    return None if parsed is None else parsed.timestamp()


# --- wiring ------------------------------------------------------------------------------------


def _hand_over(response):
    """Give the middleware what the page recorded, and how long it may be kept."""
    environ = request.environ
    if environ.get(ENV_CANDIDATE) and response.status_code == 200:
        names, _changed_at = page_deps.recorded()
        if names:
            environ[ENV_DEPS] = names
            environ[ENV_SEEN] = page_deps.versions_seen()
            environ[ENV_UNTIL] = seconds_until_next_change()
    return response


def backend_config(app: Flask) -> dict:
    """Return the Flask-Caching settings of the page cache's backend."""
    config = app.config
    kind = (config.get("PAGE_CACHE_TYPE") or "").lower()
    if not kind:
        kind = "redis" if config.get("REDIS_URL") else "filesystem"
    if kind not in BACKENDS:
        raise ValueError(f"PAGE_CACHE_TYPE must be one of {sorted(BACKENDS)}, not {kind!r}")
    directory = config.get("PAGE_CACHE_DIR") or f"{app.instance_path}/cache"
    return {
        "CACHE_TYPE": BACKENDS[kind],
        "CACHE_DIR": directory,
        "CACHE_REDIS_URL": config.get("REDIS_URL"),
        "CACHE_KEY_PREFIX": config.get("PAGE_CACHE_KEY_PREFIX", "page:"),
        "CACHE_THRESHOLD": int(config.get("PAGE_CACHE_THRESHOLD", 20000)),
        "CACHE_DEFAULT_TIMEOUT": int(config.get("PAGE_CACHE_SECONDS", 3600)),
        "CACHE_OPTIONS": None,
        "CACHE_ARGS": [],
        "CACHE_SERIALIZER": None,
        "CACHE_NO_NULL_WARNING": True,
        "CACHE_IGNORE_ERRORS": True,
    }


def init_page_cache(app: Flask) -> PageCache | None:
    """Open the page cache's store and put the page cache in front of the app.

    With PAGE_CACHE "off" every page is rendered on every request, but the store still keeps
    figures (counts, the month list: page_cache.remember), purged like pages.
    Call it before any other WSGI middleware is added: it must be the innermost layer.
    Test apps (TESTING) run without either unless PAGE_CACHE_IN_TESTS is set: the suite empties
    the database with raw SQL between tests, which no purge sees.
    """
    if app.testing and not app.config.get("PAGE_CACHE_IN_TESTS"):
        return None
    flask_cache = Cache(config=backend_config(app))
    flask_cache.init_app(app)
    cache = PageCache(app.extensions["cache"][flask_cache], app.config)
    app.extensions["page_cache"] = cache
    if str(app.config.get("PAGE_CACHE", "on")).lower() in ("off", "0", "false", "no"):
        return cache
    app.after_request(_hand_over)
    app.wsgi_app = PageCacheMiddleware(app.wsgi_app, cache, app.config)
    return cache
