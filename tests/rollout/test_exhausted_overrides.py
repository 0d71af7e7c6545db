""""All exam attempts used" in the drill-down honours extra attempts granted by a person override
and by a department override (the same rule as exams.services.candidate_settings)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from app.exams.models import FINISHED, Attempt, ExamOverride
from app.rollout.services import drill_down
from tests.factories import make_user
from tests.rollout.conftest import local

OCT31 = dt.date(2026, 10, 31)


def _two_failed_attempts(db, tree):
    """U7 in 市财政局 › 办公室 used both allowed attempts (the exam allows 2) and passed neither."""
    person = make_user(tree["a_off"], name="学员7", staff_number="U7")
    person.created_at = local(8, 1)
    for number, day in ((1, 20), (2, 21)):
        db.session.add(Attempt(exam_id=tree["exam"].id, user_id=person.id, number=number, state=FINISHED, seed=1,
                               started_at=local(10, day), deadline_at=local(10, day, 13), finished_at=local(10, day, 12, 30),
                               finished_by="candidate", max_points=Decimal(100), points=Decimal(30),
                               score=Decimal(30), passed=False))
    db.session.commit()
    return person


def _exhausted(tree):
    result = drill_down(tree["plan"], tree["admin"], tree["city"].id, OCT31, status="all", exhausted=True)
    return [r["user"].staff_number for r in result.rows]


def test_without_an_override_two_failed_attempts_exhaust_the_exam(db, tree):
    _two_failed_attempts(db, tree)
    assert _exhausted(tree) == ["U7"]


def test_a_department_override_with_more_attempts_means_not_exhausted(db, tree):
    _two_failed_attempts(db, tree)
    # granted on the bureau (市财政局), an ancestor of the person's department
    db.session.add(ExamOverride(exam_id=tree["exam"].id, department_id=tree["a"].id, attempts_allowed=3, reason="停电"))
    db.session.commit()
    assert _exhausted(tree) == []


def test_the_most_generous_department_override_counts(db, tree):
    _two_failed_attempts(db, tree)
    db.session.add_all([
        ExamOverride(exam_id=tree["exam"].id, department_id=tree["city"].id, attempts_allowed=2, reason="x"),
        ExamOverride(exam_id=tree["exam"].id, department_id=tree["a_off"].id, attempts_allowed=4, reason="y"),
    ])
    db.session.commit()
    assert _exhausted(tree) == []


def test_a_person_override_beats_a_department_override(db, tree):
    person = _two_failed_attempts(db, tree)
    db.session.add_all([
        ExamOverride(exam_id=tree["exam"].id, department_id=tree["a"].id, attempts_allowed=5, reason="x"),
        ExamOverride(exam_id=tree["exam"].id, user_id=person.id, attempts_allowed=2, reason="已补考"),
    ])
    db.session.commit()
    assert _exhausted(tree) == ["U7"]


def test_a_person_override_that_sets_only_the_time_falls_back_to_the_department(db, tree):
    person = _two_failed_attempts(db, tree)
    db.session.add_all([
        ExamOverride(exam_id=tree["exam"].id, department_id=tree["a"].id, attempts_allowed=3, reason="x"),
        ExamOverride(exam_id=tree["exam"].id, user_id=person.id, time_limit_seconds=3600, reason="y"),
    ])
    db.session.commit()
    assert _exhausted(tree) == []
