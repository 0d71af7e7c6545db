"""The grade kept of several attempts (highest | last | first | average) and the certification rule
built on it: a certificate when the kept grade reaches the pass mark after some attempt; a later,
worse attempt revokes nothing."""
import datetime as dt
from decimal import Decimal
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from app.certification.models import Certificate, Certification
from app.core.time import utcnow
from app.exams import kept
from app.exams.models import Attempt, BlueprintRow
from app.exams.review import start_refusal
from app.exams.services import finish_attempt, has_passed_course_exam, save_answer, start_attempt
from app.extensions import db as _db
from app.learning.models import Enrolment, Lesson
from app.learning.services import complete_lesson
from app.rollout.services import exam_grades
from tests.factories import make_exam_world, make_user, right_response, wrong_response


def attempts(*scores, extra=()):
    """Finished attempts numbered 1.. with these scores (percent), plus ``extra`` unfinished ones."""
    out = [SimpleNamespace(number=n, state="finished", score=Decimal(s)) for n, s in enumerate(scores, start=1)]
    return out + list(extra)


@pytest.mark.parametrize("method, expected", [("highest", "90"), ("last", "40"), ("first", "70"),
                                              ("average", "66.67")])
def test_kept_grade_by_method(method, expected):
    # attempts 70, 90, 40 (in this order); one in progress and one awaiting grading do not count
    others = [SimpleNamespace(number=4, state="in_progress", score=None),
              SimpleNamespace(number=5, state="awaiting_grading", score=None)]
    listed = attempts("70", "90", "40", extra=others)
    assert kept.kept_grade(listed, method) == Decimal(expected)
    assert kept.kept_grade(list(reversed(listed)), method) == Decimal(expected)  # by number, not list order
    assert kept.kept_grade([], method) is None


def test_unknown_method_is_an_error():
    with pytest.raises(ValueError):
        kept.kept_grade(attempts("70"), "best")
    with pytest.raises(ValueError):
        kept.reached_pass_mark(attempts("70"), "median", 60)


@pytest.mark.parametrize("method, scores, reached", [
    ("highest", ("40", "70"), True),
    ("last", ("80", "40"), True),      # reached after attempt 1; the worse attempt 2 does not undo it
    ("last", ("40", "50"), False),
    ("first", ("50", "90"), False),    # a later pass does not count
    ("first", ("60", "10"), True),
    ("average", ("50", "90"), True),   # mean 70 ≥ 60
    ("average", ("40", "70"), False),  # means 40, 55
    ("average", ("90", "10"), True),   # 90 after attempt 1
    ("average", ("59.99",), False),
])
def test_reached_pass_mark(method, scores, reached):
    assert kept.reached_pass_mark(attempts(*scores), method, Decimal(60)) is reached


# --- through grading: certificates ----------------------------------------------------------------

@pytest.fixture()
def world(db):
    """The tiny course (one lesson, done) with a certification; its exam draws three X1 questions worth
    50, 40 and 10 points, pass mark 60, five attempts."""
    course, exam = make_exam_world(attempts_allowed=5)
    exam.blueprint.clear()
    _db.session.flush()
    for position, points in enumerate(("50", "40", "10")):
        exam.blueprint.append(BlueprintRow(position=position, standard_item_id=exam.course.items[0].id,
                                           difficulty="easy", count=1, points=Decimal(points)))
    certification = Certification(code="KEPT", title_zh="证书", title_en="Certificate", courses=[course])
    _db.session.add(certification)
    user = make_user()
    _db.session.flush()
    lesson = _db.session.execute(select(Lesson).where(Lesson.course_id == course.id)).scalar_one()
    complete_lesson(user, lesson)
    _db.session.commit()
    return SimpleNamespace(course=course, exam=exam, user=user)


