"""The audit log: what is recorded (sign-ins, refusals, lockout, denials, attempts, late answers, roles),
that it holds no secrets, that the application cannot change it, and the admin viewer and CSV export."""
from __future__ import annotations

import csv
import datetime as dt
import io
import json

import pytest
import time_machine
from sqlalchemy import delete, select, update

from app.audit.models import AuditEvent, AuditLogIsAppendOnly
from app.audit.services import AuditFilter, csv_cell, record, search_events
from app.exams.services import finalise_overdue_attempts, finish_attempt, save_answer, start_attempt
from tests.conftest import TEST_PASSWORD
from tests.factories import csrf_token, make_department, make_exam_world, make_user, right_response, utc


def _events(db, prefix: str = "") -> list[AuditEvent]:
    db.session.expire_all()
    return list(db.session.execute(select(AuditEvent).where(AuditEvent.action.like(prefix + "%"))
                                   .order_by(AuditEvent.id)).scalars())


def _login(client, number: str, password: str):
    token = csrf_token(client, "/login")
    return client.post("/login", data={"staff_number": number, "password": password, "csrf_token": token})


def test_sign_ins_failures_and_lockout_are_recorded_without_the_password(app, db, client):
    app.config["LOGIN_MAX_FAILURES"] = 3
    try:
        user = make_user(staff_number="A0001")
        db.session.commit()
        assert _login(client, "A0001", "Wrong-Secret-1").status_code == 401
        assert _login(client, "NOBODY99", "Wrong-Secret-2").status_code == 401
        assert _login(client, "A0001", TEST_PASSWORD).status_code == 302
        client.post("/logout", data={"csrf_token": csrf_token(client, "/courses/")})
        for n in range(3):
            _login(client, "A0001", f"Wrong-Secret-{n + 3}")
    finally:
        app.config["LOGIN_MAX_FAILURES"] = 5
    events = _events(db, "auth.")
    actions = [e.action for e in events]
    assert actions == ["auth.login_failed", "auth.login_failed", "auth.login", "auth.login_failed",
                       "auth.login_failed", "auth.lockout", "auth.login_failed"]
    assert events[0].target == f"user:{user.id}" and events[0].detail == {"method": "password",
                                                                         "reason": "wrong_password"}
    assert events[1].target == "staff:NOBODY99" and events[1].actor_id is None and events[1].detail["reason"] == "unknown"
    assert events[2].actor_id == user.id and events[2].ip == "127.0.0.1"
    assert events[-1].detail["reason"] == "locked"
    dumped = json.dumps([[e.target, e.detail] for e in events])
    assert "Wrong-Secret" not in dumped and TEST_PASSWORD not in dumped


def test_denials_are_recorded(app, db, client, login_as):
    learner = make_user()
    db.session.commit()
    login_as(learner)
    assert client.get("/admin/audit/").status_code == 403
    (event,) = _events(db, "access.")
    assert (event.action, event.actor_id, event.target) == ("access.denied", learner.id, "path:/admin/audit/")
    assert event.detail == {"method": "GET", "endpoint": "audit.index"}


def test_the_application_cannot_change_or_delete_events(db):
    event = record(None, "test.thing", "thing:1", {"password": "hunter2", "n": 1})
    assert event.detail == {"n": 1}  # secret keys are dropped
    db.session.commit()
    event.action = "test.changed"
    with pytest.raises(AuditLogIsAppendOnly):
        db.session.flush()
    db.session.rollback()
    db.session.delete(db.session.get(AuditEvent, event.id))
    with pytest.raises(AuditLogIsAppendOnly):
        db.session.flush()
    db.session.rollback()
    with pytest.raises(AuditLogIsAppendOnly):
        db.session.execute(update(AuditEvent).values(action="x"))
    with pytest.raises(AuditLogIsAppendOnly):
        db.session.execute(delete(AuditEvent))
    db.session.rollback()
    assert [e.action for e in _events(db)] == ["test.thing"]


