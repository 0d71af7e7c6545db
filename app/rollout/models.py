"""A rollout plan: which department subtrees must hold which certification by when."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import (JSON, Boolean, Column, Date, Float, ForeignKey, Index, Integer, Numeric, String, Table, Text,
                        UniqueConstraint)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.models import BilingualMixin, TimestampMixin
from app.core.types import UTCDateTime
from app.core.time import utcnow
from app.extensions import db

plan_audience = Table(
    "plan_audience",
    db.metadata,
    Column("plan_id", ForeignKey("rollout_plan.id", ondelete="CASCADE"), primary_key=True),
    Column("department_id", ForeignKey("department.id", ondelete="CASCADE"), primary_key=True),
)

# Departments whose subtrees are cut out of the audience (e.g. the whole city except its hospitals).
plan_exclusion = Table(
    "plan_exclusion",
    db.metadata,
    Column("plan_id", ForeignKey("rollout_plan.id", ondelete="CASCADE"), primary_key=True),
    Column("department_id", ForeignKey("department.id", ondelete="CASCADE"), primary_key=True),
)

# Courses a plan requires besides its certification's own (e.g. this year's security refresher).
plan_course = Table(
    "plan_course",
    db.metadata,
    Column("plan_id", ForeignKey("rollout_plan.id", ondelete="CASCADE"), primary_key=True),
    Column("course_id", ForeignKey("course.id", ondelete="CASCADE"), primary_key=True),
)

plan_wave_department = Table(
    "plan_wave_department",
    db.metadata,
    Column("wave_id", ForeignKey("plan_wave.id", ondelete="CASCADE"), primary_key=True),
    Column("department_id", ForeignKey("department.id", ondelete="CASCADE"), primary_key=True),
)

# How each person's due date is set (see app.rollout.editing.due_date_for).
DUE_FIXED, DUE_AFTER_HIRE, DUE_AFTER_TRANSFER = "fixed", "after_hire", "after_transfer"
DUE_RULES = (DUE_FIXED, DUE_AFTER_HIRE, DUE_AFTER_TRANSFER)


class RolloutPlan(BilingualMixin, TimestampMixin, db.Model):
    """Audience (department subtrees) must meet the requirement by ``ends_on``; milestones set targets.

    The requirement is a ``certification`` (held valid), the extra ``courses`` (each completed), or
    both; at least one of them (checked by :func:`app.rollout.editing.validate`). A plan without a
    certification is complete for a person once every course in ``courses`` is completed."""

    __tablename__ = "rollout_plan"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str | None] = mapped_column(String(80), unique=True)  # stable id of a plan loaded from YAML
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200), default="")
    certification_id: Mapped[int | None] = mapped_column(ForeignKey("certification.id"))  # None: courses only
    starts_on: Mapped[dt.date] = mapped_column(Date)
    ends_on: Mapped[dt.date] = mapped_column(Date)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Only staff whose position is one of these (exact text, e.g. "科员"); empty list: every position.
    positions: Mapped[list | None] = mapped_column(JSON, default=list)
    # Only staff of one of these grades (exact text, e.g. "科级"); empty list: every grade.
    grades: Mapped[list | None] = mapped_column(JSON, default=list)
    # fixed: due on the plan's (or the person's wave's) end date; after_hire / after_transfer: due
    # ``due_days`` days after the person joined / last moved department, but never before that end date.
    due_rule: Mapped[str] = mapped_column(String(20), default=DUE_FIXED, server_default=DUE_FIXED)
    due_days: Mapped[int | None] = mapped_column(Integer)

    certification = relationship("Certification")
    audience = relationship("Department", secondary=plan_audience, order_by="Department.code")
    exclusions = relationship("Department", secondary=plan_exclusion, order_by="Department.code")
    courses = relationship("Course", secondary=plan_course, order_by="Course.slug")
    waves: Mapped[list["PlanWave"]] = relationship(
        back_populates="plan", order_by="PlanWave.starts_on, PlanWave.id", cascade="all, delete-orphan"
    )
    milestones: Mapped[list["Milestone"]] = relationship(
        back_populates="plan", order_by="Milestone.due_on", cascade="all, delete-orphan"
    )

    @property
    def requirement(self) -> list:
        """What each person must meet, for display: the certification (if any), then the courses
        (objects with ``tr("title")``)."""
        return ([self.certification] if self.certification is not None else []) + list(self.courses)

    def requirement_text(self, separator: str = "、") -> str:
        """:attr:`requirement` as one line of titles in the current language."""
        return separator.join(item.tr("title") for item in self.requirement)


class Milestone(db.Model):
    """By ``due_on`` (local date, inclusive) ``target_percent`` (0–100) of eligible staff are certified."""

    __tablename__ = "milestone"
    __table_args__ = (UniqueConstraint("plan_id", "due_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("rollout_plan.id", ondelete="CASCADE"), index=True)
    due_on: Mapped[dt.date] = mapped_column(Date)
    target_percent: Mapped[Decimal] = mapped_column(Numeric(5, 2))

    plan: Mapped[RolloutPlan] = relationship(back_populates="milestones")


class Exemption(db.Model):
    """A staff member taken out of a plan's denominator (long leave, secondment, new hire) with a reason."""

    __tablename__ = "exemption"
    __table_args__ = (UniqueConstraint("plan_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("rollout_plan.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))

    user = relationship("User", foreign_keys=[user_id])
    created_by = relationship("User", foreign_keys=[created_by_id])
    plan = relationship("RolloutPlan")


