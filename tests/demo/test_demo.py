"""Tests for app.demo.services: the demo city builder (departments, staff, accounts, plans, history)."""
from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal

import pytest
import time_machine
from sqlalchemy import func, select

from app.auth.models import OfficerScope, User
from app.certification.models import Certificate, Certification
from app.content.report import ContentError
from app.core.security import verify_password
from app.core.time import local_date_start_utc, local_today, utcnow
from app.demo import data
from app.demo.services import build_demo, demo_logins, has_users
from app.exams.models import FINISHED, Attempt, AttemptItem, Exam
from app.learning.models import Enrolment, Lesson, LessonProgress
from app.org.models import Department, DepartmentClosure
from app.questions.models import QuestionVersion
from app.questions.types import REGISTRY
from app.rollout.models import Exemption, RolloutPlan
from app.rollout.services import AT_RISK, BEHIND, ON_TRACK, department_figures, flatten

STAFF = 300
TWO = Decimal("0.01")


# The demo's dates are relative to today and its events fall on workdays, so what a small bureau has
# done by today moves with the weekday: with 300 people (a dozen in 市交通运输局) its standing
# against the target could flip from one day to the next (it read "on track" on Sundays). The demo is
# built and read on one fixed day (a Thursday, local noon); the clock runs on from there.
DEMO_NOW = dt.datetime(2026, 12, 3, 4, 0, tzinfo=dt.timezone.utc)


@pytest.fixture()
def demo(db):
    """A demo city of STAFF people built with the default seed on DEMO_NOW, committed; the test runs
    on that day too."""
    with time_machine.travel(DEMO_NOW, tick=True):
        build_demo(staff=STAFF)
        db.session.commit()
        yield db


def user(number: str) -> User:
    from app.extensions import db

    return db.session.execute(select(User).where(User.staff_number == number)).scalar_one()


def sec_plan() -> RolloutPlan:
    from app.extensions import db

    return db.session.execute(select(RolloutPlan).join(RolloutPlan.certification)
                              .where(Certification.code == "CSDS-SEC")).scalar_one()


def test_departments_form_a_deep_tree(demo):
    db = demo
    departments = db.session.execute(select(Department)).scalars().all()
    assert len(departments) >= 100
    by_id = {d.id: d for d in departments}
    roots = [d for d in departments if d.parent_id is None]
    assert [r.code for r in roots] == ["CITY"]
    # Depth is consistent with the parent links, and there are at least four levels (0–3).
    for d in departments:
        expected = 0 if d.parent_id is None else by_id[d.parent_id].depth + 1
        assert d.depth == expected
        if d.parent_id is not None:
            assert d.code.startswith(by_id[d.parent_id].code + "-")
    assert max(d.depth for d in departments) >= 3
    assert db.session.execute(select(func.max(DepartmentClosure.depth))).scalar_one() >= 3
    # The closure table holds every (ancestor, descendant) pair: one row per ancestor-or-self.
    assert db.session.execute(select(func.count()).select_from(DepartmentClosure)).scalar_one() == \
        sum(d.depth + 1 for d in departments)
    bureaus = [d for d in departments if d.depth == 1]
    assert len(bureaus) >= 25
    for bureau in bureaus:
        assert 3 <= len([d for d in departments if d.parent_id == bureau.id]) <= 6, bureau.name


