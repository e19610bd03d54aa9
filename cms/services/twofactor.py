"""Two-factor rules of the CMS: who must set it up before using the dashboard."""

from urllib.parse import urlsplit

from flask import current_app, session

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


def recovery_codes_of(user) -> list[str]:
    """Return the person's recovery codes in clear (stored encrypted); empty when none."""
    if not current_app.config.get("SECURITY_MULTI_FACTOR_RECOVERY_CODES"):
        return []
    return current_app.extensions["security"].mf_recovery_codes_util.get_recovery_codes(user)


def give_first_recovery_codes(app, user, **extra) -> None:
    """Create recovery codes when someone without any finishes two-factor setup.

    Connected to Flask-Security's tf_profile_changed, which fires inside the request that
    saves the new method, so the codes are committed with it: the setup's last step then only
    shows them, and a GET never changes anything.
    """
    if not app.config.get("SECURITY_MULTI_FACTOR_RECOVERY_CODES"):
        return
    security = app.extensions["security"]
    if security.datastore.mf_get_recovery_codes(user):
        return
    security.mf_recovery_codes_util.create_recovery_codes(user)


def forget_recovery_codes(app, user, **extra) -> None:
    """Erase the recovery codes when two-factor is turned off.

    Connected to Flask-Security's tf_disabled (its tf_reset keeps them): whoever sets up
    two-factor again, perhaps because phone and codes were lost, gets a new set, not the old.
    """
    app.extensions["security"].datastore.mf_set_recovery_codes(user, None)


def recovery_codes_text(codes: list[str], site_name: str, email: str, heading: str) -> str:
    """Return the recovery codes as the plain-text file people download and keep."""
    lines = [heading, f"{site_name} · {email}", "", *codes, ""]
    return "\n".join(lines)


# The session key of the dashboard page someone wanted when they were sent to the setup.
PAGE_BEFORE_SETUP = "cms_page_before_two_factor"


def remember_page_before_setup(path: str) -> None:
    """Keep the dashboard page someone was sent away from, to return there after setup."""
    session[PAGE_BEFORE_SETUP] = path


def page_before_setup(default: str) -> str:
    """Return (once) the remembered dashboard page, or `default`; only paths under /admin."""
    path = session.pop(PAGE_BEFORE_SETUP, None) or ""
    parts = urlsplit(path)
    if parts.scheme or parts.netloc or "\\" in path or not parts.path.startswith("/admin/"):
        return default
    return path.removesuffix("?")
