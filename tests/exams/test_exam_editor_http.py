"""The exam editor pages and the candidate's side of admission, through HTTP."""
import datetime as dt
import re

import pytest
from sqlalchemy import func, select

from app.audit.models import AuditEvent
from app.core.time import utcnow
from app.exams.models import Attempt, Exam, ExamSitting
from app.extensions import db as _db
from tests.factories import csrf_token, make_department, make_exam_world, make_user


@pytest.fixture()
def world(db):
    course, exam = make_exam_world()
    department = make_department()
    examiner = make_user(department, is_examiner=True)
    learner = make_user(department)
    db.session.commit()
    return exam, examiner, learner


def new_exam_form(token, **changes):
    data = {"csrf_token": token, "code": "browser-1", "title_zh": "浏览器考试", "title_en": "Browser exam",
            "course": "", "time_limit_minutes": "20", "pass_mark": "60", "attempts_allowed": "2",
            "grade_method": "last", "grace_period_seconds": "30", "navigation": "free", "questions_per_page": "0",
            "opens_at": "", "closes_at": "", "review_marks": "immediately", "review_correctness": "never",
            "review_response": "never", "review_correct_answer": "never", "review_feedback": "immediately",
            "shuffle_questions": "y", "shuffle_options": "y",
            "rows-0-item": "X1", "rows-0-difficulty": "easy", "rows-0-count": "1", "rows-0-points": "100",
            "allowed_networks": "", "access_code": "", "action": "save"}
    data.update(changes)
    return data


def errors_of(page: str) -> list[str]:
    return re.findall(r'<p class="error"[^>]*>([^<]*)</p>', page)


def test_examiner_creates_an_exam_and_the_learner_sees_it(app, world, client, login_as):
    exam, examiner, learner = world
    login_as(examiner)
    token = csrf_token(client, "/admin/exams/new")
    from app.exams.editor import local_input

    starts = (utcnow() - dt.timedelta(minutes=10)).replace(second=0, microsecond=0)
    response = client.post("/admin/exams/new", data=new_exam_form(
        token, **{"sittings-0-sitting_id": "", "sittings-0-starts_at": local_input(starts),
                  "sittings-0-ends_at": local_input(starts + dt.timedelta(hours=2)), "sittings-0-capacity": "30"}))
    assert response.status_code == 302 and response.headers["Location"].endswith("/admin/exams/browser-1/edit")
    created = _db.session.execute(select(Exam).where(Exam.code == "browser-1")).scalar_one()
    assert created.managed_by == "browser" and created.grade_method == "last" and created.grace_period_seconds == 30
    assert [(s.starts_at, s.capacity) for s in created.sittings] == [(starts, 30)]
    event = _db.session.execute(select(AuditEvent).where(AuditEvent.action == "exam.create")).scalar_one()
    assert event.actor_id == examiner.id and event.target == f"exam:{created.id}"
    page = client.get("/admin/exams/browser-1/edit").get_data(as_text=True)
    assert f'value="{local_input(starts)}"' in page and "file-managed" not in page
    assert "/admin/exams/browser-1/edit" in client.get("/admin/exams/").get_data(as_text=True)
    client.post("/logout", data={"csrf_token": csrf_token(client, "/courses/")})
    login_as(learner)
    page = client.get("/exams/browser-1").get_data(as_text=True)
    assert "浏览器考试" in page and 'name="sitting"' in page and "30" in page


