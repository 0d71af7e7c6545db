"""Practical tasks over HTTP: the starter download, the upload API (saved / conflict / refused / too
large), the uploaded file for its owner and for examiners after submit, "being graded" on the result
page and the per-rule review after the checking job."""
import io

import pytest

from app.exams import practical
from app.exams.models import Attempt
from app.extensions import db
from tests.exams.practicalworld import TASK_DIR, copy_task, half_right_bytes, make_practical_world, reference_bytes
from tests.factories import csrf_token, make_department, make_user


@pytest.fixture()
def world(app, db, tmp_path):
    tasks_dir = tmp_path / "tasks"
    copy_task(tasks_dir)
    course, exam = make_practical_world(tasks_dir)
    owner = make_user(make_department(), name="考生")
    other = make_user(make_department(), name="别人")
    examiner = make_user(make_department(), name="考官", is_examiner=True)
    db.session.commit()
    yield {"exam": exam, "owner": owner, "other": other, "examiner": examiner}


def _login(app, user):
    client = app.test_client()
    token = csrf_token(client, "/login")
    assert client.post("/login", data={"staff_number": user.staff_number, "password": "correct-horse-42",
                                       "csrf_token": token}).status_code == 302
    return client, csrf_token(client, "/courses/")


def _start(client, token, exam):
    response = client.post(f"/exams/{exam.code}/start", data={"csrf_token": token})
    assert response.status_code == 302
    attempt_id = int(response.headers["Location"].rstrip("/").split("/")[-1])
    attempt = db.session.get(Attempt, attempt_id)
    position = next(i.position for i in attempt.items if i.question_version.qtype == "practical")
    return attempt_id, position


def _upload(client, token, attempt_id, position, data, revision, name="答案.docx"):
    return client.post(f"/api/attempts/{attempt_id}/items/{position}/upload",
                       data={"file": (io.BytesIO(data), name), "revision": str(revision)},
                       headers={"X-CSRFToken": token}, content_type="multipart/form-data")


def test_starter_download_for_the_owner_only_while_open(app, world):
    client, token = _login(app, world["owner"])
    attempt_id, position = _start(client, token, world["exam"])
    page = client.get(f"/attempts/{attempt_id}")
    assert f"/attempts/{attempt_id}/items/{position}/starter".encode() in page.data
    assert b"practical.js" in page.data
    response = client.get(f"/attempts/{attempt_id}/items/{position}/starter")
    assert response.status_code == 200
    assert response.data == (TASK_DIR / "starter.docx").read_bytes()
    assert response.headers["Content-Disposition"].startswith("attachment;")
    other, _token = _login(app, world["other"])
    assert other.get(f"/attempts/{attempt_id}/items/{position}/starter").status_code == 404
    client.post(f"/attempts/{attempt_id}/submit", data={"csrf_token": token})
    assert client.get(f"/attempts/{attempt_id}/items/{position}/starter").status_code == 404


def test_upload_api_saves_conflicts_refuses(app, world):
    client, token = _login(app, world["owner"])
    attempt_id, position = _start(client, token, world["exam"])
    saved = _upload(client, token, attempt_id, position, reference_bytes(), 0)
    assert saved.status_code == 200, saved.get_json()
    body = saved.get_json()
    assert body["status"] == "saved" and body["revision"] == 1 and body["filename"] == "答案.docx"
    stale = _upload(client, token, attempt_id, position, half_right_bytes(), 0, "other.docx")
    assert stale.status_code == 409 and stale.get_json()["code"] == "conflict" and stale.get_json()["revision"] == 1
    refused = _upload(client, token, attempt_id, position, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, 1,
                      "答案.wps")
    assert refused.status_code == 400
    assert "另存为" in refused.get_json()["message"]          # the how-to-save advice, in Chinese
    no_token = client.post(f"/api/attempts/{attempt_id}/items/{position}/upload",
                           data={"file": (io.BytesIO(reference_bytes()), "a.docx"), "revision": "1"},
                           content_type="multipart/form-data")
    assert no_token.status_code == 400                         # CSRF
    app.config["PRACTICAL_MAX_UPLOAD_BYTES"] = 2000
    try:
        too_large = _upload(client, token, attempt_id, position, reference_bytes(), 1)
    finally:
        app.config.pop("PRACTICAL_MAX_UPLOAD_BYTES")
    assert too_large.status_code == 413 and too_large.get_json()["code"] == "too_large"
    db.session.expire_all()
    item = next(i for i in db.session.get(Attempt, attempt_id).items if i.position == position)
    assert item.revision == 1 and practical.uploaded_file(item).filename == "答案.docx"
    other, other_token = _login(app, world["other"])
    assert _upload(other, other_token, attempt_id, position, reference_bytes(), 1).status_code == 404


def test_file_for_owner_and_examiner_after_submit_then_graded_review(app, world):
    client, token = _login(app, world["owner"])
    attempt_id, position = _start(client, token, world["exam"])
    assert _upload(client, token, attempt_id, position, half_right_bytes(), 0).status_code == 200
    examiner, _t = _login(app, world["examiner"])
    url = f"/attempts/{attempt_id}/items/{position}/file"
    assert examiner.get(url).status_code == 404               # not while the attempt is open
    assert client.get(url).data == half_right_bytes()
    client.post(f"/attempts/{attempt_id}/submit", data={"csrf_token": token})
    result = client.get(f"/attempts/{attempt_id}/result")
    assert "正在评分" in result.get_data(as_text=True) or "Being graded" in result.get_data(as_text=True)
    assert examiner.get(url).data == half_right_bytes()
    assert url in examiner.get(f"/reports/attempts/{attempt_id}").get_data(as_text=True)
    other, _t = _login(app, world["other"])
    assert other.get(url).status_code == 404
    assert practical.check_pending_uploads() == 1
    review = client.get(f"/attempts/{attempt_id}/review?lang=en").get_data(as_text=True)
    upload = practical.uploaded_file(next(i for i in db.session.get(Attempt, attempt_id).items
                                          if i.position == position))
    for rule in upload.result["rules"]:
        assert rule["description_en"] in review
    assert "Not passed" in review and "Passed" in review
    code = world["exam"].code
    assert examiner.get(f"/reports/exams/{code}/statistics").status_code == 200
    assert examiner.get(f"/reports/exams/{code}/results").status_code == 200


def test_bank_pages_show_a_task_question(app, world):
    from sqlalchemy import select

    from app.questions.models import Question

    question_id = db.session.execute(select(Question.id).where(Question.qtype == "practical")).scalar_one()
    examiner, _t = _login(app, world["examiner"])
    bank = app.url_map.bind("localhost").build("questions.question", {"question_id": question_id})
    page = examiner.get(bank)
    assert page.status_code == 200
    assert "GB/T 9704" in page.get_data(as_text=True)
    assert examiner.get(bank + "/edit").status_code == 200
