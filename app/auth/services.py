"""Authentication services: password check with lockout, user creation."""
from __future__ import annotations

import datetime as dt

from flask import current_app
from sqlalchemy import case, func, or_, select, update

from app.auth.models import User
from app.core.security import equalise_login_timing, hash_password, password_needs_rehash, verify_password
from app.core.time import utcnow
from app.extensions import db


class LoginRefused(Exception):
    """Login refused. ``reason`` is ``invalid`` for every refusal (unknown user, wrong password, locked
    account): callers must not be able to tell them apart."""

    def __init__(self, reason: str = "invalid"):
        super().__init__(reason)
        self.reason = reason


def authenticate(staff_number: str, password: str) -> User:
    """Return the active user whose staff number and password match.

    Every path costs exactly one argon2 verification (an unknown staff number, a user without a
    password or a locked account included: the user's hash or a dummy one), and every refusal is the
    same ``LoginRefused("invalid")``, so neither the answer nor its timing tells whether a staff
    number exists or is locked.

    Failures are counted by one conditional UPDATE (``failed_logins = failed_logins + 1`` and, from the
    LOGIN_MAX_FAILURES-th consecutive failure on, ``locked_until = now + LOGIN_LOCKOUT_SECONDS``), so
    concurrent wrong passwords in several workers each count. Once the limit is reached every further
    failure (also after the lock ran out) locks again, until a successful login resets the count.
    A success is one UPDATE that only matches while the account is not locked, so a right password
    during a lock is refused even when it races the failures that locked it.
    A hash made with other argon2id parameters than the current ones is replaced by a new hash of
    the same password (the password is only known at this moment).

    Raises:
        LoginRefused: always with reason ``invalid``. The caller commits so failure counts persist.
    """
    user = db.session.execute(
        select(User).where(User.staff_number == staff_number.strip())
    ).scalar_one_or_none()
    if user is None or not user.active or not user.password_hash:
        equalise_login_timing(password)
        raise LoginRefused("invalid")
    right = verify_password(user.password_hash, password)
    now = utcnow()
    not_locked = or_(User.locked_until.is_(None), User.locked_until <= now)
    if not right:
        limit = current_app.config["LOGIN_MAX_FAILURES"]
        lock_until = now + dt.timedelta(seconds=current_app.config["LOGIN_LOCKOUT_SECONDS"])
        db.session.execute(
            update(User).where(User.id == user.id).values(
                failed_logins=func.coalesce(User.failed_logins, 0) + 1,
                locked_until=case((func.coalesce(User.failed_logins, 0) + 1 >= limit, lock_until),
                                  else_=User.locked_until),
            ).execution_options(synchronize_session=False)
        )
        db.session.expire(user, ["failed_logins", "locked_until"])
        raise LoginRefused("invalid")
    values = {"failed_logins": 0, "locked_until": None, "last_login_at": now}
    if password_needs_rehash(user.password_hash):  # made with older parameters: upgrade it now
        values["password_hash"] = hash_password(password)
    done = db.session.execute(
        update(User).where(User.id == user.id, not_locked).values(**values)
        .execution_options(synchronize_session=False)
    )
    db.session.expire(user, list(values))
    if done.rowcount != 1:
        raise LoginRefused("invalid")
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
