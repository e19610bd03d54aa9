"""Authenticator codes that cannot be replayed."""

from flask_security.totp import Totp


class ReplayProofTotp(Totp):
    """Flask-Security's TOTP, remembering each user's last accepted time step.

    Without it a code seen over someone's shoulder (or in a proxy log) works again until it
    expires; with it, only codes from a later time step are accepted.
    """

    def get_last_counter(self, user) -> int | None:
        """Return the time step of the user's last accepted code."""
        return getattr(user, "tf_totp_last_counter", None)

    def set_last_counter(self, user, tmatch) -> None:
        """Remember the time step of the code just accepted (the view commits it)."""
        user.tf_totp_last_counter = tmatch.counter
