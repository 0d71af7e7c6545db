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


def test_graders_racing_on_two_essays_finalise_once(app, db):
    """Four graders at once: two on each essay of one attempt. Each essay is graded once, the attempt is
    finalised by exactly one of them, and one certificate is issued."""
    import threading

    from app.extensions import db as _db

    course, exam = make_types_world(essays=2)
    db.session.add(Certification(code="TYPES-CERT", title_zh="题型证书", title_en="Types certificate", courses=[course]))
    user = make_user(make_department())
    graders = [make_user(make_department(), is_examiner=True) for _ in range(4)]
    for lesson in course.active_lessons:
        complete_lesson(user, lesson)
    attempt = start_attempt(user, exam)
    db.session.flush()
    for item in attempt.items:
        save_answer(attempt, item.position, RIGHT[item.question_version.qtype], item.revision)
    db.session.expire_all()
    finish_attempt(attempt, by="candidate")
    db.session.commit()
    attempt_id = attempt.id
    essays = [i.id for i in db.session.get(Attempt, attempt_id).items if i.question_version.qtype == "essay"]
    assert len(essays) == 2 and db.session.get(Attempt, attempt_id).state == AWAITING_GRADING
    grader_ids = [g.id for g in graders]
    barrier = threading.Barrier(4)
    finalised, refused, errors = [], [], []

    def grade(n):
        with app.app_context():
            barrier.wait()
            try:
                if grading.grade_response(essays[n % 2], grader_ids[n], "10", f"grader {n}"):
                    finalised.append(n)
                _db.session.commit()
            except DomainError as exc:
                _db.session.rollback()
                refused.append(exc.code)
            except Exception as exc:  # noqa: BLE001 - reported below
                _db.session.rollback()
                errors.append(repr(exc))
            finally:
                _db.session.remove()

    threads = [threading.Thread(target=grade, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert len(finalised) == 1 and refused == ["already_graded", "already_graded"]
    db.session.expire_all()
    done = db.session.get(Attempt, attempt_id)
    assert (done.state, done.passed, done.score) == (FINISHED, True, Decimal("100.00"))
    assert len(db.session.execute(select(Certificate).where(Certificate.user_id == user.id)).scalars().all()) == 1
