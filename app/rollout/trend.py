"""Daily snapshots of the rollout figures, the completion trend, and a forecast from the recent pace.

Snapshots
    ``rollout_snapshot`` keeps, per plan, department and local day, the figures of
    :func:`app.rollout.services.figure_rows` as of the end of that day (the same SQL as the dashboard:
    nothing is computed twice or differently). :func:`take_snapshot` upserts them (INSERT … ON CONFLICT
    DO UPDATE on the unique key (plan, department, day), on SQLite and PostgreSQL alike) and removes rows
    of departments that no longer have eligible staff that day, so running it twice, or two copies at
    once, leaves exactly one row per key with the same values. The daily job (:func:`snapshot_job`)
    fills every missing day of the last :data:`CATCH_UP_DAYS` up to yesterday; ``flask rollout backfill``
    rebuilds any range from the events. A snapshot taken on the day keeps that day's departments; a
    backfill uses today's department of each person (transfers and leaving dates are not part of the
    as-of figures).

Forecast (:func:`forecast`)
    Method: an ordinary least-squares line through the completion rate (percent 0–100, certified ÷
    eligible × 100) of every day with figures in the last :data:`WINDOW_DAYS` days up to and including
    the as-of date (snapshots before it, the live figures on it). With x the day number and y the rate,
    slope b = Σ(x − x̄)(y − ȳ) ÷ Σ(x − x̄)² (percentage points per day) and the line is
    y(x) = ȳ + b (x − x̄). Projected rate at the next milestone = y(milestone date), clamped to 0–100.
    Projected date of a target T (each milestone's target, and 100 %) = the first day on or after the
    as-of date on which y ≥ T, i.e. ceil(x̄ + (T − ȳ) ÷ b); none when b ≤ 0 and the target is not yet
    reached; the as-of date when the current rate already meets it. At least :data:`MIN_POINTS` days
    with figures are needed, else there is no forecast. A department will miss the next milestone when
    its projected rate at that date is below the milestone's target.
"""
from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import delete, func, insert, literal, select

from app.auth.models import User
from app.core.time import local_date_end_utc, local_today, utcnow
from app.core.types import UTCDateTime
from app.extensions import db
from app.org.models import Department
from app.rollout.models import (DepartmentSnapshot, ForecastSnapshot, Milestone, PersonSnapshot, RolloutPlan,
                                SkillsSnapshot)
from app.rollout.services import (department_paths, department_targets, eligible_users, figure_rows, figures_forest,
                                  flatten, plan_targets, target_percent)
from app.rollout.skills import skills_figures

WINDOW_DAYS = 28  # the forecast looks at the last 28 days (as-of date included)
MIN_POINTS = 2  # days with figures needed for a line
CATCH_UP_DAYS = 7  # the daily job fills missing snapshots this many days back
SNAPSHOT_COLUMNS = ("eligible", "started", "certified", "sat", "passed", "hours_met")


# --------------------------------------------------------------------------- snapshots
def _upsert_statement():
    """INSERT … ON CONFLICT (plan_id, department_id, day) DO UPDATE for the session's database."""
    if db.session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    statement = insert(DepartmentSnapshot.__table__)
    return statement.on_conflict_do_update(
        index_elements=["plan_id", "department_id", "day"],
        set_={name: statement.excluded[name] for name in (*SNAPSHOT_COLUMNS, "target", "taken_at")})


def snapshot_plans(day: dt.date) -> list[RolloutPlan]:
    """Active plans that had started by local date ``day`` (the plans a snapshot of that day covers)."""
    return list(db.session.execute(select(RolloutPlan).where(
        RolloutPlan.active.is_(True), RolloutPlan.starts_on <= day).order_by(RolloutPlan.id)).scalars())


