"""Today's figures served from today's snapshot (issue 7 item 10): the whole-city dashboard and
drill-down of an administrator read the snapshot while it is fresh, and count live otherwise.

Tree and events in tests/rollout/conftest.py; the clock is frozen on 2026-11-01 (local).
"""
from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from sqlalchemy import delete, func, select, update

from app.certification.models import Certificate
from app.rollout.models import DepartmentSnapshot, PersonSnapshot, RolloutPlan
from app.rollout.services import (dashboard_figures, department_figures, drill_down, flatten, fresh_snapshot,
                                  snapshot_max_age)
from app.rollout.trend import snapshot_job, take_snapshot, today_snapshot_job
from tests.factories import utc

NOV1 = dt.date(2026, 11, 1)
NOV1_NOON = utc(2026, 11, 1, 4)  # 12:00 local


@pytest.fixture(autouse=True)
def _plan_made_before_the_frozen_day(db, tree):
    """The tree is built at the real time; the plan must look older than the frozen clock's snapshots
    (a plan changed after its snapshot is counted live)."""
    db.session.execute(update(RolloutPlan).where(RolloutPlan.id == tree["plan"].id)
                       .values(updated_at=utc(2026, 8, 1)).execution_options(synchronize_session=False))
    db.session.commit()
    db.session.refresh(tree["plan"])


def _shape(forest):
    """Everything the dashboard shows of a forest, row by row."""
    return [(f.department.id, f.level, f.eligible, f.started, f.certified, f.sat, f.passed, f.hours_met, f.target)
            for f in flatten(forest)]


def _certify_u5(db, tree, at):
    cert_id = tree["plan"].certification_id
    db.session.add(Certificate(certification_id=cert_id, user_id=tree["users"][5].id, serial="TEST-2026-000099",
                               verification_code="CODE00000099", issued_at=at))
    db.session.commit()


def test_a_fresh_snapshot_of_today_gives_the_live_figures(db, tree):
    plan, admin = tree["plan"], tree["admin"]
    with time_machine.travel(NOV1_NOON, tick=False):
        assert today_snapshot_job() == 5  # five departments with eligible staff
        db.session.commit()
        served = dashboard_figures(plan, admin, NOV1)
        assert served.taken_at == NOV1_NOON
        assert _shape(served.forest) == _shape(department_figures(plan, admin, NOV1))
        # 滨江市: u1, u2, u3, u5 eligible (u4 exempted, u6 inactive), three certified
        assert _shape(served.forest)[0][2:5] == (4, 3, 3)


def test_the_snapshot_lags_until_refreshed_and_live_counts_now(db, tree):
    plan, admin = tree["plan"], tree["admin"]
    with time_machine.travel(NOV1_NOON, tick=False):
        take_snapshot(NOV1)
        db.session.commit()
    with time_machine.travel(NOV1_NOON + dt.timedelta(minutes=5), tick=False):
        _certify_u5(db, tree, NOV1_NOON + dt.timedelta(minutes=1))
        assert _shape(dashboard_figures(plan, admin, NOV1).forest)[0][4] == 3  # as of 12:00
        live = dashboard_figures(plan, admin, NOV1, live=True)
        assert live.taken_at is None and _shape(live.forest)[0][4] == 4
        today_snapshot_job()
        db.session.commit()
        served = dashboard_figures(plan, admin, NOV1)
        assert served.taken_at == NOV1_NOON + dt.timedelta(minutes=5)
        assert _shape(served.forest) == _shape(live.forest)