def test_field_errors_are_shown_in_english_and_chinese_and_nothing_is_saved(app, world, client, login_as):
    _exam, examiner, _learner = world
    login_as(examiner)
    token = csrf_token(client, "/admin/exams/new?lang=en")
    bad = new_exam_form(token, time_limit_minutes="0", **{"rows-0-count": "2", "rows-0-points": "50"},
                        allowed_networks="10.0.0.1/8")
    response = client.post("/admin/exams/new", data=bad)
    assert response.status_code == 400
    english = errors_of(response.get_data(as_text=True))
    assert "A whole number from 1 to 1440." in english
    assert any(e.startswith("Only 3 questions in the bank for 2 drawn") for e in english)
    assert "10.0.0.1/8 has host bits set: did you mean 10.0.0.0/8?" in english
    client.get("/admin/exams/?lang=zh_CN")
    chinese = errors_of(client.post("/admin/exams/new", data=bad).get_data(as_text=True))
    assert len(chinese) == len(english) and not set(chinese) & set(english)
    assert all(re.search(r"[\u4e00-\u9fff]", e) for e in chinese)
    assert _db.session.execute(select(func.count(Exam.id))).scalar_one() == 1


def test_rows_are_added_and_removed_by_the_server(app, world, client, login_as):
    _exam, examiner, _learner = world
    login_as(examiner)
    token = csrf_token(client, "/admin/exams/new")
    page = client.post("/admin/exams/new", data=new_exam_form(token, action="add_row")).get_data(as_text=True)
    assert 'name="rows-1-item"' in page and 'name="rows-2-item"' not in page
    page = client.post("/admin/exams/new", data=new_exam_form(token, action="remove_row-0")).get_data(as_text=True)
    assert 'name="rows-0-item"' not in page
    page = client.post("/admin/exams/new", data=new_exam_form(token, action="add_sitting")).get_data(as_text=True)
    assert 'name="sittings-0-starts_at"' in page
    assert _db.session.execute(select(func.count(Exam.id))).scalar_one() == 1


def test_a_course_file_exam_keeps_its_definition_and_takes_admission_settings(app, world, client, login_as):
    exam, examiner, _learner = world
    login_as(examiner)
    page = client.get(f"/admin/exams/{exam.code}/edit").get_data(as_text=True)
    assert 'id="file-managed"' in page and "courses/test-course/course.yaml" in page
    token = csrf_token(client, f"/admin/exams/{exam.code}/edit")
    response = client.post(f"/admin/exams/{exam.code}/edit", data={
        "csrf_token": token, "title_zh": "改掉", "time_limit_minutes": "1", "allowed_networks": "10.20.0.0/16",
        "access_code": "room-7", "action": "save"})
    assert response.status_code == 302
    _db.session.expire_all()
    stored = _db.session.get(Exam, exam.id)
    assert stored.title_zh == "测试考试" and stored.time_limit_seconds == 1800
    assert stored.allowed_networks == ["10.20.0.0/16"] and stored.access_code_hash


def test_pool_endpoint(app, world, client, login_as):
    _exam, examiner, learner = world
    login_as(examiner)
    body = client.get("/admin/exams/pool?item=X1&difficulty=easy&count=1").get_json()
    assert (body["ok"], body["pool"], body["needed"]) == (True, 3, 3)
    body = client.get("/admin/exams/pool?item=X1&difficulty=any&count=2").get_json()
    assert (body["ok"], body["pool"], body["needed"]) == (False, 3, 6)
    assert client.get("/admin/exams/pool?item=X1&difficulty=hard&count=1").get_json()["pool"] == 0
    assert client.get("/admin/exams/pool?item=ZZ&count=1").status_code == 400
    assert client.get("/admin/exams/pool?item=X1&count=x").status_code == 400


def test_forms_endpoint_and_the_count_on_the_page(app, world, client, login_as):
    exam, examiner, _learner = world
    login_as(examiner)
    body = client.get("/admin/exams/forms?item=X1&difficulty=easy&count=2").get_json()
    assert (body["forms"], body["few"], body["overlap"]) == ("3", True, False)  # C(3,2)
    body = client.get("/admin/exams/forms?item=X1&difficulty=easy&count=1&item=X1&difficulty=any&count=1").get_json()
    assert (body["forms"], body["overlap"]) == ("9", True)
    assert client.get("/admin/exams/forms?item=X1&difficulty=easy").status_code == 400
    # the course.yaml exam draws X1 easy 2 + X1 easy 1: 3 × 3 = 9 at most (the same questions)
    page = client.get(f"/admin/exams/{exam.code}/edit").get_data(as_text=True)
    assert 'id="form-count"' in page and "至多 9 种" in page


