"""The plan service (app.rollout.editing) without HTTP: field errors, idempotent (re)assignment,
per-person due dates, exclusions and positions, exemptions, audit events; and the YAML loader
going through the same service."""
from __future__ import annotations

import datetime as dt
import textwrap

import pytest
from sqlalchemy import func, select

from app.audit.models import AuditEvent
from app.core.errors import DomainError
from app.learning.models import Enrolment
from app.org.models import StaffTransfer
from app.rollout import editing
from app.rollout.models import DUE_AFTER_HIRE, DUE_AFTER_TRANSFER, Exemption, RolloutPlan
from app.rollout.plans import load_plan_file
from app.rollout.services import department_figures, drill_down
from tests.factories import make_user
from tests.rollout.conftest import local

OCT31 = dt.date(2026, 10, 31)


def _input(tree, **changes) -> editing.PlanInput:
    data = editing.PlanInput(name_zh="新计划", name_en="New plan", certification_id=tree["plan"].certification_id,
                             starts_on=dt.date(2026, 9, 1), ends_on=dt.date(2026, 12, 31),
                             audience_ids=[tree["city"].id], milestones=[(dt.date(2026, 12, 31), "100")])
    for name, value in changes.items():
        setattr(data, name, value)
    return data


def _count(db, model) -> int:
    return db.session.execute(select(func.count()).select_from(model)).scalar_one()


def _events(db, action: str) -> list[AuditEvent]:
    return list(db.session.execute(select(AuditEvent).where(AuditEvent.action == action)).scalars())


def _no_enrolments(db):
    """The tree fixture enrols u1 and u2 by hand; start from none to see whom the plan enrols."""
    db.session.execute(Enrolment.__table__.delete())
    db.session.commit()


def _enrolments(db, plan_course_id) -> dict[int, dt.date]:
    return dict(db.session.execute(select(Enrolment.user_id, Enrolment.due_on)
                                   .where(Enrolment.course_id == plan_course_id)).all())


def test_every_problem_is_reported_by_field_and_nothing_is_written(db, tree):
    plans_before, events_before = _count(db, RolloutPlan), _count(db, AuditEvent)
    data = _input(tree, name_zh=" ", starts_on=dt.date(2026, 12, 1), ends_on=dt.date(2026, 11, 1), audience_ids=[],
                  exclusion_ids=[tree["officer"].department_id], due_rule=DUE_AFTER_HIRE, due_days=None,
                  milestones=[(dt.date(2026, 11, 1), "120"), (None, "50")], certification_id=None)
    with pytest.raises(editing.PlanInvalid) as caught:
        editing.save_plan(tree["admin"], data)
    errors = caught.value.errors
    assert {"name_zh", "certification", "ends_on", "audience", "exclusions", "due_days", "milestones-0-target",
            "milestones-1-due_on"} <= set(errors)
    db.session.rollback()
    assert (_count(db, RolloutPlan), _count(db, AuditEvent)) == (plans_before, events_before)


def test_milestones_outside_the_dates_or_decreasing_are_refused(db, tree):
    errors = editing.validate(_input(tree, milestones=[(dt.date(2026, 10, 1), "80"), (dt.date(2026, 11, 1), "60"),
                                                       (dt.date(2027, 1, 5), "100")]))
    assert "milestones" in errors and "milestones-2-due_on" in errors


def test_an_exclusion_must_lie_inside_the_audience(db, tree):
    errors = editing.validate(_input(tree, audience_ids=[tree["a"].id], exclusion_ids=[tree["b_off"].id]))
    assert list(errors) == ["exclusions"]
    assert editing.validate(_input(tree, audience_ids=[tree["a"].id], exclusion_ids=[tree["a_off"].id])) == {}


