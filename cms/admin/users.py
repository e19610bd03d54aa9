"""Users and roles: admin only. Passwords go through a hashing field; secrets are never shown."""

import uuid

from flask import session
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_security import current_user, hash_password
from sqlalchemy import inspect
from wtforms import PasswordField
from wtforms.validators import Optional, StopValidation, ValidationError

from cms.admin.base import SecuredModelView, when_column
from cms.admin.words import ROLES as ROLE_WORDS
from cms.admin.words import USERS
from cms.models import User, utcnow
from cms.services.accounts import AccountError, normalize_email, validate_password
from cms.services.roles import ADMIN, ROLES
from cms.services.slugs import unique_slug


def valid_email(form, field) -> None:
    """Accept only an address the command line would accept; keep it normalized."""
    if not (field.data or "").strip():
        return  # InputRequired names the empty field
    try:
        field.data = normalize_email(field.data)
    except AccountError:
        # Stop here: the uniqueness check would send a NUL byte to the database.
        raise StopValidation(
            _("Please enter a valid e-mail address, such as name@example.com.")
        ) from None


class UserView(SecuredModelView):
    """Accounts: e-mail, name, roles, active flag, and a new-password field that hashes."""

    allowed_roles = (ADMIN,)
    words = USERS
    title_column = "email"
    column_list = ("email", "display_name", "roles", "active", "confirmed_at", "last_login_at")
    column_details_list = (
        "email",
        "display_name",
        "slug",
        "bio",
        "roles",
        "active",
        "confirmed_at",
        "create_datetime",
        "last_login_at",
        "current_login_at",
        "login_count",
        "locale",
    )
    column_searchable_list = ("email", "display_name")
    column_filters = ("active", "roles.name", "confirmed_at")
    # Each sort is backed by an index ending in the id (migration 0016): lists page by keyset.
    column_sortable_list = ("email", "display_name", "confirmed_at", "last_login_at")
    column_default_sort = ("email", False)
    column_labels = {
        "email": _l("E-mail"),
        "display_name": _l("Display name"),
        "slug": _l("Profile address"),
        "bio": _l("About"),
        "roles": _l("Roles"),
        "roles.name": _l("Role"),
        "active": _l("Active"),
        "confirmed_at": _l("Confirmed"),
        "create_datetime": _l("Created"),
        "last_login_at": _l("Last login"),
        "current_login_at": _l("Current login"),
        "login_count": _l("Logins"),
        "locale": _l("Language"),
        "new_password": _l("New password"),
    }
    column_descriptions = {
        "slug": _l("The last part of the author page's address; made from the name when empty."),
        "new_password": _l("Leave empty to keep the current password."),
    }
    # Only these fields can ever be posted; fs_uniquifier, 2FA secrets and hashes cannot.
    form_columns = ("email", "display_name", "slug", "bio", "roles", "active", "new_password")
    form_extra_fields = {"new_password": PasswordField(_l("New password"), [Optional()])}
    # The same address rules as registration and `flask cms create-user`.
    form_args = {"email": {"validators": [valid_email]}}
    column_formatters = {
        "confirmed_at": when_column,
        "last_login_at": when_column,
    }
    column_formatters_detail = {
        **column_formatters,
        "create_datetime": when_column,
        "current_login_at": when_column,
    }

    def row_label(self, row) -> str:
        """Name a person by their display name, or their e-mail address without one."""
        return row.display_name or row.email

    def on_form_prefill(self, form, id):
        """Never echo a password back into the form."""
        form.new_password.data = ""

    def on_model_change(self, form, model, is_created):
        """Hash a new password, fill the slug, and stop admins from locking themselves out."""
        password = (form.new_password.data or "") if hasattr(form, "new_password") else ""
        if is_created and not password:
            raise ValidationError(_l("A new account needs a password."))
        if password:
            # The same length, strength and normalisation rules as registration (the model
            # itself is not passed: the form put the typed password on it).
            try:
                normalized = validate_password(
                    password, email=model.email, display_name=model.display_name
                )
            except AccountError as error:
                raise ValidationError(str(error)) from None
            model.password = hash_password(normalized)
            # A new uniquifier ends every session and remember-me cookie of that account.
            model.fs_uniquifier = uuid.uuid4().hex
        if is_created:
            model.fs_uniquifier = model.fs_uniquifier or uuid.uuid4().hex
            # Accounts made by an admin need no e-mail confirmation.
            model.confirmed_at = utcnow()
        model.email = (model.email or "").strip().lower()
        if not model.slug:
            model.slug = unique_slug(
                User, model.display_name or model.email.split("@")[0], model.id, "author"
            )
        if model.id == current_user.id and (not model.active or not model.has_role(ADMIN)):
            raise ValidationError(
                _l("You cannot remove your own admin role or deactivate yourself.")
            )
        if not is_created and _loses_access(model):
            # Deactivated or a role taken away: every session and remember-me cookie ends
            # (an admin editing themselves keeps this session, like a password change).
            model.fs_uniquifier = uuid.uuid4().hex
            if model.id == current_user.id:
                session["_user_id"] = model.fs_uniquifier

    def on_model_delete(self, model):
        """Refuse to delete yourself or someone whose posts would be orphaned."""
        if model.id == current_user.id:
            raise ValidationError(_l("You cannot delete your own account."))
        if model.posts.count():
            raise ValidationError(
                _l("This person has posts. Give them to someone else or deactivate the account.")
            )


def _loses_access(model) -> bool:
    """Return whether this save deactivates the account or removes one of its roles."""
    state = inspect(model)
    if False in state.attrs.active.history.added:
        return True
    return bool(state.attrs.roles.history.deleted)


class RoleView(SecuredModelView):
    """Roles: the four built-in ones cannot be renamed away or deleted."""

    allowed_roles = (ADMIN,)
    words = ROLE_WORDS
    title_column = "name"
    column_list = ("name", "description")
    form_columns = ("name", "description")
    column_labels = {"name": _l("Name"), "description": _l("Description")}

    def on_model_change(self, form, model, is_created):
        """Keep the built-in role names, which the permission checks rely on."""
        original = form.name.object_data
        if not is_created and original in ROLES and model.name != original:
            raise ValidationError(_l("Built-in roles cannot be renamed."))

    def on_model_delete(self, model):
        """Refuse to delete a built-in role."""
        if model.name in ROLES:
            raise ValidationError(_l("Built-in roles cannot be deleted."))
