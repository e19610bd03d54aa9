"""Response headers and template helpers shared by every page.

Readers' pages are the same for every anonymous reader, so caches may keep them: no cookie,
no nonce, `Cache-Control: public` with an ETag and Last-Modified, compressed when asked.
Anyone carrying the session or remember cookie gets `private, no-store` instead.
"""

import hashlib
import secrets

from flask import Flask, current_app, g, request, session
from flask.sessions import SecureCookieSessionInterface
from flask_compress import Compress
from flask_login import COOKIE_NAME as REMEMBER_COOKIE_DEFAULT
from werkzeug.middleware.proxy_fix import ProxyFix

from cms.languages import NEGOTIATED_KEY, is_public_path
from cms.services import page_deps, roles
from cms.services.page_cache import CONDITIONAL_HEADERS

# Pages that show or take account data must never be kept by a browser or proxy cache.
NO_STORE_PREFIXES = ("/admin", "/account")
# Stored files keep the headers of their own route (cms.public.views._file_response) and are
# never compressed: ranges, images, downloads.
STORED_FILE_PREFIXES = ("/uploads", "/media")
# Answers that only someone with the session or remember cookie gets.
PERSONAL_CACHE_CONTROL = "private, no-store"
# Errors other than "not found" are never kept (a 503 must not outlive the outage).
ERROR_CACHE_CONTROL = "no-store"

# Scripts only from this site (readers' pages: nothing inline, so a cached copy stays valid)
# or, in the dashboard and account pages, also inline with this response's nonce; no inline
# event handlers. Style attributes stay allowed (Bootstrap, select2 and the date pickers set
# them); <style> elements do not.
# Frames only from the two video players of our embeds (rendering/embeds.py, embed.js), and
# those only after a reader clicks "Play video". With EXTERNAL_IMAGES = "allow" images may
# come from any https host ({images} below); by default only from this site.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src {scripts}; style-src 'self'; "
    "style-src-attr 'unsafe-inline'; img-src 'self' data:{images}; "
    "frame-src https://www.youtube-nocookie.com https://player.vimeo.com; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


def csp_nonce() -> str:
    """Return this request's script nonce, made on first use (a fresh one per request)."""
    nonce = g.get("csp_nonce")
    if nonce is None:
        nonce = g.csp_nonce = secrets.token_urlsafe(18)
    return nonce


def personal() -> bool:
    """Return whether the request carries the session or the remember cookie.

    Only such requests may see anything of a person (current_user, flashes, CSRF tokens);
    every other request gets the page every reader gets.
    """
    config = current_app.config
    cookies = request.cookies
    return config["SESSION_COOKIE_NAME"] in cookies or (
        config.get("REMEMBER_COOKIE_NAME", REMEMBER_COOKIE_DEFAULT) in cookies
    )


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, minus `Vary: Cookie` on answers to cookie-less requests.

    Flask adds the header whenever anything so much as looked at the session (Flask-Login
    does on every response). A request without the session cookie has an empty session, so
    unless something wrote to it, the answer cannot depend on it; and whoever carries the
    cookie is answered `private, no-store` (set_cache_headers). Without the header a shared
    cache can keep one copy of a readers' page instead of one per cookie jar.
    """

    def save_session(self, app, session, response) -> None:
        if (
            not session
            and not session.modified
            and self.get_cookie_name(app) not in request.cookies
        ):
            return
        super().save_session(app, session, response)


def init_web(app: Flask) -> None:
    """Register the header hooks, compression and the template globals; trust the proxies."""
    proxies = app.config.get("TRUSTED_PROXY_COUNT", 0)
    if proxies > 0:
        # Only then does X-Forwarded-For name the client (throttling, login records).
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)
    app.session_interface = SessionInterface()
    # Before every other hook (Flask-Principal's identity loader among them): a request with
    # neither cookie is anonymous, known without Flask-Login reading the session.
    app.before_request_funcs.setdefault(None, []).insert(0, skip_user_without_cookie)
    # We call it ourselves (compress_response), to leave stored files alone.
    app.config["COMPRESS_REGISTER"] = False
    app.extensions["cms_compress"] = Compress(app)
    # Hooks run in the reverse order of registration: headers, then caching, then compression.
    app.after_request(compress_response)
    app.after_request(set_cache_headers)
    app.after_request(set_security_headers)
    app.jinja_env.globals.update(
        csp_nonce=csp_nonce,
        personal=personal,
        is_staff=roles.is_staff,
        can_manage_people=roles.can_manage_people,
        can_manage_content=roles.can_manage_content,
    )

    @app.context_processor
    def inject_site():
        return {"site_name": app.config["SITE_NAME"]}


def skip_user_without_cookie() -> None:
    """Take a GET without the session and remember cookies as anonymous, without a lookup."""
    if request.method in ("GET", "HEAD") and not personal():
        g._login_user = current_app.login_manager.anonymous_user()


def content_security_policy() -> str:
    """Return this response's policy: with a nonce only in the dashboard and account pages."""
    if request.path.startswith(NO_STORE_PREFIXES):
        scripts = f"'self' 'nonce-{csp_nonce()}'"
    else:
        # The same for every request, so a cached page and its policy always match.
        scripts = "'self'"
    images = " https:" if current_app.config.get("EXTERNAL_IMAGES") == "allow" else ""
    return CONTENT_SECURITY_POLICY.format(scripts=scripts, images=images)