def test_save_creates_audits_and_assigns_then_a_second_save_changes_nothing(db, tree):
    result = editing.save_plan(tree["admin"], _input(tree), ip="10.0.0.1")
    db.session.commit()
    assert result.action == "created"
    created = _events(db, "rollout_plan.create")
    assert len(created) == 1 and created[0].actor_id == tree["admin"].id and created[0].target == f"plan:{result.plan.id}"
    assert created[0].ip == "10.0.0.1" and created[0].detail["source"] == "browser"
    # u1 u2 u3 u5 are eligible today (u4 is exempted from the other plan only, so counts here; u6 inactive)
    enrolled = _enrolments(db, tree["course"].id)
    assert {tree["users"][i].id for i in (1, 2, 3, 4, 5)} <= set(enrolled)
    assert tree["users"][6].id not in enrolled
    enrolments, events = _count(db, Enrolment), _count(db, AuditEvent)

    again = editing.save_plan(tree["admin"], editing.plan_input_of(result.plan), result.plan)
    db.session.commit()
    assert (again.action, again.changes, again.assigned.created) == ("unchanged", [], 0)
    assert (_count(db, Enrolment), _count(db, AuditEvent)) == (enrolments, events)


def test_an_update_names_what_changed_in_its_audit_event(db, tree):
    plan = editing.save_plan(tree["admin"], _input(tree)).plan
    data = editing.plan_input_of(plan)
    data.name_zh, data.exclusion_ids = "改名", [tree["b"].id]
    data.milestones = data.milestones + [(dt.date(2026, 10, 31), "50")]
    result = editing.save_plan(tree["admin"], data, plan)
    assert result.action == "updated" and set(result.changes) == {"name", "exclusions", "milestones"}
    assert _events(db, "rollout_plan.update")[0].detail["changes"] == result.changes


def test_exclusions_and_positions_narrow_who_is_eligible_and_enrolled(db, tree):
    for i in (1, 2):
        tree["users"][i].position = "科员"
    tree["users"][4].position = "科长"
    db.session.commit()
    _no_enrolments(db)
    plan = editing.save_plan(tree["admin"], _input(tree, exclusion_ids=[tree["b"].id], positions=["科员"])).plan
    db.session.commit()
    assert set(_enrolments(db, tree["course"].id)) == {tree["users"][1].id, tree["users"][2].id}
    result = drill_down(plan, tree["admin"], tree["city"].id, OCT31, status="all")
    assert {r["user"].staff_number for r in result.rows} == {"U1", "U2"}


def test_waves_and_relative_due_dates(db, tree):
    late = make_user(tree["b_off"], name="新人", staff_number="U9")
    late.created_at = local(12, 20)
    moved = make_user(tree["a_off"], name="调入", staff_number="U10")
    moved.created_at = local(1, 5)
    db.session.add(StaffTransfer(user_id=moved.id, from_department_id=tree["b_off"].id, to_department_id=tree["a_off"].id,
                                 effective_at=local(12, 25)))
    db.session.commit()
    wave = editing.WaveInput("试点", dt.date(2026, 9, 1), dt.date(2026, 10, 31), [tree["a"].id])
    plan = editing.save_plan(tree["admin"], _input(tree, waves=[wave], due_rule=DUE_AFTER_HIRE, due_days=30)).plan
    db.session.commit()
    due = _enrolments(db, tree["course"].id)
    u = tree["users"]
    # pilot wave (市财政局) due at its end; the rest at the plan's end; a late joiner 30 days after joining
    assert due[u[4].id] == dt.date(2026, 10, 31) and due[u[5].id] == dt.date(2026, 12, 31)
    assert due[late.id] == dt.date(2027, 1, 19)
    assert due[moved.id] == dt.date(2026, 10, 31)  # joined long ago: the rule never beats the wave's date
    assert editing.due_dates(plan)[u[3].id] == dt.date(2026, 12, 31)
    plan.due_rule = DUE_AFTER_TRANSFER
    assert editing.due_dates(plan)[moved.id] == dt.date(2027, 1, 24)  # 30 days after the move (local 12-25)


def test_reassign_after_adding_people_enrols_only_them(db, tree):
    plan = editing.save_plan(tree["admin"], _input(tree)).plan
    db.session.commit()
    before = _count(db, Enrolment)
    make_user(tree["a_off"], name="新", staff_number="U11")
    db.session.commit()
    assert editing.assign(plan).created == 1
    assert editing.assign(plan).created == 0
    assert _count(db, Enrolment) == before + 1


