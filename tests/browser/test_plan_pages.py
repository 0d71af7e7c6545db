"""Acceptance 6 in a real browser (1366x768): an admin creates a plan on /admin/plans/new, an
officer sees it on the dashboard, finds a learner with no attempts left in the drill-down and grants
an extra attempt on the person record, and the learner starts a new attempt. Then the plan editor
at 390x844 in zh and en: no sideways scrolling. Screenshots go to $PLAN_SHOTS (default: a temporary folder)."""
import datetime as dt
import os
import shutil
import tempfile
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from app.certification.models import Certification
from app.core.time import local_today, utcnow
from app.exams.models import FINISHED, Attempt
from app.learning.services import complete_lesson
from app.rollout.models import RolloutPlan
from tests.factories import make_department, make_exam_world, make_user

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
playwright_api = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed")
SHOTS = Path(os.environ.get("PLAN_SHOTS") or Path(tempfile.gettempdir()) / "civicskills-plan-shots")
DESKTOP, PHONE = {"width": 1366, "height": 768}, {"width": 390, "height": 844}
PLAN_NAME = "2026年全市数字技能全员培训"


@pytest.fixture()
def world(db):
    city = make_department("滨江市人民政府", code="CITY")
    bureau = make_department("市财政局", city, code="CITY-A")
    make_department("预算处（含国库支付中心、政府采购监督管理科）", bureau, code="CITY-A-1")
    make_department("市交通运输局", city, code="CITY-B")
    course, exam = make_exam_world(attempts_allowed=1)
    db.session.add(Certification(code="DIGI-BASIC", title_zh="数字技能基础证书", title_en="Digital skills basics",
                                 courses=[course]))
    learner = make_user(bureau, name="王秀英", staff_number="20260001")
    officer = make_user(bureau, name="陈志强", staff_number="20260002", officer_of=[bureau])
    admin = make_user(city, name="管理员", staff_number="20260003", is_admin=True)
    for lesson in course.active_lessons:
        complete_lesson(learner, lesson)
    started = utcnow() - dt.timedelta(days=1)
    db.session.add(Attempt(exam_id=exam.id, user_id=learner.id, number=1, state=FINISHED, seed=1, started_at=started,
                           deadline_at=started + dt.timedelta(minutes=30), finished_at=started + dt.timedelta(minutes=20),
                           finished_by="candidate", max_points=Decimal(100), points=Decimal(40), score=Decimal(40),
                           passed=False))
    db.session.commit()
    return {"exam": exam, "learner": learner, "officer": officer, "admin": admin, "city": city, "bureau": bureau}


def _login(page, base, user):
    page.goto(f"{base}/login")
    page.fill("#staff_number", user.staff_number)
    page.fill("#password", "correct-horse-42")
    page.click("form button[type=submit]")
    page.wait_for_load_state()


def _fits(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth") <= page.evaluate("window.innerWidth")


def test_admin_creates_a_plan_officer_grants_an_attempt_learner_uses_it(browser, live_server, world, db):
    SHOTS.mkdir(parents=True, exist_ok=True)
    today = local_today()
    starts, ends = today - dt.timedelta(days=10), today + dt.timedelta(days=80)

    # 1. The admin creates the plan in the browser.
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    _login(page, live_server, world["admin"])
    page.goto(f"{live_server}/admin/plans/?lang=zh")
    page.click("a[href$='/admin/plans/new']")
    page.fill("#name_zh", PLAN_NAME)
    page.fill("#name_en", "2026 City-wide Digital Skills Training")
    page.select_option("#certification_id", label="DIGI-BASIC · 数字技能基础证书")
    page.fill("#starts_on", starts.isoformat())
    page.fill("#ends_on", ends.isoformat())
    page.check(f"input[name=audience][value='{world['city'].id}']")
    page.fill("input[name='m-0-due_on']", (today + dt.timedelta(days=30)).isoformat())
    page.fill("input[name='m-0-target']", "60")
    page.fill("input[name='m-1-due_on']", ends.isoformat())
    page.fill("input[name='m-1-target']", "100")
    page.screenshot(path=str(SHOTS / "plan-new-zh-1366.png"), full_page=True)
    page.click("form.plan-form button.primary")
    page.wait_for_load_state()
    assert "/edit" in page.url, page.inner_text("main")[:500]
    assert "计划已创建" in page.inner_text("main")
    assert _fits(page)
    context.close()
    plan = db.session.execute(select(RolloutPlan).where(RolloutPlan.name_zh == PLAN_NAME)).scalar_one()
    assert [m.target_percent for m in plan.milestones] == [60, 100]

    # 2. The officer sees it on the dashboard, finds the learner with no attempts left, grants one.
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    _login(page, live_server, world["officer"])
    page.goto(f"{live_server}/dashboard/?lang=zh")
    assert PLAN_NAME in page.inner_text("main")
    page.goto(f"{live_server}/dashboard/departments/{world['bureau'].id}?plan={plan.id}&exhausted=1&lang=zh")
    page.click("a.badge.warn")
    page.wait_for_load_state()
    assert f"/dashboard/people/{world['learner'].id}" in page.url
    form = page.locator("form:has(input[name=action][value=extra_attempt])")
    form.locator("input[name=reason]").fill("考试时单位停电")
    form.locator("button").click()
    page.wait_for_load_state()
    text = page.inner_text("main")
    assert "考试时单位停电" in text and "已用 1 次，共 2 次" in text
    page.screenshot(path=str(SHOTS / "person-actions-zh-1366.png"), full_page=True)
    context.close()

    # 3. The learner starts the new attempt.
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    _login(page, live_server, world["learner"])
    page.goto(f"{live_server}/exams/{world['exam'].code}?lang=zh")
    page.click("form[action$='/start'] button")
    page.wait_for_load_state()
    assert "/attempts/" in page.url
    context.close()
    db.session.expire_all()
    numbers = db.session.execute(select(Attempt.number).where(Attempt.user_id == world["learner"].id)
                                 .order_by(Attempt.number)).scalars().all()
    assert numbers == [1, 2]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_plan_editor_fits_a_phone(browser, live_server, world, db, lang):
    SHOTS.mkdir(parents=True, exist_ok=True)
    from app.rollout import editing

    today = local_today()
    plan = editing.save_plan(world["admin"], editing.PlanInput(
        name_zh=PLAN_NAME, name_en="Digital skills", starts_on=today, ends_on=today + dt.timedelta(days=90),
        certification_id=db.session.execute(select(Certification.id)).scalar_one(),
        audience_ids=[world["city"].id], exclusion_ids=[world["bureau"].id],
        milestones=[(today + dt.timedelta(days=90), "100")])).plan
    db.session.commit()
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    _login(page, live_server, world["admin"])
    for path, name in ((f"/admin/plans/{plan.id}/edit", "plan-edit"), ("/admin/plans/", "plans"),
                       (f"/admin/plans/{plan.id}/waves", "plan-waves"),
                       (f"/admin/plans/{plan.id}/exemptions?q=2026", "plan-exemptions"),
                       (f"/dashboard/people/{world['learner'].id}", "person-actions")):
        page.goto(f"{live_server}{path}{'&' if '?' in path else '?'}lang={lang}")
        page.screenshot(path=str(SHOTS / f"{name}-{lang}-390.png"), full_page=True)
        assert _fits(page), (name, lang)
    context.close()