def test_staff_numbers_positions_and_exemptions(demo):
    db = demo
    users = db.session.execute(select(User)).scalars().all()
    assert len(users) == STAFF
    numbers = [u.staff_number for u in users]
    assert len(set(numbers)) == STAFF
    for u in users:
        assert u.department_id is not None and u.name and u.position and u.grade
        assert u.staff_number in data.DEMO_PLACES or re.fullmatch(r"(19|20)\d{6}", u.staff_number)
    # One shared argon2id hash of the demo password.
    assert len({u.password_hash for u in users}) == 1
    assert users[0].password_hash.startswith("$argon2id$")
    assert verify_password(users[0].password_hash, data.DEMO_PASSWORD)
    # Every unit is headed first; below the heads, 科员 are the most common rank (a pyramid; at
    # 300 staff over ~190 units most people head their unit, so only the rank and file is compared).
    positions = defaultdict(int)
    for u in users:
        positions[u.position] += 1
    assert positions["局长"] == len(data.BUREAUS)
    assert positions["科员"] >= max(positions["副主任科员"], positions["主任科员"], positions["四级调研员"]) > 0
    assert any(not u.active for u in users)
    # Leavers left on a known day (issue 8's as-of figures count them until then), after joining and
    # before today; nobody active has a leaving date.
    today_start = local_date_start_utc(local_today())
    for u in users:
        assert (u.deactivated_at is None) == u.active, u.staff_number
        if not u.active:
            assert u.created_at < u.deactivated_at < today_start
    reasons = db.session.execute(select(Exemption.reason)).scalars().all()
    assert reasons and set(reasons) <= set(data.EXEMPTION_REASONS)


def test_demo_accounts_roles_and_learners(demo):
    db = demo
    admin, officer, officer2 = user("admin"), user("officer"), user("officer2")
    assert admin.is_admin and not officer.is_admin and not officer2.is_admin
    assert [s.department.code for s in officer.officer_scopes] == ["CITY-CZJ"]
    assert [s.department.code for s in officer2.officer_scopes] == ["CITY-JTJ"]
    assert db.session.execute(select(func.count()).select_from(OfficerScope)).scalar_one() == 2

    learner, learner2 = user("learner"), user("learner2")
    assert learner.department.code.startswith("CITY-CZJ-") and learner.active
    done = db.session.execute(select(func.count()).select_from(LessonProgress).where(
        LessonProgress.user_id == learner.id, LessonProgress.completed_at.is_not(None))).scalar_one()
    total = db.session.execute(select(func.count()).select_from(Lesson).join(Lesson.course)
                               .where(Lesson.active.is_(True), Lesson.course.has(slug="security-and-confidentiality"))
                               ).scalar_one()
    assert 0 < done < total
    assert db.session.execute(select(Certificate).where(Certificate.user_id == learner.id)).first() is None
    assert db.session.execute(select(Attempt).where(Attempt.user_id == learner.id)).first() is None
    for nobody in (learner2,):
        assert db.session.execute(select(LessonProgress).where(LessonProgress.user_id == nobody.id)).first() is None
    for demo_user in (admin, officer, officer2, learner, learner2):
        assert db.session.execute(select(Exemption).where(Exemption.user_id == demo_user.id)).first() is None

    lines = demo_logins()
    text = "\n".join(lines)
    for number in data.DEMO_PLACES:
        assert re.search(rf"^\s+{number}\s", text, re.M), number
    assert data.DEMO_PASSWORD in text and "市财政局" in text and "Finance Bureau" in text


def test_plans_milestones_and_enrolments(demo):
    db = demo
    today = local_today()
    plan = sec_plan()
    assert plan.name_zh == "2026年全市公务员数字技能全员轮训"
    assert [d.code for d in plan.audience] == ["CITY"]
    assert plan.starts_on == today - dt.timedelta(days=170) and plan.ends_on == today + dt.timedelta(days=130)
    dues = [m.due_on for m in plan.milestones]
    assert dues[0] < today < dues[1] and dues[-1] == plan.ends_on
    assert [int(m.target_percent) for m in plan.milestones] == [30, 80, 100]
    # Every active staff member but the exempted is enrolled in the security course with a due date.
    active = set(db.session.execute(select(User.id).where(User.active.is_(True))).scalars())
    exempted = set(db.session.execute(select(Exemption.user_id).where(Exemption.plan_id == plan.id)).scalars())
    assert exempted and exempted < active
    course_id = plan.certification.courses[0].id
    enrolled = set(db.session.execute(select(Enrolment.user_id).where(
        Enrolment.course_id == course_id, Enrolment.due_on.is_not(None))).scalars())
    assert enrolled == active - exempted

    pilot = db.session.execute(select(RolloutPlan).where(RolloutPlan.id != plan.id)).scalars().all()
    if db.session.execute(select(Certification).where(Certification.code == "CSDS-BASIC")).first():
        assert len(pilot) == 1
        assert pilot[0].starts_on < plan.starts_on
        assert sorted(d.code for d in pilot[0].audience) == sorted(f"CITY-{c}" for c in data.PILOT_BUREAUS)


