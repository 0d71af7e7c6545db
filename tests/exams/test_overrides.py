"""Accommodations and exam overrides with a frozen clock (issue 6 item 9, acceptance 4), and granting
them in the browser (admins/examiners anyone, officers within scope), each change audited."""
import datetime as dt

import pytest
import time_machine
from sqlalchemy import func, select

from app.audit.models import AuditEvent
from app.core.errors import DomainError
from app.exams import overrides as grants
from app.exams.models import Accommodation, ExamOverride
from app.exams.services import candidate_settings, finish_attempt, save_answer, start_attempt
from tests.factories import csrf_token, make_department, make_exam_world, make_user, right_response, utc

START = utc(2026, 11, 20, 1, 0, 0)


@pytest.fixture()
def setup(db):
    city = make_department("滨江市")
    bureau = make_department("市财政局", city)
    office = make_department("办公室", bureau)
    course, exam = make_exam_world(time_limit_minutes=30, attempts_allowed=3)
    learner = make_user(office, name="考生")
    admin = make_user(city, is_admin=True)
    db.session.commit()
    return {"city": city, "bureau": bureau, "office": office, "exam": exam, "learner": learner, "admin": admin}


def test_exam_page_shows_the_effective_rule_before_starting(app, db, setup):
    exam, learner = setup["exam"], setup["learner"]
    exam.closes_at = utc(2099, 12, 31, 10, 0, 0)
    grants.set_accommodation(setup["admin"], learner, 25, 0, "reason")
    db.session.commit()
    client, _token = _login(app, learner)
    page = client.get(f"/exams/{exam.code}?lang=en").get_data(as_text=True)
    assert "37.5 minutes" in page and "+25 % time" in page and "on 30 minutes" in page
    assert "2099-12-31 18:00" in page            # the close in the local zone (Asia/Shanghai)
    assert "0 used of 3" in page and "3 left" in page


def test_accommodation_of_25_percent_on_30_minutes_gives_37_and_a_half(db, setup):
    exam, learner = setup["exam"], setup["learner"]
    grants.set_accommodation(setup["admin"], learner, 25, 0, "dyslexia assessment 2026")
    settings = candidate_settings(exam, learner.id)
    assert settings.time_limit_seconds == 2250 and settings.base_time_limit_seconds == 1800
    with time_machine.travel(START, tick=False):
        attempt = start_attempt(learner, exam)
    assert attempt.deadline_at == START + dt.timedelta(minutes=37, seconds=30)


def test_accommodation_applies_on_top_of_an_overridden_time_limit_and_extra_minutes(db, setup):
    exam, learner = setup["exam"], setup["learner"]
    grants.set_accommodation(setup["admin"], learner, 50, 5, "reason")
    grants.set_override(setup["admin"], exam, person=learner, time_limit_seconds=40 * 60, reason="reason")
    assert candidate_settings(exam, learner.id).time_limit_seconds == 40 * 60 * 3 // 2 + 5 * 60


def test_override_of_closes_at_lets_a_person_start_after_the_exam_closed(db, setup):
    exam, learner = setup["exam"], setup["learner"]
    exam.closes_at = START - dt.timedelta(hours=1)
    other = make_user(setup["office"])
    grants.set_override(setup["admin"], exam, person=learner, closes_at=START + dt.timedelta(days=1), reason="sick leave")
    with time_machine.travel(START, tick=False):
        with pytest.raises(DomainError) as refused:
            start_attempt(other, exam)
        assert refused.value.code == "closed"
        attempt = start_attempt(learner, exam)
    assert attempt.deadline_at == START + dt.timedelta(minutes=30)


def test_window_close_cuts_the_time_limit_short_even_with_an_accommodation(db, setup):
    exam, learner = setup["exam"], setup["learner"]
    exam.closes_at = START + dt.timedelta(minutes=20)
    grants.set_accommodation(setup["admin"], learner, 25, 0, "reason")
    with time_machine.travel(START, tick=False):
        attempt = start_attempt(learner, exam)
        db.session.commit()
    assert attempt.deadline_at == exam.closes_at
    with time_machine.travel(exam.closes_at + dt.timedelta(seconds=1), tick=False), pytest.raises(DomainError) as late:
        save_answer(attempt, attempt.items[0].position, right_response(attempt.items[0]), 0)
    assert late.value.code == "time_up"


def test_person_override_beats_department_override_even_when_less_generous(db, setup):
    exam, learner = setup["exam"], setup["learner"]
    grants.set_override(setup["admin"], exam, department=setup["city"], attempts_allowed=5,
                        time_limit_seconds=45 * 60, reason="city-wide")
    assert candidate_settings(exam, learner.id).attempts_allowed == 5
    grants.set_override(setup["admin"], exam, person=learner, attempts_allowed=2, reason="already certified")
    settings = candidate_settings(exam, learner.id)
    assert settings.attempts_allowed == 2            # the person's own value wins
    assert settings.time_limit_seconds == 45 * 60    # a field the person override leaves empty falls to the department


