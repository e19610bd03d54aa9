"""The account landing page and the language choice."""

from flask import Blueprint

bp = Blueprint("accounts", __name__)

from cms.accounts import views  # noqa: E402,F401  (routes register on import)