def test_examiner_reaches_every_editor_route_and_a_learner_none(app, world, client, login_as):
    exam, examiner, learner = world
    urls = ["/admin/exams/", "/admin/exams/new", f"/admin/exams/{exam.code}/edit",
            "/admin/exams/pool?item=X1&difficulty=easy&count=1", "/admin/exams/forms?item=X1&difficulty=easy&count=1"]
    login_as(examiner)
    assert [client.get(u).status_code for u in urls] == [200, 200, 200, 200, 200]
    assert client.get("/admin/exams/nope/edit").status_code == 404
    client.post("/logout", data={"csrf_token": csrf_token(client, "/courses/")})
    login_as(learner)
    assert [client.get(u).status_code for u in urls] == [403, 403, 403, 403, 403]
    token = csrf_token(client, "/courses/")
    assert client.post("/admin/exams/new", data=new_exam_form(token)).status_code == 403


# --- the candidate's side ---------------------------------------------------------------------------

def _start(client, code, address="127.0.0.1", **form):
    token = csrf_token(client, f"/exams/{code}")
    return client.post(f"/exams/{code}/start", data=dict(form, csrf_token=token),
                       environ_base={"REMOTE_ADDR": address})


def test_start_from_outside_the_networks_is_refused_with_the_reason(app, world, client, login_as):
    exam, _examiner, learner = world
    exam.allowed_networks = ["10.20.0.0/16", "2001:db8::/32"]
    _db.session.commit()
    login_as(learner)
    page = client.get(f"/exams/{exam.code}?lang=en", environ_base={"REMOTE_ADDR": "192.0.2.1"}).get_data(as_text=True)
    assert "only be started from the exam room&#39;s network" in page and "192.0.2.1" in page
    assert "Start the exam" not in page
    response = _start(client, exam.code, "192.0.2.1")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/exams/{exam.code}")
    assert "192.0.2.1" in client.get(response.headers["Location"]).get_data(as_text=True)
    assert _db.session.execute(select(func.count(Attempt.id))).scalar_one() == 0
    response = _start(client, exam.code, "2001:db8::10")
    assert response.status_code == 302 and "/attempts/" in response.headers["Location"]


def test_access_code_prompt_wrong_and_right(app, world, client, login_as):
    from app.core.security import hash_password

    exam, _examiner, learner = world
    exam.access_code_hash = hash_password("room-7")
    _db.session.commit()
    login_as(learner)
    page = client.get(f"/exams/{exam.code}?lang=en").get_data(as_text=True)
    assert 'name="access_code"' in page
    response = _start(client, exam.code, access_code="room-8")
    assert response.headers["Location"].endswith(f"/exams/{exam.code}")
    assert "The access code is not right" in client.get(f"/exams/{exam.code}").get_data(as_text=True)
    response = _start(client, exam.code, access_code="room-7")
    assert "/attempts/" in response.headers["Location"]


def test_sitting_seats_on_the_exam_page_and_a_full_sitting_is_refused(app, world, client, login_as):
    exam, _examiner, learner = world
    start = utcnow() - dt.timedelta(minutes=10)
    sitting = ExamSitting(exam_id=exam.id, starts_at=start, ends_at=start + dt.timedelta(hours=1), capacity=1,
                          seats_taken=1)
    _db.session.add(sitting)
    _db.session.commit()
    login_as(learner)
    page = client.get(f"/exams/{exam.code}?lang=en").get_data(as_text=True)
    assert "full" in page and f'value="{sitting.id}"' in page
    response = _start(client, exam.code, sitting=str(sitting.id))
    assert response.headers["Location"].endswith(f"/exams/{exam.code}")
    assert "This sitting is full" in client.get(f"/exams/{exam.code}?lang=en").get_data(as_text=True)
    sitting.capacity = 2
    _db.session.commit()
    page = client.get(f"/exams/{exam.code}?lang=en").get_data(as_text=True)
    assert "1 of 2 seats free" in page
    assert "/attempts/" in _start(client, exam.code, sitting=str(sitting.id)).headers["Location"]
    _db.session.expire_all()
    assert _db.session.get(ExamSitting, sitting.id).seats_taken == 2