def test_attempts_grade_to_their_items_and_certificates_follow_passes(demo):
    db = demo
    now = utcnow()
    attempts = db.session.execute(select(Attempt)).scalars().all()
    assert attempts
    items_by_attempt = defaultdict(list)
    for item in db.session.execute(select(AttemptItem)).scalars():
        items_by_attempt[item.attempt_id].append(item)
    versions = {v.id: v for v in db.session.execute(select(QuestionVersion)).scalars()}
    exams = {e.id: e for e in db.session.execute(select(Exam)).scalars()}
    per_candidate = defaultdict(list)
    for a in attempts:
        exam = exams[a.exam_id]
        items = items_by_attempt[a.id]
        assert a.state == FINISHED and a.finished_by == "candidate"
        assert len(items) == sum(row.count for row in exam.blueprint)
        assert sorted(i.position for i in items) == list(range(1, len(items) + 1))
        assert a.deadline_at == a.started_at + dt.timedelta(seconds=exam.time_limit_seconds)
        assert a.started_at < a.finished_at <= a.deadline_at < now
        for i in items:
            version = versions[i.question_version_id]
            fraction = REGISTRY[version.qtype].grade(version.spec, i.response)
            assert Decimal(i.fraction) == Decimal(str(round(fraction, 5)))
            assert Decimal(i.awarded) == (Decimal(i.points) * Decimal(str(fraction))).quantize(TWO, ROUND_HALF_UP)
        awarded = sum(Decimal(i.awarded) for i in items)
        maximum = sum(Decimal(i.points) for i in items)
        assert Decimal(a.points) == awarded and Decimal(a.max_points) == maximum
        assert Decimal(a.score) == (awarded * 100 / maximum).quantize(TWO, ROUND_HALF_UP)
        assert a.passed == (Decimal(a.score) >= Decimal(exam.pass_mark))
        per_candidate[(a.user_id, a.exam_id)].append(a)
    # Some fail; numbers run 1..n, at most the allowed attempts, nothing after a pass.
    assert any(not a.passed for a in attempts) and any(a.passed for a in attempts)
    assert any(len(v) > 1 and v[-1].passed for v in per_candidate.values())
    for (_user_id, exam_id), sitting in per_candidate.items():
        sitting.sort(key=lambda a: a.number)
        assert [a.number for a in sitting] == list(range(1, len(sitting) + 1))
        assert len(sitting) <= exams[exam_id].attempts_allowed
        assert all(not a.passed for a in sitting[:-1])
        assert all(x.finished_at < y.started_at for x, y in zip(sitting, sitting[1:]))

    certificates = db.session.execute(select(Certificate)).scalars().all()
    assert certificates
    by_id = {a.id: a for a in attempts}
    for cert in certificates:
        attempt = by_id[cert.attempt_id]
        assert attempt.user_id == cert.user_id and attempt.passed
        assert cert.issued_at == attempt.finished_at
        assert re.fullmatch(rf"{cert.certification.code}-\d{{4}}-{cert.id:06d}", cert.serial)
        assert re.fullmatch(r"[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}", cert.verification_code)
        assert (cert.expires_at is None) == (cert.certification.validity_months is None)
        assert cert.status == "certified"
        # Every course of the certification is completed (lessons done, exam passed) by issue time.
        for course in cert.certification.courses:
            enrolment = db.session.execute(select(Enrolment).where(
                Enrolment.user_id == cert.user_id, Enrolment.course_id == course.id)).scalar_one()
            assert enrolment.completed_at is not None and enrolment.completed_at <= cert.issued_at
            assert enrolment.credit_hours_awarded == course.credit_hours
    # Completed enrolments had every lesson finished before completion.
    lessons = defaultdict(set)
    for lesson_id, course_id in db.session.execute(select(Lesson.id, Lesson.course_id).where(Lesson.active.is_(True))):
        lessons[course_id].add(lesson_id)
    finished = defaultdict(dict)
    for user_id, lesson_id, completed_at in db.session.execute(
            select(LessonProgress.user_id, LessonProgress.lesson_id, LessonProgress.completed_at)):
        if completed_at is not None:
            finished[user_id][lesson_id] = completed_at
    for e in db.session.execute(select(Enrolment).where(Enrolment.completed_at.is_not(None))).scalars():
        assert lessons[e.course_id] <= set(finished[e.user_id])
        assert all(finished[e.user_id][lid] <= e.completed_at for lid in lessons[e.course_id])


