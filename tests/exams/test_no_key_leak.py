"""Nothing sent during an attempt reveals the key: checked for every shipped question type."""
import json
import re

from sqlalchemy import select

from app.exams.services import candidate_payload, start_attempt
from app.questions.models import Question
from app.questions.types import REGISTRY
from tests.factories import csrf_token, make_department, make_exam_world, make_user

MARKERS = ("fraction", "feedback", "general_feedback", '"answer"', "correct", "is_key")


def _payload_is_clean(rendered: dict, version) -> None:
    text = json.dumps(rendered, ensure_ascii=False)
    for marker in MARKERS:
        assert marker not in text, (version.question.key, marker)
    if version.general_feedback.strip():
        assert version.general_feedback.strip()[:20] not in text
    for option in version.spec.get("options", []):
        if option.get("feedback", "").strip():
            assert option["feedback"].strip() not in text, version.question.key


def test_every_shipped_question_renders_without_key(content, db):
    versions = [q.current_version for q in db.session.execute(select(Question).where(Question.active.is_(True))).scalars()]
    kinds = {v.qtype for v in versions}
    assert kinds <= set(REGISTRY)  # every shipped type is registered; each registered type's rendering is
    # checked for the key in tests/questions/test_types.py (the bank need not ship every type)
    for version in versions:
        qtype = REGISTRY[version.qtype]
        rendered = qtype.render_for_candidate(version.stem, version.stem_format, version.spec,
                                              qtype.shuffled_order(version.spec, 7))
        _payload_is_clean(rendered, version)


def test_attempt_page_and_api_responses_carry_no_key(app, db):
    course, exam = make_exam_world()
    user = make_user(make_department())
    attempt = start_attempt(user, exam)
    db.session.commit()
    for item in attempt.items:
        _payload_is_clean({"q": candidate_payload(attempt)}, item.question_version)
    client = app.test_client()
    token = csrf_token(client, "/login")
    client.post("/login", data={"staff_number": user.staff_number, "password": "correct-horse-42", "csrf_token": token})
    page = client.get(f"/attempts/{attempt.id}").get_data(as_text=True)
    token = csrf_token(client, f"/attempts/{attempt.id}")  # the CSRF token is rotated at sign-in
    bodies = [page]
    for item in attempt.items:
        option = item.option_order[0]
        response = client.post(f"/api/attempts/{attempt.id}/answers",
                               json={"position": item.position, "revision": 0,
                                     "response": {"choices": [option]} if item.question_version.qtype == "multiple_choice"
                                     else {"choice": option}},
                               headers={"X-CSRFToken": token})
        assert response.status_code == 200
        bodies.append(response.get_data(as_text=True))
    bodies.append(client.get(f"/api/attempts/{attempt.id}/status").get_data(as_text=True))
    for body in bodies:
        for item in attempt.items:
            version = item.question_version
            assert version.general_feedback[:10] not in body
            for option in version.spec.get("options", []):
                if option["feedback"]:
                    assert option["feedback"] not in body
        assert not re.search(r"fraction|data-correct|data-key", body)


def test_review_and_result_pages_carry_no_key_until_the_options_allow_it(app, db):
    """Review options 'after_close' with everything shown: before the close neither the result page
    nor the review page carries any feedback or correct answer; 'never' never does."""
    import datetime as dt

    import time_machine

    from app.content.report import SyncReport
    from app.exams.services import finish_attempt, save_answer, sync_course_exam
    from tests.factories import utc, wrong_response

    course, exam = make_exam_world()
    show = ["marks", "correctness", "response", "correct_answer", "feedback"]
    base = {"title": ("测试考试", "Test exam"), "time_limit_minutes": 30, "pass_mark": 60,
            "blueprint": [{"item": "X1", "difficulty": "easy", "count": 2, "points": 30},
                          {"item": "X1", "difficulty": "easy", "count": 1, "points": 40}]}
    for when in ("after_close", "never"):
        exam = sync_course_exam(course, {**base, "closes_at": "2026-11-25 17:00", "review": {"when": when, "show": show}},
                                "tests", SyncReport())
        user = make_user(make_department())
        db.session.commit()
        with time_machine.travel(utc(2026, 11, 20, 1, 0, 0), tick=False):
            attempt = start_attempt(user, exam)
            for item in attempt.items:
                save_answer(attempt, item.position, wrong_response(item), 0)
            finish_attempt(attempt, by="candidate")
            db.session.commit()
        moments = [exam.closes_at - dt.timedelta(seconds=1)] + ([exam.closes_at] if when == "never" else [])
        for moment in moments:
            with time_machine.travel(moment, tick=False):
                client = app.test_client()
                token = csrf_token(client, "/login")
                client.post("/login", data={"staff_number": user.staff_number, "password": "correct-horse-42",
                                            "csrf_token": token})
                for path in (f"/attempts/{attempt.id}/result", f"/attempts/{attempt.id}/review"):
                    body = client.get(path).get_data(as_text=True)
                    for item in attempt.items:
                        version = item.question_version
                        if version.general_feedback.strip():
                            assert version.general_feedback.strip()[:10] not in body, (when, path)
                        for option in version.spec.get("options", []):
                            if option.get("feedback"):
                                assert option["feedback"] not in body, (when, path)
                    assert "correct-answer" not in body and "review-options" not in body, (when, path)