def test_attempt_start_finish_auto_finish_and_late_answers(db):
    course, exam = make_exam_world(time_limit_minutes=10, attempts_allowed=3)
    exam.require_lessons = False
    user = make_user(make_department())
    start = utc(2026, 3, 2, 1, 0)
    with time_machine.travel(start, tick=False):
        first = start_attempt(user, exam)
        finish_attempt(first, by="candidate")
        second = start_attempt(user, exam)
        db.session.commit()
    with time_machine.travel(start + dt.timedelta(hours=1), tick=False):
        item = second.items[0]
        with pytest.raises(Exception) as refused:
            save_answer(second, item.position, right_response(item), item.revision)
        assert getattr(refused.value, "code", None) == "time_up"
        assert finalise_overdue_attempts() == 0  # the refusal already finished it
    events = _events(db, "attempt.")
    assert [(e.action, e.target) for e in events] == [
        ("attempt.start", f"attempt:{first.id}"), ("attempt.finish", f"attempt:{first.id}"),
        ("attempt.start", f"attempt:{second.id}"), ("attempt.auto_finish", f"attempt:{second.id}"),
        ("attempt.late_answer_refused", f"attempt:{second.id}")]
    assert events[1].actor_id == user.id and events[3].actor_id is None
    assert events[3].detail["by"] == "deadline" and events[0].detail["exam"] == exam.code


def test_scheduler_auto_finish_is_recorded(db):
    course, exam = make_exam_world(time_limit_minutes=10)
    exam.require_lessons = False
    user = make_user(make_department())
    start = utc(2026, 3, 2, 1, 0)
    with time_machine.travel(start, tick=False):
        attempt = start_attempt(user, exam)
        db.session.commit()
    with time_machine.travel(start + dt.timedelta(hours=1), tick=False):
        assert finalise_overdue_attempts() == 1
    (event,) = _events(db, "attempt.auto")
    assert event.target == f"attempt:{attempt.id}" and event.detail["by"] == "scheduler"


def test_role_and_activation_changes_are_recorded(app, db):
    from app.org.services import set_user_active, set_user_roles

    root = make_department("滨江市")
    admin = make_user(root, is_admin=True)
    staff = make_user(root)
    set_user_roles(staff, is_admin=False, is_examiner=True, officer_of=[root.id], actor=admin)
    set_user_active(staff, False, actor=admin)
    events = _events(db, "user.")
    assert [(e.action, e.actor_id, e.target) for e in events] == [
        ("user.roles", admin.id, f"user:{staff.id}"), ("user.deactivate", admin.id, f"user:{staff.id}")]
    assert events[0].detail["is_examiner"] == [False, True] and events[0].detail["officer_of"] == [[], [root.id]]


def test_viewer_filters_pages_and_exports_escaped_csv(app, db, client, login_as):
    root = make_department("滨江市")
    admin = make_user(root, is_admin=True, staff_number="ADM001", name="管理员")
    other = make_user(root, staff_number="OTH002")
    with time_machine.travel(utc(2026, 5, 1, 15, 30), tick=False):  # 23:30 on 1 May in Shanghai
        record(other.id, "user.roles", "user:7", {"note": "=HYPERLINK(\"http://evil\")"})
    with time_machine.travel(utc(2026, 5, 1, 16, 30), tick=False):  # 00:30 on 2 May in Shanghai
        record(admin.id, "department.create", "=cmd|' /C calc'!A0", {"code": "-X"})
    db.session.commit()
    login_as(admin)
    page = client.get("/admin/audit/?from=2026-05-02&to=2026-05-02").get_data(as_text=True)
    assert "=cmd" in page and "user:7" not in page
    page = client.get("/admin/audit/?from=2026-05-01&to=2026-05-01").get_data(as_text=True)
    assert "user:7" in page and "=cmd" not in page
    page = client.get("/admin/audit/?actor=OTH002&action=user.").get_data(as_text=True)
    assert "user:7" in page and "=cmd" not in page
    assert "user:7" not in client.get("/admin/audit/?action=department").get_data(as_text=True)
    assert "=cmd" not in client.get("/admin/audit/?target=user:").get_data(as_text=True)
    assert client.get("/admin/audit/?from=2026-02-30").status_code == 400
    assert client.get("/admin/audit/?page=0").status_code == 400
    response = client.get("/admin/audit/export.csv?action=department.")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][:6] == ["at_utc", "at_local", "actor_staff_number", "actor_name", "action", "target"]
    assert len(rows) == 2
    assert rows[1][1] == "2026-05-02 00:30:00" and rows[1][2] == "ADM001" and rows[1][4] == "department.create"
    assert rows[1][5] == "'=cmd|' /C calc'!A0"
    everything = client.get("/admin/audit/export.csv").get_data(as_text=True)
    assert all(not cell.startswith(("=", "+", "-", "@")) for row in csv.reader(io.StringIO(everything.lstrip("\ufeff")))
               for cell in row)


