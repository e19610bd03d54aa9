"""Choosing the interface language for each request."""

from datetime import date, datetime
from functools import cache

from babel import Locale
from babel import dates as babel_dates
from flask import Flask, current_app, g, has_request_context, request, session
from flask_babel import Babel, get_locale, get_translations, to_user_timezone
from flask_login import current_user

from cms.languages import is_personal_path, language_url, url_language
from cms.services import timezones

# Flask-Security ships its German catalog as de_DE, which a plain "de" would not find;
# de_DE still falls back to our "de" catalog and Flask-Admin's.
CATALOG_LOCALES = {"de": "de_DE"}
# Where times are shown in the logged-in person's own time zone.
PERSONAL_ZONE_PATHS = ("/admin", "/account")


def init_i18n(app: Flask, babel: Babel) -> None:
    """Attach Flask-Babel with our locale and time zone selectors."""
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
    # Flask-Babel's own callables look the catalog up anew for every string (~12 µs; a page
    # has 20-40); these find it once per request and locale.
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: current_translations().ugettext(s),
        ngettext=lambda s, p, n: current_translations().ungettext(s, p, n),
        pgettext=lambda c, s: current_translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: current_translations().unpgettext(c, s, p, n),
        newstyle=True,
    )
    app.jinja_env.filters["dateformat"] = format_day
    app.jinja_env.globals["language_links"] = language_links

    @app.context_processor
    def inject_language():
        return {"current_language": current_language(), "languages": language_names()}


def current_translations():
    """Return Flask-Babel's catalog for the request's locale, looked up once per locale.

    Kept beside the locale Flask-Babel chose (in its own per-request namespace), so a
    `force_locale()` block, which swaps that locale, gets its own catalog.
    """
    space = g.get("_flask_babel") if has_request_context() else None
    locale = getattr(space, "babel_locale", None)
    kept = getattr(space, "cms_translations", None)
    if kept is not None and kept[0] is locale:
        return kept[1]
    translations = get_translations()
    space = g.get("_flask_babel") if has_request_context() else None
    locale = getattr(space, "babel_locale", None)
    if locale is not None:
        space.cms_translations = (locale, translations)
    return translations


def format_day(value: date | datetime, format: str = "medium") -> str:
    """Format a day in the request's locale (and time zone, for a datetime): the `dateformat`
    filter, without Flask-Babel's per-call lookups of named formats."""
    if isinstance(value, datetime):
        value = to_user_timezone(value)
    return babel_dates.format_date(value, format, locale=get_locale())


def current_language() -> str:
    """Return the short code (en, de) of the language chosen for this request.

    The address decides (/de/...); without a prefix, readers' pages are in the default
    language, whoever asks: they may be cached and served to anyone. Dashboard and account
    pages follow the person's saved choice, the session, ?lang= and Accept-Language.
    """
    default = current_app.config["BABEL_DEFAULT_LOCALE"]
    if not has_request_context():
        return default
    named = url_language()
    if named is not None:
        return named
    if not is_personal_path(request.path):
        return default
    offered = current_app.config["LANGUAGES"]
    # After a database error the user cannot be loaded; fall back to the request alone.
    user_choice = None if g.get("skip_user") else getattr(current_user, "locale", None)
    for candidate in (user_choice, session.get("locale"), request.args.get("lang")):
        if candidate in offered:
            return candidate
    return request.accept_languages.best_match(offered) or default


def select_locale() -> str | None:
    """Return the Babel locale for this request; None outside requests (CLI, mail)."""
    if not has_request_context():
        return None
    code = current_language()
    return CATALOG_LOCALES.get(code, code)


def select_timezone() -> str | None:
    """Return the zone times are shown in: in the dashboard and account pages the person's
    own, elsewhere (and for visitors) the site's TIMEZONE.

    None outside requests (CLI, mail), where Flask-Babel uses BABEL_DEFAULT_TIMEZONE.
    """
    if not has_request_context():
        return None
    # Public pages show the site's zone to everyone: they may be cached and served to others.
    if not request.path.startswith(PERSONAL_ZONE_PATHS):
        return timezones.site_zone_name()
    # After a database error the user cannot be loaded; the site's zone is used.
    user = None if g.get("skip_user") else current_user
    return timezones.zone_name_of(user)


def language_names() -> dict[str, str]:
    """Return each offered language's name in that language, for the language menu."""
    return dict(_names(tuple(current_app.config["LANGUAGES"])))


@cache
def _names(codes: tuple[str, ...]) -> dict[str, str]:
    """Return the names of these languages, each in itself (made once per set of codes)."""
    return {code: Locale.parse(code).get_display_name(code).capitalize() for code in codes}


def language_links() -> list[dict]:
    """Return the current page in every offered language: {code, name, href, current}."""
    current = current_language()
    return [
        {"code": code, "name": name, "href": language_url(code), "current": code == current}
        for code, name in language_names().items()
    ]
