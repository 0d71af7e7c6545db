"""Per-thing review timing (Moodle's review matrix): each of marks / correctness / response / correct_answer /
feedback has its own when (immediately / after_close / never), decided at the moment of viewing."""
import datetime as dt

import pytest

from app.content.report import ContentError, SyncReport
from app.exams.models import ExamOverride, full_review_rules
from app.exams.review import review_questions, review_state
from app.exams.services import parse_review_options, sync_course_exam
from tests.exams.test_review import CLOSE, START, _exam_data, _finished, _key_texts, _login, _world
from tests.factories import make_department, make_user

OFFICE = {"marks": "immediately", "correctness": "immediately", "correct_answer": "after_close",
          "feedback": "after_close"}  # response: not listed, so never


def _office_exam(db):
    return _world(db, review=OFFICE, closes_at="2026-11-25 17:00")[1]


def test_yaml_per_thing_form_fills_every_name(db):
    exam = _office_exam(db)
    assert exam.review_rules == {"marks": "immediately", "correctness": "immediately", "response": "never",
                                 "correct_answer": "after_close", "feedback": "after_close"}


def test_yaml_old_and_new_forms_say_the_same_and_a_resync_changes_nothing(db):
    errors = []
    old = parse_review_options({"when": "after_close", "show": ["feedback", "marks"]}, "exam", errors)
    new = parse_review_options({"marks": "after_close", "feedback": "after_close"}, "exam", errors)
    assert errors == [] and old == new == full_review_rules({"marks": "after_close", "feedback": "after_close"})
    course, exam = _world(db, review=OFFICE, closes_at="2026-11-25 17:00")
    report = SyncReport()
    sync_course_exam(course, _exam_data(review=OFFICE, closes_at="2026-11-25 17:00"), "c.yaml", report)
    assert report.changes == [] and exam.review_rules == full_review_rules(OFFICE)
    # the old single form saying the same thing is no change either
    old_form = {"when": "immediately", "show": ["marks", "correctness"]}
    sync_course_exam(course, _exam_data(review={"marks": "immediately", "correctness": "immediately"},
                                        closes_at="2026-11-25 17:00"), "c.yaml", report)
    assert len(report.changes) == 1 and report.changes[0].startswith("updated exam")
    sync_course_exam(course, _exam_data(review=old_form, closes_at="2026-11-25 17:00"), "c.yaml", report)
    assert len(report.changes) == 1


@pytest.mark.parametrize("review, message", [
    ({"marks": "later"}, "exam.review: field 'marks' must be one of immediately, after_close, never"),
    ({"marks": "immediately", "key": "never"}, "exam.review: unknown field(s) key"),
    ({"marks": "immediately", "when": "never"}, "exam.review: unknown field(s) when"),
    ({"feedback": "after_close"}, "exam.review: after_close needs the exam's 'closes_at' (for feedback)"),
])
def test_bad_per_thing_yaml_names_the_field_and_changes_nothing(db, review, message):
    course, exam = _world(db)
    before = dict(exam.review_rules)
    with pytest.raises(ContentError) as error:
        sync_course_exam(course, _exam_data(review=review), "courses/test-course/course.yaml", SyncReport())
    text = "\n".join(error.value.errors) if hasattr(error.value, "errors") else str(error.value)
    assert message in text
    db.session.rollback()
    db.session.refresh(exam)
    assert exam.review_rules == before


def test_frozen_clock_matrix_before_and_after_the_close(db):
    exam = _office_exam(db)
    _user, attempt = _finished(db, exam)
    before = review_state(attempt, CLOSE - dt.timedelta(seconds=1))
    assert before.open and before.show == ["marks", "correctness"]
    assert before.later == ["correct_answer", "feedback"] and before.opens_at == CLOSE
    questions = review_questions(attempt, before.show)
    assert all("correct_answer" not in q and "feedback_html" not in q and "options" in q for q in questions)
    assert all("chosen" not in o for q in questions for o in q["options"])  # response: never
    after = review_state(attempt, CLOSE)
    assert after.show == ["marks", "correctness", "correct_answer", "feedback"] and after.later == []
    assert after.opens_at is None
    assert all("correct_answer" in q for q in review_questions(attempt, after.show))
    years = review_state(attempt, CLOSE + dt.timedelta(days=3650))
    assert "response" not in years.show


def test_only_after_close_things_keep_the_review_closed_until_the_close(db):
    exam = _world(db, review={"correct_answer": "after_close"}, closes_at="2026-11-25 17:00")[1]
    _user, attempt = _finished(db, exam)
    state = review_state(attempt, START + dt.timedelta(hours=1))
    assert not state.open and state.show == [] and state.when == "after_close" and state.opens_at == CLOSE
    assert review_state(attempt, CLOSE).show == ["correct_answer"]


def test_after_close_waits_for_another_candidates_extended_close(db):
    """Answers must not reach a colleague who still sits: the last close of anyone counts."""
    exam = _office_exam(db)
    _user, attempt = _finished(db, exam)
    colleague = make_user(make_department())
    db.session.flush()
    later = CLOSE + dt.timedelta(days=1)
    db.session.add(ExamOverride(exam_id=exam.id, user_id=colleague.id, closes_at=later))
    db.session.commit()
    assert review_state(attempt, CLOSE).show == ["marks", "correctness"]
    assert review_state(attempt, later).show == ["marks", "correctness", "correct_answer", "feedback"]


def test_an_exam_without_close_never_shows_after_close_things(db):
    """The editor and content sync refuse after_close without a close; a row that has it anyway never opens it."""
    exam = _world(db)[1]
    exam.review_rules = full_review_rules({"marks": "immediately", "correct_answer": "after_close"})
    db.session.commit()
    _user, attempt = _finished(db, exam)
    state = review_state(attempt, START + dt.timedelta(days=3650))
    assert state.show == ["marks"] and state.later == [] and state.opens_at is None


def test_in_progress_attempt_shows_nothing(db):
    from app.exams.services import start_attempt
    import time_machine

    exam = _world(db, review={k: "immediately" for k in OFFICE})[1]
    user = make_user(make_department())
    with time_machine.travel(START, tick=False):
        attempt = start_attempt(user, exam)
        db.session.commit()
    assert review_state(attempt, START).show == []


def test_pages_before_and_after_the_close(app, db):
    import time_machine

    exam = _office_exam(db)
    user, attempt = _finished(db, exam)
    with time_machine.travel(CLOSE - dt.timedelta(minutes=5), tick=False):
        client = _login(app, user)
        body = client.get(f"/attempts/{attempt.id}/review").get_data(as_text=True)
        result = client.get(f"/attempts/{attempt.id}/result").get_data(as_text=True)
        rules = client.get(f"/exams/{exam.code}").get_data(as_text=True)
    assert "is-wrong" in body and "When the exam window closes" in body
    for text in _key_texts(attempt):
        assert text not in body
    assert "the correct answers, explanations" in result
    assert "It shows: marks, right or wrong." in rules and "it also shows: the correct answers, explanations" in rules
    with time_machine.travel(CLOSE + dt.timedelta(minutes=5), tick=False):
        client = _login(app, user)
        body = client.get(f"/attempts/{attempt.id}/review").get_data(as_text=True)
    assert any(text in body for text in _key_texts(attempt)) and "When the exam window closes" not in body
