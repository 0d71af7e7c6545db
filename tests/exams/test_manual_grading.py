"""Essays: an attempt with one is "awaiting grading" (no pass, no certificate) until a person grades it;
then it is totalled, passed and certified once, however many graders race."""
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.certification.models import Certificate, Certification
from app.core.errors import DomainError
from app.exams import grading
from app.exams.models import AWAITING_GRADING, FINISHED, Attempt
from app.exams.services import finish_attempt, save_answer, start_attempt
from app.extensions import db
from app.learning.services import complete_lesson
from tests.exams.typesworld import RIGHT, make_types_world
from tests.factories import make_department, make_user


@pytest.fixture()
def sat(db):
    """A candidate who read the lesson, answered every question right and submitted."""
    course, exam = make_types_world()
    db.session.add(Certification(code="TYPES-CERT", title_zh="题型证书", title_en="Types certificate", courses=[course]))
    user = make_user(make_department())
    grader = make_user(make_department(), is_admin=True)
    for lesson in course.active_lessons:
        complete_lesson(user, lesson)
    attempt = start_attempt(user, exam)
    db.session.flush()
    for item in attempt.items:
        save_answer(attempt, item.position, RIGHT[item.question_version.qtype], item.revision)
    db.session.expire_all()
    finish_attempt(attempt, by="candidate")
    db.session.commit()
    return attempt.id, user, grader


def _essay_item(attempt_id):
    attempt = db.session.get(Attempt, attempt_id)
    return next(i for i in attempt.items if i.question_version.qtype == "essay")


def test_essay_holds_the_attempt_awaiting_grading_without_certificate(sat):
    attempt_id, user, _grader = sat
    attempt = db.session.get(Attempt, attempt_id)
    assert attempt.state == AWAITING_GRADING
    assert attempt.passed is None and attempt.score is None
    auto = [i for i in attempt.items if i.question_version.qtype != "essay"]
    assert all(i.awarded == Decimal("20.00") for i in auto)       # auto items graded at once
    assert _essay_item(attempt_id).awarded is None
    assert db.session.execute(select(Certificate).where(Certificate.user_id == user.id)).first() is None
    queue = grading.grading_queue()
    assert [i.id for g in queue for i in g.items] == [_essay_item(attempt_id).id]


def test_grading_the_essay_passes_and_certifies(sat):
    attempt_id, user, grader = sat
    item = _essay_item(attempt_id)
    assert grading.grade_response(item.id, grader.id, "１５.5", "提到了锁屏") is True
    db.session.commit()
    attempt = db.session.get(Attempt, attempt_id)
    assert attempt.state == FINISHED and attempt.passed is True
    assert attempt.points == Decimal("95.50") and attempt.score == Decimal("95.50")
    item = _essay_item(attempt_id)
    assert (item.graded_by_id, item.grade_note, item.fraction) == (grader.id, "提到了锁屏", Decimal("0.775"))
    assert item.graded_at is not None
    assert db.session.execute(select(Certificate).where(Certificate.user_id == user.id)).first() is not None
    assert grading.grading_queue() == []


def test_low_essay_mark_can_fail(sat):
    attempt_id, user, grader = sat
    # 80 from the auto items: pass mark 60 still passes with 0; make it fail by a strict pass mark
    attempt = db.session.get(Attempt, attempt_id)
    attempt.exam.pass_mark = Decimal("90")
    db.session.commit()
    grading.grade_response(_essay_item(attempt_id).id, grader.id, "0", "")
    db.session.commit()
    attempt = db.session.get(Attempt, attempt_id)
    assert (attempt.state, attempt.passed, attempt.score) == (FINISHED, False, Decimal("80.00"))
    assert db.session.execute(select(Certificate).where(Certificate.user_id == user.id)).first() is None


@pytest.mark.parametrize("mark", ["21", "-1", "abc", "", "NaN"])
def test_bad_mark_is_refused_and_changes_nothing(sat, mark):
    attempt_id, _user, grader = sat
    with pytest.raises(DomainError) as caught:
        grading.grade_response(_essay_item(attempt_id).id, grader.id, mark, "")
    assert caught.value.code == "bad_mark" and "mark" in caught.value.message
    db.session.rollback()
    assert _essay_item(attempt_id).graded_at is None
    assert db.session.get(Attempt, attempt_id).state == AWAITING_GRADING


def test_two_graders_finalise_once(sat):
    attempt_id, user, grader = sat
    other = make_user(make_department(), is_admin=True)
    db.session.commit()
    item_id = _essay_item(attempt_id).id
    assert grading.grade_response(item_id, grader.id, "20", "first") is True
    db.session.commit()
    with pytest.raises(DomainError) as caught:
        grading.grade_response(item_id, other.id, "0", "second")
    assert caught.value.code == "already_graded"
    db.session.rollback()
    # finalising again (a second grader's late check) does nothing
    assert grading.finalise_if_complete(attempt_id) is False
    item = _essay_item(attempt_id)
    assert (item.graded_by_id, item.awarded) == (grader.id, Decimal("20.00"))
    certificates = db.session.execute(select(Certificate).where(Certificate.user_id == user.id)).scalars().all()
    assert len(certificates) == 1


def test_empty_essay_needs_no_grader(db):
    course, exam = make_types_world()
    user = make_user(make_department())
    attempt = start_attempt(user, exam)
    db.session.flush()
    finish_attempt(attempt, by="candidate")
    db.session.commit()
    attempt = db.session.get(Attempt, attempt.id)
    assert (attempt.state, attempt.passed, attempt.score) == (FINISHED, False, Decimal("0.00"))