def test_of_several_departments_the_most_generous_value_counts(db, setup):
    exam, learner = setup["exam"], setup["learner"]
    grants.set_override(setup["admin"], exam, department=setup["city"], time_limit_seconds=40 * 60, reason="r")
    grants.set_override(setup["admin"], exam, department=setup["office"], time_limit_seconds=35 * 60,
                        attempts_allowed=4, reason="r")
    outsider = make_user(make_department("市教育局", setup["city"]))
    assert candidate_settings(exam, learner.id).time_limit_seconds == 40 * 60
    assert candidate_settings(exam, learner.id).attempts_allowed == 4
    assert candidate_settings(exam, outsider.id).attempts_allowed == 3   # the office's override is not theirs


def test_extra_attempt_lets_a_learner_with_three_of_three_used_start_again(db, setup):
    exam, learner = setup["exam"], setup["learner"]
    with time_machine.travel(START, tick=False) as traveller:
        for _ in range(3):
            finish_attempt(start_attempt(learner, exam), by="candidate")
            db.session.commit()
            traveller.shift(dt.timedelta(hours=1))
        with pytest.raises(DomainError) as refused:
            start_attempt(learner, exam)
        assert refused.value.code == "no_attempts"
        db.session.rollback()
        assert grants.grant_extra_attempt(setup["admin"], exam, learner, "system fault in attempt 2") == 4
        attempt = start_attempt(learner, exam)
    assert attempt.number == 4
    assert grants.grant_extra_attempt(setup["admin"], exam, learner, "again") == 5   # counts up, not reset


def test_grace_period_still_applies_to_an_accommodated_deadline(db, setup):
    exam, learner = setup["exam"], setup["learner"]
    exam.grace_period_seconds = 60
    grants.set_accommodation(setup["admin"], learner, 25, 0, "reason")
    with time_machine.travel(START, tick=False):
        attempt = start_attempt(learner, exam)
        db.session.commit()
    first, second = attempt.items[0], attempt.items[1]
    with time_machine.travel(attempt.deadline_at + dt.timedelta(seconds=59), tick=False):
        assert save_answer(attempt, first.position, right_response(first), 0).status == "saved"
        db.session.commit()
    with time_machine.travel(attempt.deadline_at + dt.timedelta(seconds=61), tick=False), pytest.raises(DomainError):
        save_answer(attempt, second.position, right_response(second), 0)
    assert attempt.deadline_at == START + dt.timedelta(seconds=2250)


def test_extra_time_adds_minutes_to_the_effective_limit(db, setup):
    exam, learner = setup["exam"], setup["learner"]
    grants.set_override(setup["admin"], exam, department=setup["bureau"], time_limit_seconds=40 * 60, reason="r")
    assert grants.grant_extra_time(setup["admin"], exam, learner, 15, "power cut") == 55 * 60
    assert candidate_settings(exam, learner.id).time_limit_seconds == 55 * 60


def test_every_grant_is_audited(db, setup):
    exam, learner, admin = setup["exam"], setup["learner"], setup["admin"]
    grants.set_accommodation(admin, learner, 25, 0, "r1", ip="127.0.0.9")
    grants.grant_extra_attempt(admin, exam, learner, "r2")
    override = db.session.execute(select(ExamOverride)).scalar_one()
    grants.remove_override(admin, override)
    actions = [e.action for e in db.session.execute(select(AuditEvent).order_by(AuditEvent.id)).scalars()]
    assert actions == ["accommodation.set", "exam_override.extra_attempt", "exam_override.remove"]
    first = db.session.execute(select(AuditEvent).order_by(AuditEvent.id)).scalars().first()
    assert first.actor_id == admin.id and first.target == f"user:{learner.id}" and first.ip == "127.0.0.9"
    assert first.detail["extra_percent"] == 25 and first.at.tzinfo is not None


# --- in the browser --------------------------------------------------------------------------

def _login(app, user):
    client = app.test_client()
    token = csrf_token(client, "/login")
    assert client.post("/login", data={"staff_number": user.staff_number, "password": "correct-horse-42",
                                       "csrf_token": token}).status_code == 302
    return client, csrf_token(client, "/courses/")


def test_officer_out_of_scope_gets_404_and_changes_nothing(app, db, setup):
    outside = make_department("市教育局", setup["city"])
    officer = make_user(outside, officer_of=[outside])
    db.session.commit()
    client, token = _login(app, officer)
    url = f"/people/{setup['learner'].id}/exam-rules"
    assert client.get(url).status_code == 404
    for data in ({"action": "extra_attempt", "exam_id": setup["exam"].id, "reason": "x"},
                 {"action": "accommodation", "extra_percent": "25", "reason": "x"}):
        assert client.post(url, data=dict(data, csrf_token=token)).status_code == 404
    db.session.expire_all()
    assert db.session.execute(select(func.count(ExamOverride.id))).scalar_one() == 0
    assert db.session.execute(select(func.count(Accommodation.id))).scalar_one() == 0
    assert db.session.execute(select(func.count(AuditEvent.id))
                              .where(AuditEvent.action.like("exam_override%"))).scalar_one() == 0
    assert db.session.execute(select(func.count(AuditEvent.id))
                              .where(AuditEvent.action.like("accommodation%"))).scalar_one() == 0


