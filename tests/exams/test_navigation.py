"""Exam settings for pages and navigation, flags for review, the summary page; sequential
navigation is enforced by the server (frozen clock)."""
import datetime as dt
import re

import pytest
import time_machine

from app.content.report import ContentError, SyncReport
from app.core.errors import DomainError
from app.exams.models import Attempt, AttemptItem
from app.exams.services import reach_page, save_answer, set_flag, start_attempt, sync_course_exam
from tests.factories import csrf_token, make_department, make_exam_world, make_user, right_response, utc

START = utc(2026, 11, 20, 1, 0, 0)


def _sequential(db, per_page=1):
    course, exam = make_exam_world()
    exam.navigation, exam.questions_per_page = "sequential", per_page
    user = make_user(make_department())
    with time_machine.travel(START, tick=False):
        attempt = start_attempt(user, exam)
        db.session.commit()
    return user, exam, attempt


def test_sequential_navigation_refuses_an_out_of_order_answer(db):
    _user, _exam, attempt = _sequential(db)
    items = {i.position: i for i in attempt.items}
    with time_machine.travel(START + dt.timedelta(minutes=1), tick=False):
        assert save_answer(attempt, 1, right_response(items[1]), 0).status == "saved"
        with pytest.raises(DomainError) as ahead:      # not reached yet
            save_answer(attempt, 2, right_response(items[2]), 0)
        assert ahead.value.status == 409 and ahead.value.code == "sequential"
        db.session.rollback()
        assert reach_page(attempt, 3) == 1             # pages cannot be skipped
        assert reach_page(attempt, 2) == 2
        db.session.commit()
    with time_machine.travel(START + dt.timedelta(minutes=2), tick=False):
        with pytest.raises(DomainError) as back:       # going back to change question 1 is refused
            save_answer(attempt, 1, right_response(items[1]), 1)
        assert back.value.status == 409 and back.value.code == "sequential"
        db.session.rollback()
        assert reach_page(attempt, 1) == 2             # and the page cannot be reopened
        assert save_answer(attempt, 2, right_response(items[2]), 0).status == "saved"
        db.session.commit()
    db.session.expire_all()
    assert db.session.get(Attempt, attempt.id).furthest_position == 2


def test_sequential_after_the_deadline_is_time_up_not_sequential(db):
    _user, _exam, attempt = _sequential(db)
    item = attempt.items[0]
    with time_machine.travel(attempt.deadline_at + dt.timedelta(seconds=1), tick=False):
        with pytest.raises(DomainError) as caught:
            save_answer(attempt, item.position, right_response(item), 0)
    assert caught.value.code == "time_up"


def test_free_navigation_answers_any_question_in_any_order(db):
    course, exam = make_exam_world()
    exam.questions_per_page = 1
    attempt = start_attempt(make_user(make_department()), exam)
    db.session.commit()
    for item in reversed(attempt.items):
        assert save_answer(attempt, item.position, right_response(item), 0).status == "saved"
    assert reach_page(attempt, 1) == 1


def test_flag_is_stored_on_the_attempt_item(db):
    course, exam = make_exam_world()
    attempt = start_attempt(make_user(make_department()), exam)
    db.session.commit()
    assert set_flag(attempt, 2, True) is True
    db.session.commit()
    db.session.expire_all()
    assert [i.flagged for i in db.session.query(AttemptItem).filter_by(attempt_id=attempt.id).order_by("position")] \
        == [False, True, False]
    with pytest.raises(DomainError) as caught:
        set_flag(attempt, 2, "yes")
    assert caught.value.status == 400


def _exam_block(**extra):
    return {"title": ("测试考试", "Test exam"), "time_limit_minutes": 30,
            "blueprint": [{"item": "X1", "difficulty": "easy", "count": 3, "points": 100 / 3}], **extra}


@pytest.mark.parametrize("extra,message", [
    ({"navigation": "backwards", "questions_per_page": 1}, "field 'navigation' must be one of free, sequential"),
    ({"questions_per_page": -1}, "field 'questions_per_page' must be a whole number >= 0"),
    ({"questions_per_page": True}, "field 'questions_per_page' must be a whole number >= 0"),
    ({"navigation": "sequential"}, "sequential needs 'questions_per_page' of 1 or more"),
])
def test_course_yaml_navigation_settings_are_validated(db, extra, message):
    course, exam = make_exam_world()
    block = {"title": ("测试考试", "Test exam"), "time_limit_minutes": 30,
             "blueprint": [{"item": "X1", "difficulty": "easy", "count": 2, "points": 30},
                           {"item": "X1", "difficulty": "easy", "count": 1, "points": 40}], **extra}
    with pytest.raises(ContentError) as caught:
        sync_course_exam(course, block, "courses/test/course.yaml", SyncReport())
    assert any(message in e and "courses/test/course.yaml" in e for e in caught.value.errors)