def test_csv_cell_escapes_every_formula_start():
    for start in ("=", "+", "-", "@", "\t", "\r"):
        assert csv_cell(start + "1+1") == "'" + start + "1+1"
    assert csv_cell("plain") == "plain" and csv_cell(None) == "" and csv_cell(42) == "42"


def test_search_events_pages(db):
    for n in range(60):
        record(None, "test.page", f"thing:{n}")
    rows, total = search_events(AuditFilter(action="test."), page=2)
    assert total == 60 and len(rows) == 10 and rows[-1][0].target == "thing:0"


def test_command_line_imports_are_recorded(app, db, tmp_path):
    from tests.conftest import FIXTURES

    runner = app.test_cli_runner()
    path = FIXTURES / "questions_in_category.gift.txt"
    assert runner.invoke(args=["questions", "import", str(path), "--dry-run"]).exit_code == 0
    assert _events(db, "bank.") == []  # a dry run records nothing
    assert runner.invoke(args=["questions", "import", str(path)]).exit_code == 0
    (event,) = _events(db, "bank.")
    assert event.action == "bank.import" and event.actor_id is None and event.detail["created"] == 4
    departments = tmp_path / "departments.csv"
    departments.write_text("code,name,parent_code\nCITY,滨江市,\nCITY-CZJ,市财政局,CITY\n", encoding="utf-8")
    result = runner.invoke(args=["org", "import-departments", str(departments)])
    assert result.exit_code == 0, result.output
    (event,) = _events(db, "department.import")
    assert event.detail["created"] == 2 and event.target == f"file:{departments}"


def test_person_page_lists_the_latest_events_about_them(app, db, client, login_as):
    from app.org.services import set_user_active

    root = make_department("滨江市")
    admin = make_user(root, is_admin=True)
    staff = make_user(root)
    set_user_active(staff, False, actor=admin)
    db.session.commit()
    login_as(admin)
    page = client.get(f"/admin/people/{staff.id}?lang=en").get_data(as_text=True)
    events = page.split("Latest audit events about this person")[1]
    assert "Deactivated" in events and admin.name in events
    assert f"target=user:{staff.id}" in events.replace("%3A", ":")