def test_without_a_running_sitting_the_exam_page_lists_the_next_ones(app, world, client, login_as):
    exam, _examiner, learner = world
    start = utcnow() + dt.timedelta(days=1)
    _db.session.add(ExamSitting(exam_id=exam.id, starts_at=start, ends_at=start + dt.timedelta(hours=1), capacity=5))
    _db.session.commit()
    login_as(learner)
    page = client.get(f"/exams/{exam.code}?lang=en").get_data(as_text=True)
    assert 'id="no-sitting-now"' in page and "Start the exam" not in page


def test_odd_digits_in_buttons_and_the_sitting_are_not_server_errors(app, world, client, login_as):
    exam, examiner, learner = world
    login_as(examiner)
    token = csrf_token(client, "/admin/exams/new")
    for action in ("remove_row-²", "remove_sitting-٣", "remove_row-99999999999999999999", "nonsense"):
        assert client.post("/admin/exams/new", data=new_exam_form(token, action=action)).status_code in (200, 302, 400)
    client.post("/logout", data={"csrf_token": token})
    login_as(learner)
    assert _start(client, exam.code, sitting="²").status_code == 302


def test_review_matrix_is_a_labelled_radio_table_validated_and_audited(app, world, client, login_as):
    _exam, examiner, _learner = world
    login_as(examiner)
    page = client.get("/admin/exams/new?lang=en").get_data(as_text=True)
    assert '<caption>What the review shows, and when</caption>' in page
    for what in ("marks", "correctness", "response", "correct_answer", "feedback"):
        for when in ("immediately", "after_close", "never"):
            assert f'for="review_{what}-{when}"><input type="radio" name="review_{what}" id="review_{what}-{when}"' in page
    assert 'id="review_marks-immediately" value="immediately" checked' in page
    assert 'id="review_feedback-never" value="never" checked' in page
    assert '<span class="visually-hidden">Feedback: After the exam closes</span>' in page
    token = csrf_token(client, "/admin/exams/new?lang=en")
    bad = new_exam_form(token, review_correct_answer="after_close")
    response = client.post("/admin/exams/new", data=bad)
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert 'The right answer: &#34;After the exam closes&#34; needs a close date and time.' in body \
        or 'The right answer: "After the exam closes" needs a close date and time.' in body
    assert 'aria-describedby="review_correct_answer-error"' in body
    assert _db.session.execute(select(func.count(Exam.id)).where(Exam.code == "browser-1")).scalar_one() == 0
    good = new_exam_form(token, closes_at="2030-12-01T17:00", review_correct_answer="after_close",
                         review_correctness="immediately")
    assert client.post("/admin/exams/new", data=good).status_code == 302
    created = _db.session.execute(select(Exam).where(Exam.code == "browser-1")).scalar_one()
    assert created.review_rules == {"marks": "immediately", "correctness": "immediately", "response": "never",
                                    "correct_answer": "after_close", "feedback": "immediately"}
    page = client.get("/admin/exams/browser-1/edit").get_data(as_text=True)
    assert 'id="review_correct_answer-after_close" value="after_close" checked' in page
    good["review_feedback"] = "after_close"
    assert client.post("/admin/exams/browser-1/edit", data=good).status_code == 302
    events = _db.session.execute(select(AuditEvent).where(AuditEvent.action == "exam.update")).scalars().all()
    assert len(events) == 1 and events[0].target == f"exam:{created.id}"
    assert events[0].detail["review_rules"]["from"]["feedback"] == "immediately"
    assert events[0].detail["review_rules"]["to"]["feedback"] == "after_close"
    _db.session.refresh(created)
    assert created.review_rules["feedback"] == "after_close"
