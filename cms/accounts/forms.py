"""Account forms that differ from Flask-Security's defaults."""

from flask import current_app
from flask_security.forms import SendConfirmationForm


class EvenSendConfirmationForm(SendConfirmationForm):
    """Resending a confirmation takes as long whether or not the account exists.

    For a real unconfirmed account Flask-Security hashes the address into the token, which
    takes a noticeable time; for an unknown or already confirmed address it answers at once,
    so the answer time would tell which addresses have accounts.
    """

    def validate(self, **kwargs) -> bool:
        """Validate as usual; when no mail will be sent, spend the hashing time anyway."""
        valid = super().validate(**kwargs)
        if not valid:
            current_app.extensions["security"].hashing_context.hash("same time either way")
        return valid
