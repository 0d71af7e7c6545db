"""Rollout figures: per-department completion against a plan's milestones, as SQL aggregations.

Definitions (shown in the UI next to each figure):
    eligible   staff active then, in the plan's audience subtrees by the department held then
               (transfer history), minus exemptions
    started    eligible staff who opened a lesson of a required course or started its exam (参学)
    certified  eligible staff holding a valid certificate of the plan's certification and, when the
               plan names extra courses, having completed each of them (完成); a plan without a
               certification: having completed each of its courses
    pass rate  none for a plan without a certification (shown "—")
    sat/passed eligible staff with a finished attempt / a passed attempt at a required exam
    hours met  eligible staff credited with at least the annual quota of 学时 this calendar year
    completion certified ÷ eligible × 100 (percent 0–100)
    participation started ÷ eligible × 100; pass rate passed ÷ sat × 100
    credit-hour rate hours met ÷ eligible × 100 (学时达标率)
Every figure is as of the end of the chosen local day: events after it are ignored.
    target     percent due today: linear between plan start (0 %) and each milestone, then held; a
               department inside a wave with its own milestones: the wave's (from its start)
    gap        completion − target (percentage points; negative = behind)
A department's figures include its whole subtree (closure table join).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cached_property
from decimal import Decimal

from flask import current_app
from sqlalchemy import (ColumnElement, Integer, Text, and_, case, cast, column, delete, exists, func, insert, literal,
                        or_, select, true, union, values)

from app.auth.models import User
from app.certification.models import Certificate, certification_course
from app.core.time import local_date_end_utc, local_date_start_utc, to_local, utcnow
from app.exams.models import FINISHED, Attempt, Exam, ExamOverride, ExamOverrideChange
from app.exams.kept import exam_rules, kept_grade, method_of, reached_pass_mark, reached_pass_mark_clause
from app.extensions import db
from app.learning.models import Enrolment, EnrolmentDueChange, Lesson, LessonProgress
from app.org.models import Department, DepartmentClosure, StaffTransfer
from app.org.services import scope_roots, subtree_ids, visible_department_ids
from app.rollout.models import (DUE_AFTER_TRANSFER, DUE_FIXED, DepartmentSnapshot, Exemption, ForecastSnapshot,
                                PersonSnapshot, SkillsSnapshot,
                                PlanWave, RolloutPlan, plan_audience, plan_course, plan_exclusion)

ON_TRACK, BEHIND, AT_RISK = "on_track", "behind", "at_risk"


def target_percent(plan: RolloutPlan, day: dt.date, wave: PlanWave | None = None) -> Decimal:
    """Target percent (0–100) meeting the requirement on local date ``day``.

    Linear interpolation from 0 % at ``starts_on`` to each milestone's target at its date; after
    the last milestone its target holds; before the start it is 0. With a ``wave`` that has its own
    milestones, the wave's start and milestones are used instead of the plan's (issue 7: a wave of
    departments measured against its own dates); a wave without milestones follows the plan.
    """
    start, milestones = (wave.starts_on, wave.milestones) if wave is not None and wave.milestones else (
        plan.starts_on, plan.milestones)
    points = [(start, Decimal(0))] + [(m.due_on, Decimal(m.target_percent)) for m in milestones]
    if day <= start:
        return Decimal(0)
    for (d0, t0), (d1, t1) in zip(points, points[1:]):
        if day <= d1:
            span = (d1 - d0).days or 1
            return (t0 + (t1 - t0) * Decimal((day - d0).days) / Decimal(span)).quantize(Decimal("0.1"))
    return points[-1][1]


def wave_of_departments(plan: RolloutPlan) -> dict[int, PlanWave]:
    """department id → the wave it belongs to, for the plan's waves that have their own milestones:
    every department inside a wave department's subtree; in several, the earliest-ending wave (as for
    people's due dates). Departments not listed (e.g. the city above several waves) follow the plan's
    milestones. One query per such wave."""
    out: dict[int, PlanWave] = {}
    for wave in sorted(plan.waves, key=lambda w: (w.ends_on, w.id or 0)):
        ids = [d.id for d in wave.departments]
        if not ids or not wave.milestones:
            continue
        for dept_id in db.session.execute(select(DepartmentClosure.descendant_id).where(
                DepartmentClosure.ancestor_id.in_(ids))).scalars():
            out.setdefault(dept_id, wave)
    return out


def milestones_for(plan: RolloutPlan, wave: PlanWave | None = None) -> list:
    """The milestones a department is measured against, by date: its wave's (``wave`` from
    :func:`wave_of_departments`) when that wave has its own, else the plan's (the rule of
    :func:`target_percent`). ``Milestone`` or ``WaveMilestone`` rows, both with ``due_on``/``target_percent``."""
    return list(wave.milestones) if wave is not None and wave.milestones else list(plan.milestones)


@dataclass
class PlanTargets:
    """What each department of a plan is measured against (the one rule of the dashboard, the
    snapshots, escalations and the forecast): ``waves`` = :func:`wave_of_departments`; a department
    not in it follows the plan. Build with :func:`plan_targets` (one query per wave with milestones)."""

    plan: RolloutPlan
    waves: dict[int, PlanWave]

    def wave(self, department_id: int) -> PlanWave | None:
        """The wave whose milestones the department follows, or None (the plan's)."""
        return self.waves.get(department_id)

    def milestones(self, department_id: int) -> list:
        """The department's milestones by date (:func:`milestones_for`)."""
        return milestones_for(self.plan, self.waves.get(department_id))

    def target(self, department_id: int, day: dt.date) -> Decimal:
        """The department's target percent (0–100) on local date ``day`` (:func:`target_percent`)."""
        return target_percent(self.plan, day, self.waves.get(department_id))


def plan_targets(plan: RolloutPlan) -> PlanTargets:
    """The per-department targets of ``plan`` (:class:`PlanTargets`)."""
    return PlanTargets(plan, wave_of_departments(plan))


@dataclass(frozen=True)
class ScopeTargets:
    """What several departments shown together (a viewer's top departments on the dashboard's trend
    and in the PDF summary) are measured against. ``wave``: the one wave with its own milestones that
    every top department follows (:func:`wave_of_departments`; a top department's subtree is inside
    it), else None: the plan's milestones. ``mixed``: the plan's are used although some department of
    the scope follows a wave's own milestones (the top departments lie in several waves, or above one:
    the page says so). Build with :func:`scope_targets`."""

    plan: RolloutPlan
    wave: PlanWave | None = None
    mixed: bool = False

    @property
    def milestones(self) -> list:
        """The scope's milestones by date (:func:`milestones_for`)."""
        return milestones_for(self.plan, self.wave)

    def target(self, day: dt.date) -> Decimal:
        """The scope's target percent (0–100) on local date ``day`` (:func:`target_percent`)."""
        return target_percent(self.plan, day, self.wave)


def scope_targets(plan: RolloutPlan, root_ids: list[int], department_ids: list[int]) -> ScopeTargets:
    """The :class:`ScopeTargets` of a scope whose top departments are ``root_ids`` (non-overlapping
    subtrees) and whose departments are ``department_ids`` (the roots and those below them, e.g. the
    dashboard's rows): the wave of the roots when they all follow the same wave with milestones, else
    the plan's (``mixed`` when a department of the scope follows a wave's). One query per wave with
    milestones (:func:`plan_targets`); none when the plan has no such wave."""
    if not root_ids or not any(w.milestones for w in plan.waves):
        return ScopeTargets(plan)
    targets = plan_targets(plan)
    waves = {id(w): w for w in (targets.wave(i) for i in root_ids)}
    if len(waves) == 1 and None not in waves.values():
        return ScopeTargets(plan, next(iter(waves.values())))
    return ScopeTargets(plan, mixed=any(targets.wave(i) is not None for i in [*root_ids, *department_ids]))


def department_targets(plan: RolloutPlan, day: dt.date) -> tuple[Decimal, dict[int, Decimal]]:
    """``(plan target, {department id: its wave's target})`` on local date ``day`` (:func:`target_percent`,
    :func:`wave_of_departments`): a department not in the dict is measured against the plan's target."""
    waves = wave_of_departments(plan)
    per_wave = {w.id: target_percent(plan, day, w) for w in {id(w): w for w in waves.values()}.values()}
    return target_percent(plan, day), {dept_id: per_wave[w.id] for dept_id, w in waves.items()}


def status_for(completion: Decimal | None, target: Decimal, tolerance: float | None = None) -> str:
    """``on_track`` if completion ≥ target; ``behind`` if short by less than the tolerance
    (ROLLOUT_BEHIND_TOLERANCE percentage points, default 10); otherwise ``at_risk``."""
    if tolerance is None:
        tolerance = float(current_app.config.get("ROLLOUT_BEHIND_TOLERANCE", 10))
    if completion is None or completion >= target:
        return ON_TRACK
    return BEHIND if target - completion < Decimal(str(tolerance)) else AT_RISK


@dataclass
class DepartmentFigures:
    """Figures for one department's subtree. Percentages are 0–100 (None when eligible is 0).

    The percentages are computed once per object (``cached_property``: a city dashboard reads each
    several times for 1,000 rows); the counts are not changed after the object is built.
    """

    department: Department
    level: int
    eligible: int = 0
    started: int = 0
    certified: int = 0
    sat: int = 0
    passed: int = 0
    hours_met: int = 0
    target: Decimal = Decimal(0)
    children: list["DepartmentFigures"] = field(default_factory=list)
    # False for a plan that requires no certification: its 考试合格率 is not a figure of the plan (shown "—").
    has_pass_rate: bool = True

    @staticmethod
    def _pct(num: int, den: int) -> Decimal | None:
        return (Decimal(num) * 100 / Decimal(den)).quantize(Decimal("0.1")) if den else None

    @cached_property
    def completion(self) -> Decimal | None:
        """Certified ÷ eligible × 100 (percent 0–100, 1 decimal); None when nobody is eligible."""
        return self._pct(self.certified, self.eligible)

    @cached_property
    def participation(self) -> Decimal | None:
        """Started ÷ eligible × 100 (percent 0–100, 参学率); None when nobody is eligible."""
        return self._pct(self.started, self.eligible)

    @cached_property
    def pass_rate(self) -> Decimal | None:
        """Passed ÷ sat × 100 (percent 0–100, 考试合格率); None when nobody has sat the exam or the plan
        requires no certification (``has_pass_rate`` False: a courses-only plan has no exam to pass)."""
        return self._pct(self.passed, self.sat) if self.has_pass_rate else None

    @cached_property
    def hours_rate(self) -> Decimal | None:
        """Staff who reached the annual 学时 quota ÷ eligible × 100 (percent 0–100, 学时达标率)."""
        return self._pct(self.hours_met, self.eligible)

    @property
    def gap(self) -> Decimal | None:
        """Completion − target today, in percentage points (negative: behind); None without eligible staff."""
        return None if self.completion is None else (self.completion - self.target).quantize(Decimal("0.1"))

    @property
    def not_finished(self) -> int:
        """Eligible staff not yet certified (a count)."""
        return self.eligible - self.certified

    @property
    def status(self) -> str:
        """``on_track``, ``behind`` or ``at_risk`` (see :func:`status_for`)."""
        return status_for(self.completion, self.target)


def required_course_ids(plan: RolloutPlan):
    """SELECT of the plan's required course ids: its certification's courses and its own extra courses."""
    return union(
        select(certification_course.c.course_id).where(certification_course.c.certification_id == plan.certification_id),
        select(plan_course.c.course_id).where(plan_course.c.plan_id == plan.id))


@dataclass(frozen=True)
class _PlanConditions:
    """SQL conditions on ``User`` for one plan at one moment (see :func:`plan_conditions`)."""

    eligible: tuple  # WHERE clauses: active, in the audience, not exempted
    started: ColumnElement[bool]
    certified: ColumnElement[bool]
    sat: ColumnElement[bool]
    passed: ColumnElement[bool]
    hours_met: ColumnElement[bool]
    # on ``Attempt`` (not ``User``): the attempt after which the candidate's grade kept at its exam had
    # reached the pass mark (app.exams.kept.reached_pass_mark_clause); shared by the set-based flags
    # and the drill-down's "all attempts used", so the exams' rules are read once per plan and moment
    reached: ColumnElement[bool]


def department_at(as_of_end: dt.datetime | None) -> ColumnElement:
    """SQL expression on ``User``: the person's department id at the UTC instant ``as_of_end`` (issue 8:
    a mover counts in the new department from the transfer's ``effective_at``). It is the
    ``from_department_id`` of their earliest :class:`StaffTransfer` with ``effective_at >= as_of_end``
    (NULL when they had no department then: counted nowhere), else ``User.department_id``; ``None``
    means now (``User.department_id``).

    Written as ``CASE WHEN User.id IN (uncorrelated SELECT of transfers at or after the instant) THEN
    (correlated first such transfer) ELSE User.department_id``: the set is computed once per query
    (set-based, usable at 100,000 staff), the correlated lookup runs only for people who moved since;
    for today the set is empty (no transfer lies in the future) and the expression is the column.
    The one definition of the as-of department for figures, drill-down and the skills map."""
    if as_of_end is None:
        return User.department_id
    later = select(StaffTransfer.user_id).where(StaffTransfer.effective_at >= as_of_end)
    first = (select(StaffTransfer.from_department_id)
             .where(StaffTransfer.user_id == User.id, StaffTransfer.effective_at >= as_of_end)
             .order_by(StaffTransfer.effective_at, StaffTransfer.id).limit(1).correlate(User).scalar_subquery())
    return case((User.id.in_(later), first), else_=User.department_id)


def department_in_at(as_of_end: dt.datetime | None, departments) -> ColumnElement[bool]:
    """SQL condition on ``User``: the department held at ``as_of_end`` (:func:`department_at`) is one of
    ``departments`` (a SELECT of ids or a list). The same test as ``department_at(...).in_(departments)``
    plus a redundant, indexable one: the current department is among them, or the person has a
    transfer at or after the instant (only they can have held another department then). PostgreSQL
    can then read the few people of a subtree by the ``user.department_id`` index instead of testing
    the CASE expression on every one of 100,000 people (an officer's bureau drill-down: 98,893 closure
    probes for 4,632 people)."""
    if as_of_end is None:
        return User.department_id.in_(departments)
    later = select(StaffTransfer.user_id).where(StaffTransfer.effective_at >= as_of_end)
    return and_(department_at(as_of_end).in_(departments),
                or_(User.department_id.in_(departments), User.id.in_(later)))


def active_at(as_of_end: dt.datetime | None) -> ColumnElement[bool]:
    """SQL condition on ``User``: the person was active (had not left) at the UTC instant ``as_of_end``:
    active now, or deactivated at or after it (``User.deactivated_at``). A deactivated person with no
    ``deactivated_at`` (deactivated before the column existed: unknown) counts as gone before any date.
    ``None`` means now (``User.active``). For today it reduces to ``active`` (no one leaves in the future)."""
    if as_of_end is None:
        return User.active.is_(True)
    return or_(User.active.is_(True), User.deactivated_at >= as_of_end)


def eligible_conditions(plan: RolloutPlan, as_of_end: dt.datetime | None = None) -> tuple:
    """WHERE clauses on ``User`` for the plan's eligible staff: active, in a department of the
    audience's subtrees but not of an excluded subtree, holding one of the plan's positions and grades
    (when the plan names any), not exempted. The one definition used by figures, drill-down and enrolment.

    With ``as_of_end`` (UTC instant, the end of the chosen local day) only what was known by then
    counts: staff whose record existed (``User.created_at`` before it, i.e. joined by then) and
    exemptions recorded before it; the department is the one held then (:func:`department_at`, from
    the transfer history) and leavers count up to their ``deactivated_at`` (:func:`active_at`).
    """
    audience = subtree_ids(select(plan_audience.c.department_id).where(plan_audience.c.plan_id == plan.id))
    excluded = subtree_ids(select(plan_exclusion.c.department_id).where(plan_exclusion.c.plan_id == plan.id))
    exempted = exists().where(Exemption.plan_id == plan.id, Exemption.user_id == User.id)
    department = department_at(as_of_end)
    conditions = [active_at(as_of_end), department.in_(audience), department.not_in(excluded)]
    if plan.positions:
        conditions.append(User.position.in_(list(plan.positions)))
    if plan.grades:
        conditions.append(User.grade.in_(list(plan.grades)))
    if as_of_end is not None:
        exempted = exempted.where(Exemption.created_at < as_of_end)
        conditions.append(User.created_at < as_of_end)
    return (*conditions, ~exempted)


def plan_conditions(plan: RolloutPlan, as_of_end: dt.datetime, *, set_based: bool = False) -> _PlanConditions:
    """The plan's definitions as SQL conditions correlated to ``User``, as of ``as_of_end`` (UTC).

    eligible: active, in a department of the audience's subtrees, not exempted. started: opened a
    lesson of a required course (the certification's and the plan's extra courses) or started its
    exam. certified (完成): holds (if the plan names a certification) a certificate of it issued before, and neither
    revoked nor expired at, ``as_of_end``, and completed each extra course before it. sat / passed: a
    finished attempt at a required course's exam / reached that exam's pass mark by its grade kept
    (:func:`app.exams.kept.reached_pass_mark_clause`: for ``first`` and ``average`` a passed attempt
    is not enough). hours_met: 学时 credited this local
    calendar year up to ``as_of_end`` reach :func:`annual_quota`. Everything is limited to events
    stamped before ``as_of_end``; eligibility as in :func:`eligible_conditions` with the date.

    ``set_based``: the same definitions written as ``User.id IN (uncorrelated SELECT user_id …)``
    instead of correlated EXISTS (see :func:`_set_based_flags`): each set is computed once (a hashed
    subplan on PostgreSQL), which is faster when most of the city is counted (the admin's whole-city
    dashboard at 100,000 staff: 1.16 s → 0.74–0.84 s), slower for one bureau (0.10 → 0.44 s, every
    set is still computed for the whole city). Same figures either way (docs/performance.md).
    """
    if set_based:
        return _set_based_flags(plan, as_of_end)
    courses = required_course_ids(plan)
    exams = select(Exam.id).where(Exam.course_id.in_(courses))
    started = or_(
        exists().where(LessonProgress.user_id == User.id, LessonProgress.started_at < as_of_end,
                       LessonProgress.lesson_id.in_(select(Lesson.id).where(Lesson.course_id.in_(courses)))),
        exists().where(Attempt.user_id == User.id, Attempt.exam_id.in_(exams), Attempt.started_at < as_of_end),
    )
    certified = exists().where(
        Certificate.user_id == User.id, Certificate.certification_id == plan.certification_id,
        Certificate.held_at(as_of_end),  # issued before, neither revoked nor expired before as_of_end
    ) if plan.certification_id is not None else true()
    if plan.courses:  # extra courses: each completed by then too (no extra query when there are none)
        # Two levels below User: correlate explicitly (auto-correlation stops at the nearest SELECT).
        done = (exists().where(Enrolment.user_id == User.id, Enrolment.course_id == plan_course.c.course_id,
                               Enrolment.completed_at.is_not(None), Enrolment.completed_at < as_of_end)
                .correlate_except(Enrolment))
        certified = and_(certified, ~exists().where(plan_course.c.plan_id == plan.id, ~done).correlate_except(plan_course))
    finished = and_(Attempt.user_id == User.id, Attempt.exam_id.in_(exams), Attempt.state == FINISHED,
                    Attempt.finished_at < as_of_end)
    # passed: reached the pass mark by each exam's grade kept (the certification rule), not "some attempt passed"
    reached = reached_pass_mark_clause(Attempt, exam_rules(exams), as_of_end)
    return _PlanConditions(eligible_conditions(plan, as_of_end), started, certified, exists().where(finished),
                           exists().where(finished, reached),
                           credit_hours_in_year(as_of_end) >= annual_quota(), reached)


def _set_based_flags(plan: RolloutPlan, as_of_end: dt.datetime) -> _PlanConditions:
    """:func:`plan_conditions` with every flag an uncorrelated ``User.id IN (SELECT user_id …)``: the
    same tables and tests as the EXISTS form (user ids are never NULL, so ``NOT IN`` is safe)."""
    correlated = plan_conditions(plan, as_of_end)
    courses = required_course_ids(plan)
    exams = select(Exam.id).where(Exam.course_id.in_(courses))
    # DISTINCT in every set: PostgreSQL hashes an IN subquery only when its estimated rows fit in
    # hash_mem (work_mem × 2 = 8 MB by default); estimated as 841,000 lesson-progress rows the pilot
    # plan's set did not, and the planner fell back to scanning the whole set once per person (the
    # snapshot of 100,000 staff ran for minutes). Estimated by distinct users (≤ the staff) it is hashed.
    started = or_(
        User.id.in_(select(LessonProgress.user_id).where(
            LessonProgress.started_at < as_of_end,
            LessonProgress.lesson_id.in_(select(Lesson.id).where(Lesson.course_id.in_(courses)))).distinct()),
        User.id.in_(select(Attempt.user_id).where(Attempt.exam_id.in_(exams), Attempt.started_at < as_of_end)
                    .distinct()),
    )
    certified = User.id.in_(select(Certificate.user_id).where(
        Certificate.certification_id == plan.certification_id, Certificate.held_at(as_of_end)).distinct())
    if plan.courses or plan.certification_id is None:  # extra courses must be completed too: keep the correlated form of that rule
        certified = correlated.certified
    finished = (Attempt.exam_id.in_(exams), Attempt.state == FINISHED, Attempt.finished_at < as_of_end)
    quota = annual_quota()
    hours_met = correlated.hours_met
    if quota > 0:  # with a quota of 0 everyone meets it, enrolments or not: keep the correlated form
        year = to_local(as_of_end - dt.timedelta(microseconds=1)).year
        hours_met = User.id.in_(
            select(Enrolment.user_id).where(
                Enrolment.completed_at.is_not(None), Enrolment.completed_at >= local_date_start_utc(dt.date(year, 1, 1)),
                Enrolment.completed_at < as_of_end)
            .group_by(Enrolment.user_id).having(func.sum(Enrolment.credit_hours_awarded) >= quota))
    return _PlanConditions(correlated.eligible, started, certified,
                           User.id.in_(select(Attempt.user_id).where(*finished).distinct()),
                           User.id.in_(select(Attempt.user_id).where(*finished, correlated.reached).distinct()),
                           hours_met, correlated.reached)


def annual_quota() -> Decimal:
    """The annual credit-hour quota (学时 per person per calendar year; ``ANNUAL_CREDIT_HOUR_QUOTA``,
    default 50 after the 2023–2027 national plan's 50 学时 of online study a year)."""
    return Decimal(str(current_app.config.get("ANNUAL_CREDIT_HOUR_QUOTA", 50)))


def credit_hours_in_year(as_of_end: dt.datetime):
    """Scalar subquery correlated to ``User``: 学时 credited (courses completed, any course) from
    1 January of the local year containing the instant before ``as_of_end`` up to ``as_of_end``."""
    year = to_local(as_of_end - dt.timedelta(microseconds=1)).year
    year_start = local_date_start_utc(dt.date(year, 1, 1))
    return (select(func.coalesce(func.sum(Enrolment.credit_hours_awarded), 0))
            .where(Enrolment.user_id == User.id, Enrolment.completed_at.is_not(None),
                   Enrolment.completed_at >= year_start, Enrolment.completed_at < as_of_end)
            .scalar_subquery())


def _flag(condition) -> ColumnElement[int]:
    """1 where ``condition`` holds, else 0 (so that SUM counts it)."""
    return case((condition, 1), else_=0)


def _counts_by_position(position, started, certified, chosen: list, scope: list) -> tuple[dict, int, list[str]]:
    """One grouped pass over the rows ``scope`` selects (live people or person-snapshot rows), by
    ``position``: the drill-down's counts ``{"eligible", "not_started", "in_progress", "certified"}``
    (people), the total matching ``chosen`` (the status and position filters) and the positions
    present, sorted. ``started`` and ``certified`` are boolean SQL expressions per row."""
    sums = [0, 0, 0, 0, 0]
    positions = []
    for row in db.session.execute(select(
            position, func.count(), func.sum(_flag(~started)), func.sum(_flag(and_(started, ~certified))),
            func.sum(_flag(certified)), func.sum(_flag(and_(true(), *chosen))))
            .where(*scope).group_by(position).order_by(position)):
        if row[0] is not None:
            positions.append(row[0])
        sums = [a + int(b or 0) for a, b in zip(sums, row[1:])]
    eligible, not_started, in_progress, certified_n, total = sums
    return ({"eligible": eligible, "not_started": not_started, "in_progress": in_progress, "certified": certified_n},
            total, positions)


def eligible_users(plan: RolloutPlan, as_of_end: dt.datetime, *, set_based: bool = False):
    """SELECT of eligible users with 0/1 flags: ``user_id, department_id, started, certified, sat, passed,
    hours_met`` as of ``as_of_end`` (UTC instant; definitions: :func:`plan_conditions`, ``set_based`` too).
    ``department_id`` is the department held at ``as_of_end`` (:func:`department_at`)."""
    c = plan_conditions(plan, as_of_end, set_based=set_based)
    return select(
        User.id.label("user_id"), department_at(as_of_end).label("department_id"),
        _flag(c.started).label("started"), _flag(c.certified).label("certified"),
        _flag(c.sat).label("sat"), _flag(c.passed).label("passed"), _flag(c.hours_met).label("hours_met"),
    ).where(*c.eligible)


def figure_rows(plan: RolloutPlan, as_of: dt.date, viewer: User | None = None) -> list[tuple]:
    """The figures aggregation: ``(department_id, eligible, started, certified, sat, passed, hours_met)``
    per department with eligible staff in its subtree, as of the end of local date ``as_of``.

    One SQL aggregation (eligible users × closure table, grouped by ancestor). With ``viewer`` only the
    departments they may see (officers: their subtrees, scoped in the query); without one every
    department (the snapshot job). Counts are ints (never None). Each person counts in the department
    they held at the end of ``as_of`` (:func:`department_at`), and so do officers' scopes: someone
    who moved out of an officer's subtree after ``as_of`` still counts in that officer's figures for
    ``as_of``, someone who moved in after it does not.
    """
    # Materialised so each user's EXISTS flags are computed once, not once per ancestor row of the
    # join (three times as often in a four-level tree); PostgreSQL inlines a plain CTE or subquery.
    # Only users in visible departments can count towards a visible ancestor, so for officers the
    # filter goes inside too (admins see every department).
    visible = visible_department_ids(viewer) if viewer is not None else None
    # Admins and the snapshot job count the whole city: the set-based flags are faster there,
    # EXISTS for one officer's subtree.
    whole_city = viewer is None or viewer.is_admin
    eligible = eligible_users(plan, local_date_end_utc(as_of), set_based=whole_city)
    if not whole_city:
        eligible = eligible.where(department_at(local_date_end_utc(as_of)).in_(visible))
    users = eligible.cte("eligible").prefix_with("MATERIALIZED", dialect="postgresql")
    query = (
        select(
            DepartmentClosure.ancestor_id, func.count(users.c.user_id), func.sum(users.c.started),
            func.sum(users.c.certified), func.sum(users.c.sat), func.sum(users.c.passed),
            func.sum(users.c.hours_met),
        )
        .join(users, users.c.department_id == DepartmentClosure.descendant_id)
        .group_by(DepartmentClosure.ancestor_id)
    )
    if visible is not None:
        query = query.where(DepartmentClosure.ancestor_id.in_(visible))
    return [(dept_id, int(n), int(s or 0), int(c or 0), int(sat or 0), int(p or 0), int(h or 0))
            for dept_id, n, s, c, sat, p, h in db.session.execute(query).all()]


def department_figures(plan: RolloutPlan, viewer: User, as_of: dt.date) -> list[DepartmentFigures]:
    """Figures for every department ``viewer`` may see, as a forest under their scope roots.

    One SQL aggregation (:func:`figure_rows`); only departments with eligible staff appear. Officers
    see only their subtrees (scoped in the query).
    """
    return figures_forest(plan, as_of, figure_rows(plan, as_of, viewer))


# --- today's figures from the snapshot (issue 7 item 10) ---------------------------------------

def snapshot_max_age() -> dt.timedelta:
    """How old today's snapshot may be and still be served instead of a live count
    (``ROLLOUT_SNAPSHOT_MAX_AGE_MINUTES``, default 30; 0 turns serving from snapshots off)."""
    return dt.timedelta(minutes=float(current_app.config.get("ROLLOUT_SNAPSHOT_MAX_AGE_MINUTES", 30)))


def fresh_snapshot(plan: RolloutPlan, as_of: dt.date, now: dt.datetime | None = None
                   ) -> tuple[list[tuple], dt.datetime] | None:
    """Today's snapshot of ``plan`` if it may stand in for the live figures, else None.

    Only for ``as_of`` = today (local date; past and future dates are always counted live) and only
    when the plan has snapshot rows for today all taken within :func:`snapshot_max_age` of ``now``
    (UTC, default now). Returns ``(rows, taken_at)``: rows shaped as :func:`figure_rows`
    ``(department_id, eligible, started, certified, sat, passed, hours_met)`` and the UTC time the
    oldest row was taken (the page says "figures as of" it). A snapshot of day D taken at T holds the
    figures as of the end of D known at T, which for D = today are exactly the live figures at T.
    One query (the unique key's index). No rows (no snapshot, or nobody eligible) → None: count live."""
    now = now or utcnow()
    age = snapshot_max_age()
    if age <= dt.timedelta(0) or as_of != to_local(now).date():
        return None
    found = db.session.execute(
        select(DepartmentSnapshot.department_id, DepartmentSnapshot.eligible, DepartmentSnapshot.started,
               DepartmentSnapshot.certified, DepartmentSnapshot.sat, DepartmentSnapshot.passed,
               DepartmentSnapshot.hours_met, DepartmentSnapshot.taken_at)
        .where(DepartmentSnapshot.plan_id == plan.id, DepartmentSnapshot.day == as_of)).all()
    if not found:
        return None
    taken_at = min(r[-1] for r in found)
    if taken_at < now - age or taken_at > now or (plan.updated_at is not None and plan.updated_at > taken_at):
        return None  # too old, from a frozen clock's future, or the plan was changed since
    return [tuple(r[:-1]) for r in found], taken_at


def discard_today_snapshot(plan: RolloutPlan) -> None:
    """Delete ``plan``'s snapshot rows of today (local date), its person snapshot, its stored list of
    departments projected to miss and its skills map: a change that moves people in or out of its
    eligible staff (an exemption made or lifted, the plan edited) must
    not wait for the next refresh; until then the dashboard and drill-down count live. The daily job
    retakes the day once it is over. Four DELETEs."""
    db.session.execute(delete(DepartmentSnapshot).where(DepartmentSnapshot.plan_id == plan.id,
                                                        DepartmentSnapshot.day == to_local(utcnow()).date()))
    db.session.execute(delete(PersonSnapshot).where(PersonSnapshot.plan_id == plan.id))
    db.session.execute(delete(ForecastSnapshot).where(ForecastSnapshot.plan_id == plan.id))
    db.session.execute(delete(SkillsSnapshot).where(SkillsSnapshot.plan_id == plan.id))


@dataclass
class ServedFigures:
    """The dashboard's figures: ``forest`` (as :func:`department_figures`) and ``taken_at``: the UTC
    time of the snapshot they come from, or None when they were counted live for this request."""

    forest: list[DepartmentFigures]
    taken_at: dt.datetime | None = None


def serves_from_snapshot(viewer: User) -> bool:
    """Whole-city views (administrators) read today's figures from a fresh snapshot: counting 100,000
    people on every request takes over a second. Officers' subtrees are counted live (0.1 s)."""
    return viewer.is_admin


def serves_lists_from_snapshot(viewer: User) -> bool:
    """Drill-down lists of today are served from the person snapshot for every viewer: for an
    officer's bureau of 4,600 people at 100,000 staff the live count and ordering took two 110 ms
    statements (p95 over 200 ms), the snapshot's narrow rows a few ms. The snapshot is scoped like
    the live list (subtree and the officer's departments), its rows are read live, the page says
    when the list was taken and offers a live count; an exemption made or lifted discards it."""
    return viewer.is_admin or viewer.is_officer


def dashboard_figures(plan: RolloutPlan, viewer: User, as_of: dt.date, *, live: bool = False) -> ServedFigures:
    """The dashboard's figures for ``viewer``: from today's snapshot when :func:`serves_from_snapshot`
    and :func:`fresh_snapshot` allow it and ``live`` is False, otherwise counted now
    (:func:`department_figures`). Same forest either way (the snapshot rows are made by
    :func:`figure_rows` itself; an administrator sees every department, so no scoping is lost)."""
    if not live and serves_from_snapshot(viewer):
        fresh = fresh_snapshot(plan, as_of)
        if fresh is not None:
            return ServedFigures(figures_forest(plan, as_of, fresh[0]), fresh[1])
    return ServedFigures(department_figures(plan, viewer, as_of))


def figures_forest(plan: RolloutPlan, as_of: dt.date, rows: list[tuple]) -> list[DepartmentFigures]:
    """Rows of :func:`figure_rows` (or a snapshot) as a forest of :class:`DepartmentFigures`, the
    target that of ``as_of``; children sorted by depth, sort order and code."""
    if not rows:
        return []
    departments = {d.id: d for d in db.session.execute(
        select(Department).where(Department.id.in_([r[0] for r in rows]))).scalars()}
    target, wave_targets = department_targets(plan, as_of)
    exam_rates = plan.certification_id is not None
    figures = {
        dept_id: DepartmentFigures(department=departments[dept_id], level=0, eligible=n, started=s, certified=c,
                                   sat=sat, passed=p, hours_met=h, target=wave_targets.get(dept_id, target),
                                   has_pass_rate=exam_rates)
        for dept_id, n, s, c, sat, p, h in rows
    }
    roots = []
    for fig in sorted(figures.values(), key=lambda f: (f.department.depth, f.department.sort_order, f.department.code)):
        parent = figures.get(fig.department.parent_id)
        if parent is None:
            roots.append(fig)
        else:
            fig.level = parent.level + 1
            parent.children.append(fig)
    return roots


def flatten(forest: list[DepartmentFigures]) -> list[DepartmentFigures]:
    """Depth-first list of a figures forest (parents before children)."""
    out = []
    stack = list(reversed(forest))
    while stack:
        node = stack.pop()
        out.append(node)
        stack.extend(reversed(node.children))
    return out


FULL_TABLE_ROWS = 200  # a dashboard with more departments than this shows its top levels, children on request
TABLE_LEVELS = 2  # levels shown when collapsed: the viewer's top departments and their children


def table_rows(forest: list[DepartmentFigures], expanded: set[int] | None = None, *,
               levels: int = TABLE_LEVELS) -> list[tuple[DepartmentFigures, bool]]:
    """The dashboard table's rows of a figures forest, depth-first: ``(figures, collapsed)`` for every
    department down to ``levels`` levels (level 0 = the viewer's top departments) and below each
    department of ``expanded`` (ids; its children shown, theirs only if also expanded). ``collapsed``
    is True when the department has children with figures that are not shown (the page offers to
    expand it). The figures themselves are those of :func:`flatten`: subtotals cover whole subtrees."""
    expanded = expanded or set()
    out = []
    stack = list(reversed(forest))
    while stack:
        node = stack.pop()
        opened = node.level + 1 < levels or node.department.id in expanded
        out.append((node, bool(node.children) and not opened))
        if opened:
            stack.extend(reversed(node.children))
    return out


STATUS_FILTERS = ("unfinished", "not_started", "in_progress", "certified", "all")
SORT_KEYS = ("status", "name", "staff_number", "department", "position", "lessons", "attempts", "best_score", "due")
PATH_SEPARATOR = " › "


def department_paths():
    """Recursive CTE ``department_path(id, path)``: each department's name path below its tree's root,
    e.g. ``市财政局 › 办公室`` (a root's path is its own name). Built in SQL (a recursive CTE, the same
    on SQLite and PostgreSQL), so the drill-down can sort by it and needs no query per row."""
    # Both terms as TEXT: PostgreSQL refuses a recursive CTE whose column is varchar(200) in one term
    # and unbounded varchar in the other.
    anchor = select(Department.id.label("id"), cast(Department.name, Text).label("path"),
                    literal(0).label("lvl")).where(Department.parent_id.is_(None))
    paths = anchor.cte("department_path", recursive=True)
    child = Department.__table__.alias("child_dept")
    step = select(
        child.c.id, cast(case((paths.c.lvl == 0, child.c.name), else_=paths.c.path + PATH_SEPARATOR + child.c.name),
                         Text),
        paths.c.lvl + 1,
    ).where(child.c.parent_id == paths.c.id)
    return paths.union_all(step)


def subtree_paths(department_id: int, among=None):
    """``paths(id, path)``: the department paths (:func:`department_paths`) of ``department_id``'s
    subtree, read once and given back to the database as a VALUES list, or None when the subtree is
    empty (no such department). Joined per person in the drill-down: PostgreSQL estimates a VALUES
    list's rows exactly, while it guessed a handful for the recursive CTE joined to the subtree's
    eligible staff and re-scanned its 1,000 rows for each of them (an officer's bureau of 4,600
    people at 100,000 staff: 4.6 million rows compared, 300 ms). SQLite (no column names on a VALUES
    list in FROM) gets the same rows as a subquery of the CTE. ``among`` (a SELECT of department ids)
    keeps only those departments (a snapshot-served page: the departments of its ≤ 50 people)."""
    tree = department_paths().alias("tree")
    subtree = select(tree.c.id, tree.c.path).where(tree.c.id.in_(subtree_ids([department_id])))
    if among is not None:
        subtree = subtree.where(tree.c.id.in_(among))
    if db.session.get_bind().dialect.name != "postgresql":
        found = db.session.execute(select(Department.id).where(Department.id == department_id)).first()
        return subtree.subquery("paths") if found else None
    rows = db.session.execute(subtree.order_by(tree.c.id)).all()
    if not rows:
        return None
    return values(column("id", Integer), column("path", Text), name="paths").data([tuple(r) for r in rows])


@dataclass
class DrillDown:
    """One page of the people in a department's subtree. ``rows``: dicts (see :func:`drill_down`);
    ``total``: rows matching the filters; ``counts``: eligible / not_started / in_progress / certified
    over the whole subtree (no filters); ``page`` (1-based), ``per_page``, ``pages`` (≥ 1)."""

    rows: list[dict]
    total: int
    counts: dict
    page: int
    per_page: int
    positions: list[str]
    taken_at: dt.datetime | None = None  # UTC time of today's snapshot the list comes from; None: live

    @property
    def pages(self) -> int:
        """Number of pages (at least 1)."""
        return max(1, -(-self.total // self.per_page))


def drill_down(plan: RolloutPlan, viewer: User, department_id: int, as_of: dt.date, *, status: str = "unfinished",
               position: str | None = None, overdue: bool = False, exhausted: bool = False, sort: str = "status",
               descending: bool = False, page: int = 1, per_page: int = 50, live: bool = False,
               only: list[int] | None = None) -> DrillDown:
    """Eligible staff in the department's subtree as of the end of local date ``as_of``.

    Filters: ``status`` one of :data:`STATUS_FILTERS` (unfinished = not certified; in_progress =
    started, not certified); ``position`` exact; ``overdue`` = not certified and a required course
    due before ``as_of`` (the due date in force then, :func:`due_on_at`) not completed by then; ``exhausted`` = at some required exam every allowed
    attempt used without a pass, where the attempts allowed are the person's override, else the most
    generous override of a department above them, else the exam's ``attempts_allowed`` (the rule of
    :func:`app.exams.services.candidate_settings`), each override as it stood at the end of ``as_of``
    (:func:`attempts_allowed_at`). Sorting by
    one of :data:`SORT_KEYS` (``status``: not started first, then department path, staff number).
    Each row: ``{"user", "path" (department path str), "started", "certified", "lessons_done" (int),
    "attempts" (int), "best_score" (Decimal 0–100 | None), "due_on" (date | None), "overdue", "exhausted"}``,
    every column as of ``as_of``; ``path`` and the subtree and scope tests use the department held
    then (:func:`department_at`: a person who moved away since is listed under the old department,
    also for an officer of it). Outside ``viewer``'s scope the result is empty. Raises ValueError on
    an unknown status or sort key.

    Views of today (administrators' and officers': :func:`serves_lists_from_snapshot`), sorted by
    status or department, without the overdue and attempts filters, come from today's person snapshot while it is fresh
    (:func:`drill_down_from_snapshot`: who is listed, the counts and the order as of ``taken_at``,
    each listed row's columns live); ``live`` counts now. ``only`` (user ids) limits the people to
    those (used for the rows of a snapshot-served page).
    """
    if status not in STATUS_FILTERS or sort not in SORT_KEYS:
        raise ValueError(f"unknown status {status!r} or sort {sort!r}")
    if not live and only is None and serves_lists_from_snapshot(viewer) and not (overdue or exhausted) \
            and sort in SNAPSHOT_SORTS:
        served = drill_down_from_snapshot(plan, viewer, department_id, as_of, status=status, position=position,
                                          sort=sort, descending=descending, page=page, per_page=per_page)
        if served is not None:
            return served
    as_of_end = local_date_end_utc(as_of)
    c = plan_conditions(plan, as_of_end)
    courses = required_course_ids(plan)
    exams = select(Exam.id).where(Exam.course_id.in_(courses))
    lessons_done = (select(func.count(LessonProgress.id))
                    .join(Lesson, Lesson.id == LessonProgress.lesson_id)
                    .where(LessonProgress.user_id == User.id, Lesson.course_id.in_(courses),
                           LessonProgress.completed_at.is_not(None), LessonProgress.completed_at < as_of_end)
                    .scalar_subquery())
    attempts = (select(func.count(Attempt.id)).where(Attempt.user_id == User.id, Attempt.exam_id.in_(exams),
                                                    Attempt.started_at < as_of_end).scalar_subquery())
    best = (select(func.max(Attempt.score)).where(Attempt.user_id == User.id, Attempt.exam_id.in_(exams),
                                                 Attempt.state == FINISHED, Attempt.finished_at < as_of_end)
            .scalar_subquery())
    due_then = due_on_at(as_of_end)  # the due date in force then (a later renewal may have moved it)
    due = (select(func.min(due_then)).where(Enrolment.user_id == User.id, Enrolment.course_id.in_(courses),
                                            Enrolment.created_at < as_of_end).scalar_subquery())
    overdue_c = and_(~c.certified, exists().where(
        Enrolment.user_id == User.id, Enrolment.course_id.in_(courses), Enrolment.created_at < as_of_end,
        due_then < as_of, or_(Enrolment.completed_at.is_(None), Enrolment.completed_at >= as_of_end)))
    exam = Exam.__table__.alias("req_exam")
    # Two levels down from User: correlate explicitly (auto-correlation stops at the nearest SELECT).
    used = (select(func.count(Attempt.id)).where(Attempt.user_id == User.id, Attempt.exam_id == exam.c.id,
                                                Attempt.started_at < as_of_end).correlate(User, exam).scalar_subquery())
    allowed = attempts_allowed_at(exam, as_of_end)
    passed_there = (select(Attempt.id).where(Attempt.user_id == User.id, Attempt.exam_id == exam.c.id,
                                             Attempt.state == FINISHED, Attempt.finished_at < as_of_end, c.reached)
                    .correlate(User, exam).exists())
    exhausted_c = (select(exam.c.id).where(exam.c.course_id.in_(courses), used >= allowed, ~passed_there)
                   .correlate(User).exists())
    department = department_at(as_of_end)  # the department held then (figures count them there too)
    scope = (*c.eligible, department_in_at(as_of_end, subtree_ids([department_id])),
             department.in_(visible_department_ids(viewer)))
    if only is not None:
        scope = (*scope, User.id.in_(only))
    chosen = {"unfinished": [~c.certified], "not_started": [~c.started], "in_progress": [c.started, ~c.certified],
              "certified": [c.certified], "all": []}[status]
    if position:
        chosen.append(User.position == position)
    if overdue:
        chosen.append(overdue_c)
    if exhausted:
        chosen.append(exhausted_c)
    # One pass over the subtree's eligible staff, grouped by position: the four counts and the
    # filtered total (summed here) and the positions list (a second DISTINCT pass cost 100 ms for a
    # bureau of 4,600 people at 100,000 staff).
    counts, total, positions = _counts_by_position(User.position, c.started, c.certified, chosen, scope)
    # "Not certified" as NOT EXISTS in WHERE, not as a test on a 0/1 flag: the planner can then
    # estimate the rows and use an anti-join (PostgreSQL, 20,000 staff, city root: 390 ms → 69 ms).
    filters = [*scope, *chosen]
    # The page's people of a snapshot-served list (``only``): just their departments' paths.
    paths = subtree_paths(department_id, None if only is None else select(department).where(User.id.in_(only)))
    if paths is None:  # the department does not exist: nobody is in its subtree
        return DrillDown(rows=[], total=total, counts=counts, page=page, per_page=per_page, positions=positions)
    started, certified = _flag(c.started), _flag(c.certified)
    keys = {"status": [certified, started], "name": [User.name], "staff_number": [User.staff_number],
            "department": [paths.c.path], "position": [User.position], "lessons": [lessons_done],
            "attempts": [attempts], "best_score": [best], "due": [due]}[sort]
    order = [k.desc() if descending else k.asc() for k in keys] + [paths.c.path, User.staff_number]
    query = (
        select(User, paths.c.path, started, certified, lessons_done, attempts, best, due, _flag(overdue_c),
               _flag(exhausted_c))
        .join(paths, paths.c.id == department)
        .where(*filters).order_by(*order).limit(per_page).offset((page - 1) * per_page)
    )
    rows = [
        {"user": u, "path": path, "started": bool(s), "certified": bool(cert), "lessons_done": int(ld or 0),
         "attempts": int(a or 0), "best_score": b, "due_on": due_on, "overdue": bool(od), "exhausted": bool(ex)}
        for u, path, s, cert, ld, a, b, due_on, od, ex in db.session.execute(query).all()
    ]
    return DrillDown(rows=rows, total=total, counts=counts, page=page, per_page=per_page, positions=positions)


def due_on_at(as_of_end: dt.datetime) -> ColumnElement:
    """SQL expression on ``Enrolment``: its due date (local date) as it stood at the UTC instant
    ``as_of_end``: the ``due_before`` of its earliest :class:`EnrolmentDueChange` at or after the
    instant, else ``Enrolment.due_on`` (the pattern of :func:`department_at`). Due dates are set when the
    enrolment is created (from the plan's rule and the join/transfer dates known then) and only a
    renewal assignment moves one later, so this is the date the person was held to on that day."""
    later = (EnrolmentDueChange.enrolment_id == Enrolment.id, EnrolmentDueChange.changed_at >= as_of_end)
    before = (select(EnrolmentDueChange.due_before).where(*later)
              .order_by(EnrolmentDueChange.changed_at, EnrolmentDueChange.id).limit(1)
              .correlate_except(EnrolmentDueChange).scalar_subquery())
    return case((exists().where(*later).correlate_except(EnrolmentDueChange), before), else_=Enrolment.due_on)


def _override_attempts_at(exam, as_of_end: dt.datetime, owner) -> ColumnElement:
    """SQL scalar: the ``attempts_allowed`` of the override of ``exam`` (a table alias) whose owner
    column matches ``owner`` (``(ExamOverride.user_id, User.id)`` or ``(…department_id, <dept column>)``)
    as it stood at ``as_of_end``: the ``attempts_before`` of the earliest :class:`ExamOverrideChange`
    at or after the instant, else the override's current value (NULL: none, or it sets no attempts)."""
    change_owner = ExamOverrideChange.user_id if owner[0] is ExamOverride.user_id else ExamOverrideChange.department_id
    later = (ExamOverrideChange.exam_id == exam.c.id, change_owner == owner[1], ExamOverrideChange.changed_at >= as_of_end)
    before = (select(ExamOverrideChange.attempts_before).where(*later)
              .order_by(ExamOverrideChange.changed_at, ExamOverrideChange.id).limit(1)
              .correlate_except(ExamOverrideChange).scalar_subquery())
    current = (select(ExamOverride.attempts_allowed).where(ExamOverride.exam_id == exam.c.id, owner[0] == owner[1])
               .limit(1).correlate_except(ExamOverride).scalar_subquery())
    # Correlated explicitly: these sit two or three levels below User (auto-correlation stops at the nearest SELECT).
    return case((exists().where(*later).correlate_except(ExamOverrideChange), before), else_=current)


def attempts_allowed_at(exam, as_of_end: dt.datetime) -> ColumnElement:
    """SQL scalar correlated to ``User`` and ``exam`` (an alias of the exam table): the attempts the
    person was allowed at ``exam`` at the UTC instant ``as_of_end``, by the rule of
    :func:`app.exams.services.candidate_settings` (the person's own override if it set attempts, else
    the most generous override of a department above the department they held then, else the exam's
    ``attempts_allowed``), with every override as it stood then (:func:`_override_attempts_at`: an
    extra attempt granted after the date does not count for it). For today it is the current rule."""
    closure = DepartmentClosure.__table__.alias("override_closure")
    person = _override_attempts_at(exam, as_of_end, (ExamOverride.user_id, User.id))
    department = (select(func.max(_override_attempts_at(exam, as_of_end, (ExamOverride.department_id,
                                                                            closure.c.ancestor_id))))
                  .where(closure.c.descendant_id == department_at(as_of_end))
                  .correlate(User, exam).scalar_subquery())
    return func.coalesce(person, department, exam.c.attempts_allowed)


SNAPSHOT_SORTS = ("status", "department")  # the orders rollout_person_snapshot has an index for


def fresh_person_snapshot(plan: RolloutPlan, as_of: dt.date, now: dt.datetime | None = None) -> dt.datetime | None:
    """``taken_at`` (UTC) of ``plan``'s person snapshot if it may stand in for a live count on ``as_of``:
    :func:`fresh_snapshot` holds for the plan's department rows and the person rows were written with
    them (same ``taken_at``; :func:`discard_today_snapshot` removes both). Else None. Two small queries."""
    fresh = fresh_snapshot(plan, as_of, now)
    if fresh is None:
        return None
    taken = db.session.execute(select(PersonSnapshot.taken_at).where(PersonSnapshot.plan_id == plan.id)
                               .limit(1)).scalar_one_or_none()
    return fresh[1] if taken is not None and taken == fresh[1] else None


def drill_down_from_snapshot(plan: RolloutPlan, viewer: User, department_id: int, as_of: dt.date, *,
                             status: str, position: str | None, sort: str, descending: bool, page: int,
                             per_page: int) -> DrillDown | None:
    """:func:`drill_down` from today's person snapshot (``rollout_person_snapshot``), or None when it
    is not fresh (:func:`fresh_person_snapshot`): the caller then counts live.

    The subtree's counts, the filtered total, the positions and which people fill the page, in which
    order (status, then department path rank, then staff number; or path rank, staff number), are
    those at ``taken_at``: one aggregate and one index-ordered page query over the narrow snapshot
    rows instead of computing every eligible person's flags. The page's rows are then read live
    (:func:`drill_down` with ``only`` = the page's people), so a row may already show progress made
    since; the page says when the list was taken. Scoped as the live list (subtree and visible
    departments, by the department held at ``taken_at``)."""
    taken_at = fresh_person_snapshot(plan, as_of)
    if taken_at is None:
        return None
    p = PersonSnapshot
    scope = [p.plan_id == plan.id, p.department_id.in_(subtree_ids([department_id]))]
    if not viewer.is_admin:  # administrators see every department: no second semi-join over the rows
        scope.append(p.department_id.in_(visible_department_ids(viewer)))
    chosen = {"unfinished": [p.certified.is_(False)], "not_started": [p.started.is_(False)],
              "in_progress": [p.started.is_(True), p.certified.is_(False)], "certified": [p.certified.is_(True)],
              "all": []}[status]
    if position:
        chosen.append(p.position == position)
    # One pass: the counts per position, summed here, and the positions list.
    counts, total, positions = _counts_by_position(p.position, p.started.is_(True), p.certified.is_(True), chosen,
                                                   scope)
    keys = [p.certified, p.started] if sort == "status" else [p.dept_rank]
    order = [k.desc() if descending else k.asc() for k in keys] + [p.dept_rank, p.staff_number]
    ids = list(db.session.execute(select(p.user_id).where(*scope, *chosen).order_by(*order)
                                  .limit(per_page).offset((page - 1) * per_page)).scalars())
    rows = []
    if ids:
        live = drill_down(plan, viewer, department_id, as_of, status="all", page=1, per_page=len(ids), only=ids,
                          live=True)
        by_id = {r["user"].id: r for r in live.rows}
        rows = [by_id[i] for i in ids if i in by_id]  # someone moved out of the subtree since: left out
    return DrillDown(rows=rows, total=total, counts=counts, page=page, per_page=per_page, positions=positions,
                     taken_at=taken_at)


def unfinished_staff(plan: RolloutPlan, viewer: User, department_id: int, as_of: dt.date,
                     limit: int = 200, offset: int = 0) -> list[dict]:
    """Eligible staff in the department's subtree who are not certified as of ``as_of``, those not
    started first (rows as in :func:`drill_down`). Empty if the department is outside ``viewer``'s scope."""
    per_page = max(1, limit)
    if offset % per_page:
        raise ValueError("offset must be a multiple of limit")
    return drill_down(plan, viewer, department_id, as_of, page=offset // per_page + 1, per_page=per_page).rows


def plans_for(viewer: User) -> list[RolloutPlan]:
    """Active plans whose audience overlaps what ``viewer`` may see (admins: all active plans)."""
    query = select(RolloutPlan).where(RolloutPlan.active.is_(True)).order_by(RolloutPlan.starts_on.desc())
    if not viewer.is_admin:
        audience_subtrees = subtree_ids(select(plan_audience.c.department_id).where(plan_audience.c.plan_id == RolloutPlan.id))
        query = query.where(exists().where(
            DepartmentClosure.descendant_id.in_(visible_department_ids(viewer)),
            DepartmentClosure.descendant_id.in_(audience_subtrees),
        ))
    return list(db.session.execute(query).scalars())


def assign_plan(plan: RolloutPlan) -> int:
    """Enrol the plan's eligible staff in its required courses (:func:`assign`); returns the number of
    new enrolments. Idempotent; flushes."""
    return assign(plan).created


_IN_CHUNK = 500


def _chunks(values: list, size: int = _IN_CHUNK):
    for start in range(0, len(values), size):
        yield values[start:start + size]


@dataclass
class AssignResult:
    """What :func:`assign` did: ``created`` new enrolments."""

    created: int = 0


# --- due dates and enrolments (app.rollout.editing and the demo use these) ---------------------

def due_date_for(plan: RolloutPlan, wave_end: dt.date | None, joined_on: dt.date | None,
                 moved_on: dt.date | None) -> dt.date:
    """One person's due date (local date).

    ``fixed``: the end of the person's wave, else the plan's end. ``after_hire``: ``due_days`` after
    ``joined_on`` (the local date the person's record was created, which is when they joined the
    platform's staff list), but never earlier than the fixed date. ``after_transfer``: the same after
    ``moved_on`` (their latest department transfer), or after joining if they never moved. So people
    who arrive late get their grace period and everyone else keeps the plan's date.
    """
    fixed = wave_end or plan.ends_on
    if plan.due_rule == DUE_FIXED or not plan.due_days:
        return fixed
    start = moved_on if plan.due_rule == DUE_AFTER_TRANSFER and moved_on else joined_on
    if start is None:
        return fixed
    return max(fixed, start + dt.timedelta(days=plan.due_days))


def _wave_ends(plan: RolloutPlan) -> dict[int, dt.date]:
    """department id → the end of the earliest-ending wave whose subtrees hold it."""
    ends: dict[int, dt.date] = {}
    for wave in sorted(plan.waves, key=lambda w: (w.ends_on, w.id or 0)):
        ids = [d.id for d in wave.departments]
        if not ids:
            continue
        for dept_id in db.session.execute(select(DepartmentClosure.descendant_id).where(
                DepartmentClosure.ancestor_id.in_(ids))).scalars():
            ends.setdefault(dept_id, wave.ends_on)
    return ends


def _required_courses(plan: RolloutPlan) -> list[int]:
    return sorted(db.session.execute(required_course_ids(plan)).scalars())


def due_dates(plan: RolloutPlan) -> dict[int, dt.date]:
    """user id → due date (:func:`due_date_for`) for every eligible staff member of ``plan`` today."""
    moved = None
    if plan.due_rule == DUE_AFTER_TRANSFER:
        moved = (select(func.max(StaffTransfer.effective_at)).where(StaffTransfer.user_id == User.id)
                 .correlate(User).scalar_subquery())
    columns = [User.id, User.department_id, User.created_at] + ([moved] if moved is not None else [])
    waves = _wave_ends(plan)
    out = {}
    for row in db.session.execute(select(*columns).where(*eligible_conditions(plan))):
        joined = to_local(row[2]).date() if row[2] is not None and plan.due_rule != DUE_FIXED else None
        moved_on = to_local(row[3]).date() if moved is not None and row[3] is not None else None
        out[row[0]] = due_date_for(plan, waves.get(row[1]), joined, moved_on)
    return out


def assign(plan: RolloutPlan) -> AssignResult:
    """Enrol every eligible staff member of ``plan`` in its required courses, each due on their own
    date (:func:`due_dates`); idempotent.

    Only missing enrolments are created (source ``plan``); an existing enrolment keeps its due date
    (so the earlier of two plans on a shared course wins, and a person's date never moves under
    them). Running it again creates nothing. Bulk INSERTs of 500 rows. Flushes. Returns
    :class:`AssignResult`.
    """
    wanted = due_dates(plan)
    if not wanted:
        return AssignResult()
    now = utcnow()
    result = AssignResult()
    for course_id in _required_courses(plan):
        existing = set()
        for chunk in _chunks(list(wanted)):
            existing.update(db.session.execute(select(Enrolment.user_id).where(
                Enrolment.course_id == course_id, Enrolment.user_id.in_(chunk))).scalars())
        new_rows = [{"user_id": user_id, "course_id": course_id, "source": "plan", "due_on": due_on,
                     "created_at": now, "updated_at": now}
                    for user_id, due_on in wanted.items() if user_id not in existing]
        for chunk in _chunks(new_rows):
            db.session.execute(insert(Enrolment), chunk)
        result.created += len(new_rows)
    db.session.flush()
    return result

@dataclass
class PersonRecord:
    """A person's training record for an officer: enrolments (with lessons done of active lessons),
    attempts (newest first), certificates, and 学时 credited this local calendar year (Decimal)."""

    user: User
    path: str
    enrolments: list[dict]
    attempts: list[Attempt]
    certificates: list[Certificate]
    hours_this_year: Decimal
    quota: Decimal
    exam_grades: list[dict] = field(default_factory=list)


def person_record(viewer: User, user_id: int) -> PersonRecord | None:
    """The record of ``user_id`` if their department is within ``viewer``'s scope, else None.

    Queries: the user (scoped in the query), their path, enrolments with lesson counts (one
    grouped query), attempts, certificates, and the year's 学时.
    """
    user = db.session.execute(select(User).where(
        User.id == user_id, User.department_id.in_(visible_department_ids(viewer)))).scalar_one_or_none()
    if user is None:
        return None
    paths = department_paths().alias("paths")
    path = db.session.execute(select(paths.c.path).where(paths.c.id == user.department_id)).scalar_one_or_none() or ""
    total = (select(func.count(Lesson.id)).where(Lesson.course_id == Enrolment.course_id, Lesson.active.is_(True))
             .scalar_subquery())
    done = (select(func.count(LessonProgress.id)).join(Lesson, Lesson.id == LessonProgress.lesson_id)
            .where(LessonProgress.user_id == user.id, Lesson.course_id == Enrolment.course_id, Lesson.active.is_(True),
                   LessonProgress.completed_at.is_not(None)).scalar_subquery())
    enrolments = [
        {"enrolment": e, "lessons_total": int(t or 0), "lessons_done": int(d or 0)}
        for e, t, d in db.session.execute(
            select(Enrolment, total, done).where(Enrolment.user_id == user.id).order_by(Enrolment.due_on, Enrolment.id))
    ]
    attempts = list(db.session.execute(select(Attempt).where(Attempt.user_id == user.id)
                                       .order_by(Attempt.started_at.desc())).scalars())
    certificates = list(db.session.execute(select(Certificate).where(Certificate.user_id == user.id)
                                           .order_by(Certificate.issued_at.desc())).scalars())
    today_end = local_date_end_utc(to_local(utcnow()).date())
    hours = db.session.execute(select(credit_hours_in_year(today_end)).where(User.id == user.id)).scalar_one()
    return PersonRecord(user=user, path=path, enrolments=enrolments, attempts=attempts, certificates=certificates,
                        hours_this_year=Decimal(hours or 0), quota=annual_quota(), exam_grades=exam_grades(attempts))


def exam_grades(attempts: list[Attempt]) -> list[dict]:
    """One person's grade per exam from their attempts (any exams, any order):
    ``[{"exam", "method", "kept" (Decimal percent or None), "passed" (bool: the kept grade reached the
    pass mark, :func:`app.exams.kept.reached_pass_mark`), "finished" (int)}]`` by exam code."""
    by_exam: dict[int, list[Attempt]] = {}
    for attempt in attempts:
        by_exam.setdefault(attempt.exam_id, []).append(attempt)
    out = []
    for group in by_exam.values():
        exam = group[0].exam
        method = method_of(exam)
        out.append({"exam": exam, "method": method, "kept": kept_grade(group, method),
                    "passed": reached_pass_mark(group, method, exam.pass_mark),
                    "finished": sum(1 for a in group if a.state == FINISHED)})
    return sorted(out, key=lambda g: g["exam"].code)


def uncovered_scope(plan: RolloutPlan, viewer: User) -> list[Department]:
    """The viewer's scope roots (admins: tree roots) that the plan's audience does not reach at all
    (neither inside an audience subtree nor above one): the plan says nothing about them."""
    audience = select(plan_audience.c.department_id).where(plan_audience.c.plan_id == plan.id)
    out = []
    for root in scope_roots(viewer):
        overlap = db.session.execute(select(DepartmentClosure.descendant_id).where(
            or_(and_(DepartmentClosure.ancestor_id == root.id, DepartmentClosure.descendant_id.in_(audience)),
                and_(DepartmentClosure.descendant_id == root.id, DepartmentClosure.ancestor_id.in_(audience)))
        ).limit(1)).first()
        if overlap is None:
            out.append(root)
    return out


def covers_department(plan: RolloutPlan, department_id: int) -> bool:
    """True if the department lies inside one of the plan's audience subtrees or above one."""
    audience = select(plan_audience.c.department_id).where(plan_audience.c.plan_id == plan.id)
    return db.session.execute(select(DepartmentClosure.descendant_id).where(or_(
        and_(DepartmentClosure.descendant_id == department_id, DepartmentClosure.ancestor_id.in_(audience)),
        and_(DepartmentClosure.ancestor_id == department_id, DepartmentClosure.descendant_id.in_(audience)),
    )).limit(1)).first() is not None
