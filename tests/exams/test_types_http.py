"""Every question type over HTTP: the exam page draws each through its partial, the autosave API stores
and the grader grades each type's response, the no-JavaScript form carries each type, and the
examiners' grading queue finishes an essay attempt."""
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.exams.models import AWAITING_GRADING, FINISHED, Attempt
from app.extensions import db
from tests.exams.typesworld import RIGHT, make_types_world
from tests.factories import csrf_token, make_department, make_user


@pytest.fixture()
def sitting(app, db):
    course, exam = make_types_world()
    user = make_user(make_department())
    db.session.commit()
    client = app.test_client()
    token = csrf_token(client, "/login")
    client.post("/login", data={"staff_number": user.staff_number, "password": "correct-horse-42", "csrf_token": token})
    token = csrf_token(client, f"/exams/{exam.code}")
    started = client.post(f"/exams/{exam.code}/start", data={"csrf_token": token})
    attempt = db.session.get(Attempt, int(started.headers["Location"].rstrip("/").split("/")[-1]))
    positions = {i.question_version.qtype: i.position for i in attempt.items}
    return client, token, attempt.id, positions


def _save(client, token, attempt_id, position, response, revision=0):
    return client.post(f"/api/attempts/{attempt_id}/answers", json={"position": position, "response": response,
                       "revision": revision}, headers={"X-CSRFToken": token})


def _item(attempt_id, position):
    db.session.expire_all()
    return next(i for i in db.session.get(Attempt, attempt_id).items if i.position == position)


def test_exam_page_draws_every_type_with_labels(sitting):
    client, _token, attempt_id, pos = sitting
    html = client.get(f"/attempts/{attempt_id}").get_data(as_text=True)
    for kind in ("text", "numerical", "matching", "ordering", "essay"):
        assert f'data-kind="{kind}"' in html
    assert f'<label class="field-label" for="q{pos["short_answer"]}-text">' in html
    assert f'id="q{pos["numerical"]}-unit"' in html and "个</option>" in html
    assert f'for="q{pos["matching"]}-m-1"' in html and "备份数据" in html      # a distractor is offered
    assert html.count(f'name="q{pos["ordering"]}-o-') == 4
    assert 'char-count" id="q' in html
    assert "提到锁屏得满分" not in html                                              # rubric is for graders only


@pytest.mark.parametrize("qtype,response,fraction", [
    ("short_answer", {"text": " ＢＥＩＪＩＮＧ "}, Decimal("1")),      # full-width, spaces, case
    ("short_answer", {"text": "shanghai"}, Decimal("0")),
    ("numerical", {"value": "12.5"}, Decimal("1")),                  # upper bound, inclusive
    ("numerical", {"value": "１１.５ 个"}, Decimal("1")),             # lower bound, full-width, unit
    ("numerical", {"value": "12.51"}, Decimal("0")),
    ("matching", {"matches": {"1": "骗取信息的邮件"}}, Decimal("0.5")),  # partial: one of two pairs
    ("matching", {"matches": {"1": "备份数据", "2": "离开时锁定电脑"}}, Decimal("0.5")),
    ("ordering", RIGHT["ordering"], Decimal("1")),
])
def test_autosave_stores_and_grades_each_type(sitting, qtype, response, fraction):
    client, token, attempt_id, pos = sitting
    saved = _save(client, token, attempt_id, pos[qtype], response)
    assert saved.status_code == 200 and saved.get_json()["revision"] == 1
    assert client.get(f"/attempts/{attempt_id}").status_code == 200      # the page redraws the stored answer
    finished = client.post(f"/attempts/{attempt_id}/submit", data={"csrf_token": token})
    assert finished.status_code == 302
    assert Decimal(_item(attempt_id, pos[qtype]).fraction) == fraction


@pytest.mark.parametrize("qtype,response", [
    ("short_answer", {"text": "x" * 256}), ("numerical", {"value": "twelve"}), ("numerical", {"value": "12 km"}),
    ("matching", {"matches": {"9": "备份数据"}}), ("matching", {"matches": {"1": "not offered"}}),
    ("ordering", {"order": ["o1", "o2"]}), ("essay", {"text": 5}),
])
def test_autosave_refuses_a_bad_response_of_each_type(sitting, qtype, response):
    client, token, attempt_id, pos = sitting
    refused = _save(client, token, attempt_id, pos[qtype], response)
    assert refused.status_code == 400 and refused.get_json()["code"] == "bad_response"
    assert _item(attempt_id, pos[qtype]).response is None


def test_redrawn_page_shows_saved_answers(sitting):
    client, token, attempt_id, pos = sitting
    _save(client, token, attempt_id, pos["short_answer"], {"text": "beijing"})
    _save(client, token, attempt_id, pos["numerical"], {"value": "12 个"})
    _save(client, token, attempt_id, pos["matching"], {"matches": {"2": "离开时锁定电脑"}})
    _save(client, token, attempt_id, pos["essay"], {"text": "锁屏"})
    html = client.get(f"/attempts/{attempt_id}").get_data(as_text=True)
    assert 'value="beijing"' in html and 'value="12"' in html and '<option value="个" selected>' in html
    assert '<option value="离开时锁定电脑" selected>' in html and ">锁屏</textarea>" in html
    assert "2 characters" in html or "2 个字符" in html