def test_stale_missing_or_other_days_are_counted_live(app, db, tree):
    plan, admin, officer = tree["plan"], tree["admin"], tree["officer"]
    with time_machine.travel(NOV1_NOON, tick=False):
        assert dashboard_figures(plan, admin, NOV1).taken_at is None  # no snapshot yet
        take_snapshot(NOV1)
        take_snapshot(dt.date(2026, 10, 20))
        db.session.commit()
        # A past date is never served from a snapshot (that day's snapshot may predate corrections).
        past = dashboard_figures(plan, admin, dt.date(2026, 10, 20))
        assert past.taken_at is None
        assert _shape(past.forest) == _shape(department_figures(plan, admin, dt.date(2026, 10, 20)))
        # Officers are counted live (their subtree is cheap).
        assert dashboard_figures(plan, officer, NOV1).taken_at is None
        app.config["ROLLOUT_SNAPSHOT_MAX_AGE_MINUTES"] = 0  # turned off
        try:
            assert dashboard_figures(plan, admin, NOV1).taken_at is None
        finally:
            app.config["ROLLOUT_SNAPSHOT_MAX_AGE_MINUTES"] = 30
    # Older than ROLLOUT_SNAPSHOT_MAX_AGE_MINUTES (30): live, with the event after the snapshot.
    later = NOV1_NOON + snapshot_max_age() + dt.timedelta(seconds=1)
    with time_machine.travel(later, tick=False):
        _certify_u5(db, tree, later - dt.timedelta(minutes=1))
        assert fresh_snapshot(plan, NOV1) is None
        stale = dashboard_figures(plan, admin, NOV1)
        assert stale.taken_at is None and _shape(stale.forest)[0][4] == 4
    # The next day, yesterday's snapshot is not today's: live.
    with time_machine.travel(NOV1_NOON + dt.timedelta(days=1), tick=False):
        assert fresh_snapshot(plan, NOV1 + dt.timedelta(days=1)) is None


def test_daily_job_retakes_a_day_whose_snapshot_was_taken_during_it(db, tree):
    with time_machine.travel(NOV1_NOON, tick=False):
        take_snapshot(NOV1)
        db.session.commit()
        _certify_u5(db, tree, NOV1_NOON + dt.timedelta(hours=2))  # 14:00 local, after the snapshot
    with time_machine.travel(NOV1_NOON + dt.timedelta(days=1), tick=False):
        assert snapshot_job() > 0
        db.session.commit()
        city = db.session.execute(select(DepartmentSnapshot.certified).where(
            DepartmentSnapshot.day == NOV1, DepartmentSnapshot.department_id == tree["city"].id)).scalar_one()
        assert city == 4  # the whole day now, u5's certificate included
        taken = db.session.execute(select(func.min(DepartmentSnapshot.taken_at)).where(
            DepartmentSnapshot.day == NOV1)).scalar_one()
        assert taken == NOV1_NOON + dt.timedelta(days=1)


def test_the_scheduler_lists_the_today_snapshot_job(app, db, tree):
    from app.scheduler.jobs import JOBS, run_in_context

    job = next(j for j in JOBS if j.id == "rollout-today-snapshot")
    assert job.seconds * 2 <= app.config["ROLLOUT_SNAPSHOT_MAX_AGE_MINUTES"] * 60
    with time_machine.travel(NOV1_NOON, tick=False):
        assert run_in_context(app, job) == 5
        assert run_in_context(app, job) == 5  # an upsert: still one row per department
    assert db.session.execute(select(func.count(DepartmentSnapshot.id))).scalar_one() == 5


def test_dashboard_page_says_when_the_figures_were_counted(app, db, tree, client, login_as):
    with time_machine.travel(NOV1_NOON, tick=False):
        take_snapshot(NOV1)
        db.session.commit()
    with time_machine.travel(NOV1_NOON + dt.timedelta(minutes=7), tick=False):
        login_as(tree["admin"])
        url = f"/dashboard/?plan={tree['plan'].id}&lang=en"
        html = client.get(url).get_data(as_text=True)
        assert "Figures as of 2026-11-01 12:00" in html and "live=1" in html
        live = client.get(url + "&live=1").get_data(as_text=True)
        assert "Figures as of" not in live
        zh = client.get(f"/dashboard/?plan={tree['plan'].id}&lang=zh_CN").get_data(as_text=True)
        assert "数据截至 2026-11-01 12:00" in zh
        db.session.execute(delete(DepartmentSnapshot))
        db.session.commit()
        assert "Figures as of" not in client.get(url).get_data(as_text=True)


def test_an_exemption_or_a_plan_change_sends_the_dashboard_back_to_live_counting(db, tree):
    from app.rollout.editing import exempt, lift_exemption

    plan, admin = tree["plan"], tree["admin"]
    with time_machine.travel(NOV1_NOON, tick=False):
        take_snapshot(NOV1)
        db.session.commit()
    with time_machine.travel(NOV1_NOON + dt.timedelta(minutes=2), tick=False):
        exempt(admin, plan, tree["users"][5], "借调")
        db.session.commit()
        served = dashboard_figures(plan, admin, NOV1)
        assert served.taken_at is None and _shape(served.forest)[0][2] == 3  # u5 left the denominator
        take_snapshot(NOV1)
        db.session.commit()
        lift_exemption(admin, plan, tree["users"][5])
        db.session.commit()
        assert dashboard_figures(plan, admin, NOV1).taken_at is None
        take_snapshot(NOV1)
        db.session.commit()
        assert dashboard_figures(plan, admin, NOV1).taken_at is not None
    with time_machine.travel(NOV1_NOON + dt.timedelta(minutes=3), tick=False):
        plan.name_en = "Renamed"  # any change to the plan row moves updated_at past the snapshot
        db.session.commit()
        assert dashboard_figures(plan, admin, NOV1).taken_at is None


