"""Response headers and template helpers shared by every page."""

import secrets

from flask import Flask, current_app, g, request
from werkzeug.middleware.proxy_fix import ProxyFix

from cms.services import roles

# Pages that show or take account data must never be kept by a browser or proxy cache.
NO_STORE_PREFIXES = ("/admin", "/account")

# Scripts only from this site or inline with this response's nonce; no inline event handlers.
# Style attributes stay allowed (Bootstrap, select2 and the date pickers set them); <style>
# elements do not.
# Frames only from the two video players of our embeds (rendering/embeds.py, embed.js), and
# those only after a reader clicks "Play video". With EXTERNAL_IMAGES = "allow" images may
# come from any https host ({images} below); by default only from this site.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self' 'nonce-{nonce}'; style-src 'self'; "
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


def init_web(app: Flask) -> None:
    """Register the header hook and the template globals; trust the configured proxies."""
    proxies = app.config.get("TRUSTED_PROXY_COUNT", 0)
    if proxies > 0:
        # Only then does X-Forwarded-For name the client (throttling, login records).
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)
    app.after_request(set_security_headers)
    app.jinja_env.globals.update(
        csp_nonce=csp_nonce,
        is_staff=roles.is_staff,
        can_manage_people=roles.can_manage_people,
        can_manage_content=roles.can_manage_content,
    )

    @app.context_processor
    def inject_site():
        return {"site_name": app.config["SITE_NAME"]}


def set_security_headers(response):
    """Forbid framing and sniffing, limit referrers, and keep private pages out of caches."""
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    if "Content-Security-Policy" not in headers:
        images = " https:" if current_app.config.get("EXTERNAL_IMAGES") == "allow" else ""
        headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY.format(
            nonce=csp_nonce(), images=images
        )
    if request.path.startswith(NO_STORE_PREFIXES):
        headers["Cache-Control"] = "no-store"
    if request.is_secure:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    return response