def test_no_javascript_form_carries_every_type(sitting):
    client, token, attempt_id, pos = sitting
    form = {"csrf_token": token, "page": "1", "go": "summary"}
    for qtype, position in pos.items():
        form[f"r{position}"] = "0"
    p = pos
    form.update({f"q{p['short_answer']}-kind": "text", f"q{p['short_answer']}-text": "Beijing",
                 f"q{p['numerical']}-kind": "numerical", f"q{p['numerical']}-value": "12", f"q{p['numerical']}-unit": "个",
                 f"q{p['matching']}-kind": "matching", f"q{p['matching']}-m-1": "骗取信息的邮件", f"q{p['matching']}-m-2": "",
                 f"q{p['essay']}-kind": "text", f"q{p['essay']}-text": "离开时锁屏",
                 f"q{p['ordering']}-kind": "ordering", f"q{p['ordering']}-answered": "0"})
    # ordering: the page showed o1..o4 in this order and the candidate moved o3 to position 1
    for index, item_id in enumerate(["o1", "o2", "o3", "o4"], 1):
        form[f"q{p['ordering']}-o-{item_id}"] = "1" if item_id == "o3" else str(index)
    assert client.post(f"/attempts/{attempt_id}/navigate", data=form).status_code == 302
    assert _item(attempt_id, p["short_answer"]).response == {"text": "Beijing"}
    assert _item(attempt_id, p["numerical"]).response["value"] == "12 个"
    assert _item(attempt_id, p["matching"]).response == {"matches": {"1": "骗取信息的邮件"}}
    assert _item(attempt_id, p["essay"]).response == {"text": "离开时锁屏"}
    assert _item(attempt_id, p["ordering"]).response == {"order": ["o3", "o1", "o2", "o4"]}


def test_no_javascript_untouched_questions_stay_unanswered(sitting):
    client, token, attempt_id, pos = sitting
    p = pos
    form = {"csrf_token": token, "page": "1", "go": "1", f"r{p['ordering']}": "0", f"r{p['short_answer']}": "0",
            f"q{p['ordering']}-kind": "ordering", f"q{p['ordering']}-answered": "0",
            f"q{p['short_answer']}-kind": "text", f"q{p['short_answer']}-text": "", f"q{p['short_answer']}-answered": "0"}
    for index, item_id in enumerate(["o2", "o4", "o1", "o3"], 1):
        form[f"q{p['ordering']}-o-{item_id}"] = str(index)
    client.post(f"/attempts/{attempt_id}/navigate", data=form)
    assert _item(attempt_id, p["ordering"]).response is None
    assert _item(attempt_id, p["short_answer"]).response is None


def test_essay_attempt_awaits_grading_then_examiner_grades_it(app, sitting):
    client, token, attempt_id, pos = sitting
    for qtype, position in pos.items():
        assert _save(client, token, attempt_id, position, RIGHT[qtype]).status_code == 200
    client.post(f"/attempts/{attempt_id}/submit", data={"csrf_token": token})
    result = client.get(f"/attempts/{attempt_id}/result").get_data(as_text=True)
    assert 'class="score pending"' in result and "待评分" in result
    assert db.session.get(Attempt, attempt_id).state == AWAITING_GRADING

    examiner = make_user(make_department(), is_examiner=True)
    db.session.commit()
    grader = app.test_client()
    t = csrf_token(grader, "/login")
    grader.post("/login", data={"staff_number": examiner.staff_number, "password": "correct-horse-42", "csrf_token": t})
    queue = grader.get("/grading/")
    assert queue.status_code == 200
    item_id = _item(attempt_id, pos["essay"]).id
    assert f"/grading/responses/{item_id}" in queue.get_data(as_text=True)
    page = grader.get(f"/grading/responses/{item_id}")
    body = page.get_data(as_text=True)
    assert "离开时按 Win+L 锁屏。" in body and "提到锁屏得满分。" in body
    t = csrf_token(grader, f"/grading/responses/{item_id}")
    bad = grader.post(f"/grading/responses/{item_id}", data={"csrf_token": t, "mark": "25", "note": ""})
    assert bad.status_code == 400 and _item(attempt_id, pos["essay"]).graded_at is None
    done = grader.post(f"/grading/responses/{item_id}", data={"csrf_token": t, "mark": "18", "note": "好"})
    assert done.status_code == 302
    db.session.expire_all()
    attempt = db.session.get(Attempt, attempt_id)
    assert (attempt.state, attempt.passed, attempt.score) == (FINISHED, True, Decimal("98.00"))
    again = grader.post(f"/grading/responses/{item_id}", data={"csrf_token": t, "mark": "0", "note": ""})
    assert again.status_code == 409
    assert 'class="score pending"' not in client.get(f"/attempts/{attempt_id}/result").get_data(as_text=True)
