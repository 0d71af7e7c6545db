"""Users, server-side login sessions and officer scopes."""
from __future__ import annotations

import datetime as dt

from flask_login import UserMixin
from sqlalchemy import Boolean, ForeignKey, Integer, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.models import TimestampMixin
from app.core.types import UTCDateTime
from app.extensions import db


class User(UserMixin, TimestampMixin, db.Model):
    """A staff member (every user is a learner); ``is_admin``, ``is_examiner`` and officer scopes add roles.

    Examiners manage the question bank, exams, grading and item analysis; administrators can do all of that too.
    """

    __tablename__ = "user"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_number: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"), index=True)
    position: Mapped[str | None] = mapped_column(String(100))
    grade: Mapped[str | None] = mapped_column(String(40))
    email: Mapped[str | None] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # When the person was last deactivated (UTC; None while active, and for people deactivated before
    # this column existed: unknown, so past figures treat them as gone already). Rollout figures count
    # a leaver up to this instant (app.rollout.services.active_at).
    deactivated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    is_examiner: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Set when someone else chose the password (staff import, reset): the user must change it first.
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    locale: Mapped[str | None] = mapped_column(String(10))
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    department = relationship("Department")
    officer_scopes: Mapped[list["OfficerScope"]] = relationship(
        back_populates="user", cascade="all, delete-orphan"
    )

    # Set by the login loader: the server-side session this request runs under.
    current_session_token = None  # type: str | None

    @property
    def is_active(self) -> bool:  # Flask-Login
        return bool(self.active)

    def get_id(self) -> str:  # Flask-Login stores the session token, not the user id
        return self.current_session_token or ""

    @property
    def is_officer(self) -> bool:
        """True if the user watches at least one department subtree."""
        return bool(self.officer_scopes)

    def __repr__(self) -> str:
        return f"<User {self.staff_number} {self.name}>"


class OfficerScope(db.Model):
    """A department subtree an officer may see (the department and all below it)."""

    __tablename__ = "officer_scope"
    __table_args__ = (UniqueConstraint("user_id", "department_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("department.id", ondelete="CASCADE"))

    user: Mapped[User] = relationship(back_populates="officer_scopes")
    department = relationship("Department")


class UserSession(db.Model):
    """One login. The cookie carries the token; logout revokes the row, so a replayed cookie fails.

    ``token_hash`` is the SHA-256 hex digest of the token; the token itself is never stored.
    """

    __tablename__ = "user_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    user_agent: Mapped[str | None] = mapped_column(String(255))

    user: Mapped[User] = relationship()


class SignInCode(db.Model):
    """A personal, single-use, expiring code with which a staff member signs in once to choose a
    password (instead of a default password shared by many people).

    ``code_hash`` is the SHA-256 hex digest of the normalised code (upper case, no separators): the
    code itself is never stored. ``used_at`` is set by the one conditional UPDATE that redeems it.
    """

    __tablename__ = "sign_in_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