class PlanWave(db.Model):
    """A phase of a plan (试点, 第一批 …): the staff of ``departments``' subtrees start on ``starts_on``
    and are due on ``ends_on`` (local dates) instead of the plan's own dates. A person in the
    subtrees of several waves belongs to the earliest-ending one."""

    __tablename__ = "plan_wave"

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("rollout_plan.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    starts_on: Mapped[dt.date] = mapped_column(Date)
    ends_on: Mapped[dt.date] = mapped_column(Date)

    plan: Mapped[RolloutPlan] = relationship(back_populates="waves")
    departments = relationship("Department", secondary=plan_wave_department, order_by="Department.code")
    # The wave's own targets; when it has any, its departments are measured against these (from 0 %
    # at the wave's start) instead of the plan's milestones (see app.rollout.services.target_percent).
    milestones: Mapped[list["WaveMilestone"]] = relationship(
        back_populates="wave", order_by="WaveMilestone.due_on", cascade="all, delete-orphan")


class WaveMilestone(db.Model):
    """By ``due_on`` (local date, inclusive) ``target_percent`` (0–100) of the wave's eligible staff
    have met the requirement."""

    __tablename__ = "plan_wave_milestone"
    __table_args__ = (UniqueConstraint("wave_id", "due_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    wave_id: Mapped[int] = mapped_column(ForeignKey("plan_wave.id", ondelete="CASCADE"), index=True)
    due_on: Mapped[dt.date] = mapped_column(Date)
    target_percent: Mapped[Decimal] = mapped_column(Numeric(5, 2))

    wave: Mapped[PlanWave] = relationship(back_populates="milestones")


class DepartmentSnapshot(db.Model):
    """One department's figures for one plan at the end of one local day (the daily snapshot job).

    Counts are people in the department's whole subtree (as :func:`app.rollout.services.department_figures`
    computes them); ``target`` is the plan's target percent (0–100) for ``day``. ``taken_at`` (UTC) is when
    the row was last written. One row per (plan, department, day): the job and the backfill upsert it.
    """

    __tablename__ = "rollout_snapshot"
    __table_args__ = (UniqueConstraint("plan_id", "department_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("rollout_plan.id", ondelete="CASCADE"))
    department_id: Mapped[int] = mapped_column(ForeignKey("department.id", ondelete="CASCADE"), index=True)
    day: Mapped[dt.date] = mapped_column(Date)
    eligible: Mapped[int] = mapped_column(Integer)
    started: Mapped[int] = mapped_column(Integer)
    certified: Mapped[int] = mapped_column(Integer)
    sat: Mapped[int] = mapped_column(Integer)
    passed: Mapped[int] = mapped_column(Integer)
    hours_met: Mapped[int] = mapped_column(Integer)
    target: Mapped[Decimal] = mapped_column(Numeric(5, 1))
    taken_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class PersonSnapshot(db.Model):
    """One eligible person's standing in one plan at ``taken_at`` (UTC): today's snapshot for the
    administrators' whole-city drill-down (issue 7 item 10), written with today's
    :class:`DepartmentSnapshot` rows (same ``taken_at``) by the ``rollout-today-snapshot`` job and
    replaced each time; only today's, no history.

    ``department_id`` is the department held then; ``dept_rank`` the rank of its path
    (``dense_rank`` over the department paths of :func:`app.rollout.services.department_paths`, in the
    database's text order), so that "status, then department path, then staff number" — the drill-down's
    default order — is an index scan; ``staff_number`` and ``position`` are copied for the same reason.
    ``started`` / ``certified`` are the definitions of :func:`app.rollout.services.plan_conditions`."""

    __tablename__ = "rollout_person_snapshot"
    __table_args__ = (
        Index("ix_rollout_person_snapshot_status_order", "plan_id", "certified", "started", "dept_rank", "staff_number"),
        Index("ix_rollout_person_snapshot_department_order", "plan_id", "dept_rank", "staff_number"),
    )

    plan_id: Mapped[int] = mapped_column(ForeignKey("rollout_plan.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), primary_key=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("department.id", ondelete="CASCADE"), index=True)
    dept_rank: Mapped[int] = mapped_column(Integer)
    staff_number: Mapped[str] = mapped_column(String(40))
    position: Mapped[str | None] = mapped_column(String(100))
    started: Mapped[bool] = mapped_column(Boolean)
    certified: Mapped[bool] = mapped_column(Boolean)
    taken_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class ForecastSnapshot(db.Model):
    """A department projected to miss the plan's next milestone, as of ``taken_at`` (UTC): written with
    today's :class:`DepartmentSnapshot` rows (same ``taken_at``) by the ``rollout-today-snapshot`` job
    from those rows and the window's daily snapshots (:func:`app.rollout.trend.departments_missing`,
    every department of the city), and replaced each time; only today's. ``rank`` is the list's order
    (largest shortfall first, then department code), 1-based. Percentages 0–100 with one decimal;
    ``current`` None when the department had no rate today; ``slope_per_week`` percentage points a week."""

    __tablename__ = "rollout_forecast_snapshot"

    plan_id: Mapped[int] = mapped_column(ForeignKey("rollout_plan.id", ondelete="CASCADE"), primary_key=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("department.id", ondelete="CASCADE"), primary_key=True)
    rank: Mapped[int] = mapped_column(Integer)
    current: Mapped[Decimal | None] = mapped_column(Numeric(5, 1))
    projected: Mapped[Decimal] = mapped_column(Numeric(5, 1))
    target: Mapped[Decimal] = mapped_column(Numeric(5, 2))
    slope_per_week: Mapped[float] = mapped_column(Float)
    taken_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_rollout_forecast_snapshot_plan_rank", "plan_id", "rank"),)


class SkillsSnapshot(db.Model):
    """Today's skills map of one plan, every department of the city (:mod:`app.rollout.skills`), as
    of ``taken_at`` (UTC): written with today's person snapshot (same ``taken_at``) by the
    ``rollout-today-snapshot`` job and replaced each time; only today's. A row with an ``item_id``
    is a cell: points ``earned`` of ``possible`` on that standard item by ``people`` people of the
    department's subtree; the row without one (``item_id`` NULL) holds the subtree's ``people`` with
    a best attempt (``earned`` and ``possible`` 0)."""

    __tablename__ = "rollout_skills_snapshot"
    __table_args__ = (Index("ix_rollout_skills_snapshot_plan_department", "plan_id", "department_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("rollout_plan.id", ondelete="CASCADE"))
    department_id: Mapped[int] = mapped_column(ForeignKey("department.id", ondelete="CASCADE"))
    item_id: Mapped[int | None] = mapped_column(ForeignKey("standard_item.id", ondelete="CASCADE"))
    earned: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    possible: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    people: Mapped[int] = mapped_column(Integer)
    taken_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
