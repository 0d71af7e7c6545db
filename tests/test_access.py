"""Every route against anonymous, learner, an officer of another department and an admin."""
import datetime as dt
import os

import pytest
from sqlalchemy import select

from app.certification.models import Certification
from app.core.time import local_today
from app.exams.services import finish_attempt, start_attempt
from app.learning.services import complete_lesson
from app.questions.models import Question
from app.rollout.models import Milestone, RolloutPlan
from tests.factories import csrf_token, make_department, make_exam_world, make_user

ROLES = ["anonymous", "learner", "other_officer", "admin"]
# endpoint -> (method, url template, expected status per role)
ROUTES = {
    "core.home": ("GET", "/", [302, 302, 302, 302]),
    "core.healthz": ("GET", "/healthz", [200, 200, 200, 200]),
    "auth.login": ("GET", "/login", [200, 302, 302, 302]),
    "auth.code_login": ("GET", "/login/code", [200, 302, 302, 302]),
    "auth.logout": ("POST", "/logout", [302, 302, 302, 302]),
    "auth.password": ("GET", "/account/password", [302, 200, 200, 200]),
    "learning.my_courses": ("GET", "/courses/", [302, 200, 200, 200]),
    "learning.course": ("GET", "/courses/{slug}", [302, 200, 200, 200]),
    "learning.lesson": ("GET", "/courses/{slug}/lessons/{lesson}", [302, 200, 200, 200]),
    "learning.complete_lesson": ("POST", "/courses/{slug}/lessons/{lesson}/complete", [302, 302, 302, 302]),
    "exams.exam": ("GET", "/exams/{exam}", [302, 200, 200, 200]),
    "exams.start": ("POST", "/exams/{exam}/start", [302, 302, 302, 302]),
    "exams.attempt": ("GET", "/attempts/{attempt}", [302, 404, 404, 404]),
    "exams.save_answer": ("POST", "/api/attempts/{attempt}/answers", [401, 404, 404, 404]),
    "exams.status": ("GET", "/api/attempts/{attempt}/status", [401, 404, 404, 404]),
    "exams.flag": ("POST", "/api/attempts/{attempt}/flags", [401, 404, 404, 404]),
    "exams.navigate": ("POST", "/attempts/{attempt}/navigate", [302, 404, 404, 404]),
    "exams.summary": ("GET", "/attempts/{attempt}/summary", [302, 404, 404, 404]),
    "exams.submit": ("POST", "/attempts/{attempt}/submit", [302, 404, 404, 404]),
    "exams.result": ("GET", "/attempts/{finished}/result", [302, 404, 404, 404]),
    "exams.review_page": ("GET", "/attempts/{finished}/review", [302, 404, 404, 404]),
    "exams.practical_starter": ("GET", "/attempts/{attempt}/items/1/starter", [302, 404, 404, 404]),
    "exams.practical_upload": ("POST", "/api/attempts/{attempt}/items/1/upload", [401, 404, 404, 404]),
    "exams.practical_upload_form": ("POST", "/attempts/{attempt}/items/1/upload", [302, 404, 404, 404]),
    "exams.practical_file": ("GET", "/attempts/{finished}/items/1/file", [302, 404, 404, 404]),
    "exams.overrides": ("GET", "/exams/{exam}/overrides", [302, 403, 403, 200]),
    "exams.delete_override": ("POST", "/exams/{exam}/overrides/{override}/delete", [302, 403, 403, 302]),
    "exams.person_rules": ("GET", "/people/{owner}/exam-rules", [302, 403, 404, 200]),
    "exams.regrade": ("GET", "/admin/exams/{exam}/regrade", [302, 403, 403, 200]),
    "exams.regrade_apply": ("POST", "/admin/exams/{exam}/regrade", [302, 403, 403, 200]),
    "certification.mine": ("GET", "/certificates/", [302, 200, 200, 200]),
    "certification.pdf": ("GET", "/certificates/{certificate}.pdf", [302, 404, 404, 404]),
    "certification.verify": ("GET", "/verify/{code}", [200, 200, 200, 200]),
    "certification.verify_form": ("GET", "/verify", [200, 200, 200, 200]),
    "certification.admin_list": ("GET", "/admin/certificates/", [302, 403, 403, 200]),
    "certification.admin_detail": ("GET", "/admin/certificates/{certificate}", [302, 403, 403, 200]),
    "certification.admin_revoke": ("POST", "/admin/certificates/{certificate}/revoke", [302, 403, 403, 302]),
    "certification.admin_reinstate": ("POST", "/admin/certificates/{certificate}/reinstate", [302, 403, 403, 302]),
    "rollout.dashboard": ("GET", "/dashboard/", [302, 403, 200, 200]),
    "rollout.department": ("GET", "/dashboard/departments/{department}", [302, 403, 404, 200]),
    "rollout.person": ("GET", "/dashboard/people/{owner}", [302, 403, 404, 200]),
    "rollout.skills_page": ("GET", "/dashboard/skills", [302, 403, 200, 200]),
    "rollout.export_xlsx": ("GET", "/dashboard/export.xlsx", [302, 403, 200, 200]),
    "rollout.export_pdf": ("GET", "/dashboard/summary.pdf", [302, 403, 200, 200]),
    "rollout.export_csv": ("GET", "/dashboard/departments/{department}/people.csv", [302, 403, 404, 200]),
    # an empty POST is an unknown action: 400 for an admin, 404 for an officer whose scope lacks the person
    "rollout.person_action": ("POST", "/dashboard/people/{owner}/actions", [302, 403, 404, 400]),
    "plans.plans": ("GET", "/admin/plans/", [302, 403, 403, 200]),
    "plans.new": ("GET", "/admin/plans/new", [302, 403, 403, 200]),
    "plans.edit": ("GET", "/admin/plans/{plan}/edit", [302, 403, 403, 200]),
    "plans.waves": ("GET", "/admin/plans/{plan}/waves", [302, 403, 403, 200]),
    "plans.wave_milestones": ("POST", "/admin/plans/{plan}/waves/{wave}/milestones", [302, 403, 403, 302]),
    "plans.delete_wave": ("POST", "/admin/plans/{plan}/waves/{wave}/delete", [302, 403, 403, 302]),
    "plans.exemptions": ("GET", "/admin/plans/{plan}/exemptions", [302, 403, 403, 200]),
    "plans.lift": ("POST", "/admin/plans/{plan}/exemptions/{exempted}/lift", [302, 403, 403, 302]),
    "org.overview": ("GET", "/admin/", [302, 403, 403, 200]),
    "exams.report_index": ("GET", "/reports/exams/", [302, 403, 200, 200]),
    "exams.statistics": ("GET", "/reports/exams/{exam}/statistics", [302, 403, 403, 200]),
    "exams.statistics_export": ("GET", "/reports/exams/{exam}/statistics.xlsx", [302, 403, 403, 200]),
    "exams.results": ("GET", "/reports/exams/{exam}/results", [302, 403, 200, 200]),
    "exams.results_export": ("GET", "/reports/exams/{exam}/results.csv", [302, 403, 200, 200]),
    "exams.attempt_review": ("GET", "/reports/attempts/{finished}", [302, 404, 404, 200]),
    "org.people": ("GET", "/admin/people/", [302, 403, 403, 200]),
    "org.person": ("GET", "/admin/people/{owner}", [302, 403, 403, 200]),
    "org.set_active": ("POST", "/admin/people/{owner}/active", [302, 403, 403, 302]),
    "org.set_roles": ("POST", "/admin/people/{owner}/roles", [302, 403, 403, 302]),
    "org.import_people": ("GET", "/admin/people/import", [302, 403, 403, 200]),
    "org.departments": ("GET", "/admin/departments/", [302, 403, 403, 200]),
    "org.department": ("GET", "/admin/departments/{department}", [302, 403, 403, 200]),
    "org.add_department_view": ("POST", "/admin/departments/add", [302, 403, 403, 302]),
    "org.rename_department_view": ("POST", "/admin/departments/{department}/rename", [302, 403, 403, 302]),
    "org.move_department_view": ("POST", "/admin/departments/{department}/move", [302, 403, 403, 302]),
    "org.retire_department_view": ("POST", "/admin/departments/{department}/retire", [302, 403, 403, 302]),
    "audit.index": ("GET", "/admin/audit/", [302, 403, 403, 200]),
    "audit.export": ("GET", "/admin/audit/export.csv", [302, 403, 403, 200]),
    "signin_codes.issue_one": ("POST", "/people/{owner}/sign-in-code", [302, 403, 404, 200]),
    "signin_codes.bulk": ("GET", "/people/sign-in-codes", [302, 403, 200, 200]),
    # without a department in the form there is nothing within scope to issue for
    "signin_codes.bulk_issue": ("POST", "/people/sign-in-codes", [302, 403, 404, 404]),
    "grading.queue": ("GET", "/grading/", [302, 403, 403, 200]),
    # a choice item is not graded by a person: 404 even for an admin (the essay page is in tests/exams/test_types_http.py)
    "grading.response": ("GET", "/grading/responses/{item}", [302, 403, 403, 404]),
    "questions.index": ("GET", "/bank/", [302, 403, 403, 200]),
    "questions.question": ("GET", "/bank/questions/{question}", [302, 403, 403, 200]),
    "questions.edit": ("GET", "/bank/questions/{question}/edit", [302, 403, 403, 200]),
    "questions.retire": ("POST", "/bank/questions/{question}/retire", [302, 403, 403, 302]),
    "questions.reactivate": ("POST", "/bank/questions/{question}/reactivate", [302, 403, 403, 302]),
    "questions.upload": ("GET", "/bank/import", [302, 403, 403, 200]),
    "questions.confirm_import": ("POST", "/bank/import/confirm", [302, 403, 403, 400]),
    "questions.export": ("GET", "/bank/export", [302, 403, 403, 200]),
    # exam editor: examiners and admins (examiners are covered in tests/exams/test_exam_editor_http.py)
    "exam_editor.index": ("GET", "/admin/exams/", [302, 403, 403, 200]),
    "exam_editor.new": ("GET", "/admin/exams/new", [302, 403, 403, 200]),
    "exam_editor.edit": ("GET", "/admin/exams/{exam}/edit", [302, 403, 403, 200]),
    "exam_editor.pool": ("GET", "/admin/exams/pool?item=X1&difficulty=easy&count=1", [302, 403, 403, 200]),
    "exam_editor.sitting_candidates_page": ("GET", "/admin/exams/{exam}/sittings/{sitting}", [302, 403, 403, 200]),
    "exam_editor.sitting_candidates_update": ("POST", "/admin/exams/{exam}/sittings/{sitting}", [302, 403, 403, 400]),
    "exam_editor.forms": ("GET", "/admin/exams/forms?item=X1&difficulty=easy&count=1", [302, 403, 403, 200]),
    "notifications.notices": ("GET", "/notices", [302, 200, 200, 200]),
    # the notice is the owner's: nobody else may mark it read
    "notifications.mark_read": ("POST", "/notices/{notice}/read", [302, 404, 404, 404]),
    "notifications.mark_all_read": ("POST", "/notices/read", [302, 302, 302, 302]),
    # no plan posted: 404 for an admin; the officer of another bureau gets 404 for the department itself
    "notifications.remind": ("POST", "/dashboard/departments/{department}/remind", [302, 403, 404, 404]),
    "scheduler.jobs": ("GET", "/admin/jobs", [302, 403, 403, 200]),
}


