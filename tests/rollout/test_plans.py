"""Rollout plans loaded from YAML files (app.rollout.plans) and the `flask rollout` commands."""
from __future__ import annotations

import datetime as dt
import re
import textwrap
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.auth.models import User
from app.content.report import ContentError
from app.learning.models import Course, Enrolment
from app.rollout.models import Exemption, Milestone, RolloutPlan
from app.rollout.plans import CREATED, UNCHANGED, UPDATED, load_plan_file
from app.core.time import local_today
from app.rollout.services import department_figures
from tests.factories import make_department, make_user

ROOT = Path(__file__).resolve().parents[2]

GOOD = """\
key: 2026-security
name: {zh: 2026年全市网络安全与保密全员培训, en: 2026 City-wide Security Training}
certification: CSDS-SEC
audience: [CITY]
starts_on: 2026-06-01
ends_on: 2026-12-31
milestones:
  - {due_on: 2026-06-30, target_percent: 80}
  - {due_on: 2026-12-31, target_percent: 100}
exemptions:
  - {staff_number: "20190123", reason: 长期病假}
active: true
"""


@pytest.fixture()
def org(db, content):
    """CITY → CITY-A → CITY-A-1 and CITY-B; five active staff, one inactive, one admin without a department."""
    city = make_department("滨江市", code="CITY")
    bureau_a = make_department("市财政局", city, code="CITY-A")
    section = make_department("预算处", bureau_a, code="CITY-A-1")
    bureau_b = make_department("市交通局", city, code="CITY-B")
    staff = {
        "20190123": make_user(city, staff_number="20190123"),
        "20200001": make_user(bureau_a, staff_number="20200001"),
        "0123": make_user(section, staff_number="0123"),
        "20210002": make_user(section, staff_number="20210002"),
        "20220003": make_user(bureau_b, staff_number="20220003"),
    }
    make_user(bureau_b, staff_number="20100009", active=False)
    admin = make_user(None, staff_number="admin", is_admin=True)
    db.session.commit()
    return {"city": city, "a": bureau_a, "section": section, "b": bureau_b, "staff": staff, "admin": admin}


