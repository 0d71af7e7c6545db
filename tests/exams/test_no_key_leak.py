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