ALL = ("learner", "other_officer", "admin")
# A 404 that withholds an existing object (another person's attempt, certificate or notice; a person or
# department outside the officer's scope) is audited as ``access.denied`` on that object: endpoint ->
# (target, roles whose 404 is such a refusal). Every other 404 in ROUTES must record no denial.
SCOPE_REFUSALS = {
    **{endpoint: ("attempt:{attempt}", ALL) for endpoint in (
        "exams.attempt", "exams.save_answer", "exams.status", "exams.flag", "exams.navigate", "exams.summary",
        "exams.submit", "exams.practical_starter", "exams.practical_upload", "exams.practical_upload_form")},
    "exams.result": ("attempt:{finished}", ALL),
    "exams.review_page": ("attempt:{finished}", ALL),
    "exams.practical_file": ("attempt:{finished}", ("learner", "other_officer")),  # admin: no file there
    "exams.attempt_review": ("attempt:{finished}", ("learner", "other_officer")),
    "exams.person_rules": ("user:{owner}", ("other_officer",)),
    "certification.pdf": ("certificate:{certificate}", ALL),
    "notifications.mark_read": ("message:{notice}", ALL),
    "notifications.remind": ("department:{department}", ("other_officer",)),
    "rollout.department": ("department:{department}", ("other_officer",)),
    "rollout.export_csv": ("department:{department}", ("other_officer",)),
    "rollout.person": ("user:{owner}", ("other_officer",)),
    "rollout.person_action": ("user:{owner}", ("other_officer",)),
    "signin_codes.issue_one": ("user:{owner}", ("other_officer",)),
}