def take_snapshot(day: dt.date, plans: list[RolloutPlan] | None = None, *, people: bool = False) -> int:
    """Store every department's figures for each plan (default :func:`snapshot_plans`) as of the end of
    local date ``day``. Idempotent: one upsert per plan on the unique key, then rows of that plan and
    day whose department has no eligible staff any more are deleted. With ``people`` (today's snapshot
    only) each plan's person snapshot is replaced too, with the same ``taken_at``
    (:func:`take_people`) and so is its list of departments projected to miss the next milestone
    (:func:`take_forecasts`), and its skills map (:func:`take_skills`). Returns the number of
    department rows written (departments × plans).
    Flushes; the caller commits."""
    plans = snapshot_plans(day) if plans is None else plans
    now = utcnow()
    written = 0
    for plan in plans:
        if people:
            take_people(plan, day, now)
        target, wave_targets = department_targets(plan, day)  # a wave's departments: the wave's own target
        rows = [dict(zip(("department_id", *SNAPSHOT_COLUMNS), row), plan_id=plan.id, day=day,
                     target=wave_targets.get(row[0], target), taken_at=now) for row in figure_rows(plan, day)]
        if rows:
            db.session.execute(_upsert_statement(), rows)
        db.session.execute(delete(DepartmentSnapshot).where(
            DepartmentSnapshot.plan_id == plan.id, DepartmentSnapshot.day == day,
            DepartmentSnapshot.department_id.not_in([r["department_id"] for r in rows])))
        if people:
            take_forecasts(plan, day, [(r["department_id"], *(r[c] for c in SNAPSHOT_COLUMNS)) for r in rows], now)
            take_skills(plan, day, now)
        written += len(rows)
    db.session.flush()
    return written


def take_people(plan: RolloutPlan, day: dt.date, taken_at: dt.datetime) -> None:
    """Replace ``plan``'s rows of ``rollout_person_snapshot`` with its eligible staff as of the end of
    local date ``day`` (:func:`app.rollout.services.eligible_users`, the set-based form: the whole
    city), each with the department held then, that department's path rank, staff number, position
    and the started / certified flags, stamped ``taken_at``. One DELETE and one INSERT … SELECT."""
    db.session.execute(delete(PersonSnapshot).where(PersonSnapshot.plan_id == plan.id))
    # Materialised, as in figure_rows: inlined into the join, PostgreSQL (which expects a few hundred
    # eligible people from the closure table's statistics) evaluated the flags' subplans per row (518 s
    # for 100,000 people, against 1–2 s materialised).
    users = (eligible_users(plan, local_date_end_utc(day), set_based=True).cte("eligible")
             .prefix_with("MATERIALIZED", dialect="postgresql"))
    paths = department_paths().alias("paths")
    ranks = select(paths.c.id, func.dense_rank().over(order_by=paths.c.path).label("dept_rank")).subquery("ranks")
    query = (select(literal(plan.id), users.c.user_id, users.c.department_id, ranks.c.dept_rank, User.staff_number,
                    User.position, users.c.started == 1, users.c.certified == 1, literal(taken_at, UTCDateTime()))
             .join(ranks, ranks.c.id == users.c.department_id).join(User, User.id == users.c.user_id))
    db.session.execute(insert(PersonSnapshot).from_select(
        ["plan_id", "user_id", "department_id", "dept_rank", "staff_number", "position", "started", "certified",
         "taken_at"], query))


def take_forecasts(plan: RolloutPlan, day: dt.date, rows: list[tuple], taken_at: dt.datetime) -> int:
    """Replace ``plan``'s rows of ``rollout_forecast_snapshot`` with :func:`departments_missing` over
    every department of ``rows`` (today's figures, shaped as :func:`app.rollout.services.figure_rows`)
    as of local date ``day``, ranked as the list is shown, stamped ``taken_at``: the whole-city
    dashboard then reads the first rows and a count instead of fitting a line per department on every
    request. Call after ``day``'s department rows are written (the window's earlier days are read from
    the snapshots). Returns the rows written."""
    db.session.execute(delete(ForecastSnapshot).where(ForecastSnapshot.plan_id == plan.id))
    missing = departments_missing(plan, day, flatten(figures_forest(plan, day, rows)))
    if missing:
        db.session.execute(insert(ForecastSnapshot), [
            {"plan_id": plan.id, "department_id": d.department.id, "rank": rank, "current": d.current,
             "projected": d.projected, "target": d.target, "slope_per_week": d.slope_per_week, "taken_at": taken_at}
            for rank, d in enumerate(missing, start=1)])
    return len(missing)