def sit(world, score: int) -> Attempt:
    """One attempt answered right exactly on the items whose points add up to ``score``
    (50 → the 50 item; 90 → 50 + 40; 60 → 50 + 10; 0 → none)."""
    wanted = {0: set(), 10: {10}, 40: {40}, 50: {50}, 60: {50, 10}, 90: {50, 40}, 100: {50, 40, 10}}[score]
    attempt = start_attempt(world.user, world.exam)
    for item in attempt.items:
        response = right_response(item) if int(item.points) in wanted else wrong_response(item)
        save_answer(attempt, item.position, response, item.revision)
    finish_attempt(attempt, by="candidate")
    _db.session.commit()
    assert attempt.score == Decimal(score)
    return attempt


def certificates(world) -> list[Certificate]:
    return list(_db.session.execute(select(Certificate).where(Certificate.user_id == world.user.id)).scalars())


def completed(world) -> bool:
    return _db.session.execute(select(Enrolment.completed_at).where(
        Enrolment.user_id == world.user.id, Enrolment.course_id == world.course.id)).scalar_one() is not None


def test_first_a_later_pass_does_not_certify(world):
    world.exam.grade_method = "first"
    _db.session.commit()
    sit(world, 50)
    second = sit(world, 90)
    assert second.passed is True                    # the attempt itself passed …
    assert certificates(world) == [] and not completed(world)  # … but the first attempt is the grade kept
    assert not has_passed_course_exam(world.user.id, world.course.id)
    assert kept.user_kept_grade(world.exam, world.user.id) == Decimal("50.00")


def test_average_50_then_90_certifies_with_the_mean_70(world):
    world.exam.grade_method = "average"
    _db.session.commit()
    sit(world, 50)
    assert certificates(world) == []
    second = sit(world, 90)
    assert kept.user_kept_grade(world.exam, world.user.id) == Decimal("70.00")
    issued = certificates(world)
    assert len(issued) == 1 and issued[0].attempt_id == second.id and completed(world)


def test_average_a_failed_attempt_can_lift_the_mean_over_the_pass_mark(world):
    world.exam.grade_method = "average"
    world.exam.allow_retake_after_pass = True
    _db.session.commit()
    sit(world, 100)   # certified at once (mean 100)
    assert len(certificates(world)) == 1
    sit(world, 0)     # mean 50: not revoked
    assert len(certificates(world)) == 1 and certificates(world)[0].is_valid


def test_average_the_retake_stays_open_until_the_mean_passes(world):
    world.exam.grade_method = "average"
    _db.session.commit()
    sit(world, 40)
    sit(world, 60)    # this attempt passed, the mean (50) did not: no certificate, a retake is allowed
    assert certificates(world) == [] and start_refusal(world.user, world.exam) is None
    third = sit(world, 90)  # mean 63.33
    assert [c.attempt_id for c in certificates(world)] == [third.id]
    assert start_refusal(world.user, world.exam).code == "passed"


@pytest.mark.parametrize("method", ["highest", "last"])
def test_highest_and_last_a_later_worse_attempt_revokes_nothing(world, method):
    world.exam.grade_method = method
    world.exam.allow_retake_after_pass = True
    _db.session.commit()
    passed = sit(world, 60)
    sit(world, 0)
    issued = certificates(world)
    assert [c.attempt_id for c in issued] == [passed.id] and issued[0].is_valid and completed(world)
    expected = {"highest": Decimal("60.00"), "last": Decimal("0.00")}[method]
    assert kept.user_kept_grade(world.exam, world.user.id) == expected


def test_person_record_grades_per_exam(world):
    world.exam.grade_method = "average"
    _db.session.commit()
    sit(world, 50)
    sit(world, 90)
    rows = list(_db.session.execute(select(Attempt).where(Attempt.user_id == world.user.id)).scalars())
    (grade,) = exam_grades(rows)
    assert (grade["method"], grade["kept"], grade["passed"], grade["finished"]) == ("average", Decimal("70.00"), True, 2)
