"""Certifications (what can be earned) and certificates (what a person holds)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, Column, ForeignKey, Integer, String, Table, Text, and_, or_
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.models import BilingualMixin, TimestampMixin
from app.core.time import utcnow
from app.core.types import UTCDateTime
from app.extensions import db

certification_course = Table(
    "certification_course",
    db.metadata,
    Column("certification_id", ForeignKey("certification.id", ondelete="CASCADE"), primary_key=True),
    Column("course_id", ForeignKey("course.id", ondelete="CASCADE"), primary_key=True),
)


class Certification(BilingualMixin, TimestampMixin, db.Model):
    """Earned by completing all its courses. ``validity_months`` None = never expires."""

    __tablename__ = "certification"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    title_zh: Mapped[str] = mapped_column(String(200))
    title_en: Mapped[str] = mapped_column(String(200))
    validity_months: Mapped[int | None] = mapped_column(Integer)
    recertification_window_days: Mapped[int] = mapped_column(Integer, default=90)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    courses = relationship("Course", secondary=certification_course, order_by="Course.slug")


class Certificate(db.Model):
    """A certificate issued to one person. Valid = not revoked and not expired."""

    __tablename__ = "certificate"

    id: Mapped[int] = mapped_column(primary_key=True)
    certification_id: Mapped[int] = mapped_column(ForeignKey("certification.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    serial: Mapped[str] = mapped_column(String(60), unique=True)
    verification_code: Mapped[str] = mapped_column(String(20), unique=True)
    issued_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    revoked_reason: Mapped[str | None] = mapped_column(Text)
    attempt_id: Mapped[int | None] = mapped_column(ForeignKey("attempt.id", ondelete="SET NULL"))

    certification: Mapped[Certification] = relationship()
    user = relationship("User")

    @hybrid_property
    def is_valid(self) -> bool:
        """Not revoked and (no expiry or expiry in the future)."""
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > utcnow())

    @is_valid.inplace.expression
    @classmethod
    def _is_valid_expression(cls):
        return and_(cls.revoked_at.is_(None), or_(cls.expires_at.is_(None), cls.expires_at > utcnow()))

    @property
    def status(self) -> str:
        """``valid``, ``expired`` or ``revoked``."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= utcnow():
            return "expired"
        return "valid"
