"""Review options (when / what), the result page's next steps, retake-after-pass and require-lessons."""
import datetime as dt

import pytest
import time_machine

from app.content.report import ContentError, SyncReport
from app.core.errors import DomainError
from app.exams.models import ExamOverride
from app.exams.review import next_steps, review_questions, review_state, start_refusal
from app.exams.services import finish_attempt, save_answer, start_attempt, sync_course_exam
from app.learning.models import LessonProgress
from tests.factories import csrf_token, make_department, make_exam_world, make_user, right_response, utc, wrong_response

START = utc(2026, 11, 20, 1, 0, 0)
CLOSE = utc(2026, 11, 25, 9, 0, 0)
ALL = ["marks", "correctness", "response", "correct_answer", "feedback"]


def _exam_data(**extra):
    data = {"title": ("测试考试", "Test exam"), "time_limit_minutes": 30, "pass_mark": 60, "attempts_allowed": 3,
            "blueprint": [{"item": "X1", "difficulty": "easy", "count": 2, "points": 30},
                          {"item": "X1", "difficulty": "easy", "count": 1, "points": 40}]}
    data.update(extra)
    return data


def _world(db, **extra):
    course, exam = make_exam_world()
    if extra:
        exam = sync_course_exam(course, _exam_data(**extra), "courses/test-course/course.yaml", SyncReport())
    db.session.commit()
    return course, exam


def _finished(db, exam, user=None, *, right=False, when=START):
    user = user or make_user(make_department())
    with time_machine.travel(when, tick=False):
        attempt = start_attempt(user, exam)
        for item in attempt.items:
            save_answer(attempt, item.position, right_response(item) if right else wrong_response(item), item.revision)
        finish_attempt(attempt, by="candidate")
        db.session.commit()
    db.session.refresh(attempt)
    return user, attempt


def _login(app, user):
    client = app.test_client()
    token = csrf_token(client, "/login")
    client.post("/login", data={"staff_number": user.staff_number, "password": "correct-horse-42", "csrf_token": token})
    client.get("/courses/?lang=en")  # the texts below are the English ones (the default locale is zh_CN)
    return client


# --- settings from course.yaml -------------------------------------------------------------

def test_defaults_keep_todays_behaviour(db):
    _course, exam = _world(db)
    assert exam.review_rules == {"marks": "immediately", "correctness": "never", "response": "never",
                                 "correct_answer": "never", "feedback": "never"}
    assert exam.allow_retake_after_pass is False and exam.require_lessons is False


def test_review_settings_are_parsed(db):
    _course, exam = _world(db, review={"when": "after_close", "show": ["feedback", "marks", "marks"]},
                           closes_at="2026-11-25 17:00", allow_retake_after_pass=True, require_lessons=True)
    assert exam.review_rules == {"marks": "after_close", "correctness": "never", "response": "never",
                                 "correct_answer": "never", "feedback": "after_close"}
    assert exam.allow_retake_after_pass and exam.require_lessons


@pytest.mark.parametrize("extra, message", [
    ({"review": {"when": "later"}}, "exam.review: field 'when' must be one of immediately, after_close, never"),
    ({"review": {"show": ["answers"]}}, "exam.review: field 'show': answers is not one of"),
    ({"review": {"show": "marks"}}, "exam.review: field 'show' must be a list"),
    ({"review": "never"}, "exam: field 'review' must be a mapping"),
    ({"review": {"when": "never", "shows": []}}, "exam.review: unknown field(s) shows"),
    ({"review": {"when": "after_close"}}, "after_close needs the exam's 'closes_at'"),
    ({"allow_retake_after_pass": "yes"}, "exam: field 'allow_retake_after_pass' must be true or false"),
    ({"require_lessons": 1}, "exam: field 'require_lessons' must be true or false"),
])
def test_bad_settings_name_file_and_field_and_change_nothing(db, extra, message):
    course, exam = _world(db)
    with pytest.raises(ContentError) as error:
        sync_course_exam(course, _exam_data(**extra), "courses/test-course/course.yaml", SyncReport())
    text = "\n".join(error.value.errors) if hasattr(error.value, "errors") else str(error.value)
    assert "courses/test-course/course.yaml" in text and message in text
    db.session.rollback()
    db.session.refresh(exam)
    assert exam.review_rules["marks"] == "immediately" and exam.require_lessons is False


