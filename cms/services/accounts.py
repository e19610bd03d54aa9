"""Accounts created outside the registration form: roles, the first admin, staff."""

import secrets
import uuid

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from sqlalchemy import func, select

from cms.extensions import db
from cms.models import Role, User, utcnow
from cms.services.roles import ROLES
from cms.services.slugs import unique_slug


class AccountError(ValueError):
    """A request for an account that cannot be met; the message says why."""


def ensure_roles() -> dict[str, Role]:
    """Create the built-in roles that are missing and return all of them by name."""
    existing = {role.name: role for role in db.session.scalars(select(Role))}
    for name, description in ROLES.items():
        if name not in existing:
            existing[name] = Role(name=name, description=str(description))
            db.session.add(existing[name])
    db.session.flush()
    return existing


def generate_password() -> str:
    """Return a random password that meets the length rule."""
    return secrets.token_urlsafe(15)


def validate_password(password: str, **user_info: str) -> str:
    """Return the normalized password, or raise AccountError with the rule it breaks.

    The length and strength rules of registration apply; `user_info` (e-mail, name) counts
    against the strength, as a password made of one's own e-mail is easy to guess.
    """
    security = current_app.extensions["security"]
    info = {key: value for key, value in user_info.items() if value}
    errors, normalized = security._password_util.validate(password, True, **info)
    if errors:
        raise AccountError(" ".join(str(error) for error in errors))
    return normalized


def normalize_email(email: str) -> str:
    """Return the e-mail address checked and normalized (lower case), or raise AccountError.

    The syntax rules of registration (email-validator), without a DNS lookup; used by the
    command line and by the admins' user form.
    """
    try:
        return validate_email((email or "").strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as error:
        raise AccountError(str(error)) from None


def create_account(email: str, password: str, role: str, display_name: str | None = None) -> User:
    """Create (or promote) a confirmed, active account with `role` and the given password.

    An existing account with that e-mail keeps its roles, gains `role`, and gets the new
    password; the caller commits.
    """
    from flask_security import hash_password

    email = normalize_email(email)
    roles = ensure_roles()
    if role not in roles:
        raise AccountError(f"unknown role {role!r}")
    hashed = hash_password(validate_password(password, email=email, display_name=display_name))
    user = db.session.scalars(select(User).where(func.lower(User.email) == email)).first()
    if user is None:
        user = User(
            email=email,
            display_name=display_name,
            fs_uniquifier=uuid.uuid4().hex,
            active=True,
        )
        db.session.add(user)
    user.password = hashed
    user.active = True
    user.confirmed_at = user.confirmed_at or utcnow()
    if roles[role] not in user.roles:
        user.roles.append(roles[role])
    if not user.slug:
        user.slug = unique_slug(User, display_name or email.split("@")[0], user.id, "author")
    db.session.flush()
    return user
