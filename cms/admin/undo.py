"""The Undo button shown with the message after a move to the trash."""

from flask import session, url_for

SESSION_KEY = "cms_undo"


def offer_undo(endpoint: str, note: str, return_url: str) -> None:
    """Show an Undo button with the next page's messages; it posts `note` to `endpoint`."""
    session[SESSION_KEY] = {"action": url_for(endpoint), "note": note, "url": return_url}


def pending_undo() -> dict | None:
    """Return the Undo button waiting to be shown (once), or None."""
    return session.pop(SESSION_KEY, None)
