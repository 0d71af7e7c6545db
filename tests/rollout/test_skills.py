"""Skills map: share of exam points per department × standard item, worked out by hand.

    滨江市 (CITY)
    ├── 市财政局 (A) ─┬─ 预算处 (A1): p1 … p6
    │                └─ 综合处 (A2): q1 q2, q3 (left: inactive)
    └── 市交通局 (B): r1 (transferred here from A2: today's department counts)

Every attempt has two items: X1 worth 60 points and X2 worth 40. All finished 10-10 unless noted
(points earned X1 / X2):

    p1  10-10: 30 / 20; a second attempt 10-20: 60 / 30 (better, but after 10-12)
    p2  40 / 30     p3  60 / 0     p4  50 / 30     p5  60 / 40
    p6  20 / 20, exempted on 10-15
    q1, q2, q3  30 / 20           r1  60 / 40
    An officer watches A1 and B (two subtrees).
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.certification.models import Certification
from app.exams.models import FINISHED, Attempt, AttemptItem
from app.questions.models import QuestionVersion
from app.rollout.models import Exemption, Milestone, RolloutPlan
from app.rollout.skills import person_skills, skills_map
from app.standards.models import StandardItem
from tests.factories import make_department, make_exam_world, make_user, utc

OCT12, OCT31 = dt.date(2026, 10, 12), dt.date(2026, 10, 31)


def local(month, day, hour=12):
    return utc(2026, month, day, hour) - dt.timedelta(hours=8)


@pytest.fixture()
def skills_world(db):
    city = make_department("滨江市", code="CITY")
    a = make_department("市财政局", city, code="A")
    a1 = make_department("预算处", a, code="A1")
    a2 = make_department("综合处", a, code="A2")
    b = make_department("市交通局", city, code="B")
    course, exam = make_exam_world()
    x1 = db.session.execute(select(StandardItem).where(StandardItem.code == "X1")).scalar_one()
    x2 = StandardItem(standard_id=x1.standard_id, area_id=x1.area_id, code="X2", title_zh="文件备份",
                      title_en="Backups", level="basic", digcomp=[], position=1)
    db.session.add(x2)
    cert = Certification(code="SKILL-CERT", title_zh="技能证书", title_en="Skills certificate", courses=[course])
    db.session.add(cert)
    db.session.flush()
    plan = RolloutPlan(name_zh="技能计划", name_en="Skills plan", certification_id=cert.id,
                       starts_on=dt.date(2026, 9, 1), ends_on=dt.date(2026, 12, 31), audience=[city],
                       milestones=[Milestone(due_on=dt.date(2026, 12, 31), target_percent=100)])
    db.session.add(plan)
    version_id = db.session.execute(select(QuestionVersion.id)).scalars().first()
    people = {}
    for name, dept in [*((f"p{i}", a1) for i in range(1, 7)), ("q1", a2), ("q2", a2), ("q3", a2), ("r1", a2)]:
        people[name] = make_user(dept, name=f"学员{name}", staff_number=name.upper())
        people[name].created_at = local(8, 1)
    people["q3"].active = False  # left
    people["r1"].department_id = b.id  # transferred from 综合处 to 市交通局
    officer = make_user(a, name="两处专员", staff_number="OFF-2", officer_of=[a1, b])
    admin = make_user(None, name="管理员", staff_number="ADMIN", is_admin=True)
    db.session.flush()

    def attempt(person, number, finished, x1_points, x2_points):
        score = Decimal(x1_points + x2_points)
        row = Attempt(exam_id=exam.id, user_id=people[person].id, number=number, state=FINISHED, seed=1,
                      started_at=finished - dt.timedelta(minutes=30), deadline_at=finished, finished_at=finished,
                      finished_by="candidate", max_points=Decimal(100), points=score, score=score, passed=score >= 60)
        db.session.add(row)
        db.session.flush()
        db.session.add_all([
            AttemptItem(attempt_id=row.id, position=1, question_version_id=version_id, standard_item_id=x1.id,
                        points=Decimal(60), awarded=Decimal(x1_points), option_order=[]),
            AttemptItem(attempt_id=row.id, position=2, question_version_id=version_id, standard_item_id=x2.id,
                        points=Decimal(40), awarded=Decimal(x2_points), option_order=[]),
        ])

    for person, x1p, x2p in [("p1", 30, 20), ("p2", 40, 30), ("p3", 60, 0), ("p4", 50, 30), ("p5", 60, 40),
                             ("p6", 20, 20), ("q1", 30, 20), ("q2", 30, 20), ("q3", 30, 20), ("r1", 60, 40)]:
        attempt(person, 1, local(10, 10), x1p, x2p)
    attempt("p1", 2, local(10, 20), 60, 30)
    db.session.add(Exemption(plan_id=plan.id, user_id=people["p6"].id, reason="借调", created_at=local(10, 15)))
    db.session.commit()
    return {"plan": plan, "city": city, "a": a, "a1": a1, "a2": a2, "b": b, "x1": x1, "x2": x2, "people": people,
            "officer": officer, "admin": admin, "course": course}


def _table(result):
    codes = {item.id: item.code for item in result.items}
    return {row.department.code: (row.people, {codes[i]: (c.people, c.share) for i, c in row.cells.items()})
            for row in result.rows}


def test_skills_map_before_the_later_attempt_and_the_exemption(skills_world):
    w = skills_world
    got = _table(skills_map(w["plan"], w["admin"], OCT12))
    assert got == {
        # A1: p1 … p6 (p6 not yet exempted; p1's first attempt): X1 (30+40+60+50+60+20)/360 = 260/360 = 72.2 %,
        # X2 (20+30+0+30+40+20)/240 = 140/240 = 58.3 %
        "A1": (6, {"X1": (6, Decimal("72.2")), "X2": (6, Decimal("58.3"))}),
        # A2: q1 q2 (q3 left): two people, hidden
        "A2": (2, {"X1": (2, None), "X2": (2, None)}),
        # A: 8 people: X1 (260+60)/480 = 66.7 %, X2 (140+40)/320 = 56.25 → 56.3 %
        "A": (8, {"X1": (8, Decimal("66.7")), "X2": (8, Decimal("56.3"))}),
        "B": (1, {"X1": (1, None), "X2": (1, None)}),  # r1 alone: hidden
        # CITY: 9 people: X1 (320+60)/540 = 70.37 → 70.4 %, X2 (180+40)/360 = 61.1 %
        "CITY": (9, {"X1": (9, Decimal("70.4")), "X2": (9, Decimal("61.1"))}),
    }
    assert [row.department.code for row in skills_map(w["plan"], w["admin"], OCT12).rows] == ["CITY", "A", "A1", "A2", "B"]


def test_skills_map_later_uses_the_best_attempt_and_drops_the_exempted(skills_world):
    w = skills_world
    got = _table(skills_map(w["plan"], w["admin"], OCT31))
    # A1: p1 best is now 60/30; p6 exempted: X1 (60+40+60+50+60)/300 = 90.0 %, X2 (30+30+0+30+40)/200 = 65.0 %
    assert got["A1"] == (5, {"X1": (5, Decimal("90.0")), "X2": (5, Decimal("65.0"))})
    # A: 7 people: X1 330/420 = 78.57 → 78.6 %, X2 170/280 = 60.71 → 60.7 %
    assert got["A"] == (7, {"X1": (7, Decimal("78.6")), "X2": (7, Decimal("60.7"))})
    # CITY: 8 people: X1 390/480 = 81.25 → 81.3 %, X2 210/320 = 65.625 → 65.6 %
    assert got["CITY"] == (8, {"X1": (8, Decimal("81.3")), "X2": (8, Decimal("65.6"))})


def test_an_officer_with_two_subtrees_sees_only_them(skills_world):
    w = skills_world
    got = _table(skills_map(w["plan"], w["officer"], OCT31))
    assert set(got) == {"A1", "B"}
    assert got["A1"][1]["X1"] == (5, Decimal("90.0"))
    assert got["B"] == (1, {"X1": (1, None), "X2": (1, None)})
    # asking for departments outside scope returns nothing for them
    assert _table(skills_map(w["plan"], w["officer"], OCT31, department_ids=[w["a"].id, w["city"].id])) == {}


def test_a_person_record_shows_their_own_best_attempt_as_of_the_date(skills_world):
    w = skills_world
    p1 = w["people"]["p1"].id
    early = person_skills(w["plan"], w["admin"], p1, OCT12)
    assert _table(early) == {"A1": (1, {"X1": (1, Decimal("50.0")), "X2": (1, Decimal("50.0"))})}
    late = person_skills(w["plan"], w["admin"], p1, OCT31)
    assert _table(late) == {"A1": (1, {"X1": (1, Decimal("100.0")), "X2": (1, Decimal("75.0"))})}
    # outside an officer's scope: nothing (q1 is in A2, which the officer does not watch)
    assert person_skills(w["plan"], w["officer"], w["people"]["q1"].id, OCT31).rows == []


def test_skills_page_hides_small_cells_and_names_the_lessons(skills_world, client, login_as):
    w = skills_world
    login_as(w["admin"])
    html = client.get(f"/dashboard/skills?plan={w['plan'].id}&as_of=2026-10-31").get_data(as_text=True)
    assert "81.3" in html and "65.6" in html  # CITY row
    assert "78.6" in html  # A, a child of the city
    assert "第一课" in html or "Lesson one" in html  # the lesson of the course that teaches X1
    page = client.get(f"/dashboard/skills?plan={w['plan'].id}&as_of=2026-10-31&department={w['a'].id}")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "90.0" in body and "num skill-hidden" in body  # A1 shown, A2 hidden
    for bad in ("abc", "-1", "99999999999999999999"):
        assert client.get(f"/dashboard/skills?plan={w['plan'].id}&department={bad}").status_code == 400
    assert client.get(f"/dashboard/skills?plan={w['plan'].id}&department=999999").status_code == 404


def test_officer_cannot_open_the_skills_map_of_a_department_outside_scope(skills_world, client, login_as):
    w = skills_world
    login_as(w["officer"])
    assert client.get(f"/dashboard/skills?plan={w['plan'].id}&department={w['a2'].id}").status_code == 404
    html = client.get(f"/dashboard/skills?plan={w['plan'].id}&as_of=2026-10-31").get_data(as_text=True)
    assert "预算处" in html and "综合处" not in html and "滨江市" not in html


def test_person_record_shows_their_skills(skills_world, client, login_as):
    w = skills_world
    login_as(w["admin"])
    html = client.get(f"/dashboard/people/{w['people']['p1'].id}?plan={w['plan'].id}&as_of=2026-10-12").get_data(as_text=True)
    assert "50.0" in html
    html = client.get(f"/dashboard/people/{w['people']['p1'].id}?plan={w['plan'].id}&as_of=2026-10-31").get_data(as_text=True)
    assert "100.0" in html and "75.0" in html


def test_the_administrators_map_of_today_from_the_skills_snapshot(db, skills_world, client, login_as):
    """Today's snapshot job stores the whole city's map; an administrator's map of today is read from it
    (the same figures as counted now, for every department or a chosen few) until it is stale; a
    change after it shows only when counted again. Officers are always counted now."""
    import time_machine
    from sqlalchemy import update

    from app.rollout.models import SkillsSnapshot
    from app.rollout.services import discard_today_snapshot
    from app.rollout.trend import today_snapshot_job

    w = skills_world
    db.session.execute(update(RolloutPlan).where(RolloutPlan.id == w["plan"].id).values(updated_at=utc(2026, 8, 1))
                       .execution_options(synchronize_session=False))
    db.session.commit()
    noon = local(10, 31)
    with time_machine.travel(noon, tick=False):
        today_snapshot_job()
        db.session.commit()
        plan = db.session.get(RolloutPlan, w["plan"].id)
        live = skills_map(plan, w["admin"], OCT31)
        served = skills_map(plan, w["admin"], OCT31, served=True)
        assert live.taken_at is None and served.taken_at == noon
        assert _table(served) == _table(live) and [r.level for r in served.rows] == [r.level for r in live.rows]
        assert _table(served)["CITY"] == (8, {"X1": (8, Decimal("81.3")), "X2": (8, Decimal("65.6"))})
        few = [w["a"].id, w["a1"].id]
        assert _table(skills_map(plan, w["admin"], OCT31, few, served=True)) == _table(skills_map(plan, w["admin"], OCT31, few))
        assert skills_map(plan, w["officer"], OCT31, served=True).taken_at is None  # officers: counted now
        # A stored mark shows the page reads the snapshot; ?live=1 counts now.
        db.session.execute(update(SkillsSnapshot).where(SkillsSnapshot.department_id == w["city"].id,
                                                        SkillsSnapshot.item_id == w["x1"].id).values(earned=54))
        db.session.commit()
        login_as(w["admin"])
        html = client.get(f"/dashboard/skills?plan={plan.id}&lang=en").get_data(as_text=True)
        assert "Figures as of 2026-10-31 12:00" in html and "11.3" in html  # 54 / 480
        live_html = client.get(f"/dashboard/skills?plan={plan.id}&lang=en&live=1").get_data(as_text=True)
        assert "Figures as of" not in live_html and "81.3" in live_html
        discard_today_snapshot(plan)
        db.session.commit()
        assert skills_map(plan, w["admin"], OCT31, served=True).taken_at is None
        assert db.session.execute(select(SkillsSnapshot)).first() is None