def test_scope_refusals_answered_404_are_recorded_without_revealing_existence(app, db, client, login_as):
    """An officer asking for a person or department outside their scope gets the very 404 a missing id
    gets, and the refusal is an ``access.denied`` event on what was asked for; a missing id records nothing."""
    city = make_department("滨江市")
    mine, theirs = make_department("市财政局", city), make_department("市教育局", city)
    officer = make_user(mine, officer_of=[mine], staff_number="OFF-1")
    stranger = make_user(theirs, name="外单位人员")
    colleague = make_user(mine)
    db.session.commit()
    login_as(officer)
    missing = client.get("/dashboard/people/999999?lang=en")
    refused = client.get(f"/dashboard/people/{stranger.id}?lang=en", environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert missing.status_code == refused.status_code == 404
    assert refused.get_data() == missing.get_data()  # nothing tells the two apart
    assert client.get(f"/dashboard/people/{colleague.id}").status_code == 200
    assert client.get(f"/people/sign-in-codes?department={theirs.id}").status_code == 404
    assert client.get(f"/dashboard/departments/{theirs.id}").status_code == 404  # no plan either: still a probe
    assert client.get("/dashboard/departments/999999").status_code == 404
    (person, department, drill_down) = [e for e in _events(db, "access.") if not e.target.startswith("path:")]
    assert (person.action, person.actor_id, person.target, person.ip) == (
        "access.denied", officer.id, f"user:{stranger.id}", "10.1.2.3")
    assert person.detail == {"method": "GET", "endpoint": "rollout.person", "path": f"/dashboard/people/{stranger.id}",
                             "status": 404}
    assert department.target == drill_down.target == f"department:{theirs.id}"


def test_refusal_of_another_persons_attempt_over_the_json_api_is_recorded(app, db, client, login_as):
    course, exam = make_exam_world()
    exam.require_lessons = False
    owner, other = make_user(make_department()), make_user()
    attempt = start_attempt(owner, exam)
    db.session.commit()
    login_as(other)
    token = csrf_token(client, "/courses/")
    response = client.post(f"/api/attempts/{attempt.id}/answers", json={"position": 1, "response": {}, "revision": 0},
                           headers={"X-CSRFToken": token})
    assert response.status_code == 404 and response.get_json()["code"] == "not_found"
    response = client.post("/api/attempts/999999/answers", json={"position": 1, "response": {}, "revision": 0},
                           headers={"X-CSRFToken": token})
    assert response.status_code == 404
    (event,) = _events(db, "access.")
    assert (event.actor_id, event.target, event.detail["endpoint"]) == (other.id, f"attempt:{attempt.id}",
                                                                        "exams.save_answer")


def test_viewer_filters_by_text_in_the_target_and_by_ip(app, db, client, login_as):
    from app.audit.services import parse_ip_filter

    admin = make_user(make_department("滨江市"), is_admin=True)
    record(None, "access.denied", "path:/admin/people/7", {}, ip="10.12.3.4")
    record(None, "access.denied", "user:70", {}, ip="10.120.0.9")
    record(None, "auth.login_failed", "staff:ABC_%1", {}, ip="2001:db8::1")
    db.session.commit()
    assert [r[0].target for r in search_events(AuditFilter(target_text="/ADMIN"))[0]] == ["path:/admin/people/7"]
    assert {r[0].target for r in search_events(AuditFilter(target_text="7"))[0]} == {"path:/admin/people/7", "user:70"}
    assert [r[0].target for r in search_events(AuditFilter(target_text="c_%"))[0]] == ["staff:ABC_%1"]  # literal
    assert search_events(AuditFilter(target_text="C%1"))[1] == 0  # % and _ are not wildcards
    assert [r[0].ip for r in search_events(AuditFilter(ip="10.12.3.4"))[0]] == ["10.12.3.4"]
    assert [r[0].ip for r in search_events(AuditFilter(ip="10.12."))[0]] == ["10.12.3.4"]  # not 10.120.…
    assert [r[0].ip for r in search_events(AuditFilter(ip=parse_ip_filter(" 2001:DB8: ")))[0]] == ["2001:db8::1"]
    login_as(admin)
    page = client.get("/admin/audit/?contains=admin/people&ip=10.12.&lang=en").get_data(as_text=True)
    assert "path:/admin/people/7" in page and "user:70" not in page and 'value="10.12."' in page
    bad = client.get("/admin/audit/?ip=10.1.*&lang=en")
    assert bad.status_code == 400 and "IP address: type an address" in bad.get_data(as_text=True)
    rows = client.get("/admin/audit/export.csv?ip=2001:db8::1").get_data(as_text=True).strip().splitlines()
    assert len(rows) == 2 and "staff:ABC_%1" in rows[1]
    with pytest.raises(ValueError):
        parse_ip_filter("x" * 46)