def test_every_route_is_in_the_access_table(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules() if rule.endpoint != "static"}
    assert endpoints == set(ROUTES)


@pytest.fixture()
def world(db):
    """An owner with an open attempt, a finished attempt and a certificate; the other roles."""
    city = make_department("滨江市")
    owner_bureau = make_department("市财政局", city)
    other_bureau = make_department("市教育局", city)
    course, exam = make_exam_world(attempts_allowed=5)
    owner = make_user(owner_bureau, name="业主")
    for lesson in course.active_lessons:
        complete_lesson(owner, lesson)
    db.session.add(Certification(code="TEST-CERT", title_zh="测试证书", title_en="Test certificate", courses=[course]))
    db.session.flush()
    finished = start_attempt(owner, exam)
    finish_attempt(finished, by="candidate")
    from app.certification.models import Certificate
    from app.certification.services import new_verification_code
    from app.core.time import utcnow

    certificate = Certificate(certification_id=db.session.execute(select(Certification.id)).scalar_one(),
                              user_id=owner.id, serial="TEST-2026-000001", verification_code=new_verification_code(),
                              issued_at=utcnow())
    db.session.add(certificate)
    open_attempt = start_attempt(owner, exam)
    from app.exams.models import ExamSitting

    sitting = ExamSitting(exam_id=exam.id, starts_at=utcnow() + dt.timedelta(days=1),
                          ends_at=utcnow() + dt.timedelta(days=1, hours=2), capacity=10, name="301")
    db.session.add(sitting)
    plan = RolloutPlan(name_zh="计划", name_en="Plan", certification_id=certificate.certification_id,
                       starts_on=local_today() - dt.timedelta(days=5), ends_on=local_today() + dt.timedelta(days=30),
                       audience=[city], milestones=[Milestone(due_on=local_today() + dt.timedelta(days=30), target_percent=100)])
    db.session.add(plan)
    from app.rollout.models import Exemption, PlanWave

    plan.waves.append(PlanWave(name="试点", starts_on=plan.starts_on, ends_on=plan.ends_on, departments=[owner_bureau]))
    exempted = make_user(owner_bureau, name="豁免者")
    db.session.flush()
    db.session.add(Exemption(plan_id=plan.id, user_id=exempted.id, reason="借调"))
    users = {
        "learner": make_user(owner_bureau),
        "other_officer": make_user(other_bureau, officer_of=[other_bureau]),
        "admin": make_user(city, is_admin=True),
    }
    from app.exams.models import ExamOverride

    override = ExamOverride(exam_id=exam.id, user_id=owner.id, attempts_allowed=6, reason="test")
    db.session.add(override)
    from app.notifications.models import IN_APP, Message

    notice = Message(recipient_id=owner.id, channel=IN_APP, kind="manual", event_key="access-test", subject="s",
                     body="b", locale="zh_CN", sent_at=utcnow())
    db.session.add(notice)
    db.session.commit()
    values = {"override": override.id, "slug": course.slug, "lesson": course.active_lessons[0].key, "exam": exam.code,
              "attempt": open_attempt.id, "finished": finished.id, "certificate": certificate.id,
              "code": certificate.verification_code, "department": owner_bureau.id, "owner": owner.id,
              "item": finished.items[0].id, "notice": notice.id, "plan": plan.id, "wave": plan.waves[0].id,
              "exempted": exempted.id, "sitting": sitting.id,
              "question": db.session.execute(select(Question.id).order_by(Question.id)).scalars().first()}
    return users, values