def take_skills(plan: RolloutPlan, day: dt.date, taken_at: dt.datetime) -> int:
    """Replace ``plan``'s rows of ``rollout_skills_snapshot`` with its skills map of every department as
    of the end of local date ``day`` (:func:`app.rollout.skills.skills_figures`), stamped ``taken_at``:
    the cells, and one row per department with its people (``item_id`` NULL). Administrators' skills
    map of today reads these instead of joining every best attempt's items (seconds at 100,000 staff).
    Returns the rows written."""
    db.session.execute(delete(SkillsSnapshot).where(SkillsSnapshot.plan_id == plan.id))
    cells, people = skills_figures(plan, day)
    rows = [{"plan_id": plan.id, "department_id": d, "item_id": i, "earned": e or 0, "possible": p or 0,
             "people": int(n), "taken_at": taken_at} for d, i, e, p, n in cells]
    rows += [{"plan_id": plan.id, "department_id": d, "item_id": None, "earned": 0, "possible": 0, "people": int(n),
              "taken_at": taken_at} for d, n in people.items()]
    if rows:
        db.session.execute(insert(SkillsSnapshot), rows)
    return len(rows)


def stored_missing(plan: RolloutPlan, taken_at: dt.datetime,
                   limit: int) -> tuple[list["DepartmentForecast"], int] | None:
    """The first ``limit`` departments projected to miss the next milestone and how many there are, from
    the list stored with today's snapshot (:func:`take_forecasts`), or None when the stored list was
    not written with the snapshot taken at ``taken_at`` (UTC; the caller then computes it). Two queries
    and one for the listed departments."""
    f = ForecastSnapshot
    stamp = db.session.execute(select(func.min(f.taken_at), func.max(f.taken_at), func.count())
                               .where(f.plan_id == plan.id)).one()
    if stamp[2] == 0:  # nobody projected to miss, or no list: the person rows are written in the same job
        people = db.session.execute(select(PersonSnapshot.taken_at).where(PersonSnapshot.plan_id == plan.id)
                                    .limit(1)).scalar_one_or_none()
        return ([], 0) if people is not None and people == taken_at else None
    if stamp[0] != taken_at or stamp[1] != taken_at:
        return None
    rows = db.session.execute(select(f).where(f.plan_id == plan.id).order_by(f.rank).limit(limit)).scalars().all()
    departments = {d.id: d for d in db.session.execute(
        select(Department).where(Department.id.in_([r.department_id for r in rows]))).scalars()}
    return [DepartmentForecast(departments[r.department_id], r.current, r.projected, r.target, r.slope_per_week)
            for r in rows], int(stamp[2])


def check_range(start: dt.date, end: dt.date) -> None:
    """Raise ValueError naming the problem unless ``start`` ≤ ``end`` ≤ today (local)."""
    if end < start:
        raise ValueError(f"--to {end} is before --from {start}")
    if end > local_today():
        raise ValueError(f"--to {end} is in the future (today is {local_today()})")


def backfill(start: dt.date, end: dt.date) -> dict[dt.date, int]:
    """Rebuild the snapshots of every local day from ``start`` to ``end`` (inclusive) from the events
    (:func:`take_snapshot` per day). Returns rows written per day. Raises ValueError if ``end`` is
    before ``start`` or after today. Flushes; the caller commits."""
    check_range(start, end)
    out = {}
    day = start
    while day <= end:
        out[day] = take_snapshot(day)
        day += dt.timedelta(days=1)
    return out


def snapshot_job(today: dt.date | None = None) -> int:
    """The daily job: for each of the last :data:`CATCH_UP_DAYS` days up to yesterday (local), take the
    snapshot of every plan that has no complete one for that day: none, or one taken while the day was
    still running (:func:`today_snapshot_job` writes those; events later that day are missing from it).
    Safe to run hourly and twice at once (upserts). Returns the number of rows written."""
    today = today or local_today()
    written = 0
    for back in range(CATCH_UP_DAYS, 0, -1):
        day = today - dt.timedelta(days=back)
        taken = set(db.session.execute(
            select(DepartmentSnapshot.plan_id).where(DepartmentSnapshot.day == day)
            .group_by(DepartmentSnapshot.plan_id)
            .having(func.min(DepartmentSnapshot.taken_at) >= local_date_end_utc(day))).scalars())
        missing = [p for p in snapshot_plans(day) if p.id not in taken]
        if missing:
            written += take_snapshot(day, missing)
    return written


def today_snapshot_job(today: dt.date | None = None) -> int:
    """Take (or refresh) today's snapshot of every plan started by today (local date): the figures as
    of now, which administrators' dashboards serve instead of counting the whole city on every request
    while the snapshot is younger than ``ROLLOUT_SNAPSHOT_MAX_AGE_MINUTES``
    (:func:`app.rollout.services.fresh_snapshot`). The scheduler runs it every 10 minutes (job
    ``rollout-today-snapshot``); idempotent (upserts). Returns the rows written."""
    return take_snapshot(today or local_today(), people=True)


