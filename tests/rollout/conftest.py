"""A small hand-built tree with a plan and dated events, for figure and drill-down tests.

    滨江市 (CITY)
    ├── 市财政局 (A) ── 办公室 (A-OFF): u1, u2, u4
    └── 市交通局 (B) ── 办公室 (B-OFF): u3, u5; u6 inactive

Plan: 2026-09-01 … 2026-12-31, audience CITY, one required course with one lesson and its exam.
All dates below are Asia/Shanghai local dates; a local day ends at 16:00 UTC.

    u1  lesson opened 10-01, finished 10-02; attempt 1 10-10 score 40 (fail); attempt 2 started
        10-15 23:30 local, finished 10-16 00:20 local, score 90 (pass); certificate 10-16 00:20 local;
        enrolled 09-01 due 12-31
    u2  lesson opened 10-16; attempt 10-17 score 80 (pass), certificate 10-17; enrolled 10-20 due 11-30
    u3  lesson opened 10-03; attempt 10-05 score 75 (pass), certificate 10-05
    u4  nothing; exempted on 10-20 (long leave)
    u5  joined (record created) 10-25; nothing else
    u6  inactive
    OFF-A  the officer of 市财政局, a member of 市委组织部 (another root, outside the audience)
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.certification.models import Certificate, Certification
from app.exams.models import FINISHED, Attempt
from app.learning.models import Enrolment, Lesson, LessonProgress
from app.rollout.models import Exemption, Milestone, RolloutPlan
from tests.factories import make_department, make_exam_world, make_user, utc


def local(month: int, day: int, hour: int = 12, minute: int = 0) -> dt.datetime:
    """A 2026 Asia/Shanghai wall-clock time as aware UTC (UTC+8, no DST)."""
    return utc(2026, month, day, hour, minute) - dt.timedelta(hours=8)


@pytest.fixture()
def tree(db):
    city = make_department("滨江市", code="CITY")
    a = make_department("市财政局", city, code="A")
    a_off = make_department("办公室", a, code="A-OFF")
    b = make_department("市交通局", city, code="B")
    b_off = make_department("办公室", b, code="B-OFF")
    course, exam = make_exam_world(attempts_allowed=2)
    lesson = db.session.execute(select(Lesson).where(Lesson.course_id == course.id)).scalars().first()
    cert = Certification(code="TEST-CERT", title_zh="测试合格证书", title_en="Test certificate", courses=[course])
    db.session.add(cert)
    db.session.flush()
    plan = RolloutPlan(name_zh="测试计划", name_en="Test plan", certification_id=cert.id,
                       starts_on=dt.date(2026, 9, 1), ends_on=dt.date(2026, 12, 31), audience=[city],
                       milestones=[Milestone(due_on=dt.date(2026, 12, 31), target_percent=100)])
    db.session.add(plan)
    db.session.flush()
    u = {i: make_user(dept, name=f"学员{i}", staff_number=f"U{i}")
         for i, dept in ((1, a_off), (2, a_off), (3, b_off), (4, a_off), (5, b_off))}
    u[6] = make_user(b_off, name="学员6", staff_number="U6", active=False)
    hr = make_department("市委组织部", code="HR")  # a second root, outside the plan's audience
    officer = make_user(hr, name="财政专员", staff_number="OFF-A", officer_of=[a])
    for user in u.values():
        user.created_at = local(8, 1)
    u[5].created_at = local(10, 25)
    officer.created_at = local(8, 1)
    serial = iter(range(1, 100))

    def attempt(user, number, start, finish, score):
        row = Attempt(exam_id=exam.id, user_id=user.id, number=number, state=FINISHED, seed=1, started_at=start,
                      deadline_at=start + dt.timedelta(hours=1), finished_at=finish, finished_by="candidate",
                      max_points=Decimal(100), points=Decimal(score), score=Decimal(score), passed=score >= 60)
        db.session.add(row)
        return row

    def certificate(user, at):
        n = next(serial)
        db.session.add(Certificate(certification_id=cert.id, user_id=user.id, serial=f"TEST-2026-{n:06d}",
                                   verification_code=f"CODE{n:08d}", issued_at=at))

    db.session.add_all([
        LessonProgress(user_id=u[1].id, lesson_id=lesson.id, started_at=local(10, 1), completed_at=local(10, 2)),
        LessonProgress(user_id=u[2].id, lesson_id=lesson.id, started_at=local(10, 16), completed_at=local(10, 16, 13)),
        LessonProgress(user_id=u[3].id, lesson_id=lesson.id, started_at=local(10, 3), completed_at=local(10, 3, 13)),
        Enrolment(user_id=u[1].id, course_id=course.id, source="plan", due_on=dt.date(2026, 12, 31),
                  created_at=local(9, 1), updated_at=local(9, 1)),
        Enrolment(user_id=u[2].id, course_id=course.id, source="plan", due_on=dt.date(2026, 11, 30),
                  created_at=local(10, 20), updated_at=local(10, 20)),
        Exemption(plan_id=plan.id, user_id=u[4].id, reason="长期病假", created_at=local(10, 20)),
    ])
    attempt(u[1], 1, local(10, 10), local(10, 10, 12, 40), 40)
    attempt(u[1], 2, local(10, 15, 23, 30), local(10, 16, 0, 20), 90)
    certificate(u[1], local(10, 16, 0, 20))
    attempt(u[2], 1, local(10, 17), local(10, 17, 12, 30), 80)
    certificate(u[2], local(10, 17, 12, 30))
    attempt(u[3], 1, local(10, 5), local(10, 5, 12, 30), 75)
    certificate(u[3], local(10, 5, 12, 30))
    db.session.commit()
    return {"plan": plan, "city": city, "a": a, "a_off": a_off, "b": b, "b_off": b_off, "users": u,
            "officer": officer, "admin": make_admin(db), "course": course, "exam": exam}


def make_admin(db):
    admin = make_user(None, name="管理员", staff_number="ADMIN", is_admin=True)
    db.session.commit()
    return admin