@pytest.mark.parametrize("endpoint", sorted(ROUTES))
@pytest.mark.parametrize("role_index", range(len(ROLES)), ids=ROLES)
def test_access(app, world, endpoint, role_index):
    users, values = world
    method, template, expected = ROUTES[endpoint]
    client = app.test_client()
    token = csrf_token(client, "/login")
    role = ROLES[role_index]
    if role != "anonymous":
        assert client.post("/login", data={"staff_number": users[role].staff_number, "password": "correct-horse-42",
                                           "csrf_token": token}).status_code == 302
        token = csrf_token(client, "/courses/")
    url = template.format(**values)
    if method == "GET":
        response = client.get(url)
    elif url.startswith("/api/"):
        response = client.post(url, json={"position": 1, "response": {"choice": "a"}, "revision": 0, "flagged": True},
                               headers={"X-CSRFToken": token})
    else:
        response = client.post(url, data={"csrf_token": token})
    assert response.status_code == expected[role_index], (role, url, response.status_code)
    from app.audit.models import AuditEvent
    from app.extensions import db

    with app.app_context():
        denied = list(db.session.execute(select(AuditEvent).where(AuditEvent.action == "access.denied",
                                                                  AuditEvent.target.not_like("path:%"))).scalars())
        target, roles = SCOPE_REFUSALS.get(endpoint, (None, ()))
        if response.status_code == 404 and role in roles:
            assert [e.target for e in denied] == [target.format(**values)], (role, url)
            event = denied[0]
            assert event.actor_id == users[role].id and event.ip == "127.0.0.1"
            assert event.detail["status"] == 404 and event.detail["endpoint"] == endpoint and event.detail["path"]
        else:
            assert denied == [], (role, url)
    if response.status_code == 302 and role == "anonymous" and endpoint not in ("core.home", "auth.logout"):
        assert "/login" in response.headers["Location"]