# --------------------------------------------------------------------------- trend series
@dataclass(frozen=True)
class TrendPoint:
    """Completion on one local day: ``eligible``, ``certified`` (counts), ``rate`` (percent 0–100,
    Decimal with 1 decimal) and ``target`` (the plan's target percent that day)."""

    day: dt.date
    eligible: int
    certified: int
    target: Decimal

    @property
    def rate(self) -> Decimal:
        """Certified ÷ eligible × 100 (percent 0–100, 1 decimal)."""
        return (Decimal(self.certified) * 100 / Decimal(self.eligible)).quantize(Decimal("0.1"), ROUND_HALF_UP)


def trend_series(plan: RolloutPlan, department_ids: list[int], as_of: dt.date,
                 live: tuple[int, int] | None = None, wave=None) -> list[TrendPoint]:
    """The completion of the departments ``department_ids`` together (their subtrees must not overlap:
    pass scope roots), one point per day from the plan's start to the day before ``as_of`` from the
    snapshots (summed in SQL), plus ``live`` = ``(eligible, certified)`` on ``as_of`` itself (the figures
    the page already computed). Days without eligible staff are left out. The caller checks scope.
    Each point's target is the plan's, or ``wave``'s (a single department inside a wave with milestones)."""
    if not department_ids:
        return []
    rows = db.session.execute(
        select(DepartmentSnapshot.day, func.sum(DepartmentSnapshot.eligible), func.sum(DepartmentSnapshot.certified))
        .where(DepartmentSnapshot.plan_id == plan.id, DepartmentSnapshot.department_id.in_(department_ids),
               DepartmentSnapshot.day >= plan.starts_on, DepartmentSnapshot.day < as_of)
        .group_by(DepartmentSnapshot.day).order_by(DepartmentSnapshot.day)).all()
    points = [TrendPoint(day, int(e), int(c or 0), target_percent(plan, day, wave)) for day, e, c in rows if e]
    if live is not None and live[0]:
        points.append(TrendPoint(as_of, live[0], live[1], target_percent(plan, as_of, wave)))
    return points


# --------------------------------------------------------------------------- forecast
@dataclass
class Forecast:
    """A projection from the recent pace (method in the module docstring).

    ``points``: days used; ``slope``: percentage points per day (float) or None without a forecast;
    ``current``: rate on the as-of date (percent 0–100) or None; ``milestone``: the next milestone
    (due on or after the as-of date) or None; ``at_milestone``: projected rate (0–100, 1 decimal) at
    its date; ``will_miss``: projected rate below its target; ``full_on``: projected date of 100 %;
    ``milestone_dates``: ``[(milestone, projected date or None)]`` for the milestones still ahead.
    """

    as_of: dt.date
    points: int = 0
    slope: float | None = None
    intercept_at_as_of: float | None = None
    current: Decimal | None = None
    milestone: Milestone | None = None
    at_milestone: Decimal | None = None
    will_miss: bool = False
    full_on: dt.date | None = None
    milestone_dates: list = field(default_factory=list)

    @property
    def available(self) -> bool:
        """True when there were enough days for a line."""
        return self.slope is not None

    @property
    def slope_per_week(self) -> float | None:
        """The pace in percentage points per week."""
        return None if self.slope is None else self.slope * 7

    def projected(self, day: dt.date) -> float | None:
        """The fitted line's rate on local date ``day`` (percent, clamped 0–100), None without a forecast."""
        if self.slope is None:
            return None
        return min(100.0, max(0.0, self.intercept_at_as_of + self.slope * (day - self.as_of).days))


def _fit(points: list[tuple[int, float]]) -> tuple[float, float, float]:
    """Least squares over ``(x, y)``: returns (slope, x̄, ȳ). Needs two distinct x values."""
    n = len(points)
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    sxx = sum((x - mx) ** 2 for x, _ in points)
    sxy = sum((x - mx) * (y - my) for x, y in points)
    return sxy / sxx, mx, my


def _reach_date(as_of: dt.date, current: float, slope: float, mx: float, my: float, target: float) -> dt.date | None:
    """First day on or after ``as_of`` when the line reaches ``target`` (see the module docstring)."""
    if current >= target:
        return as_of
    if slope <= 0:
        return None
    x = math.ceil(round(mx + (target - my) / slope, 9))  # round: 33.0000000001 is day 33
    return max(as_of, as_of + dt.timedelta(days=x))


