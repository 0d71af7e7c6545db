"""Issue 7 items 1–2: a plan may require only courses; waves have their own milestones.

Figures are worked by hand on the tree of tests/rollout/conftest.py (see its docstring):

Courses-only plan "课程计划" (no certification, the one course, audience CITY, no exemptions):
    completions: u1 on 10-16, u3 on 10-05 (u2 never completes).
    as of 10-31: eligible u1 u2 u3 u4 u5 = 5 (u4's exemption is from the other plan; u5 joined 10-25),
                 completed 2 → 40.0 %; 市财政局 u1 u2 u4: 1 of 3 → 33.3 %; 市交通局 u3 u5: 1 of 2 → 50.0 %.
    as of 10-10: u5 not joined yet → eligible 4, completed u3 → 25.0 %.
Wave "第一批" = 市交通局 (B), 10-01 … 10-31, its own milestone 10-31 → 100 %:
    target for B and B-OFF on 10-31 = 100.0 (its milestone), on 10-16 = 15/30 × 100 = 50.0;
    everyone else keeps the plan's: 09-01 (0 %) → 12-31 (100 %), 10-31 is day 60 of 121 → 49.6.
    B on 10-31: eligible u3 u5 = 2, certified u3 → 50.0 %: gap −50.0 → at risk (it would be on
    track against the plan's 49.6).
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import textwrap
from decimal import Decimal

import openpyxl
import pytest
import time_machine
from sqlalchemy import select

from app.content.report import ContentError
from app.learning.models import Course, Enrolment
from app.rollout.editing import PlanInput, PlanInvalid, WaveInput, plan_input_of, save_plan, validate, wave_inputs_of
from app.rollout.models import DepartmentSnapshot, Milestone, PlanWave, RolloutPlan, WaveMilestone
from app.rollout.plans import load_plan_file
from app.rollout.services import AT_RISK, ON_TRACK, department_figures, drill_down, flatten, target_percent
from app.rollout.trend import take_snapshot
from tests.rollout.conftest import local

OCT10, OCT16, OCT31 = dt.date(2026, 10, 10), dt.date(2026, 10, 16), dt.date(2026, 10, 31)


def _courses_only_plan(db, tree) -> RolloutPlan:
    u = tree["users"]
    enrolments = {e.user_id: e for e in db.session.execute(select(Enrolment)).scalars()}
    enrolments[u[1].id].completed_at = local(10, 16)
    db.session.add(Enrolment(user_id=u[3].id, course_id=tree["course"].id, source="plan", due_on=dt.date(2026, 12, 31),
                             created_at=local(9, 1), updated_at=local(9, 1), completed_at=local(10, 5)))
    plan = RolloutPlan(name_zh="课程计划", name_en="Courses plan", certification_id=None, courses=[tree["course"]],
                       starts_on=dt.date(2026, 9, 1), ends_on=dt.date(2026, 12, 31), audience=[tree["city"]],
                       milestones=[Milestone(due_on=dt.date(2026, 12, 31), target_percent=100)])
    db.session.add(plan)
    db.session.commit()
    return plan


def _by_code(figures):
    return {f.department.code: f for f in flatten(figures)}


# --- 1. courses only ---------------------------------------------------------------------------

def test_a_courses_only_plan_counts_completed_courses(db, tree):
    plan = _courses_only_plan(db, tree)
    figures = _by_code(department_figures(plan, tree["admin"], OCT31))
    city, a, b = figures["CITY"], figures["A"], figures["B"]
    assert (city.eligible, city.certified, city.completion) == (5, 2, Decimal("40.0"))
    assert (a.eligible, a.certified, a.completion) == (3, 1, Decimal("33.3"))
    assert (b.eligible, b.certified, b.completion) == (2, 1, Decimal("50.0"))
    # Three people sat and passed the course's exam, but the plan requires no certification: no pass rate.
    assert (city.sat, city.passed, city.pass_rate) == (3, 3, None)
    early = _by_code(department_figures(plan, tree["admin"], OCT10))["CITY"]
    assert (early.eligible, early.certified, early.completion) == (4, 1, Decimal("25.0"))


def test_a_courses_only_plan_in_the_drill_down_and_the_officers_scope(db, tree):
    plan = _courses_only_plan(db, tree)
    done = drill_down(plan, tree["admin"], tree["city"].id, OCT31, status="certified")
    assert sorted(r["user"].staff_number for r in done.rows) == ["U1", "U3"]
    assert done.counts == {"eligible": 5, "not_started": 2, "in_progress": 1, "certified": 2}
    officer = _by_code(department_figures(plan, tree["officer"], OCT31))
    assert set(officer) == {"A", "A-OFF"} and officer["A"].completion == Decimal("33.3")


def test_the_plan_with_a_certification_keeps_its_pass_rate(db, tree):
    city = _by_code(department_figures(tree["plan"], tree["admin"], OCT31))["CITY"]
    assert (city.sat, city.passed, city.pass_rate) == (3, 3, Decimal("100.0"))


def test_a_plan_needs_a_certification_or_a_course(db, tree):
    data = PlanInput(name_zh="空计划", certification_id=None, course_ids=[], starts_on=dt.date(2026, 9, 1),
                     ends_on=dt.date(2026, 12, 31), audience_ids=[tree["city"].id],
                     milestones=[(dt.date(2026, 12, 31), "100")])
    assert "certification" in validate(data)
    with pytest.raises(PlanInvalid):
        save_plan(tree["admin"], data)
    db.session.rollback()
    assert db.session.execute(select(RolloutPlan).where(RolloutPlan.name_zh == "空计划")).first() is None
    data.course_ids = [tree["course"].id]
    saved = save_plan(tree["admin"], data)
    db.session.commit()
    assert saved.plan.certification_id is None and [c.id for c in saved.plan.courses] == [tree["course"].id]
    # everyone eligible was enrolled in the course (U4's exemption belongs to the other plan)
    assert saved.assigned.created == 3  # u1 and u2 already had an enrolment; u3, u4, u5 get one
    assert save_plan(tree["admin"], plan_input_of(saved.plan), saved.plan).action == "unchanged"


def test_the_dashboard_shows_no_pass_rate_for_a_courses_only_plan(db, tree, client, login_as):
    plan = _courses_only_plan(db, tree)
    login_as(tree["admin"])
    html = client.get(f"/dashboard/?plan={plan.id}&as_of=2026-10-31").get_data(as_text=True)
    assert "40.0" in html
    assert "仅要求课程" in html or "requires courses only" in html
    certified = client.get(f"/dashboard/?plan={tree['plan'].id}&as_of=2026-10-31").get_data(as_text=True)
    assert "仅要求课程" not in certified and "requires courses only" not in certified


YAML_COURSES_ONLY = """\
key: courses-only
name: {zh: 课程计划}
courses: [security-and-confidentiality]
audience: [CITY]
starts_on: 2026-06-01
ends_on: 2026-12-31
milestones:
  - {due_on: 2026-12-31, target_percent: 100}