def test_an_exemption_takes_the_person_out_of_eligible_and_is_audited(db, tree):
    plan, officer, u1 = tree["plan"], tree["officer"], tree["users"][1]
    today = dt.date(2026, 11, 1)
    before = department_figures(plan, tree["admin"], today)[0].eligible
    editing.exempt(officer, plan, u1, "  借调到省厅 ")
    db.session.commit()
    row = db.session.execute(select(Exemption).where(Exemption.user_id == u1.id)).scalar_one()
    assert (row.reason, row.created_by_id) == ("借调到省厅", officer.id)
    event = _events(db, "rollout_plan.exempt")[0]
    assert (event.actor_id, event.target, event.detail) == (officer.id, f"user:{u1.id}",
                                                           {"plan": plan.id, "reason": "借调到省厅"})
    # as of a date after the exemption was recorded (now), u1 leaves the denominator
    later = dt.date.today() + dt.timedelta(days=1)
    assert department_figures(plan, tree["admin"], later)[0].eligible == before - 1
    assert editing.lift_exemption(officer, plan, u1) is True
    db.session.commit()
    assert department_figures(plan, tree["admin"], later)[0].eligible == before
    assert _events(db, "rollout_plan.lift_exemption")[0].detail["reason"] == "借调到省厅"
    assert editing.lift_exemption(officer, plan, u1) is False


def test_an_exemption_needs_a_reason_and_a_person_of_the_audience(db, tree):
    with pytest.raises(DomainError):
        editing.exempt(tree["officer"], tree["plan"], tree["users"][1], "   ")
    with pytest.raises(DomainError):
        editing.exempt(tree["officer"], tree["plan"], tree["officer"], "不在范围")
    db.session.rollback()
    assert _events(db, "rollout_plan.exempt") == []


def test_the_yaml_loader_saves_through_the_same_service(db, tree, tmp_path):
    path = tmp_path / "plan.yaml"
    path.write_text(textwrap.dedent(f"""\
        key: yaml-plan
        name: {{zh: 文件计划, en: File plan}}
        certification: TEST-CERT
        audience: [CITY]
        exclusions: [B]
        positions: []
        due: {{rule: after_hire, days: 60}}
        starts_on: 2026-09-01
        ends_on: 2026-12-31
        waves:
          - {{name: 试点, starts_on: 2026-09-01, ends_on: 2026-10-31, departments: [A-OFF]}}
        milestones:
          - {{due_on: 2026-12-31, target_percent: 100}}
        """), encoding="utf-8")
    summary = load_plan_file(path)
    db.session.commit()
    plan = db.session.get(RolloutPlan, summary.plan_id)
    assert [d.code for d in plan.exclusions] == ["B"] and (plan.due_rule, plan.due_days) == ("after_hire", 60)
    assert [w.name for w in plan.waves] == ["试点"]
    event = _events(db, "rollout_plan.create")[0]
    assert (event.actor_id, event.detail["source"], event.detail["key"]) == (None, "yaml", "yaml-plan")
    assert load_plan_file(path).action == "unchanged"


def test_the_yaml_loader_reports_service_errors_with_the_file_name(db, tree, tmp_path):
    from app.content.report import ContentError

    path = tmp_path / "bad.yaml"
    path.write_text(textwrap.dedent("""\
        key: bad-plan
        name: {zh: 坏计划}
        certification: TEST-CERT
        audience: [A]
        exclusions: [B-OFF]
        starts_on: 2026-09-01
        ends_on: 2026-12-31
        milestones:
          - {due_on: 2026-12-31, target_percent: 100}
        """), encoding="utf-8")
    with pytest.raises(ContentError) as caught:
        load_plan_file(path)
    assert any(str(path) in e and "exclusions" in e for e in caught.value.errors)


def test_grades_narrow_who_is_eligible(db, tree):
    tree["users"][3].grade = "科级"
    tree["users"][5].grade = "处级"
    db.session.commit()
    _no_enrolments(db)
    plan = editing.save_plan(tree["admin"], _input(tree, grades=["科级", " 科级 ", ""])).plan
    db.session.commit()
    assert plan.grades == ["科级"]
    assert set(_enrolments(db, tree["course"].id)) == {tree["users"][3].id}
    data = editing.plan_input_of(plan)
    data.grades = []
    assert editing.save_plan(tree["admin"], data, plan).changes == ["grades"]