# Sent with every answer unless the view set its own (lower-cased name, name, value).
SECURITY_HEADERS = tuple(
    (name.lower(), name, value)
    for name, value in (
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "strict-origin-when-cross-origin"),
        ("X-Frame-Options", "DENY"),
    )
)
HSTS = "max-age=31536000; includeSubDomains"


def set_security_headers(response):
    """Forbid framing and sniffing, limit referrers, and keep private pages out of caches."""
    headers = response.headers
    present = {name.lower() for name, _ in headers}
    for lowered, name, value in SECURITY_HEADERS:
        if lowered not in present:
            headers.add(name, value)
    if "content-security-policy" not in present:
        headers.add("Content-Security-Policy", content_security_policy())
    if request.path.startswith(NO_STORE_PREFIXES):
        headers["Cache-Control"] = "no-store"
    if request.is_secure and "strict-transport-security" not in present:
        headers.add("Strict-Transport-Security", HSTS)
    return response


def set_cache_headers(response):
    """Say who may keep a readers' page and for how long; answer 304 when it is unchanged.

    Anonymous GET/HEAD 200s of the readers' site: public, with a strong ETag (a hash of the
    body) and Last-Modified (the newest change the view recorded, cms.services.page_deps).
    "Not found" is kept briefly, other errors not at all; with a cookie, nothing is kept.
    Answers that set Cache-Control themselves (files, previews) keep theirs.
    """
    headers = response.headers
    if request.environ.get(NEGOTIATED_KEY):
        # "/" answers by Accept-Language (cms.languages): English here, a redirect for others.
        response.vary.add("Accept-Language")
    path = request.path
    if "Cache-Control" in headers or path.startswith(NO_STORE_PREFIXES):
        return response
    # A page that wrote to the session (a flash, a form token) is someone's own.
    if personal() or session.modified:
        headers["Cache-Control"] = PERSONAL_CACHE_CONTROL
        return response
    config = current_app.config
    status = response.status_code
    reading = request.method in ("GET", "HEAD")
    if status >= 400:
        if status in (404, 410) and reading and is_public_path(path):
            age = config["PUBLIC_ERROR_MAX_AGE"]
            headers["Cache-Control"] = f"public, max-age={age}, s-maxage={age}"
        else:
            headers["Cache-Control"] = ERROR_CACHE_CONTROL
        return response
    # A view may answer 304 itself (the feeds): it gets the same Cache-Control as a 200.
    if status not in (200, 304) or not reading or request.blueprint != "public":
        return response
    headers["Cache-Control"] = (
        f"public, max-age={config['PUBLIC_MAX_AGE']}, s-maxage={config['PUBLIC_S_MAXAGE']}, "
        f"stale-while-revalidate={config['PUBLIC_STALE_WHILE_REVALIDATE']}"
    )
    _, changed = page_deps.recorded()
    if changed is not None and response.last_modified is None:
        response.last_modified = changed
    if status == 304:
        return response
    if not response.is_streamed and "ETag" not in headers:
        response.set_etag(hashlib.blake2b(response.get_data(), digest_size=16).hexdigest())
    if CONDITIONAL_HEADERS.isdisjoint(request.environ):
        # Nothing to compare: the answer stays a 200 as it is (the server adds Date).
        return response
    return response.make_conditional(request)


def compress_response(response):
    """Compress text answers (gzip, br) when the client asks; never stored files or ranges.

    Flask-Compress gives a compressed body its own strong ETag ("<hash>:gzip") and answers
    304 to it, and adds Vary: Accept-Encoding.
    """
    if request.path.startswith(STORED_FILE_PREFIXES) or response.status_code == 206:
        return response
    body = response.response
    response = current_app.extensions["cms_compress"].after_request(response)
    if response.response is not body and hasattr(body, "close"):
        # A streamed body (a static file) is now read through the compressor, whose closing
        # would not reach the file: close it with the response.
        response.call_on_close(body.close)
    return response
