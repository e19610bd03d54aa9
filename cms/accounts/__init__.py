"""The account landing page, the language choice and the end of two-factor setup."""

from flask import Blueprint

bp = Blueprint("accounts", __name__)

from cms.accounts import twofactor, views  # noqa: E402,F401  (routes register on import)
