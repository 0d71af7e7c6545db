"""The override and accommodation pages in a real browser at 1366x768 and 390x844, zh and en: no
sideways scrolling, the grant buttons reachable. Screenshots go to $OVERRIDE_SHOTS (default: a
temporary folder)."""
import datetime as dt
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from app.exams import overrides as grants
from tests.factories import make_department, make_exam_world, make_user, utc

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
playwright_api = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed")
SHOTS = Path(os.environ.get("OVERRIDE_SHOTS") or Path(tempfile.gettempdir()) / "civicskills-override-shots")
VIEWPORTS = {"1366": {"width": 1366, "height": 768}, "390": {"width": 390, "height": 844}}


@pytest.fixture()
def people(db):
    city = make_department("滨江市人民政府办公室（市政务服务管理办公室）", code="CITY")
    bureau = make_department("市财政局", city, code="CITY-A")
    _course, exam = make_exam_world(time_limit_minutes=30, attempts_allowed=3)
    exam.closes_at = utc(2099, 6, 30, 10, 0, 0)
    learner = make_user(bureau, name="王秀英", staff_number="20260001")
    officer = make_user(city, name="陈志强", staff_number="20260002", officer_of=[city])
    admin = make_user(city, name="管理员", staff_number="20260003", is_admin=True)
    grants.set_accommodation(admin, learner, 25, 0, "阅读障碍评估（2026 年 3 月）")
    grants.set_override(admin, exam, department=bureau, attempts_allowed=4, reason="系统故障，全局补考一次")
    grants.set_override(admin, exam, person=learner, closes_at=utc(2099, 7, 15, 10, 0, 0),
                        reason="病假：截止时间顺延两周")
    db.session.commit()
    return {"exam": exam, "learner": learner, "officer": officer, "admin": admin}


def _login(page, base, user):
    page.goto(f"{base}/login")
    page.fill("#staff_number", user.staff_number)
    page.fill("#password", "correct-horse-42")
    page.click("form button[type=submit]")
    page.wait_for_load_state()


@pytest.mark.parametrize("size", sorted(VIEWPORTS))
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_override_pages_fit_and_work(browser, live_server, people, size, lang):
    SHOTS.mkdir(parents=True, exist_ok=True)
    pages = [
        ("admin", f"/exams/{people['exam'].code}/overrides", "exam-overrides"),
        ("officer", f"/people/{people['learner'].id}/exam-rules", "person-rules"),
        ("officer", f"/dashboard/people/{people['learner'].id}", "rollout-person"),
        ("learner", f"/exams/{people['exam'].code}", "exam-page"),
    ]
    for role, path, name in pages:
        context = browser.new_context(viewport=VIEWPORTS[size])
        page = context.new_page()
        _login(page, live_server, people[role])
        page.goto(f"{live_server}{path}?lang={lang}")
        width = page.evaluate("window.innerWidth")
        assert page.evaluate("document.documentElement.scrollWidth") <= width, (name, size, lang)
        page.screenshot(path=str(SHOTS / f"{name}-{lang}-{size}.png"), full_page=True)
        if name == "person-rules":
            button = page.locator("form.grant-row button").first
            button.scroll_into_view_if_needed()
            box = button.bounding_box()
            assert box["height"] >= 40 and box["x"] + box["width"] <= width + 1
        if name == "exam-page":
            text = page.inner_text("main")
            assert ("37.5" in text) and ("2099-07-15" in text)   # accommodation and the person's later close
        context.close()
