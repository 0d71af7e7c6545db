"""Issue 7: "attempts exhausted" and "overdue" at a past as-of date use the overrides and due dates in
force on that date, not today's (frozen clock; the tree of tests/rollout/conftest.py).

U7 (市财政局 › 办公室) failed both attempts the exam allows (10-20, 10-21). An officer grants an extra
attempt on 11-05: as of 10-31 U7 had no attempt left; as of 11-06 they had one.
U5 (joined 10-25) is enrolled on 10-26, due 11-10, and certified only on 11-20; the renewal job on
11-26 moves the enrolment's due date to the certificate's expiry (2027-01-31): as of 11-15 U5 was
overdue (due 11-10, not certified), whatever the date is now.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import time_machine
from sqlalchemy import select

from app.certification.models import Certificate
from app.certification.services import assign_due_renewals
from app.exams.models import FINISHED, Attempt, ExamOverride, ExamOverrideChange
from app.exams.overrides import grant_extra_attempt, remove_override, set_override
from app.learning.models import Enrolment, EnrolmentDueChange
from app.rollout.services import drill_down
from tests.factories import make_user
from tests.rollout.conftest import local

OCT31, NOV6, NOV15, NOV30 = dt.date(2026, 10, 31), dt.date(2026, 11, 6), dt.date(2026, 11, 15), dt.date(2026, 11, 30)


def _two_failed_attempts(db, tree):
    person = make_user(tree["a_off"], name="学员7", staff_number="U7")
    person.created_at = local(8, 1)
    for number, day in ((1, 20), (2, 21)):
        db.session.add(Attempt(exam_id=tree["exam"].id, user_id=person.id, number=number, state=FINISHED, seed=1,
                               started_at=local(10, day), deadline_at=local(10, day, 13),
                               finished_at=local(10, day, 12, 30), finished_by="candidate", max_points=Decimal(100),
                               points=Decimal(30), score=Decimal(30), passed=False))
    db.session.commit()
    return person


def _exhausted(tree, day):
    result = drill_down(tree["plan"], tree["admin"], tree["city"].id, day, status="all", exhausted=True)
    return [r["user"].staff_number for r in result.rows]


def test_an_extra_attempt_granted_later_does_not_count_for_an_earlier_date(db, tree):
    person = _two_failed_attempts(db, tree)
    with time_machine.travel(local(11, 5), tick=False):
        assert grant_extra_attempt(tree["admin"], tree["exam"], person, "停电") == 3
        db.session.commit()
    with time_machine.travel(local(12, 1), tick=False):
        assert _exhausted(tree, OCT31) == ["U7"]
        assert _exhausted(tree, NOV6) == []
        assert _exhausted(tree, NOV30) == []
    change = db.session.execute(select(ExamOverrideChange)).scalar_one()
    assert (change.user_id, change.attempts_before, change.attempts_after) == (person.id, None, 3)


def test_a_second_grant_counts_from_its_own_date(db, tree):
    person = _two_failed_attempts(db, tree)
    # A third failed attempt on 11-10 uses the first extra attempt; the second is granted on 11-20.
    with time_machine.travel(local(11, 5), tick=False):
        grant_extra_attempt(tree["admin"], tree["exam"], person, "停电")
        db.session.commit()
    db.session.add(Attempt(exam_id=tree["exam"].id, user_id=person.id, number=3, state=FINISHED, seed=1,
                           started_at=local(11, 10), deadline_at=local(11, 10, 13), finished_at=local(11, 10, 12, 30),
                           finished_by="candidate", max_points=Decimal(100), points=Decimal(30), score=Decimal(30),
                           passed=False))
    db.session.commit()
    with time_machine.travel(local(11, 20), tick=False):
        assert grant_extra_attempt(tree["admin"], tree["exam"], person, "再给一次") == 4
        db.session.commit()
    with time_machine.travel(local(12, 1), tick=False):
        assert _exhausted(tree, NOV6) == []          # 2 used of 3
        assert _exhausted(tree, NOV15) == ["U7"]     # 3 used of 3 (the fourth came on 11-20)
        assert _exhausted(tree, NOV30) == []         # 3 used of 4


def test_a_department_override_counts_only_from_when_it_was_set_and_until_it_was_removed(db, tree):
    _two_failed_attempts(db, tree)
    with time_machine.travel(local(11, 5), tick=False):
        override = set_override(tree["admin"], tree["exam"], department=tree["a"], attempts_allowed=3, reason="停电")
        db.session.commit()
    with time_machine.travel(local(11, 25), tick=False):
        remove_override(tree["admin"], override)
        db.session.commit()
    with time_machine.travel(local(12, 1), tick=False):
        assert _exhausted(tree, OCT31) == ["U7"]
        assert _exhausted(tree, NOV15) == []
        assert _exhausted(tree, NOV30) == ["U7"]
    assert db.session.execute(select(ExamOverride)).first() is None


def _late_certified_u5(db, tree):
    u5 = tree["users"][5]
    db.session.add(Enrolment(user_id=u5.id, course_id=tree["course"].id, source="plan", due_on=dt.date(2026, 11, 10),
                             created_at=local(10, 26), updated_at=local(10, 26)))
    cert_id = tree["plan"].certification_id
    db.session.add(Certificate(certification_id=cert_id, user_id=u5.id, serial="TEST-2026-000099",
                               verification_code="CODE00000099", issued_at=local(11, 20),
                               renewal_opens_at=local(11, 25),
                               expires_at=dt.datetime(2027, 1, 31, 4, tzinfo=dt.timezone.utc)))
    db.session.commit()
    return u5


def _overdue(tree, day):
    result = drill_down(tree["plan"], tree["admin"], tree["city"].id, day, status="all", overdue=True)
    return {r["user"].staff_number: r["due_on"] for r in result.rows}


def test_overdue_on_a_past_date_uses_the_due_date_in_force_then(db, tree):
    _late_certified_u5(db, tree)
    with time_machine.travel(local(11, 26), tick=False):
        assert assign_due_renewals() == 1
        db.session.commit()
    enrolment = db.session.execute(select(Enrolment).where(Enrolment.user_id == tree["users"][5].id)).scalar_one()
    assert enrolment.due_on == dt.date(2027, 1, 31)  # moved by the renewal
    change = db.session.execute(select(EnrolmentDueChange)).scalar_one()
    assert (change.enrolment_id, change.due_before) == (enrolment.id, dt.date(2026, 11, 10))
    with time_machine.travel(local(12, 1), tick=False):
        assert _overdue(tree, NOV15) == {"U5": dt.date(2026, 11, 10)}
        assert _overdue(tree, NOV30) == {}  # certified since 11-20
        row = next(r for r in drill_down(tree["plan"], tree["admin"], tree["city"].id, NOV30, status="all").rows
                   if r["user"].staff_number == "U5")
        assert row["due_on"] == dt.date(2027, 1, 31)  # the renewal date is in force after 11-26