def test_dashboard_shows_bureaus_on_track_and_behind(demo):
    db = demo
    plan = sec_plan()
    today = local_today()
    forest = department_figures(plan, user("admin"), today)
    assert len(forest) == 1 and forest[0].department.code == "CITY"
    bureaus = forest[0].children
    assert len(bureaus) >= 25
    statuses = {f.department.code: f.status for f in bureaus}
    assert ON_TRACK in statuses.values()
    assert BEHIND in statuses.values() or AT_RISK in statuses.values()
    assert statuses["CITY-CZJ"] == ON_TRACK
    assert statuses["CITY-JTJ"] in (BEHIND, AT_RISK)
    assert all(0 <= f.certified <= f.started <= f.eligible for f in flatten(forest))
    # An officer sees only their bureau's subtree.
    scoped = department_figures(plan, user("officer"), today)
    assert [f.department.code for f in scoped] == ["CITY-CZJ"]
    assert all(f.department.code.startswith("CITY-CZJ") for f in flatten(scoped))
    # Exempted staff leave the denominator.
    exempt = db.session.execute(select(func.count()).select_from(Exemption).where(Exemption.plan_id == plan.id)
                                ).scalar_one()
    active = db.session.execute(select(func.count()).select_from(User).where(User.active.is_(True))).scalar_one()
    assert forest[0].eligible == active - exempt


def _recount(db, plan, as_of):
    """The plan's figures counted in Python from plain rows, independently of the SQL aggregation:
    {department id: (eligible, started, certified, sat, passed)} over each department's subtree,
    and the set of eligible, uncertified user ids per department subtree."""
    from app.certification.models import certification_course
    from app.core.time import local_date_end_utc

    end = local_date_end_utc(as_of)
    parent = dict(db.session.execute(select(Department.id, Department.parent_id)).all())
    courses = set(db.session.execute(select(certification_course.c.course_id).where(
        certification_course.c.certification_id == plan.certification_id)).scalars())
    lessons = set(db.session.execute(select(Lesson.id).where(Lesson.course_id.in_(courses))).scalars())
    exams = set(db.session.execute(select(Exam.id).where(Exam.course_id.in_(courses))).scalars())
    audience = {d.id for d in plan.audience}
    exempt = set(db.session.execute(select(Exemption.user_id).where(Exemption.plan_id == plan.id,
                                                                    Exemption.created_at < end)).scalars())

    def ancestors(dept_id):
        while dept_id is not None:
            yield dept_id
            dept_id = parent[dept_id]

    started = {p.user_id for p in db.session.execute(select(LessonProgress)).scalars()
               if p.lesson_id in lessons and p.started_at < end}
    sat, passed = set(), set()
    for a in db.session.execute(select(Attempt).where(Attempt.exam_id.in_(exams))).scalars():
        if a.started_at < end:
            started.add(a.user_id)
        if a.state == FINISHED and a.finished_at < end:
            sat.add(a.user_id)
            if a.passed:
                passed.add(a.user_id)
    certified = {c.user_id for c in db.session.execute(select(Certificate)).scalars()
                 if c.certification_id == plan.certification_id and c.issued_at < end
                 and (c.revoked_at is None or c.revoked_at >= end) and (c.expires_at is None or c.expires_at >= end)}
    figures, unfinished = defaultdict(lambda: [0, 0, 0, 0, 0]), defaultdict(set)
    for u in db.session.execute(select(User).where(User.active.is_(True))).scalars():
        if (u.department_id is None or u.id in exempt or u.created_at >= end  # joined after the day shown
                or not audience & set(ancestors(u.department_id))):
            continue
        for dept_id in ancestors(u.department_id):
            row = figures[dept_id]
            for index, members in enumerate((None, started, certified, sat, passed)):
                row[index] += 1 if members is None else int(u.id in members)
            if u.id not in certified:
                unfinished[dept_id].add(u.id)
    return {k: tuple(v) for k, v in figures.items()}, unfinished


