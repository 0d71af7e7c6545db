"""The whole-city dashboard at 100,000 staff (issue 7 item 10): the departments projected to miss the
next milestone stored with today's snapshot, the department table collapsed to its top levels, and
the drill-down's department paths.

Tree and events in tests/rollout/conftest.py. Today (frozen) is 2026-11-01; a milestone of 60 % is
added on 2026-11-30. Today's live figures: 滨江市 3 of 4 certified (75 %), 市财政局 2 of 2 (100 %), its
办公室 the same, 市交通局 1 of 2 (50 %), its 办公室 the same. Hand-made snapshots of the two days
before: 滨江市 80 %, 77 %; 市交通局 and its 办公室 60 %, 55 %; 市财政局 and its 办公室 100 %, 100 %.
So the lines fall for the city (80, 77, 75) and 市交通局 (60, 55, 50) — both miss 60 % at 11-30 — and
市财政局 stays at 100 %.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from sqlalchemy import select, update

from app.rollout import services
from app.rollout.models import DepartmentSnapshot, ForecastSnapshot, Milestone, RolloutPlan
from app.rollout.services import (dashboard_figures, discard_today_snapshot, drill_down, flatten, table_rows)
from app.rollout.trend import departments_missing, stored_missing, take_snapshot, today_snapshot_job
from tests.factories import utc

NOV1 = dt.date(2026, 11, 1)
NOV1_NOON = utc(2026, 11, 1, 4)  # 12:00 local


@pytest.fixture()
def history(db, tree):
    plan = tree["plan"]
    db.session.add(Milestone(plan_id=plan.id, due_on=dt.date(2026, 11, 30), target_percent=60))
    for dept, rates in ((tree["city"], (80, 77)), (tree["b"], (60, 55)), (tree["b_off"], (60, 55)),
                        (tree["a"], (100, 100)), (tree["a_off"], (100, 100))):
        for back, rate in zip((2, 1), rates):
            db.session.add(DepartmentSnapshot(
                plan_id=plan.id, department_id=dept.id, day=NOV1 - dt.timedelta(days=back), eligible=100,
                started=rate, certified=rate, sat=rate, passed=rate, hours_met=0, target=Decimal(0),
                taken_at=utc(2026, 11, 1) - dt.timedelta(days=back)))
    db.session.commit()
    # The plan must look older than the frozen clock's snapshots (a plan changed since is counted live).
    db.session.execute(update(RolloutPlan).where(RolloutPlan.id == plan.id).values(updated_at=utc(2026, 8, 1))
                       .execution_options(synchronize_session=False))
    db.session.commit()
    db.session.refresh(plan)
    return plan


def _listed(missing):
    return [(d.department.code, d.current, d.projected, Decimal(d.target), round(d.slope_per_week, 6))
            for d in missing]


def test_the_stored_list_is_the_one_computed_from_the_served_figures(db, tree, history):
    plan, admin = history, tree["admin"]
    with time_machine.travel(NOV1_NOON, tick=False):
        today_snapshot_job()
        db.session.commit()
        served = dashboard_figures(plan, admin, NOV1)
        assert served.taken_at == NOV1_NOON
        computed = departments_missing(plan, NOV1, flatten(served.forest))
        stored, count = stored_missing(plan, served.taken_at, 20)
    # 滨江市: 80, 77, 75 at x = −2, −1, 0 → x̄ = −1, ȳ = 77.33, slope −5 ÷ 2 = −2.5 a day, line at 0:
    # 74.83; at 11-30 (x = 29) 74.83 − 72.5 = 2.3 %, short by 57.7 points;
    # 市交通局 and its 办公室: 60, 55, 50 → −5 a day: 0 % (clamped), short by 60.
    assert [(d.department.code, d.projected) for d in computed] == [
        ("B", Decimal("0.0")), ("B-OFF", Decimal("0.0")), ("CITY", Decimal("2.3"))]
    assert _listed(stored) == _listed(computed) and count == 3
    first, count = stored_missing(plan, served.taken_at, 2)
    assert _listed(first) == _listed(computed[:2]) and count == 3


def test_a_stored_list_of_another_snapshot_or_a_discarded_one_is_not_used(db, tree, history):
    plan = history
    with time_machine.travel(NOV1_NOON, tick=False):
        today_snapshot_job()
        db.session.commit()
    later = NOV1_NOON + dt.timedelta(minutes=10)
    with time_machine.travel(later, tick=False):
        take_snapshot(NOV1)  # department rows only (no person snapshot, no list): a newer taken_at
        db.session.commit()
        assert stored_missing(plan, later, 20) is None
        today_snapshot_job()
        db.session.commit()
        assert stored_missing(plan, later, 20)[1] == 3
        discard_today_snapshot(plan)
        db.session.commit()
        assert db.session.execute(select(ForecastSnapshot)).first() is None
        assert stored_missing(plan, later, 20) is None


def test_nobody_missing_is_stored_as_an_empty_list(db, tree):
    plan = tree["plan"]  # one milestone, 100 % at 12-31; no history: no forecast, nobody listed
    db.session.execute(update(RolloutPlan).where(RolloutPlan.id == plan.id).values(updated_at=utc(2026, 8, 1))
                       .execution_options(synchronize_session=False))
    db.session.commit()
    with time_machine.travel(NOV1_NOON, tick=False):
        today_snapshot_job()
        db.session.commit()
        assert stored_missing(db.session.get(RolloutPlan, plan.id), NOV1_NOON, 20) == ([], 0)


def test_the_dashboard_reads_the_stored_list(app, db, tree, history, client, login_as):
    with time_machine.travel(NOV1_NOON, tick=False):
        today_snapshot_job()
        db.session.commit()
        # A mark only the stored list carries: the page must show it (not a list fitted again).
        db.session.execute(update(ForecastSnapshot).where(ForecastSnapshot.department_id == tree["b"].id)
                           .values(projected=Decimal("1.7")))
        db.session.commit()
        login_as(tree["admin"])
        html = client.get(f"/dashboard/?plan={history.id}&lang=en").get_data(as_text=True)
        assert "Departments projected to miss the next milestone" in html and "1.7 %" in html
        live = client.get(f"/dashboard/?plan={history.id}&lang=en&live=1").get_data(as_text=True)
        assert "1.7 %" not in live and "Departments projected to miss the next milestone" in live


def test_table_rows_show_the_top_levels_and_open_what_is_expanded(db, tree):
    forest = services.department_figures(tree["plan"], tree["admin"], NOV1)
    shown = [(f.department.code, collapsed) for f, collapsed in table_rows(forest)]
    assert shown == [("CITY", False), ("A", True), ("B", True)]
    shown = [(f.department.code, collapsed) for f, collapsed in table_rows(forest, {tree["b"].id})]
    assert shown == [("CITY", False), ("A", True), ("B", False), ("B-OFF", False)]
    assert [f.department.code for f, _ in table_rows(forest, levels=1)] == ["CITY"]
    everything = [f.department.code for f, collapsed in table_rows(forest, levels=9)]
    assert everything == [f.department.code for f in flatten(forest)]


def test_a_large_dashboard_is_collapsed_with_links_to_open_it(app, db, tree, client, login_as, monkeypatch):
    monkeypatch.setattr(services, "FULL_TABLE_ROWS", 3)  # the tree has 5 departments with figures
    login_as(tree["admin"])
    url = f"/dashboard/?plan={tree['plan'].id}&live=1&lang=en"
    html = client.get(url).get_data(as_text=True)
    assert "5 departments: the table shows the top two levels" in html
    assert f"expand={tree['b'].id}" in html and "办公室" not in html.split('id="dept-table"')[1].split("</table>")[0]
    opened = client.get(url + f"&expand={tree['b'].id}").get_data(as_text=True)
    table = opened.split('id="dept-table"')[1].split("</table>")[0]
    assert table.count("办公室") == 1  # 市交通局's, not 市财政局's
    every = client.get(url + "&all=1").get_data(as_text=True).split('id="dept-table"')[1].split("</table>")[0]
    assert every.count("办公室") == 2
    assert client.get(url + "&expand=abc").status_code == 400


def test_the_drill_down_of_a_missing_department_is_empty(db, tree):
    result = drill_down(tree["plan"], tree["admin"], 999_999, NOV1, status="all", live=True)
    assert result.rows == [] and result.total == 0 and result.counts["eligible"] == 0


def _shape(forest):
    return [(f.department.code, f.level, f.eligible, f.started, f.certified, f.sat, f.passed, f.hours_met, f.target,
             f.completion, f.pass_rate, f.status) for f in flatten(forest)]


def test_served_figures_of_a_wave_and_of_a_courses_only_plan_are_the_live_ones(db, tree):
    """After the merge of the snapshot serving with waves and courses-only plans: a wave's departments
    served from today's snapshot carry the wave's target, a courses-only plan is served without a pass
    rate, and its person snapshot lists whom the live drill-down lists."""
    from tests.rollout.test_plan_requirements import _courses_only_plan, _wave

    courses = _courses_only_plan(db, tree)
    _wave(db, tree)  # 市交通局: its own milestone 10-31 → 100 % (after: saving it enrols the audience)
    db.session.execute(update(RolloutPlan).values(updated_at=utc(2026, 8, 1)).execution_options(synchronize_session=False))
    db.session.commit()
    oct31, noon = dt.date(2026, 10, 31), utc(2026, 10, 31, 4)
    with time_machine.travel(noon, tick=False):
        today_snapshot_job()
        db.session.commit()
        for plan in (db.session.get(RolloutPlan, tree["plan"].id), db.session.get(RolloutPlan, courses.id)):
            served = dashboard_figures(plan, tree["admin"], oct31)
            live = dashboard_figures(plan, tree["admin"], oct31, live=True)
            assert served.taken_at == noon and live.taken_at is None
            assert _shape(served.forest) == _shape(live.forest)
        wave = {f.department.code: f for f in flatten(dashboard_figures(tree["plan"], tree["admin"], oct31).forest)}
        assert (wave["B"].target, wave["B-OFF"].target, wave["A"].target) == (Decimal(100), Decimal(100), Decimal("49.6"))
        city = dashboard_figures(courses, tree["admin"], oct31).forest[0]
        assert (city.eligible, city.certified, city.pass_rate) == (5, 2, None)
        for status in ("certified", "unfinished", "all"):
            from_snapshot = drill_down(courses, tree["admin"], tree["city"].id, oct31, status=status)
            counted = drill_down(courses, tree["admin"], tree["city"].id, oct31, status=status, live=True)
            assert from_snapshot.taken_at == noon and counted.taken_at is None
            assert [r["user"].staff_number for r in from_snapshot.rows] == [r["user"].staff_number for r in counted.rows]
            assert (from_snapshot.counts, from_snapshot.total) == (counted.counts, counted.total)