# --- when the review opens -----------------------------------------------------------------

def test_immediately_opens_at_finish_with_marks_only_by_default(db):
    _course, exam = _world(db)
    _user, attempt = _finished(db, exam)
    state = review_state(attempt, START)
    assert state.open and state.show == ["marks"]
    questions = review_questions(attempt, state.show)
    assert all(set(q) == {"position", "stem_html", "multiple", "options", "awarded", "points"} for q in questions)


def test_never_stays_closed(db):
    _course, exam = _world(db, review={"when": "never", "show": ALL})
    _user, attempt = _finished(db, exam)
    state = review_state(attempt, START + dt.timedelta(days=3650))
    assert not state.open and state.show == [] and state.opens_at is None


def test_after_close_opens_exactly_at_the_window_close(db):
    _course, exam = _world(db, review={"when": "after_close", "show": ALL}, closes_at="2026-11-25 17:00")
    assert exam.closes_at == CLOSE  # 17:00 Asia/Shanghai
    _user, attempt = _finished(db, exam)
    assert not review_state(attempt, CLOSE - dt.timedelta(seconds=1)).open
    assert review_state(attempt, CLOSE).open
    assert review_state(attempt, CLOSE).show == ALL


def test_after_close_waits_for_the_last_close_of_anyone(db):
    _course, exam = _world(db, review={"when": "after_close", "show": ALL}, closes_at="2026-11-25 17:00")
    user, attempt = _finished(db, exam)
    later = CLOSE + dt.timedelta(days=2)
    db.session.add(ExamOverride(exam_id=exam.id, user_id=user.id, closes_at=later))
    db.session.commit()
    assert not review_state(attempt, CLOSE).open
    assert not review_state(attempt, later - dt.timedelta(seconds=1)).open
    assert review_state(attempt, later).open


def test_review_shows_key_feedback_and_correctness_when_allowed(db):
    _course, exam = _world(db, review={"when": "immediately", "show": ALL})
    _user, attempt = _finished(db, exam)
    questions = review_questions(attempt, ALL)
    for q, item in zip(questions, attempt.items):
        assert q["correctness"] == "wrong" and q["awarded"] == 0
        assert q["correct_answer"] and any(o.get("chosen") for o in q["options"])
        if item.question_version.general_feedback:
            assert any(item.question_version.general_feedback[:6] in html for html in q["feedback_html"])


# --- HTTP: the page, the key, other people's attempts --------------------------------------

def _key_texts(attempt):
    texts = []
    for item in attempt.items:
        version = item.question_version
        texts.append(version.general_feedback[:10])
        texts += [o["feedback"] for o in version.spec.get("options", []) if o.get("feedback")]
    return [t for t in texts if t.strip()]


def test_review_page_before_close_carries_no_key_then_opens_at_close(app, db):
    _course, exam = _world(db, review={"when": "after_close", "show": ALL}, closes_at="2026-11-25 17:00")
    user, attempt = _finished(db, exam)
    with time_machine.travel(CLOSE - dt.timedelta(seconds=1), tick=False):
        client = _login(app, user)
        closed = client.get(f"/attempts/{attempt.id}/review")
        result = client.get(f"/attempts/{attempt.id}/result")
    assert closed.status_code == 200 and result.status_code == 200
    for body in (closed.get_data(as_text=True), result.get_data(as_text=True)):
        for text in _key_texts(attempt):
            assert text not in body
        assert "Correct answer" not in body and "正确答案" not in body
    with time_machine.travel(CLOSE, tick=False):
        client = _login(app, user)
        body = client.get(f"/attempts/{attempt.id}/review").get_data(as_text=True)
    assert any(text in body for text in _key_texts(attempt))


def test_default_review_shows_marks_but_never_the_key(app, db):
    _course, exam = _world(db)
    user, attempt = _finished(db, exam)
    body = _login(app, user).get(f"/attempts/{attempt.id}/review").get_data(as_text=True)
    for text in _key_texts(attempt):
        assert text not in body
    assert "is-wrong" not in body and "(your answer)" not in body


