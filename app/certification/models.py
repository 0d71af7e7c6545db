"""Certifications (what can be earned) and certificates (what a person holds)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, Column, ForeignKey, Integer, String, Table, Text, and_, case, literal, or_
from sqlalchemy.ext.hybrid import hybrid_method, hybrid_property
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


CERTIFIED, DUE_FOR_RENEWAL, EXPIRED, REVOKED = "certified", "due_for_renewal", "expired", "revoked"
CERTIFICATE_STATUSES = (CERTIFIED, DUE_FOR_RENEWAL, EXPIRED, REVOKED)


class Certificate(db.Model):
    """A certificate issued to one person.

    Lifecycle (the rules are written once, in :meth:`status_at` and :meth:`held_at`, each usable in
    Python and in SQL): certified from ``issued_at``; due for renewal from ``renewal_opens_at``
    (``expires_at`` − the certification's recertification window, fixed at issue); expired from
    ``expires_at``; revoked from ``revoked_at`` (an administrator, with a reason; reinstating clears
    the revocation, the audit log keeps both). No expiry (``validity_months`` None) = never expires.
    """

    __tablename__ = "certificate"

    id: Mapped[int] = mapped_column(primary_key=True)
    certification_id: Mapped[int] = mapped_column(ForeignKey("certification.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    serial: Mapped[str] = mapped_column(String(60), unique=True)
    verification_code: Mapped[str] = mapped_column(String(20), unique=True)
    issued_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    renewal_opens_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    renewal_assigned_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    revoked_reason: Mapped[str | None] = mapped_column(Text)
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    attempt_id: Mapped[int | None] = mapped_column(ForeignKey("attempt.id", ondelete="SET NULL"))

    certification: Mapped[Certification] = relationship()
    user = relationship("User", foreign_keys=[user_id])
    revoked_by = relationship("User", foreign_keys=[revoked_by_id])

    @hybrid_method
    def held_at(self, moment: dt.datetime) -> bool:
        """Counts as held (certified or due for renewal) just before the UTC instant ``moment``:
        issued before it, and neither revoked nor expired before it. Events stamped at or after
        ``moment`` have not happened yet (the convention of ``rollout.services.plan_conditions``)."""
        return (self.issued_at < moment and (self.revoked_at is None or self.revoked_at >= moment)
                and (self.expires_at is None or self.expires_at >= moment))

    @held_at.expression
    @classmethod
    def _held_at_expression(cls, moment: dt.datetime):
        return and_(cls.issued_at < moment, or_(cls.revoked_at.is_(None), cls.revoked_at >= moment),
                    or_(cls.expires_at.is_(None), cls.expires_at >= moment))

    @hybrid_method
    def status_at(self, moment: dt.datetime) -> str:
        """``revoked``, ``expired``, ``due_for_renewal`` or ``certified`` just before the UTC instant
        ``moment`` (first rule that applies, in that order; same convention as :meth:`held_at`)."""
        if self.revoked_at is not None and self.revoked_at < moment:
            return REVOKED
        if self.expires_at is not None and self.expires_at < moment:
            return EXPIRED
        if self.renewal_opens_at is not None and self.renewal_opens_at < moment:
            return DUE_FOR_RENEWAL
        return CERTIFIED

    @status_at.expression
    @classmethod
    def _status_at_expression(cls, moment: dt.datetime):
        return case((cls.revoked_at < moment, literal(REVOKED)), (cls.expires_at < moment, literal(EXPIRED)),
                    (cls.renewal_opens_at < moment, literal(DUE_FOR_RENEWAL)), else_=literal(CERTIFIED))

    @hybrid_property
    def is_valid(self) -> bool:
        """Held now: not revoked and (no expiry or expiry in the future)."""
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > utcnow())

    @is_valid.inplace.expression
    @classmethod
    def _is_valid_expression(cls):
        return and_(cls.revoked_at.is_(None), or_(cls.expires_at.is_(None), cls.expires_at > utcnow()))

    @property
    def status(self) -> str:
        """The status now (:meth:`status_at` of the current UTC time)."""
        return self.status_at(utcnow())
