"""Notices, the header bell, the jobs page and the drill-down's reminder form in a real browser:
zh and en, 1366x768 and 390x844, no sideways scrolling, the bell visible on a phone."""
from __future__ import annotations

import datetime as dt

import pytest

from app.certification.models import Certification
from app.core.time import local_today
from app.learning.models import Enrolment
from app.notifications.services import queue
from app.rollout.models import Milestone, RolloutPlan
from app.scheduler.jobs import JOBS, run_in_context
from tests.browser.test_learner_pages import LANGS, VIEWPORTS, _login, _overflow
from tests.factories import make_department, make_exam_world, make_user


@pytest.fixture()
def notice_world(app, db):
    city = make_department("滨江市人民政府办公室（市政务服务管理办公室）", code="CITY")
    bureau = make_department("市财政局", city, code="CITY-A")
    course, _exam = make_exam_world()
    learner = make_user(bureau, name="王秀英", staff_number="20260001")
    officer = make_user(city, name="陈志强", staff_number="20260002", officer_of=[city], is_admin=True)
    cert = Certification(code="TEST-CERT", title_zh="测试证书", title_en="Test certificate", courses=[course])
    db.session.add(cert)
    db.session.flush()
    plan = RolloutPlan(name_zh="全市公务员数字技能提升计划（2026年度）", name_en="Digital skills plan", certification_id=cert.id,
                       starts_on=local_today() - dt.timedelta(days=60), ends_on=local_today() + dt.timedelta(days=3),
                       audience=[city], milestones=[Milestone(due_on=local_today() + dt.timedelta(days=3), target_percent=100)])
    db.session.add(plan)
    db.session.add(Enrolment(user_id=learner.id, course_id=course.id, source="plan", due_on=local_today() + dt.timedelta(days=3)))
    learner.created_at = officer.created_at = learner.created_at - dt.timedelta(days=90)
    db.session.commit()
    for i in range(3):
        queue(learner, "manual", f"day{i}", link="https://training.example.gov.cn/courses/", sender=officer, plan=plan,
              courses=[{"course": course, "due_on": local_today() + dt.timedelta(days=3)}])
    db.session.commit()
    run_in_context(app, next(j for j in JOBS if j.id == "learner-reminders"))
    return learner, officer, bureau, plan


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("size", VIEWPORTS)
def test_notice_pages_fit(browser, live_server, notice_world, lang, size):
    learner, officer, bureau, plan = notice_world
    context = browser.new_context(viewport=VIEWPORTS[size])
    page = context.new_page()
    _login(page, live_server, learner)
    page.goto(f"{live_server}/notices?lang={LANGS[lang]}")
    assert page.locator("a.bell").is_visible()
    assert page.locator("a.bell .count").inner_text() == "4"
    assert page.locator(".notice").count() == 4
    assert _overflow(page) == []
    page.locator(".notice form button").first.click()
    page.wait_for_load_state()
    assert page.locator("a.bell .count").inner_text() == "3"
    context.close()
    context = browser.new_context(viewport=VIEWPORTS[size])
    page = context.new_page()
    _login(page, live_server, officer)
    for url in (f"/admin/jobs?lang={LANGS[lang]}", f"/dashboard/departments/{bureau.id}?plan={plan.id}&lang={LANGS[lang]}"):
        page.goto(live_server + url)
        assert page.locator("a.bell").is_visible()
        assert _overflow(page) == [], url
    page.locator("input[name=person]").first.check()
    page.locator("#remind-form button").click()
    page.wait_for_load_state()
    assert page.locator(".flash.success").count() == 1
    assert _overflow(page) == []
    context.close()