def test_officer_never_sees_a_department_outside_scope(app, world, db):
    from app.auth.models import User
    from app.org.models import Department
    from app.rollout.services import department_figures, flatten, plans_for, unfinished_staff

    users, values = world
    officer = db.session.get(User, users["other_officer"].id)
    plan = plans_for(officer)[0]
    rows = flatten(department_figures(plan, officer, local_today()))
    names = {row.department.name for row in rows}
    assert names == {"市教育局"}
    assert unfinished_staff(plan, officer, values["department"], local_today()) == []
    client = app.test_client()
    token = csrf_token(client, "/login")
    client.post("/login", data={"staff_number": officer.staff_number, "password": "correct-horse-42", "csrf_token": token})
    page = client.get("/dashboard/").get_data(as_text=True)
    assert "市财政局" not in page and "滨江市" not in page and "市教育局" in page
    owner_bureau = db.session.get(Department, values["department"])
    assert client.get(f"/dashboard/departments/{owner_bureau.id}").status_code == 404


# ---------------------------------------------------------------------------------------------
# Hostile inputs: no route answers 5xx to any role, whatever is in its path, query or body.

HOSTILE_INTS = ["99999999999999999999", "2147483648", "4294967296", "-1", "0", "00000000000000000001"]
HOSTILE_STRINGS = ["%00", "a%00b", "%FF%FE", "x" * 3000, "..%2F..%2Fetc%2Fpasswd", "%E2%80%AE", "%27%20OR%20%271%27%3D%271"]
HOSTILE_QUERIES = [
    "as_of=9999-12-31", "as_of=0001-01-01", "as_of=garbage", "as_of=2026-02-30", "as_of=%00",
    "as_of=99999-01-01", "page=99999999999999999999", "page=-3", "page=abc", "page=0",
    "plan=99999999999999999999", "plan=-1", "plan=1.5", "lang=%00", "next=%00", "next=//evil.example",
    "code=%00", "code=" + "x" * 5000, "x=%00", "%00=1",
]
HOSTILE_FORMS = [
    {"staff_number": "a\x00", "password": "\x00", "current": "\x00", "new": "b\x00" * 5, "confirm": "b\x00" * 5,
     "code": "\x00", "q1": "\x00", "q2": "a"},
    {"staff_number": "x" * 5000, "password": "y" * 5000, "q1": "z" * 5000},
]
HOSTILE_JSON = [
    {"position": 1, "response": {"choice": True}, "revision": True},
    {"position": 1, "response": {"choices": [True, None, 1.5, {}]}, "revision": False},
    {"position": 99999999999999999999, "response": {"choice": "a"}, "revision": 1},
    {"position": 1, "response": {"choice": "a"}, "revision": 99999999999999999999},
    {"position": 1, "response": {"choice": "a"}, "revision": -99999999999999999999},
    {"position": -1, "response": {"choice": "a"}, "revision": 1.5},
    {"position": 1, "response": {"choice": "\x00"}, "revision": 2},
    {"position": 1, "response": {"text": "x" * 20000}, "revision": 3},
    {"position": 1, "response": "a", "revision": "1"},
    {"position": "1", "response": None, "revision": None},
    [], "text", None, 12,
]