"""


def test_yaml_plan_with_courses_only_and_one_with_neither(db, content, tmp_path):
    from tests.factories import make_department, make_user
    city = make_department("滨江市", code="CITY")
    make_user(city, staff_number="S1")
    db.session.commit()
    path = tmp_path / "plan.yaml"
    path.write_text(YAML_COURSES_ONLY, encoding="utf-8")
    summary = load_plan_file(path)
    db.session.commit()
    plan = db.session.get(RolloutPlan, summary.plan_id)
    assert plan.certification_id is None and [c.slug for c in plan.courses] == ["security-and-confidentiality"]
    assert summary.new_enrolments == 1
    path.write_text(YAML_COURSES_ONLY.replace("key: courses-only", "key: nothing").replace(
        "courses: [security-and-confidentiality]\n", ""), encoding="utf-8")
    with pytest.raises(ContentError) as raised:
        load_plan_file(path)
    assert "field 'certification'" in str(raised.value) and "courses" in str(raised.value)


# --- 2. waves with their own milestones --------------------------------------------------------

def _wave(db, tree, milestones=((dt.date(2026, 10, 31), "100"),)):
    data = plan_input_of(tree["plan"])
    data.waves = [WaveInput("第一批", dt.date(2026, 10, 1), dt.date(2026, 10, 31), [tree["b"].id], list(milestones))]
    saved = save_plan(tree["admin"], data, tree["plan"])
    db.session.commit()
    return saved


def test_wave_milestones_are_saved_compared_and_replaced(db, tree):
    saved = _wave(db, tree)
    assert saved.changes == ["waves"]
    wave = tree["plan"].waves[0]
    assert [(m.due_on, Decimal(m.target_percent)) for m in wave.milestones] == [(OCT31, Decimal(100))]
    again = plan_input_of(tree["plan"])
    again.waves = wave_inputs_of(tree["plan"])
    assert save_plan(tree["admin"], again, tree["plan"]).action == "unchanged"
    again.waves[0].milestones = [(dt.date(2026, 10, 20), "60"), (OCT31, "100")]
    assert save_plan(tree["admin"], again, tree["plan"]).changes == ["waves"]
    db.session.commit()
    assert [float(m.target_percent) for m in tree["plan"].waves[0].milestones] == [60.0, 100.0]


@pytest.mark.parametrize("milestones, field", [
    (((dt.date(2026, 11, 15), "100"),), "waves-0-milestones-0-due_on"),   # after the wave ends
    (((dt.date(2026, 10, 31), "101"),), "waves-0-milestones-0-target"),
    (((dt.date(2026, 10, 20), "80"), (dt.date(2026, 10, 31), "50")), "waves-0-milestones"),  # decreasing
])
def test_bad_wave_milestones_are_refused_and_nothing_changes(db, tree, milestones, field):
    data = plan_input_of(tree["plan"])
    data.waves = [WaveInput("第一批", dt.date(2026, 10, 1), dt.date(2026, 10, 31), [tree["b"].id], list(milestones))]
    with pytest.raises(PlanInvalid) as raised:
        save_plan(tree["admin"], data, tree["plan"])
    assert field in raised.value.errors
    db.session.rollback()
    assert db.session.execute(select(PlanWave)).first() is None and db.session.execute(select(WaveMilestone)).first() is None


def test_a_wave_department_is_measured_against_the_wave_milestones(db, tree):
    _wave(db, tree)
    with time_machine.travel(local(10, 31, 18), tick=False):
        figures = _by_code(department_figures(tree["plan"], tree["admin"], OCT31))
    assert target_percent(tree["plan"], OCT31) == Decimal("49.6")
    assert {code: figures[code].target for code in ("CITY", "A", "A-OFF", "B", "B-OFF")} == {
        "CITY": Decimal("49.6"), "A": Decimal("49.6"), "A-OFF": Decimal("49.6"),
        "B": Decimal(100), "B-OFF": Decimal(100)}
    b = figures["B"]
    assert (b.completion, b.gap, b.status) == (Decimal("50.0"), Decimal("-50.0"), AT_RISK)
    assert figures["A"].status == ON_TRACK
    half_way = _by_code(department_figures(tree["plan"], tree["admin"], OCT16))
    assert half_way["B"].target == Decimal("50.0")


def test_a_wave_without_milestones_follows_the_plan(db, tree):
    _wave(db, tree, milestones=())
    figures = _by_code(department_figures(tree["plan"], tree["admin"], OCT31))
    assert figures["B"].target == Decimal("49.6") and figures["B"].status == ON_TRACK


def test_snapshots_store_each_department_target(db, tree):
    _wave(db, tree)
    with time_machine.travel(local(11, 2), tick=False):
        take_snapshot(OCT31, [tree["plan"]])
        db.session.commit()
    targets = {s.department_id: s.target for s in db.session.execute(select(DepartmentSnapshot)).scalars()}
    assert targets[tree["b"].id] == Decimal(100) and targets[tree["a"].id] == Decimal("49.6")


YAML_WAVE = """\
key: with-waves
name: {zh: 分批计划}
certification: CSDS-SEC
audience: [CITY]
starts_on: 2026-06-01
ends_on: 2026-12-31
milestones:
  - {due_on: 2026-12-31, target_percent: 100}
