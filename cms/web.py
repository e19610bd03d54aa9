"""Response headers and template helpers shared by every page."""

from flask import Flask, request

from cms.services import roles

# Pages that show or take account data must never be kept by a browser or proxy cache.
NO_STORE_PREFIXES = ("/admin", "/account")

CONTENT_SECURITY_POLICY = (
    "frame-ancestors 'none'; base-uri 'self'; object-src 'none'; form-action 'self'"
)


def init_web(app: Flask) -> None:
    """Register the header hook and the template globals."""
    app.after_request(set_security_headers)
    app.jinja_env.globals.update(
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
        headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    if request.path.startswith(NO_STORE_PREFIXES):
        headers["Cache-Control"] = "no-store"
    if request.is_secure:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    return response