def forecast(plan: RolloutPlan, as_of: dt.date, points: list[TrendPoint], milestones: list | None = None) -> Forecast:
    """Project completion from ``points`` (a :func:`trend_series`) by the least-squares method in the
    module docstring, over the days in the :data:`WINDOW_DAYS` ending on ``as_of``, towards
    ``milestones`` (a department's own, :meth:`~app.rollout.services.PlanTargets.milestones`; default
    the plan's)."""
    result = Forecast(as_of=as_of)
    ahead = [m for m in (plan.milestones if milestones is None else milestones) if m.due_on >= as_of]
    result.milestone = ahead[0] if ahead else None
    window = [p for p in points if as_of - dt.timedelta(days=WINDOW_DAYS - 1) <= p.day <= as_of]
    today = next((p for p in window if p.day == as_of), None)
    result.current = today.rate if today else None
    result.points = len(window)
    if len(window) < MIN_POINTS:
        return result
    xy = [((p.day - as_of).days, float(p.rate)) for p in window]  # x = days from the as-of date (≤ 0)
    slope, mx, my = _fit(xy)
    result.slope = slope
    result.intercept_at_as_of = my - slope * mx
    current = float(result.current) if result.current is not None else result.intercept_at_as_of
    result.full_on = _reach_date(as_of, current, slope, mx, my, 100.0)
    result.milestone_dates = [(m, _reach_date(as_of, current, slope, mx, my, float(m.target_percent)))
                              for m in ahead]
    if result.milestone is not None:
        value = result.projected(result.milestone.due_on)
        result.at_milestone = Decimal(str(value)).quantize(Decimal("0.1"), ROUND_HALF_UP)
        result.will_miss = result.at_milestone < Decimal(result.milestone.target_percent)
    return result


@dataclass
class DepartmentForecast:
    """A department that will miss the next milestone: its current rate, projected rate, the target."""

    department: Department
    current: Decimal | None
    projected: Decimal
    target: Decimal
    slope_per_week: float

    @property
    def shortfall(self) -> Decimal:
        """Target − projected rate, percentage points (positive)."""
        return (self.target - self.projected).quantize(Decimal("0.1"))


def departments_missing(plan: RolloutPlan, as_of: dt.date, figures: list) -> list[DepartmentForecast]:
    """Departments among ``figures`` (a flat list of :class:`~app.rollout.services.DepartmentFigures`,
    already scoped to the viewer) whose forecast misses the next milestone, largest shortfall first.
    One query reads the window's snapshots of those departments; their live figures on ``as_of`` are
    the ``figures`` themselves. Each department is projected towards its own next milestone (its
    wave's when it is in a wave with milestones: :func:`app.rollout.services.plan_targets`, as the
    dashboard's target)."""
    if not figures:
        return []
    targets = plan_targets(plan)
    milestones = {f.department.id: targets.milestones(f.department.id) for f in figures}
    if not any(m.due_on >= as_of for ms in milestones.values() for m in ms):
        return []
    by_id = {f.department.id: f for f in figures}
    series: dict[int, list[TrendPoint]] = defaultdict(list)
    start = as_of - dt.timedelta(days=WINDOW_DAYS - 1)
    rows = db.session.execute(
        select(DepartmentSnapshot.department_id, DepartmentSnapshot.day, DepartmentSnapshot.eligible,
               DepartmentSnapshot.certified)
        .where(DepartmentSnapshot.plan_id == plan.id, DepartmentSnapshot.day >= start,
               DepartmentSnapshot.day < as_of, DepartmentSnapshot.department_id.in_(list(by_id)))
        .order_by(DepartmentSnapshot.day)).all()
    for dept_id, day, eligible, certified in rows:
        if eligible:
            series[dept_id].append(TrendPoint(day, eligible, certified, Decimal(0)))  # target unused here
    out = []
    for dept_id, fig in by_id.items():
        points = series[dept_id] + ([TrendPoint(as_of, fig.eligible, fig.certified, fig.target)] if fig.eligible else [])
        result = forecast(plan, as_of, points, milestones[dept_id])
        if result.available and result.will_miss:
            out.append(DepartmentForecast(fig.department, result.current, result.at_milestone,
                                          Decimal(result.milestone.target_percent), result.slope_per_week))
    out.sort(key=lambda d: (-d.shortfall, d.department.code))
    return out
