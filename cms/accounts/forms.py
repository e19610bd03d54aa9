"""Account forms that differ from Flask-Security's defaults."""

from flask import current_app
from flask_security.forms import LoginForm, SendConfirmationForm, VerifyForm
from flask_security.utils import validate_redirect_url


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


class OnSiteNextMixin:
    """An off-site `next` is dropped, not an error: the right password still logs in.

    Flask-Security refuses the whole form when `next` leads elsewhere, so a phished link
    (/account/login?next=https://evil.example) would keep a person from logging in at all.
    Here the address is forgotten and the usual page follows (SECURITY_POST_LOGIN_VIEW);
    Flask-Security's redirect step checks `?next=` in the address on its own and skips it.
    """

    def validate_next(self, field) -> None:
        """Forget a `next` that does not stay on this site."""
        if field.data and not validate_redirect_url(field.data):
            field.data = ""


class CmsLoginForm(OnSiteNextMixin, LoginForm):
    """The login form, with off-site `next` addresses dropped."""


class CmsVerifyForm(OnSiteNextMixin, VerifyForm):
    """The re-authentication form, with off-site `next` addresses dropped."""