waves:
  - name: 试点
    starts_on: 2026-06-01
    ends_on: 2026-08-31
    departments: [CITY-A]
    milestones:
      - {due_on: 2026-07-31, target_percent: 50}
      - {due_on: 2026-08-31, target_percent: %s}
"""


def test_yaml_waves_with_milestones(db, content, tmp_path):
    from tests.factories import make_department
    city = make_department("滨江市", code="CITY")
    make_department("市财政局", city, code="CITY-A")
    db.session.commit()
    path = tmp_path / "plan.yaml"
    path.write_text(YAML_WAVE % "100", encoding="utf-8")
    summary = load_plan_file(path)
    db.session.commit()
    wave = db.session.get(RolloutPlan, summary.plan_id).waves[0]
    assert [(m.due_on.isoformat(), float(m.target_percent)) for m in wave.milestones] == [
        ("2026-07-31", 50.0), ("2026-08-31", 100.0)]
    assert load_plan_file(path).action == "unchanged"
    path.write_text(YAML_WAVE % "40", encoding="utf-8")
    with pytest.raises(ContentError) as raised:
        load_plan_file(path)
    assert "waves[0].milestones[1].target_percent" in str(raised.value) or "waves" in str(raised.value)


def test_the_department_page_shows_the_wave_target(db, tree, client, login_as):
    _wave(db, tree)
    login_as(tree["admin"])
    b = client.get(f"/dashboard/departments/{tree['b'].id}?plan={tree['plan'].id}&as_of=2026-10-31&lang=en")
    assert "target 100.0" in b.get_data(as_text=True).replace("\xa0", " ").replace("100.0 %", "100.0")
    a = client.get(f"/dashboard/departments/{tree['a'].id}?plan={tree['plan'].id}&as_of=2026-10-31&lang=en")
    assert "target 49.6" in a.get_data(as_text=True).replace("\xa0", " ").replace("49.6 %", "49.6")


# --- courses-only wording in the drill-down and the exports; XLSX pass rate "—" -------------------

def test_the_drill_down_of_a_courses_only_plan_says_completed(db, tree, client, login_as):
    plan = _courses_only_plan(db, tree)
    login_as(tree["admin"])
    url = f"/dashboard/departments/{tree['city'].id}?plan={plan.id}&as_of=2026-10-31&status=all"
    en = client.get(url + "&lang=en").get_data(as_text=True)
    assert '<span class="badge ok">Completed</span>' in en and '>Completed</option>' in en
    assert "Completed: 2" in en and "Started, not completed: 1" in en and ">Not completed</option>" in en
    assert "2 of 5 completed (40.0" in en
    assert '<span class="badge ok">Certified</span>' not in en and ">Certified</option>" not in en
    zh = client.get(url + "&lang=zh_CN").get_data(as_text=True)
    assert '<span class="badge ok">已完成</span>' in zh and ">已完成</option>" in zh and "已取证" not in zh
    rows = list(csv.reader(io.StringIO(client.get(
        f"/dashboard/departments/{tree['city'].id}/people.csv?plan={plan.id}&as_of=2026-10-31&status=certified&lang=en"
    ).get_data(as_text=True).lstrip("\ufeff"))))
    assert {r[4] for r in rows[1:]} == {"Completed"} and len(rows) == 3
    # a plan with a certification keeps its words
    certified = client.get(f"/dashboard/departments/{tree['city'].id}?plan={tree['plan'].id}&as_of=2026-10-31"
                           "&status=all&lang=en").get_data(as_text=True)
    assert '<span class="badge ok">Certified</span>' in certified and ">Completed</option>" not in certified


def test_the_xlsx_of_a_courses_only_plan_writes_a_dash_for_the_pass_rate(db, tree, client, login_as):
    plan = _courses_only_plan(db, tree)
    login_as(tree["admin"])
    response = client.get(f"/dashboard/export.xlsx?plan={plan.id}&as_of=2026-10-31&lang=en")
    assert response.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(response.data))
    city = list(book["City"].iter_rows(values_only=True))
    assert city[0][5] == "Completed" and city[0][8] == "Pass rate (%)"
    # 5 eligible, 2 completed → 40 %; three sat and passed the exam but the plan has no pass rate
    assert city[1][:9] == ("CITY", "滨江市", "滨江市", 5, city[1][4], 2, 40.0, city[1][7], "—")
    for title in ("Bureaus", "Divisions"):
        assert {row[8] for row in list(book[title].iter_rows(values_only=True))[1:]} == {"—"}
    terms = {row[0]: row[1] for row in book["Definitions"].iter_rows(values_only=True)}
    assert "no pass rate (—)" in terms["Pass rate"] and "Completed" in terms
    zh = openpyxl.load_workbook(io.BytesIO(client.get(
        f"/dashboard/export.xlsx?plan={plan.id}&as_of=2026-10-31&lang=zh_CN").data))
    first = zh.worksheets[0]
    assert first.cell(1, 6).value == "已完成" and first.cell(2, 9).value == "—"
    # with a certification the cell stays a number
    numbers = openpyxl.load_workbook(io.BytesIO(client.get(
        f"/dashboard/export.xlsx?plan={tree['plan'].id}&as_of=2026-10-31&lang=en").data))
    assert isinstance(numbers["City"].cell(2, 9).value, (int, float)) and numbers["City"].cell(1, 6).value == "Certified"


# --- editing one wave's milestones (the waves page's service) ------------------------------------

def test_set_wave_milestones_changes_one_wave_through_save_plan(db, tree):
    from app.audit.models import AuditEvent
    from app.rollout.editing import set_wave_milestones

    data = plan_input_of(tree["plan"])
    data.waves = [WaveInput("第一批", dt.date(2026, 10, 1), dt.date(2026, 10, 31), [tree["b"].id], [(OCT31, "100")]),
                  WaveInput("第二批", dt.date(2026, 11, 1), dt.date(2026, 11, 30), [tree["a"].id], [])]
    save_plan(tree["admin"], data, tree["plan"])
    db.session.commit()
    first = next(w for w in tree["plan"].waves if w.name == "第一批")
    events = db.session.execute(select(AuditEvent).where(AuditEvent.action == "rollout_plan.update")).scalars().all()
    before = len(events)
    # a milestone added (10-20 → 60 %), the other kept
    saved = set_wave_milestones(tree["admin"], tree["plan"], first.id, [(dt.date(2026, 10, 20), "60"), (OCT31, "100")])
    db.session.commit()
    assert saved.changes == ["waves"]
    waves = {w.name: w for w in tree["plan"].waves}
    assert [(m.due_on, float(m.target_percent)) for m in waves["第一批"].milestones] == [
        (dt.date(2026, 10, 20), 60.0), (OCT31, 100.0)]
    assert waves["第二批"].milestones == [] and [d.id for d in waves["第二批"].departments] == [tree["a"].id]
    assert target_percent(tree["plan"], OCT16, waves["第一批"]) == Decimal("47.4")  # day 15 of 19 × 60 % = 47.37
    event = db.session.execute(select(AuditEvent).where(AuditEvent.action == "rollout_plan.update")
                               .order_by(AuditEvent.id.desc())).scalars().first()
    assert event.target == f"plan:{tree['plan'].id}" and event.detail["changes"] == ["waves"]
    assert {w["name"]: w["milestones"] for w in event.detail["waves"]}["第一批"] == [
        ["2026-10-20", "60"], ["2026-10-31", "100"]]
    # the same again: unchanged, no event
    again = set_wave_milestones(tree["admin"], tree["plan"], waves["第一批"].id,
                                [(dt.date(2026, 10, 20), "60"), (OCT31, "100")])
    assert again.action == "unchanged"
    assert len(db.session.execute(select(AuditEvent).where(
        AuditEvent.action == "rollout_plan.update")).scalars().all()) == before + 1
    # bad input: messages keyed for the wave's rows, nothing changes
    with pytest.raises(PlanInvalid) as raised:
        set_wave_milestones(tree["admin"], tree["plan"], waves["第一批"].id, [(dt.date(2026, 10, 20), "160")])
    assert "milestones-0-target" in raised.value.errors
    db.session.rollback()
    assert [float(m.target_percent) for m in next(w for w in tree["plan"].waves if w.name == "第一批").milestones] == [
        60.0, 100.0]
    # removing every row: the wave follows the plan's milestones again
    set_wave_milestones(tree["admin"], tree["plan"], next(w for w in tree["plan"].waves if w.name == "第一批").id, [])
    db.session.commit()
    assert all(w.milestones == [] for w in tree["plan"].waves)
    with pytest.raises(LookupError):
        set_wave_milestones(tree["admin"], tree["plan"], 999_999, [])
