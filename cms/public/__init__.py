"""The readers' site: published posts, tag and author pages, archives, uploaded files."""

from flask import Blueprint

bp = Blueprint("public", __name__)

# Routes register on import.
from cms.public import feeds, search, seo, sitemap, views  # noqa: E402,F401