def test_course_yaml_defaults_and_settings(db):
    course, exam = make_exam_world()
    assert (exam.questions_per_page, exam.navigation) == (0, "free")
    block = {"title": ("测试考试", "Test exam"), "time_limit_minutes": 30, "questions_per_page": 1,
             "navigation": "sequential",
             "blueprint": [{"item": "X1", "difficulty": "easy", "count": 2, "points": 30},
                           {"item": "X1", "difficulty": "easy", "count": 1, "points": 40}]}
    exam = sync_course_exam(course, block, "tests", SyncReport())
    assert (exam.questions_per_page, exam.navigation) == (1, "sequential")


# --- over HTTP: pages, flags, summary, without JavaScript ----------------------------------------

def _login(app, db, exam):
    user = make_user(make_department())
    db.session.commit()
    client = app.test_client()
    token = csrf_token(client, "/login")
    client.post("/login", data={"staff_number": user.staff_number, "password": "correct-horse-42", "csrf_token": token})
    token = csrf_token(client, f"/exams/{exam.code}")
    started = client.post(f"/exams/{exam.code}/start", data={"csrf_token": token})
    attempt_id = int(started.headers["Location"].rstrip("/").split("/")[-1])
    return client, token, db.session.get(Attempt, attempt_id)


def test_http_flag_survives_reload_and_summary_lists_unanswered_and_flagged(app, db):
    course, exam = make_exam_world()
    client, token, attempt = _login(app, db, exam)
    response = client.post(f"/api/attempts/{attempt.id}/flags", json={"position": 3, "flagged": True},
                           headers={"X-CSRFToken": token})
    assert response.status_code == 200 and response.get_json()["flagged"] is True
    assert client.post(f"/api/attempts/{attempt.id}/flags", json={"position": 3, "flagged": 1},
                       headers={"X-CSRFToken": token}).status_code == 400
    item = attempt.items[0]
    assert client.post(f"/api/attempts/{attempt.id}/answers",
                       json={"position": 1, "response": right_response(item), "revision": 0},
                       headers={"X-CSRFToken": token}).status_code == 200
    page = client.get(f"/attempts/{attempt.id}").get_data(as_text=True)
    assert re.search(r'id="q3"[^>]*', page) and 'aria-pressed="true"' in page
    summary = client.get(f"/attempts/{attempt.id}/summary").get_data(as_text=True)
    unanswered = summary.split('id="unanswered-title"')[1].split("</section>")[0]
    flagged = summary.split('id="flagged-title"')[1].split("</section>")[0]
    assert "(2)" in unanswered and "#q2" in unanswered and "#q3" in unanswered and "#q1" not in unanswered
    assert "(1)" in flagged and "#q3" in flagged
    assert 'id="summary-form"' in summary and 'id="summary-back"' in summary


def test_http_one_per_page_without_javascript(app, db):
    course, exam = make_exam_world()
    exam.questions_per_page = 1
    client, token, attempt = _login(app, db, exam)
    page = client.get(f"/attempts/{attempt.id}?page=2").get_data(as_text=True)
    assert page.count('<fieldset class="question') == 1 and 'id="q2"' in page
    item = attempt.items[1]
    answer = right_response(item)
    values = answer.get("choices") or [answer["choice"]]
    form = {"csrf_token": token, "page": "2", "go": "3", "q2": values, "r2": "0"}
    if item.question_version.qtype == "multiple_choice":
        form["q2-multiple"] = "1"
    moved = client.post(f"/attempts/{attempt.id}/navigate", data=form)
    assert moved.status_code == 302 and moved.headers["Location"].endswith("page=3")
    db.session.expire_all()
    assert db.session.get(AttemptItem, item.id).response is not None
    flagged = client.post(f"/attempts/{attempt.id}/navigate", data={"csrf_token": token, "page": "3", "toggle_flag": "3"})
    assert flagged.headers["Location"].endswith("page=3")
    db.session.expire_all()
    assert db.session.get(AttemptItem, attempt.items[2].id).flagged is True
    to_summary = client.post(f"/attempts/{attempt.id}/navigate", data={"csrf_token": token, "page": "3", "go": "summary"})
    assert to_summary.headers["Location"].endswith(f"/attempts/{attempt.id}/summary")


def test_http_sequential_cannot_go_back(app, db):
    course, exam = make_exam_world()
    exam.questions_per_page, exam.navigation = 1, "sequential"
    client, token, attempt = _login(app, db, exam)
    client.post(f"/attempts/{attempt.id}/navigate", data={"csrf_token": token, "page": "1", "go": "2"})
    back = client.post(f"/attempts/{attempt.id}/navigate", data={"csrf_token": token, "page": "2", "go": "1"})
    assert back.headers["Location"].endswith("page=2")
    page = client.get(f"/attempts/{attempt.id}?page=1").get_data(as_text=True)
    assert 'id="q2"' in page and 'id="q1"' not in page
    item = attempt.items[0]
    refused = client.post(f"/api/attempts/{attempt.id}/answers",
                          json={"position": 1, "response": right_response(item), "revision": 0},
                          headers={"X-CSRFToken": token})
    assert refused.status_code == 409 and refused.get_json()["code"] == "sequential"