@pytest.fixture()
def write(tmp_path):
    """``write(text, name="plan.yaml")`` writes a YAML file and returns its path."""

    def _write(text: str, name: str = "plan.yaml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    return _write


@pytest.fixture()
def cli(app):
    """A CLI runner on the app, which registers the ``rollout`` group itself."""
    assert "rollout" in app.cli.commands
    return app.test_cli_runner()


def counts(db) -> tuple[int, int, int, int]:
    """(plans, milestones, exemptions, enrolments)."""
    return tuple(db.session.execute(select(func.count()).select_from(model)).scalar_one()
                 for model in (RolloutPlan, Milestone, Exemption, Enrolment))


def sec_course_id(db) -> int:
    return db.session.execute(select(Course.id).where(Course.slug == "security-and-confidentiality")).scalar_one()


def test_good_file_creates_plan_milestones_exemptions_and_enrolments(db, org, write):
    summary = load_plan_file(write(GOOD))
    db.session.commit()

    assert (summary.key, summary.action, summary.milestones, summary.exemptions) == ("2026-security", CREATED, 2, 1)
    # The five active staff but the exempted one; inactive and department-less staff are not enrolled either.
    assert summary.new_enrolments == 4
    plan = db.session.execute(select(RolloutPlan).where(RolloutPlan.key == "2026-security")).scalar_one()
    assert plan.name_zh == "2026年全市网络安全与保密全员培训" and plan.name_en == "2026 City-wide Security Training"
    assert plan.certification.code == "CSDS-SEC"
    assert (plan.starts_on, plan.ends_on, plan.active) == (dt.date(2026, 6, 1), dt.date(2026, 12, 31), True)
    assert [d.code for d in plan.audience] == ["CITY"]
    assert [(m.due_on, Decimal(m.target_percent)) for m in plan.milestones] == [
        (dt.date(2026, 6, 30), Decimal(80)), (dt.date(2026, 12, 31), Decimal(100))]
    exemption = db.session.execute(select(Exemption)).scalar_one()
    assert (exemption.plan_id, exemption.user_id, exemption.reason) == (
        plan.id, org["staff"]["20190123"].id, "长期病假")
    enrolments = db.session.execute(select(Enrolment)).scalars().all()
    assert {e.user_id for e in enrolments} == {u.id for u in org["staff"].values()} - {exemption.user_id}
    assert {(e.course_id, e.due_on, e.source) for e in enrolments} == {(sec_course_id(db), plan.ends_on, "plan")}


def test_second_load_is_unchanged_and_creates_nothing(db, org, write):
    path = write(GOOD)
    load_plan_file(path)
    db.session.commit()
    before = counts(db)
    updated_at = db.session.execute(select(RolloutPlan.updated_at)).scalar_one()

    summary = load_plan_file(path)
    db.session.commit()

    assert (summary.action, summary.changes, summary.new_enrolments) == (UNCHANGED, [], 0)
    assert counts(db) == before
    assert db.session.execute(select(RolloutPlan.updated_at)).scalar_one() == updated_at


def test_staff_who_join_later_are_enrolled_on_the_next_load(db, org, write):
    path = write(GOOD)
    load_plan_file(path)
    newcomer = make_user(org["b"], staff_number="20260001")
    db.session.commit()

    summary = load_plan_file(path)

    assert (summary.action, summary.new_enrolments) == (UNCHANGED, 1)
    assert db.session.execute(select(Enrolment.due_on).where(Enrolment.user_id == newcomer.id)).scalar_one() \
        == dt.date(2026, 12, 31)


def test_editing_a_milestone_updates_it_in_place(db, org, write):
    load_plan_file(write(GOOD))
    db.session.commit()
    first = db.session.execute(select(Milestone.id).where(Milestone.due_on == dt.date(2026, 6, 30))).scalar_one()

    summary = load_plan_file(write(GOOD.replace("target_percent: 80", "target_percent: 62.5")))
    db.session.commit()

    assert (summary.action, summary.changes) == (UPDATED, ["milestones"])
    rows = db.session.execute(select(Milestone.id, Milestone.due_on, Milestone.target_percent)
                              .order_by(Milestone.due_on)).all()
    assert [(r.due_on, Decimal(r.target_percent)) for r in rows] == [
        (dt.date(2026, 6, 30), Decimal("62.5")), (dt.date(2026, 12, 31), Decimal(100))]
    assert rows[0].id == first
    assert db.session.execute(select(func.count()).select_from(RolloutPlan)).scalar_one() == 1


def test_milestones_and_exemptions_become_exactly_the_files(db, org, write):
    load_plan_file(write(GOOD))
    db.session.commit()
    edited = GOOD.replace(
        "  - {due_on: 2026-06-30, target_percent: 80}\n",
        "  - {due_on: 2026-07-31, target_percent: 60}\n  - {due_on: 2026-09-30, target_percent: 90}\n",
    ).replace(
        '  - {staff_number: "20190123", reason: 长期病假}\n',
        "  - {staff_number: \"20190123\", reason: 借调外单位}\n  - {staff_number: 0123, reason: 新入职（宽限期内）}\n",
    ).replace("name: {zh: 2026年全市网络安全与保密全员培训,", "name: {zh: 2026年全市网络安全与保密轮训,")

    summary = load_plan_file(write(edited))
    db.session.commit()

    assert summary.action == UPDATED and summary.changes == ["name", "milestones", "exemptions"]
    assert (summary.milestones, summary.exemptions) == (3, 2)
    assert [m.due_on.isoformat() for m in db.session.execute(
        select(Milestone).order_by(Milestone.due_on)).scalars()] == ["2026-07-31", "2026-09-30", "2026-12-31"]
    # Unquoted 0123 is the staff number as written, not YAML's octal 83.
    assert dict(db.session.execute(select(Exemption.user_id, Exemption.reason)).all()) == {
        org["staff"]["20190123"].id: "借调外单位", org["staff"]["0123"].id: "新入职（宽限期内）"}

    summary = load_plan_file(write(GOOD.replace("exemptions:\n", "").replace(
        '  - {staff_number: "20190123", reason: 长期病假}\n', "")))
    assert summary.exemptions == 0
    assert db.session.execute(select(func.count()).select_from(Exemption)).scalar_one() == 0


def test_exempted_staff_leave_the_dashboard_denominator(db, org, write):
    path = write(GOOD.replace("exemptions:\n", "").replace('  - {staff_number: "20190123", reason: 长期病假}\n', ""))
    load_plan_file(path)
    db.session.commit()
    plan = db.session.execute(select(RolloutPlan)).scalar_one()
    as_of = local_today()  # figures count staff and exemptions recorded by the end of the day shown
    [city] = department_figures(plan, org["admin"], as_of)
    assert city.eligible == 5

    load_plan_file(write(GOOD))
    db.session.commit()

    [city] = department_figures(plan, org["admin"], as_of)
    assert city.eligible == 4
    bureau_b = next(f for f in city.children if f.department.code == "CITY-B")
    assert bureau_b.eligible == 1  # the inactive member never counted


def test_audience_is_department_subtrees(db, org, write):
    summary = load_plan_file(write(GOOD.replace("audience: [CITY]", "audience: [CITY-A]")
                                   .replace('"20190123"', '"20200001"')))
    assert summary.new_enrolments == 2  # CITY-A and its section CITY-A-1, less the exempted 20200001
    enrolled = set(db.session.execute(select(Enrolment.user_id)).scalars())
    assert enrolled == {org["staff"][n].id for n in ("0123", "20210002")}


def test_exemption_outside_the_audience_is_a_warning(db, org, write):
    summary = load_plan_file(write(GOOD.replace("audience: [CITY]", "audience: [CITY-B]")))
    assert summary.exemptions == 1
    assert any("not in the plan's audience: 20190123" in w for w in summary.warnings)


def test_inactive_plan_enrols_nobody(db, org, write):
    summary = load_plan_file(write(GOOD.replace("active: true", "active: false")))
    assert (summary.action, summary.new_enrolments) == (CREATED, 0)
    assert db.session.execute(select(func.count()).select_from(Enrolment)).scalar_one() == 0


BAD = """\
key: 2026-security
name: {zh: 2026年全市网络安全与保密全员培训, en: 2026 City-wide Security Training}
certification: CSDS-NOPE
audience: [CITY, NOWHERE]
starts_on: 2026-06-01
ends_on: 2026-12-31
milestones:
  - {due_on: 2026-05-31, target_percent: 20}
  - {due_on: 2026-09-30, target_percent: 120}
  - {due_on: 2026-10-31, target_percent: 70}
  - {due_on: 2026-11-30, target_percent: 60}
  - {due_on: 2026-10-31, target_percent: 75}
  - {due_on: 2027-01-31, target_percent: 100}
exemptions:
  - {staff_number: "99999999", reason: 借调}
  - {staff_number: "20190123", reason: ""}
active: true
"""


def _assert_rejected(db, path: Path, expected: list[str]) -> list[str]:
    before = counts(db)
    with pytest.raises(ContentError) as caught:
        load_plan_file(path)
    db.session.rollback()
    assert counts(db) == before
    errors = caught.value.errors
    for fragment in expected:
        assert any(fragment in line for line in errors), f"{fragment!r} not in {errors}"
    assert all(line.startswith(f"{path}") for line in errors)
    return errors


def test_every_validation_error_names_file_line_and_field_and_changes_nothing(db, org, write):
    path = write(BAD)
    errors = _assert_rejected(db, path, [
        f"{path}:3: field 'certification': unknown certification 'CSDS-NOPE'",
        f"{path}:4: field 'audience[1]': unknown department 'NOWHERE'",
        f"{path}:8: field 'milestones[0].due_on': 2026-05-31 is before the plan starts (2026-06-01)",
        f"{path}:9: field 'milestones[1].target_percent': must be from 0 to 100",
        f"{path}:11: field 'milestones[3].target_percent': targets may not decrease over time",
        f"{path}:12: field 'milestones[4].due_on': another milestone is already due on 2026-10-31",
        f"{path}:13: field 'milestones[5].due_on': 2027-01-31 is after the plan ends (2026-12-31)",
        f"{path}:15: field 'exemptions[0].staff_number': unknown staff number '99999999'",
        f"{path}:16: field 'exemptions[1].reason': an exemption needs a reason",
    ])
    assert len(errors) == 9


def test_errors_leave_an_existing_plan_untouched(db, org, write):
    load_plan_file(write(GOOD))
    db.session.commit()
    _assert_rejected(db, write(GOOD.replace("ends_on: 2026-12-31", "ends_on: 2026-05-01")),
                     ["field 'ends_on': 2026-05-01 is before starts_on (2026-06-01)"])
    plan = db.session.execute(select(RolloutPlan)).scalar_one()
    assert plan.ends_on == dt.date(2026, 12, 31)


@pytest.mark.parametrize("text, expected", [
    (GOOD.replace("audience: [CITY]", "audience: []"), ":4: field 'audience': must be a non-empty list"),
    (GOOD.replace("key: 2026-security\n", ""), ": field 'key': is required"),
    (GOOD.replace("key: 2026-security", "key: 2026 security"), ":1: field 'key': must be 1–80 letters"),
    (GOOD.replace("starts_on: 2026-06-01", "starts_on: 2026-06-31"), ":5: field 'starts_on': must be a date"),
    (GOOD.replace("target_percent: 80", "target_percent: eighty"),
     ":8: field 'milestones[0].target_percent': must be a number from 0 to 100"),
    (GOOD.replace("target_percent: 80", "target_percent: 80.125"),
     ":8: field 'milestones[0].target_percent': may have at most two decimals"),
    (GOOD.replace("  - {due_on: 2026-06-30, target_percent: 80}\n", "  - {due_on: 2026-06-30}\n"),
     ":8: field 'milestones[0].target_percent': is required"),
    (GOOD.replace("active: true", "active: yes please"), ":12: field 'active': must be true or false"),
    (GOOD.replace("active: true", "activ: true"), ":12: field 'activ': unknown field"),
    (GOOD + "key: other\n", ":13: field 'key': is given twice"),
    (GOOD.replace('reason: 长期病假}', 'reason: 长期病假}\n  - {staff_number: "20190123", reason: 借调}'),
     ":12: field 'exemptions[1].staff_number': staff number '20190123' is exempted twice"),
    (GOOD.replace("audience: [CITY]", "audience: [CITY, CITY]"),
     ":4: field 'audience[1]': department 'CITY' is listed twice"),
    (GOOD.replace("name: {zh: 2026年全市网络安全与保密全员培训,", "name: {zh: '',"),
     ":2: field 'name.zh': the Chinese name"),
    (GOOD.replace("ends_on: 2026-12-31", "ends_on: 2026-12-31 17:00:00"), ":6: field 'ends_on': must be a date"),
    ("- just\n- a list\n", ": expected one plan"),
    ("", ": expected one plan"),
])
def test_each_validation_error(db, org, write, text, expected):
    path = write(text)
    _assert_rejected(db, path, [f"{path}{expected}"])


def test_yaml_syntax_error_has_its_line(db, org, write):
    path = write(GOOD.replace("target_percent: 100}", "target_percent: 100"))
    [error] = _assert_rejected(db, path, ["YAML syntax error"])
    assert re.match(rf"{re.escape(str(path))}:(9|10): YAML syntax error", error), error


def test_shipped_examples_load_together(db, content):
    """docs/examples: departments.csv, then staff.csv, then the plan, as the README's production steps."""
    from app.org.imports import import_departments, import_staff

    import_departments(ROOT / "docs" / "examples" / "departments.csv")
    import_staff(ROOT / "docs" / "examples" / "staff.csv", default_password="changeme-2026")
    summary = load_plan_file(ROOT / "docs" / "examples" / "plan-2026-security.yaml")
    db.session.commit()
    active = db.session.execute(select(func.count()).select_from(User).where(
        User.active.is_(True), User.department_id.is_not(None))).scalar_one()
    assert (summary.action, summary.milestones, summary.exemptions) == (CREATED, 3, 1)
    assert summary.new_enrolments == active - 1  # everyone active in the city but the exempted 0010006
    exempted = db.session.execute(select(User).where(User.staff_number == "0010006")).scalar_one()
    assert db.session.execute(select(Enrolment).where(Enrolment.user_id == exempted.id)).first() is None


def test_cli_load_plan_dry_run_then_load_then_list(db, org, write, cli):
    path = write(GOOD)

    result = cli.invoke(args=["rollout", "load-plan", str(path), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "dry run: plan 2026-security: created" in result.output and "nothing was written" in result.output
    assert counts(db) == (0, 0, 0, 0)

    result = cli.invoke(args=["rollout", "load-plan", str(path)])
    assert result.exit_code == 0, result.output
    assert "plan 2026-security: created; 2 milestone(s), 1 exemption(s), 4 new enrolment(s)" in result.output
    assert counts(db) == (1, 2, 1, 4)

    result = cli.invoke(args=["rollout", "load-plan", str(path)])
    assert "plan 2026-security: unchanged; 2 milestone(s), 1 exemption(s), 0 new enrolment(s)" in result.output

    result = cli.invoke(args=["rollout", "list-plans"])
    assert result.exit_code == 0, result.output
    assert "2026-security  2026年全市网络安全与保密全员培训  CSDS-SEC  2026-06-01 → 2026-12-31  active" in result.output
    assert "milestones: 2026-06-30 80 %, 2026-12-31 100 %" in result.output
    assert "4 eligible, 0 certified (0.0 %)" in result.output


def test_cli_load_plan_errors_go_to_stderr_and_exit_1(db, org, write, cli):
    path = write(BAD)
    result = cli.invoke(args=["rollout", "load-plan", str(path)])
    assert result.exit_code == 1
    assert f"{path}:3: field 'certification': unknown certification 'CSDS-NOPE'" in result.stderr
    assert "9 error(s); nothing was changed." in result.stderr
    assert counts(db) == (0, 0, 0, 0)