def test_dashboard_figures_and_drill_down_match_a_recount(demo):
    from app.rollout.services import unfinished_staff

    db = demo
    plan, today = sec_plan(), local_today()
    for as_of in (today, today - dt.timedelta(days=60)):
        expected, unfinished = _recount(db, plan, as_of)
        got = {f.department.id: (f.eligible, f.started, f.certified, f.sat, f.passed)
               for f in flatten(department_figures(plan, user("admin"), as_of))}
        assert got == expected
    # The officer's bureau: the same figures as the admin sees for it, and nothing else.
    bureau = db.session.execute(select(Department).where(Department.code == "CITY-CZJ")).scalar_one()
    scoped = {f.department.id: (f.eligible, f.started, f.certified, f.sat, f.passed)
              for f in flatten(department_figures(plan, user("officer"), as_of))}
    subtree = set(db.session.execute(select(DepartmentClosure.descendant_id).where(
        DepartmentClosure.ancestor_id == bureau.id)).scalars())
    assert scoped == {k: v for k, v in expected.items() if k in subtree}
    # Drill-down: exactly the eligible, uncertified staff of the subtree, those not started first.
    rows = unfinished_staff(plan, user("officer"), bureau.id, as_of, limit=10_000)
    assert {r["user"].id for r in rows} == unfinished[bureau.id]
    flags = [r["started"] for r in rows]
    assert flags == sorted(flags) and False in flags and True in flags
    assert unfinished_staff(plan, user("officer"), user("officer2").department_id, as_of) == []


def test_refuses_production_and_non_empty_databases(db, monkeypatch):
    assert not has_users()
    monkeypatch.setenv("CIVICSKILLS_ENV", "production")
    with pytest.raises(ContentError) as excinfo:
        build_demo(staff=STAFF)
    assert excinfo.value.errors == ["demo data is never built in a production database"]
    assert not has_users()
    monkeypatch.setenv("CIVICSKILLS_ENV", "testing")
    db.session.add(User(staff_number="20200001", name="张三"))
    db.session.flush()
    assert has_users()
    with pytest.raises(ContentError):
        build_demo(staff=STAFF)
    assert demo_logins() == []


def test_snapshot_served_figures_equal_the_live_ones_on_the_demo_city(demo):
    """Issue 7 item 10: the administrator's dashboard and city drill-down of today, served from today's
    snapshot, show exactly the live figures and lists on the demo city (every plan)."""
    from app.rollout.services import dashboard_figures, drill_down
    from app.rollout.trend import today_snapshot_job

    db = demo
    today = local_today()
    assert today_snapshot_job() > 0
    db.session.commit()
    admin = user("admin")
    shape = lambda forest: [(f.department.id, f.level, f.eligible, f.started, f.certified, f.sat, f.passed,  # noqa: E731
                             f.hours_met, f.target) for f in flatten(forest)]
    listing = lambda r: ([row["user"].id for row in r.rows], r.total, r.counts, r.positions)  # noqa: E731
    for plan in db.session.execute(select(RolloutPlan)).scalars():
        served = dashboard_figures(plan, admin, today)
        assert served.taken_at is not None
        live = department_figures(plan, admin, today)
        assert shape(served.forest) == shape(live)
        for root in (live[0].department.id, live[0].children[0].department.id):
            for args in ({}, {"status": "all", "sort": "department", "page": 2}, {"status": "in_progress"},
                         {"status": "certified", "descending": True}):
                from_snapshot = drill_down(plan, admin, root, today, **args)
                assert from_snapshot.taken_at is not None
                assert listing(from_snapshot) == listing(drill_down(plan, admin, root, today, live=True, **args)), args
