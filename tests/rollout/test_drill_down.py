"""Drill-down (department paths, counts, filters, sorting, paging), 学时达标率, plan coverage and the
person record, on the hand-built tree of conftest.py (expected values worked out by hand)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import event

from app.extensions import db as _db
from app.learning.models import Enrolment
from app.rollout.services import department_figures, drill_down, flatten, uncovered_scope

from tests.rollout.conftest import local

OCT15, OCT31 = dt.date(2026, 10, 15), dt.date(2026, 10, 31)


def _numbers(result):
    return [r["user"].staff_number for r in result.rows]


def test_each_person_shows_the_full_department_path(tree):
    result = drill_down(tree["plan"], tree["admin"], tree["city"].id, OCT15, status="all")
    assert {r["user"].staff_number: r["path"] for r in result.rows} == {
        "U1": "市财政局 › 办公室", "U2": "市财政局 › 办公室", "U3": "市交通局 › 办公室", "U4": "市财政局 › 办公室"}


def test_paths_cost_no_query_per_row(tree, db):
    statements = []

    def count(*args):
        statements.append(1)

    drill_down(tree["plan"], tree["admin"], tree["city"].id, OCT31, status="all", per_page=1)  # warm: plan's lazy loads
    event.listen(_db.engine, "before_cursor_execute", count)
    try:
        drill_down(tree["plan"], tree["admin"], tree["city"].id, OCT31, status="all", per_page=1)
        one = len(statements)
        statements.clear()
        drill_down(tree["plan"], tree["admin"], tree["city"].id, OCT31, status="all", per_page=50)
        assert len(statements) == one
    finally:
        event.remove(_db.engine, "before_cursor_execute", count)


def test_counts_total_and_paging(tree):
    # Oct 31: eligible u1 u2 u3 u5; u5 not started; u1 u2 u3 certified.
    first = drill_down(tree["plan"], tree["admin"], tree["city"].id, OCT31, status="all", sort="staff_number",
                       per_page=3)
    assert first.counts == {"eligible": 4, "not_started": 1, "in_progress": 0, "certified": 3}
    assert (first.total, first.pages, _numbers(first)) == (4, 2, ["U1", "U2", "U3"])
    second = drill_down(tree["plan"], tree["admin"], tree["city"].id, OCT31, status="all", sort="staff_number",
                        per_page=3, page=2)
    assert _numbers(second) == ["U5"]


def test_status_filters(tree):
    plan, admin, city = tree["plan"], tree["admin"], tree["city"].id
    assert sorted(_numbers(drill_down(plan, admin, city, OCT15, status="not_started"))) == ["U2", "U4"]
    assert _numbers(drill_down(plan, admin, city, OCT15, status="in_progress")) == ["U1"]
    assert _numbers(drill_down(plan, admin, city, OCT15, status="certified")) == ["U3"]
    # default: not certified, those not started first
    assert _numbers(drill_down(plan, admin, city, OCT15))[0] in ("U2", "U4")
    assert _numbers(drill_down(plan, admin, city, OCT15))[-1] == "U1"


def test_attempts_exhausted_as_of_the_date(tree):
    # Two attempts allowed. On Oct 15 u1 has started both and passed neither by midnight; the pass came later.
    plan, admin, city = tree["plan"], tree["admin"], tree["city"].id
    result = drill_down(plan, admin, city, OCT15, exhausted=True)
    assert _numbers(result) == ["U1"] and result.rows[0]["exhausted"]
    assert _numbers(drill_down(plan, admin, city, OCT31, exhausted=True, status="all")) == []


def test_overdue_as_of_the_date(tree, db):
    u5 = tree["users"][5]
    db.session.add(Enrolment(user_id=u5.id, course_id=tree["course"].id, source="plan", due_on=dt.date(2026, 11, 15),
                             created_at=local(10, 26), updated_at=local(10, 26)))
    db.session.commit()
    plan, admin, city = tree["plan"], tree["admin"], tree["city"].id
    assert _numbers(drill_down(plan, admin, city, dt.date(2026, 11, 15), overdue=True)) == []  # due that day
    result = drill_down(plan, admin, city, dt.date(2026, 11, 16), overdue=True)
    assert _numbers(result) == ["U5"] and result.rows[0]["overdue"] and result.rows[0]["due_on"] == dt.date(2026, 11, 15)
    # u2 was due 11-30 but certified on 10-17: never overdue
    assert _numbers(drill_down(plan, admin, city, dt.date(2026, 12, 5), overdue=True, status="all")) == ["U5"]


def test_sorting_and_position_filter(tree, db):
    tree["users"][3].position = "科长"
    db.session.commit()
    plan, admin, city = tree["plan"], tree["admin"], tree["city"].id
    assert _numbers(drill_down(plan, admin, city, OCT31, status="all", sort="name", descending=True)) == \
        ["U5", "U3", "U2", "U1"]
    by_score = drill_down(plan, admin, city, OCT15, status="all", sort="best_score", descending=True)
    assert [r["best_score"] for r in by_score.rows][:2] == [Decimal("75.00"), Decimal("40.00")] or \
        [r["best_score"] for r in by_score.rows][-2:] == [Decimal("75.00"), Decimal("40.00")]
    result = drill_down(plan, admin, city, OCT31, status="all", position="科长")
    assert _numbers(result) == ["U3"] and result.positions == ["科员", "科长"]


def test_unknown_filter_values_are_refused(tree):
    with pytest.raises(ValueError):
        drill_down(tree["plan"], tree["admin"], tree["city"].id, OCT31, status="nobody")
    with pytest.raises(ValueError):
        drill_down(tree["plan"], tree["admin"], tree["city"].id, OCT31, sort="password_hash")


def test_officer_sees_only_their_subtree(tree):
    result = drill_down(tree["plan"], tree["officer"], tree["city"].id, OCT31, status="all")
    assert sorted(_numbers(result)) == ["U1", "U2"] and result.counts["eligible"] == 2


def test_credit_hour_rate_counts_the_calendar_year_up_to_the_date(tree, db, app, monkeypatch):
    monkeypatch.setitem(app.config, "ANNUAL_CREDIT_HOUR_QUOTA", 30)
    enrolment = db.session.query(Enrolment).filter_by(user_id=tree["users"][1].id).one()
    enrolment.completed_at, enrolment.credit_hours_awarded = local(10, 16, 0, 20), Decimal(30)
    db.session.add(Enrolment(user_id=tree["users"][3].id, course_id=tree["course"].id, source="self",
                             completed_at=local(1, 1, 0, 30) - dt.timedelta(days=1),  # 2025-12-31 local: last year
                             credit_hours_awarded=Decimal(40), created_at=local(1, 1), updated_at=local(1, 1)))
    db.session.commit()

    def hours(as_of):
        return {f.department.code: (f.hours_met, f.hours_rate) for f in
                flatten(department_figures(tree["plan"], tree["admin"], as_of))}

    assert hours(OCT15)["CITY"] == (0, Decimal("0.0"))
    # Oct 31: u1 has 30 学时 this year (quota 30) of eligible u1 u2 u3 u5; u3's 40 were last year.
    assert hours(OCT31)["CITY"] == (1, Decimal("25.0"))
    assert hours(OCT31)["A"] == (1, Decimal("50.0")) and hours(OCT31)["B"] == (0, Decimal("0.0"))


def test_a_plan_that_does_not_cover_a_department_says_so(tree, client, login_as):
    assert [d.code for d in uncovered_scope(tree["plan"], tree["admin"])] == ["HR"]
    assert uncovered_scope(tree["plan"], tree["officer"]) == []
    login_as(tree["admin"])
    hr = next(d for d in uncovered_scope(tree["plan"], tree["admin"]))
    page = client.get(f"/dashboard/departments/{hr.id}?plan={tree['plan'].id}").get_data(as_text=True)
    assert "does not cover" in page or "不涉及" in page
    dashboard = client.get(f"/dashboard/?plan={tree['plan'].id}").get_data(as_text=True)
    assert "市委组织部" in dashboard


def test_drill_down_page_shows_paths_counts_and_pages(tree, client, login_as):
    login_as(tree["admin"])
    html = client.get(f"/dashboard/departments/{tree['city'].id}?plan={tree['plan'].id}&as_of=2026-10-31"
                      "&status=all&sort=name&dir=desc").get_data(as_text=True)
    assert "市交通局 › 办公室" in html and "市财政局 › 办公室" in html
    assert html.index("学员5") < html.index("学员1")
    response = client.get(f"/dashboard/departments/{tree['city'].id}?plan={tree['plan'].id}&page=2")
    assert response.status_code == 400  # one page only


def test_person_record_within_scope(tree, client, login_as):
    login_as(tree["officer"])
    u1, u3 = tree["users"][1], tree["users"][3]
    html = client.get(f"/dashboard/people/{u1.id}").get_data(as_text=True)
    assert "学员1" in html and "市财政局 › 办公室" in html
    assert "40.0" in html and "90.0" in html  # both attempts with scores
    assert "TEST-2026-000001" in html  # the certificate
    assert client.get(f"/dashboard/people/{u3.id}").status_code == 404


def test_city_drill_down_page_names_the_bureau(tree, client, login_as):
    """Defect: a city list showed "办公室" without its bureau (seen failing before the fix)."""
    login_as(tree["admin"])
    html = client.get(f"/dashboard/departments/{tree['city'].id}?plan={tree['plan'].id}&as_of=2026-10-15"
                      ).get_data(as_text=True)
    assert "市财政局 › 办公室" in html


def test_officer_sees_only_plans_that_reach_their_scope(tree, db):
    from app.rollout.services import plans_for
    from tests.factories import make_user

    outside = make_user(tree["users"][1].department, staff_number="OFF-HR", officer_of=[
        next(d for d in uncovered_scope(tree["plan"], tree["admin"]))])
    db.session.commit()
    assert plans_for(outside) == []
    assert plans_for(tree["officer"]) == [tree["plan"]]


def test_officer_with_two_subtrees_sees_both(tree, db):
    from app.org.services import grant_officer_scope

    grant_officer_scope(tree["officer"], tree["b"])
    db.session.commit()
    got = {f.department.code: (f.eligible, f.certified) for f in
           flatten(department_figures(tree["plan"], tree["officer"], OCT15))}
    # Oct 15: A (u1 u2 u4, none certified) and B (u3 certified); never the city above them.
    assert got == {"A": (3, 0), "A-OFF": (3, 0), "B": (1, 1), "B-OFF": (1, 1)}
    result = drill_down(tree["plan"], tree["officer"], tree["city"].id, OCT15, status="all")
    assert sorted(_numbers(result)) == ["U1", "U2", "U3", "U4"]
