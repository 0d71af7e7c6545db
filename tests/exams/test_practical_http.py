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


# --- the upload without JavaScript: the attempt form posted as multipart ------------------------

def _form_upload(client, token, attempt_id, position, data, revision, name="答案.docx", extra=None):
    """What a browser without JavaScript sends when the task's Upload button is pressed: the attempt
    form (csrf_token, page, r<n>, the other answers) as multipart to the button's formaction."""
    form = {"csrf_token": token, "page": "1", f"r{position}": str(revision), "upload": str(position)}
    if data is not None:
        form[f"file{position}"] = (io.BytesIO(data), name)
    form.update(extra or {})
    return client.post(f"/attempts/{attempt_id}/items/{position}/upload", data=form,
                       content_type="multipart/form-data")


def _flashes(client, location):
    page = client.get(location).get_data(as_text=True)
    import re

    return re.findall(r'<p class="flash (\w+)"[^>]*>([^<]*)</p>', page)


def _item(attempt_id, position):
    db.session.expire_all()
    return next(i for i in db.session.get(Attempt, attempt_id).items if i.position == position)


def test_the_attempt_page_upload_button_works_without_javascript(app, world):
    client, token = _login(app, world["owner"])
    attempt_id, position = _start(client, token, world["exam"])
    page = client.get(f"/attempts/{attempt_id}").get_data(as_text=True)
    action = f'formaction="/attempts/{attempt_id}/items/{position}/upload"'
    assert action in page and 'formenctype="multipart/form-data"' in page and f'name="file{position}"' in page
    assert "needs JavaScript" not in page
    choice = next(i for i in db.session.get(Attempt, attempt_id).items if i.question_version.qtype != "practical")
    from tests.factories import right_response

    answer = {f"q{choice.position}": right_response(choice)["choice"], f"r{choice.position}": "0"}
    response = _form_upload(client, token, attempt_id, position, reference_bytes(), 0, extra=answer)
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/attempts/{attempt_id}?page=1#q{position}")
    assert _flashes(client, response.headers["Location"]) == [("success", f"已保存：答案.docx（{round(len(reference_bytes()) / 1024, 1)} KB）")]
    item = _item(attempt_id, position)
    assert item.revision == 1 and item.response["upload"]["filename"] == "答案.docx"
    assert practical.uploaded_file(item).content == reference_bytes()
    assert _item(attempt_id, choice.position).response == right_response(choice)   # the page's answer kept too
    # the page shows the stored file after the redirect
    assert "已保存：答案.docx" in client.get(f"/attempts/{attempt_id}").get_data(as_text=True)


def test_the_form_upload_refuses_with_the_specific_reason_and_stores_nothing(app, world):
    client, token = _login(app, world["owner"])
    attempt_id, position = _start(client, token, world["exam"])
    choice = next(i for i in db.session.get(Attempt, attempt_id).items if i.question_version.qtype != "practical")
    from tests.factories import right_response

    answer = {f"q{choice.position}": right_response(choice)["choice"], f"r{choice.position}": "0"}
    wps = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600
    refused = _form_upload(client, token, attempt_id, position, wps, 0, "答案.wps", extra=answer)
    assert refused.status_code == 303
    [(kind, text)] = _flashes(client, refused.headers["Location"])
    assert kind == "error" and text.startswith("未保存：") and "另存为" in text
    assert _item(attempt_id, position).revision == 0 and practical.uploaded_file(_item(attempt_id, position)) is None
    assert _item(attempt_id, choice.position).response == right_response(choice)   # not lost with the refusal

    no_file = _form_upload(client, token, attempt_id, position, None, 0)
    assert _flashes(client, no_file.headers["Location"]) == [("error", "未保存：请选择要上传的文件。")]

    app.config["PRACTICAL_MAX_UPLOAD_BYTES"] = 2000
    try:
        too_large = _form_upload(client, token, attempt_id, position, reference_bytes(), 0)
    finally:
        app.config.pop("PRACTICAL_MAX_UPLOAD_BYTES")
    [(kind, text)] = _flashes(client, too_large.headers["Location"])
    assert kind == "error" and "未保存：" in text and "0.0 MB" in text

    saved = _form_upload(client, token, attempt_id, position, reference_bytes(), 0)
    assert _flashes(client, saved.headers["Location"])[0][0] == "success"
    stale = _form_upload(client, token, attempt_id, position, half_right_bytes(), 0, "另一个.docx")
    [(kind, text)] = _flashes(client, stale.headers["Location"])
    assert kind == "error" and text.startswith("未保存：") and "另一个窗口" in text
    assert practical.uploaded_file(_item(attempt_id, position)).filename == "答案.docx"

    no_token = client.post(f"/attempts/{attempt_id}/items/{position}/upload",
                           data={f"file{position}": (io.BytesIO(reference_bytes()), "a.docx"), f"r{position}": "1"},
                           content_type="multipart/form-data")
    assert no_token.status_code == 400
    other, other_token = _login(app, world["other"])
    assert _form_upload(other, other_token, attempt_id, position, reference_bytes(), 1).status_code == 404
    assert _item(attempt_id, position).revision == 1


def test_both_upload_routes_take_files_above_the_app_wide_request_limit(app, world):
    """The app-wide MAX_CONTENT_LENGTH is below the upload limit: the upload routes raise their own
    limit before anything (the CSRF check included) reads the body."""
    client, token = _login(app, world["owner"])
    attempt_id, position = _start(client, token, world["exam"])
    assert len(reference_bytes()) > 20_000
    app.config["MAX_CONTENT_LENGTH"], before = 20_000, app.config["MAX_CONTENT_LENGTH"]
    try:
        api = _upload(client, token, attempt_id, position, reference_bytes(), 0)
        form = _form_upload(client, token, attempt_id, position, half_right_bytes(), 1, "第二版.docx")
    finally:
        app.config["MAX_CONTENT_LENGTH"] = before
    assert api.status_code == 200, api.get_data(as_text=True)
    assert form.status_code == 303 and _flashes(client, form.headers["Location"])[0][0] == "success"
    assert practical.uploaded_file(_item(attempt_id, position)).filename == "第二版.docx"