def _path_values(rule, values) -> dict[str, str]:
    """Valid values for every parameter of ``rule``, from the world fixture."""
    by_name = {"slug": values["slug"], "key": values["lesson"], "attempt_id": values["attempt"],
               "certificate_id": values["certificate"], "department_id": values["department"],
               "user_id": values["owner"], "fmt": "xlsx",
               "override_id": values["override"], "item_id": values["item"],
               "question_id": values["question"], "message_id": values["notice"], "plan_id": values["plan"],
               "wave_id": values["wave"], "position": 1, "sitting_id": values["sitting"]}
    if rule.endpoint in ("exams.result", "exams.review_page", "exams.attempt_review", "exams.practical_file"):
        by_name["attempt_id"] = values["finished"]
    by_name["code"] = values["code"] if rule.endpoint.startswith("certification.") else values["exam"]
    if rule.endpoint == "plans.lift":
        by_name["user_id"] = values["exempted"]
    return {name: str(by_name[name]) for name in rule.arguments}


def _build(rule, args: dict[str, str]) -> str:
    url = rule.rule
    for name, value in args.items():
        url = url.replace(f"<int:{name}>", value).replace(f"<{name}>", value)
    return url


SWEEP_ROLES = ["anonymous", "owner", "other_officer", "admin"]


@pytest.mark.parametrize("endpoint", sorted(e for e in ROUTES))
@pytest.mark.parametrize("role", SWEEP_ROLES)
def test_hostile_inputs_never_give_a_server_error(app, world, db, endpoint, role):
    users, values = world
    from app.auth.models import User

    users = dict(users, owner=db.session.execute(select(User).where(User.name == "业主")).scalar_one())
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
    method = "POST" if "POST" in rule.methods and "GET" not in rule.methods else "GET"
    client = app.test_client()
    if role != "anonymous":
        token = csrf_token(client, "/login")
        assert client.post("/login", data={"staff_number": users[role].staff_number, "password": "correct-horse-42",
                                           "csrf_token": token}).status_code == 302
    token = csrf_token(client, "/verify")
    valid = _path_values(rule, values)
    urls = [_build(rule, valid)]
    for name in rule.arguments:
        hostile = HOSTILE_INTS if "int:" + name in rule.rule else HOSTILE_STRINGS
        urls += [_build(rule, dict(valid, **{name: value})) for value in hostile]
    failures = []

    def check(send, what):
        try:  # in testing, an unhandled exception reaches the test instead of becoming a 500
            status = send().status_code
        except Exception as error:  # noqa: BLE001
            status = f"500 {type(error).__name__}: {str(error)[:80]}"
        if not isinstance(status, int) or status >= 500:
            failures.append((str(what)[:120], status))

    for full in urls + [f"{urls[0]}?{query}" for query in HOSTILE_QUERIES]:
        if method == "GET":
            check(lambda: client.get(full), full)
        else:
            check(lambda: client.post(full, data={"csrf_token": token}), full)
    if "POST" in rule.methods:
        base = urls[0]
        for form in HOSTILE_FORMS:
            check(lambda: client.post(base, data=dict(form, csrf_token=token)), (base, "form"))
        if base.startswith("/api/"):
            for body in HOSTILE_JSON:
                check(lambda: client.post(base, json=body, headers={"X-CSRFToken": token}), (base, body))
    assert not failures, failures