def test_extra_courses_are_required_and_count_towards_completion(db, tree):
    from app.learning.models import Course

    extra = Course(slug="security-refresher", title_zh="年度保密复训", title_en="Security refresher")
    db.session.add(extra)
    db.session.commit()
    _no_enrolments(db)
    plan = editing.save_plan(tree["admin"], _input(tree, course_ids=[extra.id])).plan
    db.session.commit()
    assert [c.slug for c in plan.courses] == ["security-refresher"]
    assert tree["users"][3].id in _enrolments(db, extra.id) and tree["users"][3].id in _enrolments(db, tree["course"].id)
    # u1 u2 u3 hold the certificate by Oct 31, but none has finished the extra course: nobody is complete
    assert drill_down(plan, tree["admin"], tree["city"].id, OCT31, status="certified").total == 0
    # the admin's whole-city dashboard (set-based flags) applies the same rule
    assert {f.department.id: f.certified for f in _walk(department_figures(plan, tree["admin"], OCT31))}[
        tree["city"].id] == 0
    db.session.execute(Enrolment.__table__.update().where(Enrolment.user_id == tree["users"][3].id,
                                                          Enrolment.course_id == extra.id)
                       .values(completed_at=local(10, 30)))
    db.session.commit()
    done = drill_down(plan, tree["admin"], tree["city"].id, OCT31, status="certified")
    assert [r["user"].staff_number for r in done.rows] == ["U3"]
    assert {f.department.id: f.certified for f in _walk(department_figures(plan, tree["admin"], OCT31))}[
        tree["city"].id] == 1
    assert drill_down(plan, tree["admin"], tree["city"].id, dt.date(2026, 10, 29), status="certified").total == 0


def _walk(figures):
    """Every node of a department_figures forest."""
    for f in figures:
        yield f
        yield from _walk(f.children)


def test_audience_summary_counts_departments_people_and_exclusions(db, tree):
    """CITY's subtree holds CITY, A, A-OFF, B, B-OFF (5 departments) and the active U1–U5 (U6 left);
    excluding A cuts A and A-OFF (2 departments) with U1, U2, U4."""
    from app.rollout.editing import AudienceSummary, audience_summary
    city, a = tree["city"].id, tree["a"].id
    assert audience_summary([city], []) == AudienceSummary(departments=5, people=5, excluded=0)
    assert audience_summary([city], [a]) == AudienceSummary(departments=3, people=2, excluded=2)
    assert audience_summary([], []) == AudienceSummary(0, 0, 0)
    tree["users"][3].position = "处长"
    db.session.commit()
    assert audience_summary([city], [a], positions=["处长"]).people == 1


def test_the_plan_page_shows_the_summary_and_preview_saves_nothing(client, login_as, db, tree):
    from sqlalchemy import func, select as sql_select
    from app.rollout.models import RolloutPlan
    from tests.factories import csrf_token
    assert login_as(tree["admin"]).status_code == 302
    token = csrf_token(client, "/courses/")
    page = client.get(f"/admin/plans/{tree['plan'].id}/edit?lang=en").get_data(as_text=True)
    assert "Included: 5 departments, about 5 people; excluded: 0." in page
    before = db.session.execute(sql_select(func.count(RolloutPlan.id))).scalar_one()
    preview = client.post("/admin/plans/new", data={
        "csrf_token": token, "name_zh": "预览", "certification_id": str(tree["plan"].certification_id),
        "starts_on": "2026-09-01", "ends_on": "2026-12-31", "due_rule": "fixed", "audience": [str(tree["city"].id)],
        "exclude": [str(tree["a"].id)], "m-0-due_on": "2026-12-31", "m-0-target": "100", "preview": "1"})
    assert preview.status_code == 200
    assert "Included: 3 departments, about 2 people; excluded: 2." in preview.get_data(as_text=True)
    assert db.session.execute(sql_select(func.count(RolloutPlan.id))).scalar_one() == before
