"""The whole path through HTTP on real content: learn, sit the exam, get certified; the officer sees it."""
import datetime as dt
import re

from sqlalchemy import select

from app.certification.models import Certification
from app.core.time import local_today
from app.exams.models import Attempt
from app.extensions import db as _db
from app.learning.models import Course
from app.rollout.models import Milestone, RolloutPlan
from tests.factories import csrf_token, make_department, make_user, right_response, wrong_response

SLUG = "security-and-confidentiality"


def dashboard_row(html: str, department_name: str) -> list[str]:
    """Cell texts of the dashboard row whose department link reads ``department_name``."""
    for row in re.findall(r"<tr class=\"level-\d\">(.*?)</tr>", html, re.S):
        if f">{department_name}</a>" in row:
            cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
            return [re.sub(r"<[^>]+>", " ", c).split()[0] if re.sub(r"<[^>]+>", " ", c).split() else "" for c in cells]
    raise AssertionError(f"no dashboard row for {department_name}")


def test_learner_path_to_certificate_and_officer_sees_it(app, content, db, login_as):
    city = make_department("滨江市")
    bureau = make_department("市财政局", city)
    division = make_department("预算处", bureau)
    make_department("市教育局", city)
    learner = make_user(division, name="王秀英")
    make_user(division)  # a colleague who does nothing
    officer = make_user(bureau, officer_of=[bureau])
    certification = db.session.execute(select(Certification).where(Certification.code == "CSDS-SEC")).scalar_one()
    today = local_today()
    plan = RolloutPlan(name_zh="网络安全全员培训", name_en="Security rollout", certification=certification,
                       starts_on=today - dt.timedelta(days=30), ends_on=today + dt.timedelta(days=60), audience=[city])
    plan.milestones = [Milestone(due_on=today + dt.timedelta(days=10), target_percent=50),
                       Milestone(due_on=today + dt.timedelta(days=60), target_percent=100)]
    db.session.add(plan)
    db.session.commit()

    officer_client = app.test_client()
    token = csrf_token(officer_client, "/login")
    officer_client.post("/login", data={"staff_number": officer.staff_number, "password": "correct-horse-42",
                                        "csrf_token": token})
    before = officer_client.get("/dashboard/").get_data(as_text=True)
    assert dashboard_row(before, "预算处")[:4] == ["预算处", "2", "0", "0"]
    assert "市教育局" not in before  # outside the officer's scope

    client = app.test_client()
    token = csrf_token(client, "/login")
    assert client.post("/login", data={"staff_number": learner.staff_number, "password": "correct-horse-42",
                                       "csrf_token": token}).status_code == 302
    course_page = client.get(f"/courses/{SLUG}").get_data(as_text=True)
    keys = re.findall(rf'href="/courses/{SLUG}/lessons/([^"]+)"', course_page)
    course = _db.session.execute(select(Course).where(Course.slug == SLUG)).scalar_one()
    assert len(keys) == len(course.active_lessons) >= 5
    for key in keys:
        lesson_page = client.get(f"/courses/{SLUG}/lessons/{key}")
        assert lesson_page.status_code == 200
        token = re.search(r'name="csrf-token" content="([^"]+)"', lesson_page.get_data(as_text=True)).group(1)
        assert client.post(f"/courses/{SLUG}/lessons/{key}/complete", data={"csrf_token": token}).status_code == 302

    token = csrf_token(client, f"/exams/{SLUG}")
    started = client.post(f"/exams/{SLUG}/start", data={"csrf_token": token})
    assert started.status_code == 302
    attempt_url = started.headers["Location"]
    attempt_id = int(attempt_url.rstrip("/").split("/")[-1])
    page = client.get(attempt_url).get_data(as_text=True)
    positions = [int(p) for p in re.findall(r'data-position="(\d+)"', page)]
    assert len(positions) == 20
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)

    attempt = _db.session.get(Attempt, attempt_id)
    items = {item.position: item for item in attempt.items}
    # Answer 17 of 20 right (85 points), in two halves with a reload in between.
    # The three wrong answers go to questions that have a wrong choice (a multiple-response question whose
    # every option is a key has none: any non-empty choice earns something).
    wrong = [p for p in positions if items[p].question_version.qtype == "true_false"
             or any(o["fraction"] <= 0 for o in items[p].question_version.spec["options"])][:3]
    plan_answers = {p: (wrong_response(items[p]) if p in wrong else right_response(items[p])) for p in positions}
    first, second = positions[:10], positions[10:]
    for p in first:
        response = client.post(f"/api/attempts/{attempt_id}/answers", json={"position": p, "response": plan_answers[p], "revision": 0},
                               headers={"X-CSRFToken": csrf})
        assert response.status_code == 200 and response.get_json()["status"] == "saved"
    reloaded = client.get(attempt_url).get_data(as_text=True)
    assert reloaded.count("checked") >= len(first)  # saved answers survive the reload
    for p in second:
        response = client.post(f"/api/attempts/{attempt_id}/answers", json={"position": p, "response": plan_answers[p], "revision": 0},
                               headers={"X-CSRFToken": csrf})
        assert response.status_code == 200
    result = client.post(f"/attempts/{attempt_id}/submit", data={"csrf_token": csrf}, follow_redirects=True)
    html = result.get_data(as_text=True)
    assert result.status_code == 200 and "<strong>85.0</strong>" in html
    assert "E1" in html and "E5" in html  # breakdown per standard item

    certificates = client.get("/certificates/").get_data(as_text=True)
    pdf_link = re.search(r'href="(/certificates/\d+\.pdf)"', certificates).group(1)
    pdf = client.get(pdf_link)
    assert pdf.status_code == 200 and pdf.headers["Content-Type"] == "application/pdf" and pdf.data.startswith(b"%PDF")
    verify_link = re.search(r'href="(/verify/[A-Z0-9-]+)"', certificates).group(1)
    verify = app.test_client().get(verify_link).get_data(as_text=True)
    assert "王秀英" in verify and 'class="badge ok"' in verify
    assert learner.staff_number not in verify  # no other personal data

    after = officer_client.get("/dashboard/").get_data(as_text=True)
    row = dashboard_row(after, "预算处")
    assert row[:4] == ["预算处", "2", "1", "1"]
    assert row[4] == "50.0"  # completion percent


def test_my_courses_shows_due_dates_overdue_and_credit_hours(app, content, db, login_as, client):
    from app.learning.services import enrol

    user = make_user(make_department())
    courses = {c.slug: c for c in _db.session.execute(select(Course)).scalars()}
    enrol(user, courses["spreadsheets"], source="plan", due_on=local_today() - dt.timedelta(days=3))
    enrol(user, courses["official-documents"], source="plan", due_on=local_today() + dt.timedelta(days=5))
    db.session.commit()
    login_as(user)
    page = client.get("/courses/?lang=en").get_data(as_text=True)
    assert "Overdue" in page and "Due in 5 days" in page
    assert "Credit hours earned in" in page and ": 0.0 of the annual 50.0" in page