def test_a_boolean_for_an_integer_json_field_is_a_400(app, world, db):
    users, values = world
    from app.auth.models import User

    owner = db.session.execute(select(User).where(User.name == "业主")).scalar_one()
    client = app.test_client()
    token = csrf_token(client, "/login")
    client.post("/login", data={"staff_number": owner.staff_number, "password": "correct-horse-42", "csrf_token": token})
    token = csrf_token(client, "/courses/")
    try:
        response = client.post(f"/api/attempts/{values['attempt']}/answers", headers={"X-CSRFToken": token},
                               json={"position": True, "response": {"choice": "a"}, "revision": 0})
        status = response.status_code
    except Exception:  # noqa: BLE001  (PostgreSQL: the error reaches the test)
        status = 500
    assert status == 400


def test_officer_cannot_grant_an_override_outside_scope(app, world, db):
    from app.audit.models import AuditEvent
    from app.exams.models import ExamOverride
    from sqlalchemy import func

    users, values = world
    client = app.test_client()
    token = csrf_token(client, "/login")
    client.post("/login", data={"staff_number": users["other_officer"].staff_number, "password": "correct-horse-42",
                                "csrf_token": token})
    token = csrf_token(client, "/courses/")
    exam_id = db.session.execute(select(ExamOverride.exam_id)).scalar_one()
    response = client.post(f"/people/{values['owner']}/exam-rules",
                           data={"action": "extra_attempt", "exam_id": exam_id, "reason": "x", "csrf_token": token})
    assert response.status_code == 404
    response = client.post(f"/exams/{values['exam']}/overrides/{values['override']}/delete", data={"csrf_token": token})
    assert response.status_code == 403
    db.session.expire_all()
    assert db.session.execute(select(ExamOverride.attempts_allowed)).scalar_one() == 6
    assert db.session.execute(select(func.count(AuditEvent.id)).where(
        AuditEvent.action.like("exam_override%") | AuditEvent.action.like("accommodation%"))).scalar_one() == 0


def test_officer_cannot_issue_sign_in_codes_outside_scope(app, world, db):
    """Neither for one person nor through a department outside scope; the person's password stays."""
    from app.auth.models import SignInCode, User

    users, values = world
    client = app.test_client()
    token = csrf_token(client, "/login")
    client.post("/login", data={"staff_number": users["other_officer"].staff_number, "password": "correct-horse-42",
                                "csrf_token": token})
    token = csrf_token(client, "/courses/")
    assert client.post(f"/people/{values['owner']}/sign-in-code", data={"csrf_token": token}).status_code == 404
    assert client.post("/people/sign-in-codes", data={"csrf_token": token, "department": values["department"],
                                                      "mode": "without_password"}).status_code == 404
    own = db.session.get(User, users["other_officer"].id).department_id
    response = client.post("/people/sign-in-codes", data={"csrf_token": token, "department": own, "mode": "selected",
                                                          "user_id": str(values["owner"]), "format": "csv"})
    assert response.status_code == 302  # nobody within scope was ticked
    db.session.expire_all()
    assert db.session.execute(select(SignInCode)).first() is None
    assert db.session.get(User, values["owner"]).password_hash is not None

