"""Daily snapshots, backfill, the trend series and the forecast (tree and events in conftest.py).

Expected figures are worked out by hand from the event list in tests/rollout/conftest.py.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from sqlalchemy import func, select

from app.rollout.models import DepartmentSnapshot, Milestone, PlanWave, RolloutPlan, WaveMilestone
from app.rollout.services import DepartmentFigures
from app.rollout.trend import (TrendPoint, backfill, departments_missing, forecast, snapshot_job, take_snapshot,
                               trend_series)
from tests.factories import utc

OCT15, OCT16, OCT31 = dt.date(2026, 10, 15), dt.date(2026, 10, 16), dt.date(2026, 10, 31)
COLUMNS = ("eligible", "started", "certified", "sat", "passed")



def _by_code(db, tree, day):
    codes = {tree[k].id: tree[k].code for k in ("city", "a", "a_off", "b", "b_off")}
    rows = db.session.execute(select(DepartmentSnapshot).where(DepartmentSnapshot.day == day)).scalars()
    return {codes[r.department_id]: tuple(getattr(r, c) for c in COLUMNS) for r in rows}


def _count(db):
    return db.session.execute(select(func.count(DepartmentSnapshot.id))).scalar_one()


def test_snapshot_stores_the_as_of_figures_and_a_second_run_changes_nothing(db, tree):
    # The same figures as test_as_of.test_figures_on_a_past_date_ignore_later_events.
    expected = {"CITY": (4, 2, 1, 2, 1), "A": (3, 1, 0, 1, 0), "A-OFF": (3, 1, 0, 1, 0),
                "B": (1, 1, 1, 1, 1), "B-OFF": (1, 1, 1, 1, 1)}
    assert take_snapshot(OCT15) == 5
    db.session.commit()
    assert _by_code(db, tree, OCT15) == expected
    assert take_snapshot(OCT15) == 5
    db.session.commit()
    assert _by_code(db, tree, OCT15) == expected and _count(db) == 5
    row = db.session.execute(select(DepartmentSnapshot).where(
        DepartmentSnapshot.department_id == tree["city"].id)).scalar_one()
    # target on 10-15: 0 % on 09-01 rising to 100 % on 12-31 (121 days): 44/121 × 100 = 36.36… → 36.4
    assert row.target == Decimal("36.4")


def test_rerun_removes_a_department_that_has_nobody_eligible_any_more(db, tree):
    take_snapshot(OCT15)
    db.session.commit()
    tree["users"][3].active = False  # u3 was the only eligible person of 市交通局 on 10-15 (u5 joined 10-25)
    db.session.commit()
    take_snapshot(OCT15)
    db.session.commit()
    assert _by_code(db, tree, OCT15) == {"CITY": (3, 1, 0, 1, 0), "A": (3, 1, 0, 1, 0), "A-OFF": (3, 1, 0, 1, 0)}


def test_a_snapshot_keeps_the_departments_of_its_day_after_a_transfer(db, tree):
    take_snapshot(OCT15)
    db.session.commit()
    tree["users"][1].department_id = tree["b_off"].id  # u1 moves to 市交通局 after the 15th's snapshot
    db.session.commit()
    take_snapshot(OCT16)
    db.session.commit()
    assert _by_code(db, tree, OCT15)["A"] == (3, 1, 0, 1, 0)  # unchanged history
    # 10-16: eligible u1 (now B) u2 u4 (A) u3 (B); started u1 u3 (u2 opened its lesson on the 16th, too);
    # certified u1 (00:20 on the 16th) and u3; sat u1 u3; passed u1 u3.
    assert _by_code(db, tree, OCT16) == {"CITY": (4, 3, 2, 2, 2), "A": (2, 1, 0, 0, 0), "A-OFF": (2, 1, 0, 0, 0),
                                         "B": (2, 2, 2, 2, 2), "B-OFF": (2, 2, 2, 2, 2)}


def test_backfill_command_is_idempotent_and_refuses_a_bad_range(app, db, tree):
    runner = app.test_cli_runner()
    with time_machine.travel(utc(2026, 12, 1, 4), tick=False):
        result = runner.invoke(args=["rollout", "backfill", "--from", "2026-10-14", "--to", "2026-10-16"])
        assert result.exit_code == 0, result.output
        assert "3 day(s)" in result.output and "15 row(s)" in result.output
        assert _count(db) == 15
        assert runner.invoke(args=["rollout", "backfill", "--from", "2026-10-14", "--to", "2026-10-16"]).exit_code == 0
        assert _count(db) == 15
        bad = runner.invoke(args=["rollout", "backfill", "--from", "2026-10-16", "--to", "2026-10-14"])
        assert bad.exit_code == 1 and "before --from" in bad.output
        future = runner.invoke(args=["rollout", "backfill", "--from", "2026-11-30", "--to", "2026-12-02"])
        assert future.exit_code == 1 and "in the future" in future.output
        assert _count(db) == 15


def test_daily_job_fills_the_missing_days_once(db, tree):
    today = dt.date(2026, 10, 20)
    # 10-13 … 10-19: every department had someone eligible each day: 7 days × 5 rows
    assert snapshot_job(today) == 35
    db.session.commit()
    assert snapshot_job(today) == 0
    db.session.commit()
    assert _count(db) == 35
    assert snapshot_job(today + dt.timedelta(days=1)) == 5  # the next day: only 10-20 is new
    db.session.commit()


def test_the_scheduler_lists_the_snapshot_job(app, db, tree):
    from app.scheduler.jobs import JOBS, run_in_context

    job = next(j for j in JOBS if j.id == "rollout-daily-snapshots")
    with time_machine.travel(utc(2026, 10, 21, 1), tick=False):  # 09:00 local on 10-21
        assert run_in_context(app, job) == 35  # 10-14 … 10-20
        assert run_in_context(app, job) == 0


def test_trend_series_from_snapshots_and_the_live_day(db, tree):
    with time_machine.travel(utc(2026, 12, 1, 4), tick=False):
        backfill(dt.date(2026, 10, 1), dt.date(2026, 10, 30))
    db.session.commit()
    points = trend_series(tree["plan"], [tree["city"].id], OCT31, live=(4, 3))
    by_day = {p.day: (p.eligible, p.certified, p.rate) for p in points}
    assert len(points) == 31 and points[-1].day == OCT31
    assert by_day[dt.date(2026, 10, 4)] == (4, 0, Decimal("0.0"))
    assert by_day[dt.date(2026, 10, 5)] == (4, 1, Decimal("25.0"))    # u3 certified
    assert by_day[dt.date(2026, 10, 16)] == (4, 2, Decimal("50.0"))   # u1 certified at 00:20
    assert by_day[dt.date(2026, 10, 17)] == (4, 3, Decimal("75.0"))   # u2
    assert by_day[dt.date(2026, 10, 20)] == (3, 3, Decimal("100.0"))  # u4 exempted
    assert by_day[dt.date(2026, 10, 25)] == (4, 3, Decimal("75.0"))   # u5 joined
    assert by_day[OCT31] == (4, 3, Decimal("75.0"))


# --------------------------------------------------------------------------- forecast (hand-worked)
@pytest.fixture()
def two_milestones(db, tree):
    plan = tree["plan"]
    db.session.add(Milestone(plan_id=plan.id, due_on=dt.date(2026, 11, 30), target_percent=60))
    db.session.commit()
    db.session.refresh(plan)
    assert [m.due_on.month for m in plan.milestones] == [11, 12]
    return plan


NOV1 = dt.date(2026, 11, 1)


def _points(eligible, certified_by_day):
    return [TrendPoint(NOV1 + dt.timedelta(days=x), eligible, c, Decimal(0)) for x, c in certified_by_day]


def test_forecast_by_least_squares_on_track(two_milestones):
    # Rates 10, 12, 14, 16 % on 10-29 … 11-01 (x = −3 … 0): x̄ = −1.5, ȳ = 13, slope = 2 points a day,
    # line y = 16 + 2x. At 11-30 (x = 29): 74 % ≥ 60 → on track. 60 % at x = 22 → 11-23;
    # 100 % at x = 42 → 12-13. A point 28 days before (10-04, x = −28) is outside the window.
    points = _points(50, [(-28, 45), (-3, 5), (-2, 6), (-1, 7), (0, 8)])
    result = forecast(two_milestones, NOV1, points)
    assert result.points == 4
    assert result.slope == pytest.approx(2.0)
    assert result.current == Decimal("16.0")
    assert result.milestone.due_on == dt.date(2026, 11, 30)
    assert result.at_milestone == Decimal("74.0") and not result.will_miss
    assert result.full_on == dt.date(2026, 12, 13)
    assert [(m.due_on, d) for m, d in result.milestone_dates] == [
        (dt.date(2026, 11, 30), dt.date(2026, 11, 23)), (dt.date(2026, 12, 31), dt.date(2026, 12, 13))]


def test_forecast_says_when_the_pace_misses_the_milestone(two_milestones):
    # 200 eligible, 20, 21, 22, 23 certified: 10, 10.5, 11, 11.5 %, slope 0.5 a day, y = 11.5 + 0.5x.
    # At 11-30 (x = 29): 26.0 % < 60 → will miss. 100 % at x = 88.5 / 0.5 = 177 → 2027-04-27.
    result = forecast(two_milestones, NOV1, _points(200, [(-3, 20), (-2, 21), (-1, 22), (0, 23)]))
    assert result.at_milestone == Decimal("26.0") and result.will_miss
    assert result.full_on == NOV1 + dt.timedelta(days=177) == dt.date(2027, 4, 27)


def test_no_forecast_from_one_day_and_none_when_the_rate_falls(two_milestones):
    assert not forecast(two_milestones, NOV1, _points(10, [(0, 5)])).available
    falling = forecast(two_milestones, NOV1, _points(10, [(-1, 6), (0, 5)]))
    # slope −10 points a day: 50 − 10 × 29 < 0 → clamped to 0 %; 100 % never reached at this pace
    assert falling.at_milestone == Decimal("0.0") and falling.full_on is None and falling.will_miss


def test_departments_that_will_miss_the_next_milestone(db, tree, two_milestones):
    plan = two_milestones

    def snap(dept, day, eligible, certified):
        db.session.add(DepartmentSnapshot(plan_id=plan.id, department_id=dept.id, day=day, eligible=eligible,
                                          started=certified, certified=certified, sat=certified, passed=certified,
                                          hours_met=0, target=Decimal(0), taken_at=utc(2026, 11, 1)))

    # 市财政局: 10 % → 20 % over 10-30 … 11-01 (5 points a day): y(29) = 20 + 5 × 29 → 100 % (clamped): on track.
    # 市交通局: 10 %, 11 %, 12 %: 1 point a day: y(29) = 12 + 29 = 41 % < 60: misses by 19 points.
    for x, (a, b) in zip((-2, -1), ((10, 10), (15, 11))):
        snap(tree["a"], NOV1 + dt.timedelta(days=x), 100, a)
        snap(tree["b"], NOV1 + dt.timedelta(days=x), 100, b)
    db.session.commit()
    figures = [DepartmentFigures(department=tree["a"], level=1, eligible=100, certified=20),
               DepartmentFigures(department=tree["b"], level=1, eligible=100, certified=12),
               DepartmentFigures(department=tree["b_off"], level=2, eligible=100, certified=12)]  # no history
    missing = departments_missing(plan, NOV1, figures)
    assert [(d.department.code, d.current, d.projected, d.target, d.shortfall) for d in missing] == [
        ("B", Decimal("12.0"), Decimal("41.0"), Decimal("60"), Decimal("19.0"))]
    assert missing[0].slope_per_week == pytest.approx(7.0)


def test_a_wave_department_is_forecast_against_its_wave_milestones(db, tree, two_milestones):
    """市财政局 is a wave (10-01 … 11-10) whose own milestone is 11-10 → 90 %. Its line (20 % on 11-01,
    5 points a day) reaches 20 + 5 × 9 = 65 % on 11-10: it misses by 25 points (against the plan's
    11-30 → 60 % it was on track, and was not listed before). 市交通局 (no wave) as above: 41 % < 60."""
    plan = two_milestones
    plan.waves.append(PlanWave(name="第一批", starts_on=dt.date(2026, 10, 1), ends_on=dt.date(2026, 11, 10),
                               departments=[tree["a"]],
                               milestones=[WaveMilestone(due_on=dt.date(2026, 11, 10), target_percent=90)]))
    for x, (a, b) in zip((-2, -1), ((10, 10), (15, 11))):
        for dept, certified in ((tree["a"], a), (tree["b"], b)):
            db.session.add(DepartmentSnapshot(plan_id=plan.id, department_id=dept.id, day=NOV1 + dt.timedelta(days=x),
                                              eligible=100, started=certified, certified=certified, sat=certified,
                                              passed=certified, hours_met=0, target=Decimal(0),
                                              taken_at=utc(2026, 11, 1)))
    db.session.commit()
    figures = [DepartmentFigures(department=tree["a"], level=1, eligible=100, certified=20),
               DepartmentFigures(department=tree["b"], level=1, eligible=100, certified=12)]
    missing = departments_missing(plan, NOV1, figures)
    assert [(d.department.code, d.projected, d.target, d.shortfall) for d in missing] == [
        ("A", Decimal("65.0"), Decimal("90"), Decimal("25.0")), ("B", Decimal("41.0"), Decimal("60"), Decimal("19.0"))]
    # the same department's own forecast (the department page) aims at the wave's milestone too
    from app.rollout.services import plan_targets
    targets = plan_targets(plan)
    assert targets.wave(tree["a_off"].id).name == "第一批" and targets.wave(tree["b"].id) is None
    points = [TrendPoint(NOV1 + dt.timedelta(days=x), 100, c, Decimal(0)) for x, c in ((-2, 10), (-1, 15), (0, 20))]
    result = forecast(plan, NOV1, points, targets.milestones(tree["a"].id))
    assert (result.milestone.due_on, result.at_milestone, result.will_miss) == (dt.date(2026, 11, 10), Decimal("65.0"), True)


def test_a_plan_not_yet_started_or_inactive_gets_no_snapshot(db, tree):
    plan = tree["plan"]
    assert take_snapshot(dt.date(2026, 8, 31)) == 0  # the day before the plan starts
    plan.active = False
    db.session.commit()
    assert take_snapshot(OCT15) == 0
    assert _count(db) == 0


def test_target_line_and_chart_markup(app, db, tree, two_milestones):
    from markupsafe import Markup

    from app.rollout.chart import target_line, trend_svg
    from app.rollout.services import target_percent

    plan = two_milestones
    # 0 % on 09-01 → 60 % on 11-30 (90 days) → 100 % on 12-31; halfway in days, 45 of 90 → 30 %
    assert target_line(plan) == [(dt.date(2026, 9, 1), Decimal(0)), (dt.date(2026, 11, 30), Decimal(60)),
                                 (dt.date(2026, 12, 31), Decimal(100))]
    assert target_percent(plan, dt.date(2026, 10, 16)) == Decimal("30.0")
    # 11-30 → 12-31 is 31 days: on 12-15 (15 days in) 60 + 40 × 15/31 = 79.35… → 79.4 %
    assert target_percent(plan, dt.date(2026, 12, 15)) == Decimal("79.4")
    points = _points(50, [(-1, 5), (0, 8)])
    with app.test_request_context("/?lang=en"):
        svg = trend_svg(plan, points, forecast(plan, NOV1, points), scope='<script>alert(1)</script> & 局')
    assert isinstance(svg, Markup) and svg.startswith("<svg") and 'viewBox="0 0 480 270"' in svg
    assert "<script>" not in svg and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; 局" in svg
    assert 'aria-labelledby="trend-title trend-desc"' in svg and "style=" not in svg
    assert "Nov 30" in svg  # the milestone date, in the user's language


def test_two_snapshots_of_the_same_day_at_once_leave_one_row_per_department(app, db, tree):
    import threading

    from app.extensions import db as _db

    barrier, errors = threading.Barrier(2), []

    def run():
        with app.app_context():
            try:
                barrier.wait(timeout=10)
                take_snapshot(OCT15)
                _db.session.commit()
            except Exception as exc:  # pragma: no cover - reported below
                errors.append(exc)
            finally:
                _db.session.remove()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    db.session.expire_all()
    assert _count(db) == 5
    assert _by_code(db, tree, OCT15)["CITY"] == (4, 2, 1, 2, 1)


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_date_labels_on_the_chart_axis_never_overlap(app, lang):
    """A wave's milestone 46 days before the plan's end (the demo: 2-28 and 4-15 on a 300-day axis,
    the SVG's 422 units): '2月28日' and '4月15日' ran into each other when labels were kept 48 px apart whatever
    their width and anchor. Each label's extent, estimated from its characters, stays clear of the last."""
    from app.rollout.chart import LEFT, RIGHT, WIDTH, date_ticks

    days = [dt.date(2026, 6, 19), dt.date(2026, 12, 31), dt.date(2027, 2, 28), dt.date(2027, 4, 15)]
    start, span, lo, hi = days[0], (days[-1] - days[0]).days, LEFT, WIDTH - RIGHT

    def x(day):
        return lo + (hi - lo) * (day - start).days / span

    with app.test_request_context(f"/?lang={lang}"):
        ticks = date_ticks(days, x, lo, hi, 12)
    extents = []
    for px, anchor, text in ticks:
        width = sum(12 if ord(ch) >= 0x2E80 else 6.6 for ch in text)
        left = px if anchor == "start" else px - width if anchor == "end" else px - width / 2
        extents.append((left, left + width))
    assert all(b[0] >= a[1] for a, b in zip(extents, extents[1:])), (lang, ticks)
    labelled = [text for _px, _anchor, text in ticks]
    if lang == "en":
        assert labelled == ["Jun 19", "Dec 31", "Feb 28", "Apr 15"]
    else:  # wider labels: the plan's end, which would touch the milestone's, is left out (its tick mark stays)
        assert labelled == ["6月19日", "12月31日", "2月28日"]
    assert ticks[0][1] == "start"
