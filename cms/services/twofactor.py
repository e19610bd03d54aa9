"""Two-factor rules of the CMS: who must set it up before using the dashboard."""

from flask import current_app

from cms.services.roles import has_any_role


def required_roles() -> list[str]:
    """Return the roles whose holders must use two-factor (TWO_FACTOR_REQUIRED_ROLES)."""
    if not current_app.config.get("SECURITY_TWO_FACTOR"):
        return []
    return list(current_app.config.get("TWO_FACTOR_REQUIRED_ROLES") or [])


def has_two_factor(user) -> bool:
    """Return whether the user has finished setting up a second factor."""
    return bool(getattr(user, "tf_primary_method", None) and getattr(user, "tf_totp_secret", None))


def needs_two_factor_setup(user) -> bool:
    """Return whether the user holds a role that requires two-factor but has not set it up."""
    roles = required_roles()
    if not roles:
        return False
    return has_any_role(user, *roles) and not has_two_factor(user)
