"""Account forms that differ from Flask-Security's defaults."""

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_security.forms import LoginForm, SendConfirmationForm, VerifyForm
from flask_security.utils import validate_redirect_url
from flask_wtf import FlaskForm
from wtforms import SelectField
from wtforms.validators import ValidationError

from cms.services import timezones


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


class TimezoneForm(FlaskForm):
    """The time zone a person reads and types times in; empty follows the site's."""

    timezone = SelectField(_l("Time zone"), validate_choice=False)

    def __init__(self, *args, **kwargs):
        """Offer the site's zone (empty) and every known zone, grouped by region."""
        super().__init__(*args, **kwargs)
        site = timezones.site_zone_name()
        choices = {"": [("", _("The site's time zone (%(zone)s)", zone=site))]}
        for region, names in timezones.grouped_zone_names():
            choices[region or _("Other")] = [(name, name.replace("_", " ")) for name in names]
        self.timezone.choices = choices

    def validate_timezone(self, field) -> None:
        """Accept only the site's default (empty) or a zone this system knows."""
        if field.data and not timezones.is_valid(field.data):
            raise ValidationError(_("Please choose a time zone from the list."))
