"""The learner's own status (home, course page) equals what the officer's drill-down and figures say
about the same person: nothing opened, lesson opened, exam started, passed with lessons left, certified."""
import datetime as dt
import re

import pytest
from sqlalchemy import update

from app.certification.models import Certification
from app.core.time import local_today
from app.exams.models import AttemptItem
from app.exams.services import finish_attempt, save_answer, start_attempt
from app.extensions import db as _db
from app.learning.services import complete_lesson, open_lesson, store_course
from app.rollout.models import Milestone, RolloutPlan
from app.rollout.services import assign_plan, department_figures, flatten, unfinished_staff
from tests.factories import make_department, make_exam_world, make_user, right_response


@pytest.fixture()
def world(db):
    city = make_department("滨江市")
    course, exam = make_exam_world()
    # A second lesson, so that "passed but lessons not all done" can happen.
    from app.content.report import SyncReport

    store_course({
        "slug": course.slug, "title": ("测试课程", "Test course"), "summary": ("摘要", "Summary"),
        "credit_hours": 2, "standard": "TEST", "items": ["X1"], "source": "tests", "exam": None,
        "lessons": [{"key": "01-intro", "title": ("第一课", "Lesson one"), "minutes": 10, "body": "学会锁屏。"},
                    {"key": "02-more", "title": ("第二课", "Lesson two"), "minutes": 10, "body": "学会口令。"}],
    }, SyncReport())
    certification = Certification(code="TEST-CERT", title_zh="测试证书", title_en="Test certificate", courses=[course])
    db.session.add(certification)
    db.session.flush()
    plan = RolloutPlan(name_zh="计划", name_en="Plan", certification_id=certification.id,
                       starts_on=local_today() - dt.timedelta(days=5), ends_on=local_today() + dt.timedelta(days=30),
                       audience=[city], milestones=[Milestone(due_on=local_today() + dt.timedelta(days=30), target_percent=100)])
    db.session.add(plan)
    learner = make_user(city, name="王秀英")
    officer = make_user(city, officer_of=[city])
    assign_plan(plan)  # as `flask rollout load-plan` does: the learner is enrolled, due at the plan's end
    db.session.commit()
    return {"city": city, "course": course, "exam": exam, "plan": plan, "learner": learner, "officer": officer}


def _officer_says(world) -> str:
    """'certified', 'started' or 'not_started' for the learner, from the drill-down and the figures."""
    plan, city, learner, officer = world["plan"], world["city"], world["learner"], world["officer"]
    rows = {r["user"].id: r for r in unfinished_staff(plan, officer, city.id, local_today())}
    figures = flatten(department_figures(plan, officer, local_today()))[0]
    if learner.id not in rows:
        assert figures.certified == 1
        return "certified"
    assert figures.started == int(rows[learner.id]["started"])
    return "started" if rows[learner.id]["started"] else "not_started"


def _learner_says(client, world) -> dict:
    home = client.get("/courses/?lang=en").get_data(as_text=True)
    plan = re.search(rf'data-plan="{world["plan"].id}" data-status="(\w+)"', home)
    course_card = re.search(rf'data-course="{world["course"].slug}" data-status="(\w+)"', home)
    page = client.get(f"/courses/{world['course'].slug}?lang=en").get_data(as_text=True)
    course_page = re.search(r'class="course-status" data-status="(\w+)"', page)
    return {"plan": plan and plan.group(1), "home_course": course_card and course_card.group(1),
            "course_page": course_page and course_page.group(1), "home": home, "page": page}


def _pass_exam(world):
    attempt = start_attempt(world["learner"], world["exam"])
    for item in attempt.items:
        save_answer(attempt, item.position, right_response(item), 0)
    finish_attempt(attempt, by="candidate")
    _db.session.commit()
    assert attempt.passed


def _course_word(status):
    """The learner's per-course word for the officer's status (a course is 'completed', not 'certified')."""
    return {"certified": "completed"}.get(status, status)


@pytest.mark.parametrize("case", ["nothing", "lesson_opened", "exam_started", "passed_lessons_left", "certified"])
def test_learner_status_equals_officer_drill_down(case, world, client, login_as, db):
    learner, course = world["learner"], world["course"]
    lessons = course.active_lessons
    if case == "lesson_opened":
        open_lesson(learner, lessons[0])
    elif case == "exam_started":
        start_attempt(learner, world["exam"])
    elif case == "passed_lessons_left":
        complete_lesson(learner, lessons[0])
        _pass_exam(world)
    elif case == "certified":
        for lesson in lessons:
            complete_lesson(learner, lesson)
        _pass_exam(world)
    db.session.commit()
    expected = {"nothing": "not_started", "lesson_opened": "started", "exam_started": "started",
                "passed_lessons_left": "started", "certified": "certified"}[case]
    officer = _officer_says(world)
    assert officer == expected
    login_as(learner)
    learner_view = _learner_says(client, world)
    assert learner_view["plan"] == officer
    assert learner_view["course_page"] == _course_word(officer)
    if officer != "certified":
        assert learner_view["home_course"] == officer  # a continue card while not complete
    words = {"not_started": "Not started", "started": "Started", "certified": "Certified"}
    assert words[officer] in learner_view["home"]
    if case == "passed_lessons_left":
        assert "Lesson two" in learner_view["home"]  # says what is left
    if case == "certified":
        assert re.search(r'href="/certificates/\d+\.pdf"', learner_view["home"])  # the certificate card
        assert 'href="/verify/' in learner_view["home"]


def test_each_course_has_its_own_status(db, content, client, login_as):
    """Opening a lesson of one course starts that course only."""
    from sqlalchemy import select

    from app.learning.models import Course
    from app.learning.services import enrol

    user = make_user(make_department())
    courses = {c.slug: c for c in db.session.execute(select(Course)).scalars()}
    enrol(user, courses["spreadsheets"])
    enrol(user, courses["computer-basics"])
    open_lesson(user, courses["computer-basics"].active_lessons[0])
    db.session.commit()
    login_as(user)
    home = client.get("/courses/?lang=en").get_data(as_text=True)
    assert 'data-course="computer-basics" data-status="started"' in home
    assert 'data-course="spreadsheets" data-status="not_started"' in home