def _listing(result):
    return ([r["user"].id for r in result.rows], result.total, result.counts, result.positions, result.pages)


def test_the_city_drill_down_from_the_person_snapshot_equals_the_live_list(db, tree):
    plan, admin, city = tree["plan"], tree["admin"], tree["city"].id
    with time_machine.travel(NOV1_NOON, tick=False):
        assert drill_down(plan, admin, city, NOV1).taken_at is None  # no snapshot: live
        today_snapshot_job()
        db.session.commit()
        for status in ("unfinished", "not_started", "in_progress", "certified", "all"):
            for sort in ("status", "department"):
                for descending in (False, True):
                    for per_page, page in ((50, 1), (1, 2)):
                        args = dict(status=status, sort=sort, descending=descending, per_page=per_page, page=page)
                        served = drill_down(plan, admin, city, NOV1, **args)
                        assert served.taken_at == NOV1_NOON, args
                        assert _listing(served) == _listing(drill_down(plan, admin, city, NOV1, live=True, **args)), args
        # Sorts without an index, the overdue filter and other days are counted live.
        assert drill_down(plan, admin, city, NOV1, sort="name").taken_at is None
        assert drill_down(plan, admin, city, NOV1, overdue=True).taken_at is None
        assert drill_down(plan, admin, city, dt.date(2026, 10, 20)).taken_at is None
        # Officers' lists are served too, scoped as their live lists: their bureau, and the city
        # root (only their bureau's people), equal the live ones.
        officer = tree["officer"]
        for root in (tree["a"].id, city, tree["b"].id):
            for status in ("unfinished", "certified", "all"):
                served = drill_down(plan, officer, root, NOV1, status=status)
                assert served.taken_at == NOV1_NOON
                assert _listing(served) == _listing(drill_down(plan, officer, root, NOV1, status=status, live=True))
        assert drill_down(plan, officer, tree["b"].id, NOV1, status="all").total == 0  # outside their scope
        assert drill_down(plan, officer, city, NOV1, status="all").counts["eligible"] == 2  # 市财政局's u1, u2
        # The position filter is served too.
        position = tree["users"][1].position
        if position:
            served = drill_down(plan, admin, city, NOV1, status="all", position=position)
            assert _listing(served) == _listing(drill_down(plan, admin, city, NOV1, status="all", position=position,
                                                           live=True))


def test_the_served_list_is_as_of_the_snapshot_and_its_rows_are_live(db, tree):
    plan, admin, city = tree["plan"], tree["admin"], tree["city"].id
    with time_machine.travel(NOV1_NOON, tick=False):
        today_snapshot_job()
        db.session.commit()
    with time_machine.travel(NOV1_NOON + dt.timedelta(minutes=5), tick=False):
        _certify_u5(db, tree, NOV1_NOON + dt.timedelta(minutes=1))
        served = drill_down(plan, admin, city, NOV1)  # unfinished as of 12:00: u5 only
        assert [r["user"].id for r in served.rows] == [tree["users"][5].id]
        assert served.counts["certified"] == 3 and served.rows[0]["certified"] is True  # the row is live
        live = drill_down(plan, admin, city, NOV1, live=True)
        assert live.rows == [] and live.counts["certified"] == 4
        # A department snapshot without person rows (or the other way round) is not served.
        db.session.execute(delete(PersonSnapshot))
        db.session.commit()
        assert drill_down(plan, admin, city, NOV1).taken_at is None


def test_department_page_says_when_the_list_was_taken(db, tree, client, login_as):
    with time_machine.travel(NOV1_NOON, tick=False):
        today_snapshot_job()
        db.session.commit()
        login_as(tree["admin"])
        url = f"/dashboard/departments/{tree['city'].id}?plan={tree['plan'].id}&lang=en"
        html = client.get(url).get_data(as_text=True)
        assert "Figures as of 2026-11-01 12:00" in html and "live=1" in html
        assert "Figures as of" not in client.get(url + "&live=1").get_data(as_text=True)
