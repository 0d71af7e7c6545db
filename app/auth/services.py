"""Authentication services: password check with lockout, user creation."""
from __future__ import annotations

import datetime as dt

from flask import current_app
from sqlalchemy import select

from app.auth.models import User
from app.core.security import equalise_login_timing, hash_password, password_needs_rehash, verify_password
from app.core.time import utcnow
from app.extensions import db


class LoginRefused(Exception):
    """Login refused. ``reason`` is ``invalid`` (unknown user or wrong password) or ``locked``."""

    def __init__(self, reason: str, locked_until: dt.datetime | None = None):
        super().__init__(reason)
        self.reason = reason
        self.locked_until = locked_until


def authenticate(staff_number: str, password: str) -> User:
    """Return the active user whose staff number and password match.

    After LOGIN_MAX_FAILURES consecutive failures the account is locked for LOGIN_LOCKOUT_SECONDS
    (stored in the database, so the lock holds across workers).
    A hash made with other argon2id parameters than the current ones is replaced by a new hash of
    the same password (the password is only known at this moment). An unknown staff number costs
    the same hashing time as a wrong password.

    Raises:
        LoginRefused: ``invalid`` or ``locked``. The caller commits so failure counts persist.
    """
    user = db.session.execute(
        select(User).where(User.staff_number == staff_number.strip())
    ).scalar_one_or_none()
    now = utcnow()
    if user is None or not user.active or not user.password_hash:
        equalise_login_timing(password)
        raise LoginRefused("invalid")
    if user.locked_until is not None and user.locked_until > now:
        raise LoginRefused("locked", user.locked_until)
    if not verify_password(user.password_hash, password):
        user.failed_logins = (user.failed_logins or 0) + 1
        if user.failed_logins >= current_app.config["LOGIN_MAX_FAILURES"]:
            user.locked_until = now + dt.timedelta(seconds=current_app.config["LOGIN_LOCKOUT_SECONDS"])
            user.failed_logins = 0
            raise LoginRefused("locked", user.locked_until)
        raise LoginRefused("invalid")
    if password_needs_rehash(user.password_hash):  # made with older parameters: upgrade it now
        user.password_hash = hash_password(password)
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    return user


MIN_PASSWORD_LENGTH = 8
"""Shortest password accepted anywhere (forms, imports, the admin command), in characters."""


def set_password(user: User, password: str) -> None:
    """Store an argon2id hash of ``password`` (at least MIN_PASSWORD_LENGTH characters, else ValueError)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"password must be at least {MIN_PASSWORD_LENGTH} characters")
    user.password_hash = hash_password(password)


def revoke_sessions(user: User, keep_session_token: str | None = None) -> None:
    """End every open login session of ``user`` except the one whose raw token is ``keep_session_token``."""
    from sqlalchemy import update

    from app.auth.login import _digest
    from app.auth.models import UserSession

    query = update(UserSession).where(UserSession.user_id == user.id, UserSession.revoked_at.is_(None))
    if keep_session_token:
        query = query.where(UserSession.token_hash != _digest(keep_session_token))
    db.session.execute(query.values(revoked_at=utcnow()))


def reset_password(user: User, password: str) -> None:
    """An administrator sets ``user``'s password: the user must change it at the next login, every
    open session of theirs ends and a lockout is lifted. Raises ValueError if ``password`` is shorter
    than MIN_PASSWORD_LENGTH characters. Flushes."""
    set_password(user, password)
    user.must_change_password = True
    user.failed_logins, user.locked_until = 0, None
    revoke_sessions(user)
    db.session.flush()


def change_password(user: User, current: str, new: str, keep_session_token: str | None) -> bool:
    """Set a new password if ``current`` is right; revoke the user's other login sessions.

    Returns False (and changes nothing) when ``current`` is wrong. Raises ValueError if ``new``
    is shorter than MIN_PASSWORD_LENGTH characters or equals ``current``. Clears
    ``must_change_password``. Flushes.
    """
    if not verify_password(user.password_hash, current):
        return False
    if new == current:
        raise ValueError("the new password must differ from the current one")
    set_password(user, new)
    user.must_change_password = False
    revoke_sessions(user, keep_session_token)
    db.session.flush()
    return True