def test_someone_elses_review_is_404(app, db):
    _course, exam = _world(db, review={"when": "immediately", "show": ALL})
    _owner, attempt = _finished(db, exam)
    other = make_user(make_department())
    db.session.commit()
    assert _login(app, other).get(f"/attempts/{attempt.id}/review").status_code == 404


# --- retake after pass, require lessons ----------------------------------------------------

def test_passed_exam_is_not_started_again(app, db):
    _course, exam = _world(db)
    user, _attempt = _finished(db, exam, right=True)
    with pytest.raises(DomainError) as error:
        start_attempt(user, exam)
    assert error.value.code == "passed"
    client = _login(app, user)
    page = client.get(f"/exams/{exam.code}").get_data(as_text=True)
    assert "/start" not in page and "cannot be taken again" in page
    token = csrf_token(client, f"/exams/{exam.code}")
    response = client.post(f"/exams/{exam.code}/start", data={"csrf_token": token})
    assert response.status_code == 409 and "cannot be taken again" in response.get_data(as_text=True)


def test_retake_after_pass_when_the_exam_allows_it(db):
    _course, exam = _world(db, allow_retake_after_pass=True)
    user, _attempt = _finished(db, exam, right=True)
    assert start_refusal(user, exam) is None
    assert start_attempt(user, exam).number == 2


def test_require_lessons_is_enforced_at_start(app, db):
    course, exam = _world(db, require_lessons=True)
    user = make_user(make_department())
    db.session.commit()
    with pytest.raises(DomainError) as error:
        start_attempt(user, exam)
    assert error.value.code == "lessons"
    client = _login(app, user)
    page = client.get(f"/exams/{exam.code}").get_data(as_text=True)
    assert "/start" not in page and "only after every lesson" in page
    assert "only after every lesson" in client.get(f"/courses/{course.slug}").get_data(as_text=True)
    for lesson in course.active_lessons:
        db.session.add(LessonProgress(user_id=user.id, lesson_id=lesson.id, started_at=START, completed_at=START))
    db.session.commit()
    assert start_attempt(user, exam).number == 1


def test_without_require_lessons_the_pages_say_so_and_start_works(app, db):
    course, exam = _world(db)
    user = make_user(make_department())
    db.session.commit()
    body = _login(app, user).get(f"/courses/{course.slug}").get_data(as_text=True)
    assert "before finishing the lessons" in body
    assert start_attempt(user, exam).number == 1


# --- result page: next steps ---------------------------------------------------------------

def test_next_steps_after_a_fail(db):
    course, exam = _world(db)
    user, attempt = _finished(db, exam)
    steps = next_steps(attempt)
    assert (steps["attempts_used"], steps["attempts_left"]) == (1, 2) and steps["may_retake"]
    assert [w["item"].code for w in steps["weak"]] == ["X1"]
    assert [lesson.key for _c, lesson in steps["weak"][0]["lessons"]] == ["01-intro"]


def test_next_steps_count_the_override(db):
    _course, exam = _world(db)
    user, attempt = _finished(db, exam)
    db.session.add(ExamOverride(exam_id=exam.id, user_id=user.id, attempts_allowed=5))
    db.session.commit()
    assert next_steps(attempt)["attempts_left"] == 4


def test_result_page_guides_after_fail_and_after_pass(app, db):
    course, exam = _world(db)
    user, failed = _finished(db, exam)
    client = _login(app, user)
    body = client.get(f"/attempts/{failed.id}/result").get_data(as_text=True)
    assert "1 used of 3, 2 left" in body and "lessons/01-intro" in body and "Try again" in body
    assert "data-status=\"started\"" in body
    _user, passed = _finished(db, exam, user, right=True, when=START + dt.timedelta(hours=1))
    body = client.get(f"/attempts/{passed.id}/result").get_data(as_text=True)
    assert "cannot be taken again" in body and "Try again" not in body
    assert "No standard item was below the pass mark" in body
