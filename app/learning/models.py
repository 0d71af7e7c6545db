"""Courses (loaded from ``courses/``), lessons, enrolments and lesson progress."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import JSON, Boolean, Column, Date, ForeignKey, Integer, Numeric, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.models import BilingualMixin, TimestampMixin
from app.core.types import UTCDateTime
from app.extensions import db

course_item = Table(
    "course_item",
    db.metadata,
    Column("course_id", ForeignKey("course.id", ondelete="CASCADE"), primary_key=True),
    Column("standard_item_id", ForeignKey("standard_item.id", ondelete="CASCADE"), primary_key=True),
)


class Course(BilingualMixin, TimestampMixin, db.Model):
    """A course: ordered lessons, credit hours (学时) and usually one exam."""

    __tablename__ = "course"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    title_zh: Mapped[str] = mapped_column(String(200))
    title_en: Mapped[str] = mapped_column(String(200))
    summary_zh: Mapped[str] = mapped_column(Text, default="")
    summary_en: Mapped[str] = mapped_column(Text, default="")
    credit_hours: Mapped[Decimal] = mapped_column(Numeric(6, 2), default=0)
    standard_id: Mapped[int | None] = mapped_column(ForeignKey("standard.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    content_hash: Mapped[str] = mapped_column(String(64), default="")

    lessons: Mapped[list["Lesson"]] = relationship(
        back_populates="course", order_by="Lesson.position", cascade="all, delete-orphan"
    )
    items = relationship("StandardItem", secondary=course_item, order_by="StandardItem.position")
    standard = relationship("Standard")

    @property
    def active_lessons(self) -> list["Lesson"]:
        """Lessons currently in the course, in teaching order."""
        return [lesson for lesson in self.lessons if lesson.active]


class Lesson(BilingualMixin, TimestampMixin, db.Model):
    """A lesson. ``key`` is its file name stem; a removed file retires the lesson (progress is kept).

    ``items``: the codes of the standard items this lesson teaches (course.yaml ``lessons[].items``, each
    among the course's items), or ``None``/``[]`` when the lesson is not tagged; see :meth:`teaches`.
    """

    __tablename__ = "lesson"
    __table_args__ = (UniqueConstraint("course_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(120))
    position: Mapped[int] = mapped_column(Integer, default=0)
    title_zh: Mapped[str] = mapped_column(String(200))
    title_en: Mapped[str] = mapped_column(String(200))
    minutes: Mapped[int] = mapped_column(Integer, default=0)
    body_md: Mapped[str] = mapped_column(Text, default="")
    body_html: Mapped[str] = mapped_column(Text, default="")
    content_hash: Mapped[str] = mapped_column(String(64), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    items: Mapped[list | None] = mapped_column(JSON)

    course: Mapped[Course] = relationship(back_populates="lessons")

    def teaches(self, code: str) -> bool:
        """Whether a learner weak in standard item ``code`` should be pointed to this lesson: the lesson is
        tagged with ``code``, or it has no tags at all (then only the course-level mapping is known)."""
        return not self.items or code in self.items


class Enrolment(TimestampMixin, db.Model):
    """A learner's enrolment in a course, with an optional due date and completion record.

    ``credit_hours_awarded`` (学时) is set when the course is completed.
    ``source`` is ``self`` (learner enrolled) or ``plan`` (assigned by a rollout plan).
    """

    __tablename__ = "enrolment"
    __table_args__ = (UniqueConstraint("user_id", "course_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id", ondelete="CASCADE"), index=True)
    source: Mapped[str] = mapped_column(String(20), default="self")
    due_on: Mapped[dt.date | None] = mapped_column(Date)
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    credit_hours_awarded: Mapped[Decimal | None] = mapped_column(Numeric(6, 2))

    user = relationship("User")
    course: Mapped[Course] = relationship()


class EnrolmentDueChange(db.Model):
    """One change of an enrolment's ``due_on`` after it was created (today only the renewal
    assignment moves one), keeping the date before it, so figures at a past date use the due date
    in force then: the ``due_before`` of the earliest change at or after the instant, else the
    enrolment's current ``due_on`` (:func:`app.rollout.services.due_on_at`). Never updated."""

    __tablename__ = "enrolment_due_change"

    id: Mapped[int] = mapped_column(primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolment.id", ondelete="CASCADE"), index=True)
    changed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    due_before: Mapped[dt.date | None] = mapped_column(Date)


class LessonProgress(db.Model):
    """When a learner opened and finished a lesson."""

    __tablename__ = "lesson_progress"
    __table_args__ = (UniqueConstraint("user_id", "lesson_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    lesson_id: Mapped[int] = mapped_column(ForeignKey("lesson.id", ondelete="CASCADE"), index=True)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    completed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    lesson: Mapped[Lesson] = relationship()
