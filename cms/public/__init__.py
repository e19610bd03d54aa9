"""The readers' site: published posts, tag and author pages, uploaded files."""

from flask import Blueprint

bp = Blueprint("public", __name__)

from cms.public import views  # noqa: E402,F401  (routes register on import)
