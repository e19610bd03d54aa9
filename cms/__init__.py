"""The CMS application factory: it only wires the parts together."""

from flask import Flask

from cms.config import load_config
from cms.hosts import CmsFlask


def create_app(overrides: dict | None = None) -> Flask:
    """Build the application from settings.py, the environment and optional overrides."""
    # Links that leave the site name SITE_URL, never a request's Host (cms/hosts.py).
    app = CmsFlask(__name__)
    load_config(app, overrides)
    # First, so the page cache is the innermost WSGI layer (cms/page_cache_app.py).
    from cms.page_cache_app import init_page_cache

    init_page_cache(app)
    register_extensions(app)
    register_blueprints(app)
    register_admin(app)
    register_errorhandlers(app)
    register_commands(app)
    # Last: its middleware wraps every other one, which see /de/... as / under /de.
    register_languages(app)
    return app


def register_extensions(app: Flask) -> None:
    """Attach database, migrations, CSRF, mail, languages, accounts and throttling."""
    from cms.accounts.datastore import init_security
    from cms.extensions import babel, csrf, db, mail, migrate
    from cms.i18n import init_i18n
    from cms.limits import init_limits
    from cms.models.search import include_name
    from cms.services import revisions  # noqa: F401  (records a revision of every save)
    from cms.services.storage import init_storage

    db.init_app(app)
    # SQLite's full-text tables (migration 0011) are no models: comparisons leave them out.
    migrate.init_app(
        app,
        db,
        directory=app.config["MIGRATIONS_DIR"],
        render_as_batch=True,
        include_name=include_name,
    )
    # CSRF first: Flask-Security relies on it for every form.
    csrf.init_app(app)
    mail.init_app(app)
    init_i18n(app, babel)
    init_security(app)
    init_storage(app)
    # After CSRF and accounts: it throttles their login, registration and reset forms.
    init_limits(app)


def register_blueprints(app: Flask) -> None:
    """Mount the public site, the account pages and the health check."""
    from cms.accounts import bp as accounts_bp
    from cms.health import bp as health_bp
    from cms.public import bp as public_bp
    from cms.theme import init_theme
    from cms.web import init_web

    app.register_blueprint(public_bp)
    # A THEME_FOLDER's templates and static files win over the built-in ones.
    init_theme(app)
    app.register_blueprint(accounts_bp)
    app.register_blueprint(health_bp)
    init_web(app)


def register_admin(app: Flask) -> None:
    """Mount the Flask-Admin dashboard."""
    from cms.admin import init_admin

    init_admin(app)


def register_errorhandlers(app: Flask) -> None:
    """Render every error as a plain page in the site's look."""
    from cms.errors import init_errors

    init_errors(app)


def register_languages(app: Flask) -> None:
    """Serve the other languages under /<code>/ (cms/languages.py)."""
    from cms.languages import init_languages

    init_languages(app)


def register_commands(app: Flask) -> None:
    """Add the `flask cms ...` command group."""
    from cms.cli import cms_cli

    app.cli.add_command(cms_cli)
