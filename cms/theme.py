"""Site owners' themes: THEME_FOLDER's templates and static files win over the built-in ones.

    THEME_FOLDER/templates/<name>.html   replaces cms/templates/<name>.html
    THEME_FOLDER/static/<path>           is served at /static/<path> instead of cms/static/<path>

A theme template may extend the one it replaces under the prefix "cms/":
`{% extends "cms/layout.html" %}` and override only the blocks it changes.
"""

from pathlib import Path

from flask import Flask, current_app, send_from_directory
from jinja2 import ChoiceLoader, FileSystemLoader, PrefixLoader
from werkzeug.exceptions import NotFound

# Built-in templates stay reachable under this prefix ("cms/layout.html").
BUILT_IN_PREFIX = "cms"


def init_theme(app: Flask) -> None:
    """Put the theme's templates before the built-in ones and serve its static files first."""
    if "cms_theme" in app.extensions:
        return
    built_in = app.jinja_loader
    loaders = []
    folder = (app.config.get("THEME_FOLDER") or "").strip()
    theme = Path(folder).resolve() if folder else None
    if theme is not None:
        loaders.append(FileSystemLoader(str(theme / "templates")))
    loaders += [built_in, PrefixLoader({BUILT_IN_PREFIX: built_in})]
    app.jinja_loader = ChoiceLoader(loaders)
    app.extensions["cms_theme"] = theme
    if theme is not None and app.has_static_folder:
        app.view_functions["static"] = themed_static


def themed_static(filename: str):
    """Serve a static file from the theme's static folder, else from cms/static.

    send_from_directory joins safely: no path can leave either folder.
    """
    theme = current_app.extensions["cms_theme"]
    try:
        return send_from_directory(theme / "static", filename)
    except NotFound:
        return current_app.send_static_file(filename)
