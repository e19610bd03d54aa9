"""Error pages: plain, translated, in the site's look; never a traceback."""

from flask import Flask, Response, current_app, g, render_template
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DataError, DBAPIError, OperationalError
from werkzeug.exceptions import HTTPException, SecurityError

from cms.admin.rescue import rescue_unsent_form
from cms.extensions import db

TITLES = {
    400: _l("Bad request"),
    403: _l("Access denied"),
    404: _l("Page not found"),
    405: _l("Method not allowed"),
    409: _l("Changed meanwhile"),
    413: _l("File too large"),
    429: _l("Too many requests"),
    500: _l("Something went wrong"),
    503: _l("Service unavailable"),
}
MESSAGES = {
    400: _l("The request could not be understood. Please go back and try again."),
    403: _l("You do not have permission to open this page."),
    404: _l("There is nothing at this address. It may have moved or never existed."),
    405: _l("This address does not accept that kind of request."),
    409: _l("Someone changed this item since you opened it. Please go back and look again."),
    413: _l("The upload is larger than this site accepts."),
    429: _l("Too many attempts. Please wait a moment and try again."),
    500: _l("An unexpected error happened. It has been logged; please try again later."),
    503: _l("The site cannot reach its database right now. Please try again in a moment."),
}


def init_errors(app: Flask) -> None:
    """Register the handlers for HTTP errors, CSRF failures and database outages."""
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(CSRFError, handle_csrf_error)
    app.register_error_handler(SecurityError, handle_untrusted_host)
    app.register_error_handler(OperationalError, handle_database_down)
    app.register_error_handler(DataError, handle_refused_value)
    app.register_error_handler(DBAPIError, handle_database_error)
    app.register_error_handler(Exception, handle_unexpected)


def render_error(code: int, message=None):
    """Render the error page for an HTTP status code."""
    title = TITLES.get(code, _l("Error"))
    body = message or MESSAGES.get(code, title)
    # After a server or database error, do not touch the database again to draw the page.
    minimal = code >= 500
    g.skip_user = minimal
    if minimal and "_login_user" not in g:
        # Flask-Login's context processor would load the user (a query) for every template.
        g._login_user = current_app.login_manager.anonymous_user()
    page = render_template(
        "errors/error.html", code=code, title=title, message=body, minimal=minimal
    )
    return page, code


def handle_http_error(error: HTTPException):
    """Show HTTP errors (404, 403, 413, ...) as pages; keep redirects and their headers."""
    if error.code is None or error.code < 400:
        return error
    response = error.get_response()
    page, code = render_error(error.code)
    response.set_data(page)
    response.status_code = code
    response.content_type = "text/html; charset=utf-8"
    return response


def handle_untrusted_host(error: SecurityError):
    """Refuse a Host header we do not serve, in plain text: no URL can be built for it."""
    g.skip_user = True
    return Response(str(TITLES[400]), 400, mimetype="text/plain")


def handle_csrf_error(error: CSRFError):
    """Explain a missing or expired form token; a post or page save whose session is gone
    is kept instead, and its writer sent to log in (cms/admin/rescue.py)."""
    rescued = rescue_unsent_form()
    if rescued is not None:
        return rescued
    return render_error(
        400, _l("The form expired or was sent from elsewhere. Please reload the page and retry.")
    )


def handle_database_down(error: OperationalError):
    """Answer 503 while the database is unreachable; the pool reconnects by itself."""
    db.session.rollback()
    return render_error(503)


def handle_refused_value(error: DataError):
    """Answer 400 when the database refuses a value from the request (a NUL byte, say)."""
    current_app.logger.warning("database refused a value: %s", error.orig)
    db.session.rollback()
    return render_error(400)


def handle_database_error(error: DBAPIError):
    """Treat lost connections as 503 and anything else as a 500."""
    db.session.rollback()
    if error.connection_invalidated:
        return render_error(503)
    return handle_unexpected(error)


def handle_unexpected(error: Exception):
    """Log the error, roll back, and show a plain 500 page."""
    current_app.logger.exception("unhandled error", exc_info=error)
    db.session.rollback()
    return render_error(500)