def test_officer_in_scope_grants_an_extra_attempt_and_the_learner_sees_it(app, db, setup):
    officer = make_user(setup["bureau"], officer_of=[setup["bureau"]])
    db.session.commit()
    client, token = _login(app, officer)
    url = f"/people/{setup['learner'].id}/exam-rules"
    page = client.get(url + "?lang=en")
    assert page.status_code == 200 and "Grant an extra attempt" in page.get_data(as_text=True)
    response = client.post(url, data={"action": "extra_attempt", "exam_id": setup["exam"].id, "reason": "outage",
                                      "csrf_token": token})
    assert response.status_code == 302
    assert candidate_settings(setup["exam"], setup["learner"].id).attempts_allowed == 4
    event = db.session.execute(select(AuditEvent).where(~AuditEvent.action.like("auth.%"))).scalar_one()
    assert event.actor_id == officer.id and event.action == "exam_override.extra_attempt"
    learner_client, _token = _login(app, setup["learner"])
    page = learner_client.get(f"/exams/{setup['exam'].code}?lang=en").get_data(as_text=True)
    assert "0 used of 4" in page and "4 left" in page


def test_bad_input_is_refused_with_the_field_named_and_nothing_stored(app, db, setup):
    client, token = _login(app, setup["admin"])
    url = f"/people/{setup['learner'].id}/exam-rules"
    response = client.post(url, data={"action": "accommodation", "extra_percent": "abc", "reason": "r",
                                      "csrf_token": token}, headers={"Accept-Language": "en"})
    assert response.status_code == 400
    response = client.post(url, data={"action": "accommodation", "extra_percent": "25", "reason": " ",
                                      "csrf_token": token})
    assert response.status_code == 400
    exam_url = f"/exams/{setup['exam'].code}/overrides"
    response = client.post(exam_url, data={"staff_number": setup["learner"].staff_number, "closes_at": "31/12/2026",
                                           "reason": "r", "csrf_token": token})
    assert response.status_code == 400
    db.session.expire_all()
    assert db.session.execute(select(func.count(ExamOverride.id))).scalar_one() == 0
    assert db.session.execute(select(func.count(Accommodation.id))).scalar_one() == 0
    assert db.session.execute(select(func.count(AuditEvent.id))
                              .where(~AuditEvent.action.like("auth.%"))).scalar_one() == 0


def test_examiner_adds_a_department_override_and_removes_it(app, db, setup):
    examiner = make_user(setup["city"], is_examiner=True)
    db.session.commit()
    client, token = _login(app, examiner)
    exam_url = f"/exams/{setup['exam'].code}/overrides"
    response = client.post(exam_url, data={"department_code": setup["bureau"].code, "closes_at": "2026-12-31T18:00",
                                           "attempts_allowed": "4", "reason": "exam week moved", "csrf_token": token})
    assert response.status_code == 302
    override = db.session.execute(select(ExamOverride)).scalar_one()
    assert override.department_id == setup["bureau"].id and override.user_id is None
    assert override.closes_at == utc(2026, 12, 31, 10, 0, 0)   # 18:00 Asia/Shanghai is 10:00 UTC
    assert candidate_settings(setup["exam"], setup["learner"].id).attempts_allowed == 4
    assert client.post(f"{exam_url}/{override.id}/delete", data={"csrf_token": token}).status_code == 302
    db.session.expire_all()
    assert db.session.execute(select(func.count(ExamOverride.id))).scalar_one() == 0
    assert [e.action for e in db.session.execute(select(AuditEvent).where(~AuditEvent.action.like("auth.%"))
                                                 .order_by(AuditEvent.id)).scalars()] == [
        "exam_override.set", "exam_override.remove"]


@pytest.mark.parametrize("value", ["0001-01-01T00:00", "9999-12-31T23:59", "2026-02-30T10:00", "2026-12-31 18:00", "2026-12-31T18:00x"])
def test_an_impossible_close_time_is_a_clear_400_not_a_crash(app, db, setup, value):
    client, token = _login(app, setup["admin"])
    response = client.post(f"/exams/{setup['exam'].code}/overrides?lang=en",
                           data={"staff_number": setup["learner"].staff_number, "closes_at": value, "reason": "r",
                                 "csrf_token": token})
    assert response.status_code == 400
    assert "Closes" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.execute(select(func.count(ExamOverride.id))).scalar_one() == 0


def test_course_page_shows_the_same_effective_time_limit(app, db, setup):
    from app.learning.services import enrol

    exam, learner = setup["exam"], setup["learner"]
    grants.set_accommodation(setup["admin"], learner, 25, 0, "reason")
    enrol(learner, exam.course)
    db.session.commit()
    client, _token = _login(app, learner)
    page = client.get(f"/courses/{exam.course.slug}?lang=en").get_data(as_text=True)
    assert "37.5 minutes" in page
