"""Every route against anonymous, learner, an officer of another department and an admin."""
import datetime as dt

import pytest
from sqlalchemy import select

from app.certification.models import Certification
from app.core.time import local_today
from app.exams.services import finish_attempt, start_attempt
from app.learning.services import complete_lesson
from app.rollout.models import Milestone, RolloutPlan
from tests.factories import csrf_token, make_department, make_exam_world, make_user

ROLES = ["anonymous", "learner", "other_officer", "admin"]
# endpoint -> (method, url template, expected status per role)
ROUTES = {
    "core.home": ("GET", "/", [302, 302, 302, 302]),
    "core.healthz": ("GET", "/healthz", [200, 200, 200, 200]),
    "auth.login": ("GET", "/login", [200, 302, 302, 302]),
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
    "certification.mine": ("GET", "/certificates/", [302, 200, 200, 200]),
    "certification.pdf": ("GET", "/certificates/{certificate}.pdf", [302, 404, 404, 404]),
    "certification.verify": ("GET", "/verify/{code}", [200, 200, 200, 200]),
    "certification.verify_form": ("GET", "/verify", [200, 200, 200, 200]),
    "rollout.dashboard": ("GET", "/dashboard/", [302, 403, 200, 200]),
    "rollout.department": ("GET", "/dashboard/departments/{department}", [302, 403, 404, 200]),
    "rollout.person": ("GET", "/dashboard/people/{owner}", [302, 403, 404, 200]),
    "org.overview": ("GET", "/admin/", [302, 403, 403, 200]),
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
    plan = RolloutPlan(name_zh="计划", name_en="Plan", certification_id=certificate.certification_id,
                       starts_on=local_today() - dt.timedelta(days=5), ends_on=local_today() + dt.timedelta(days=30),
                       audience=[city], milestones=[Milestone(due_on=local_today() + dt.timedelta(days=30), target_percent=100)])
    db.session.add(plan)
    users = {
        "learner": make_user(owner_bureau),
        "other_officer": make_user(other_bureau, officer_of=[other_bureau]),
        "admin": make_user(city, is_admin=True),
    }
    db.session.commit()
    values = {"slug": course.slug, "lesson": course.active_lessons[0].key, "exam": exam.code,
              "attempt": open_attempt.id, "finished": finished.id, "certificate": certificate.id,
              "code": certificate.verification_code, "department": owner_bureau.id, "owner": owner.id}
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
