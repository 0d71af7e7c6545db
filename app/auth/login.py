"""Server-side login sessions for Flask-Login.

The signed cookie holds only a random token; :class:`app.auth.models.UserSession` holds its SHA-256
hash, expiry and revocation. Logout revokes the row, so a cookie captured before logout is refused.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from flask import Flask, current_app, request
from sqlalchemy import select, update

from app.auth.models import User, UserSession
from app.core.time import utcnow
from app.extensions import db, login_manager


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def open_session(user: User, user_agent: str | None = None) -> str:
    """Create a login session for ``user`` and return its token (lifetime LOGIN_SESSION_HOURS)."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    hours = float(current_app.config.get("LOGIN_SESSION_HOURS", 12))
    db.session.add(
        UserSession(
            token_hash=_digest(token), user_id=user.id, created_at=now,
            expires_at=now + dt.timedelta(hours=hours), user_agent=(user_agent or "")[:255],
        )
    )
    user.current_session_token = token
    return token


def revoke_session(token: str | None) -> None:
    """Revoke the session with this token (no error if unknown)."""
    if token:
        db.session.execute(
            update(UserSession).where(UserSession.token_hash == _digest(token)).values(revoked_at=utcnow())
        )


def load_user(token: str) -> User | None:
    """Flask-Login loader: the active user of an unrevoked, unexpired session, else None."""
    if not token:
        return None
    row = db.session.execute(
        select(User)
        .join(UserSession, UserSession.user_id == User.id)
        .where(
            UserSession.token_hash == _digest(token),
            UserSession.revoked_at.is_(None),
            UserSession.expires_at > utcnow(),
            User.active.is_(True),
        )
    ).scalar_one_or_none()
    if row is not None:
        row.current_session_token = token
    return row


def init_login(app: Flask) -> None:
    """Configure Flask-Login."""
    login_manager.init_app(app)
    login_manager.user_loader(load_user)
    login_manager.login_view = "auth.login"
    login_manager.session_protection = None  # the server-side row is the protection
    from flask_babel import lazy_gettext as _l

    login_manager.login_message = _l("Please log in to see this page.")
    login_manager.login_message_category = "info"

    @login_manager.unauthorized_handler
    def _unauthorized():
        from flask import abort, flash, redirect, url_for

        if request.path.startswith("/api/") or request.is_json:
            abort(401)
        flash(str(login_manager.login_message), "info")
        return redirect(url_for("auth.login", next=request.full_path if request.query_string else request.path))
