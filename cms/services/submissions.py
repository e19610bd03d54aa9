"""Create forms that save once, however often they are sent (double clicks, resends)."""

import re
import secrets

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from cms.extensions import db
from cms.models import FormSubmission

TOKEN = re.compile(r"^[0-9a-f]{32}$")


class AlreadySubmitted(ValueError):
    """This form was saved before; the message is translated and safe to show."""


def new_token() -> str:
    """Return a token to put in a freshly shown create form."""
    return secrets.token_hex(16)


def claim(token: str | None) -> None:
    """Mark a submitted form as used, in the caller's transaction; refuse a second use.

    The token is the table's primary key: of two saves racing with the same token, the
    database lets exactly one commit (the other fails at commit and saves nothing).
    """
    if not isinstance(token, str) or not TOKEN.match(token):
        raise AlreadySubmitted(_l("The form is incomplete. Please reload the page and retry."))
    # The row being created is not complete yet: do not flush it just to look.
    with db.session.no_autoflush:
        used = db.session.scalar(select(FormSubmission.token).where(FormSubmission.token == token))
    if used:
        raise AlreadySubmitted(_l("This form was already saved once; nothing was saved again."))
    db.session.add(FormSubmission(token=token))
