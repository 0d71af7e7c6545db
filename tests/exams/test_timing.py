"""Deadlines with a frozen clock: the server's clock is the only one that counts."""
import datetime as dt

import pytest
import time_machine
from sqlalchemy import select

from app.exams.models import FINISHED, Attempt
from app.exams.services import finalise_overdue_attempts, finish_attempt, save_answer, start_attempt
from app.core.errors import DomainError
from tests.factories import make_department, make_exam_world, make_user, right_response, utc, wrong_response

START = utc(2026, 11, 20, 1, 0, 0)


def _started(db, minutes=30):
    course, exam = make_exam_world(time_limit_minutes=minutes)
    user = make_user(make_department())
    with time_machine.travel(START, tick=False):
        attempt = start_attempt(user, exam)
        db.session.commit()
    return user, exam, attempt


def test_deadline_fixed_at_start_from_time_limit(db):
    _user, _exam, attempt = _started(db, minutes=45)
    assert attempt.deadline_at == START + dt.timedelta(minutes=45)


def test_answer_one_second_before_deadline_is_accepted(db):
    _user, _exam, attempt = _started(db)
    item = attempt.items[0]
    with time_machine.travel(attempt.deadline_at - dt.timedelta(seconds=1), tick=False):
        result = save_answer(attempt, item.position, right_response(item), 0)
        db.session.commit()
    assert result.status == "saved"
    db.session.refresh(item)
    assert item.response is not None and item.revision == 1


def test_answer_one_second_after_deadline_is_rejected_and_stored_answer_unchanged(db):
    _user, _exam, attempt = _started(db)
    item = attempt.items[0]
    with time_machine.travel(attempt.deadline_at - dt.timedelta(seconds=10), tick=False):
        save_answer(attempt, item.position, wrong_response(item), 0)
        db.session.commit()
    db.session.refresh(item)
    before = dict(item.response)
    with time_machine.travel(attempt.deadline_at + dt.timedelta(seconds=1), tick=False):
        try:
            save_answer(attempt, item.position, right_response(item), 1)
        except DomainError as exc:
            assert exc.code == "time_up" and exc.status == 409
        else:
            raise AssertionError("a late answer was accepted")
    db.session.expire_all()
    item = db.session.get(type(item), item.id)
    assert item.response == before and item.revision == 1
    assert item.attempt.state == FINISHED  # finalised lazily by the late request


def test_abandoned_attempt_is_finalised_once_at_deadline_with_saved_answers(db):
    _user, _exam, attempt = _started(db)
    for item in attempt.items:
        with time_machine.travel(START + dt.timedelta(minutes=5), tick=False):
            save_answer(attempt, item.position, right_response(item), 0)
    db.session.commit()
    with time_machine.travel(attempt.deadline_at - dt.timedelta(seconds=1), tick=False):
        assert finalise_overdue_attempts() == 0
    with time_machine.travel(attempt.deadline_at + dt.timedelta(seconds=31), tick=False):
        assert finalise_overdue_attempts() == 1
        assert finalise_overdue_attempts() == 0  # the job runs again: nothing more happens
        db.session.expire_all()
        assert finish_attempt(db.session.get(Attempt, attempt.id), by="deadline") is False  # a lazy finish loses
    db.session.expire_all()
    done = db.session.execute(select(Attempt).where(Attempt.id == attempt.id)).scalar_one()
    assert done.state == FINISHED and done.finished_by == "scheduler"
    assert done.finished_at == done.deadline_at  # recorded at the deadline, not when the job ran
    assert float(done.score) == 100.0 and done.passed


def test_repeated_save_is_idempotent_and_an_older_revision_changes_nothing(db):
    from app.exams.services import SaveConflict

    _user, _exam, attempt = _started(db)
    item = attempt.items[0]
    with time_machine.travel(START + dt.timedelta(minutes=1), tick=False):
        assert save_answer(attempt, item.position, right_response(item), 0).revision == 1
        assert save_answer(attempt, item.position, right_response(item), 0).revision == 1
        with pytest.raises(SaveConflict):
            save_answer(attempt, item.position, wrong_response(item), 0)
        db.session.commit()
    db.session.refresh(item)
    assert item.revision == 1
    from app.questions.types import REGISTRY

    assert REGISTRY[item.question_version.qtype].grade(item.question_version.spec, item.response) == 1.0


def test_window_close_caps_the_deadline(db):
    course, exam = make_exam_world(time_limit_minutes=60)
    exam.closes_at = START + dt.timedelta(minutes=20)
    user = make_user()
    with time_machine.travel(START, tick=False):
        attempt = start_attempt(user, exam)
    assert attempt.deadline_at == START + dt.timedelta(minutes=20)


def test_override_gives_one_candidate_more_time(db):
    from app.exams.models import ExamOverride

    course, exam = make_exam_world(time_limit_minutes=30)
    user = make_user()
    db.session.add(ExamOverride(exam_id=exam.id, user_id=user.id, time_limit_seconds=45 * 60))
    with time_machine.travel(START, tick=False):
        attempt = start_attempt(user, exam)
    assert attempt.deadline_at == START + dt.timedelta(minutes=45)


def test_autosave_keeps_working_after_more_than_an_hour(app, db):
    """Flask-WTF's default CSRF token lifetime is 3,600 s; a 2-hour exam must keep saving."""
    import re

    course, exam = make_exam_world(time_limit_minutes=150)
    user = make_user(make_department())
    db.session.commit()
    client = app.test_client()
    with time_machine.travel(START, tick=False):
        page = client.get("/login").get_data(as_text=True)
        token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
        client.post("/login", data={"staff_number": user.staff_number, "password": "correct-horse-42", "csrf_token": token})
        page = client.get(f"/exams/{exam.code}").get_data(as_text=True)  # the CSRF token is rotated at sign-in
        token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
        started = client.post(f"/exams/{exam.code}/start", data={"csrf_token": token})
        attempt_id = int(started.headers["Location"].rstrip("/").split("/")[-1])
        page = client.get(f"/attempts/{attempt_id}").get_data(as_text=True)
        token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    attempt = db.session.get(Attempt, attempt_id)
    item = attempt.items[0]
    with time_machine.travel(START + dt.timedelta(hours=2), tick=False):
        response = client.post(f"/api/attempts/{attempt_id}/answers",
                               json={"position": item.position, "response": right_response(item), "revision": 0},
                               headers={"X-CSRFToken": token})
    assert response.status_code == 200 and response.get_json()["status"] == "saved"
