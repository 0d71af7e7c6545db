"""Exam reports in a real browser at a desktop and a phone size, in Chinese and English: the pages fit the
width (tables scroll inside their own box) and screenshots go to $SHOTS_DIR (default /tmp/shots-stats)."""
import os
import shutil
from pathlib import Path

import pytest

from app.exams.services import finish_attempt, save_answer, start_attempt
from tests.factories import make_department, make_exam_world, make_user, right_response, wrong_response

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
playwright_api = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed")
SHOTS = Path(os.environ.get("SHOTS_DIR", "/tmp/shots-stats"))


def _world(db):
    city = make_department("滨江市")
    bureaus = [make_department(name, city) for name in ("市财政局", "市教育局", "市卫生健康委员会")]
    offices = [make_department("办公室", bureau) for bureau in bureaus]
    _course, exam = make_exam_world()
    for n in range(9):
        user = make_user(offices[n % 3], name=f"考生{n + 1}")
        attempt = start_attempt(user, exam)
        for item in attempt.items:
            # ability grows with n, so stronger candidates answer more: positive discrimination
            right = item.position <= n % 4 or (n == 8 and item.position == 2)
            save_answer(attempt, item.position, (right_response if right else wrong_response)(item), 0)
        finish_attempt(attempt, by="candidate")
    examiner = make_user(city, name="阅卷老师", is_examiner=True)
    db.session.commit()
    return exam, examiner


@pytest.mark.parametrize("width, height", [(1366, 768), (390, 844)])
def test_report_pages_fit_and_are_captured(live_server, db, width, height):
    exam, examiner = _world(db)
    SHOTS.mkdir(parents=True, exist_ok=True)
    pages = {"index": "/reports/exams/", "statistics": f"/reports/exams/{exam.code}/statistics",
             "results": f"/reports/exams/{exam.code}/results",
             "departments": f"/reports/exams/{exam.code}/results?view=departments",
             "items": f"/reports/exams/{exam.code}/results?view=items"}
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"])
        context = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN", bypass_csp=True)
        page = context.new_page()
        page.goto(f"{live_server}/login")
        page.fill("#staff_number", examiner.staff_number)
        page.fill("#password", "correct-horse-42")
        page.click("button[type=submit]")
        review = None
        for lang in ("zh_CN", "en"):
            for name, path in pages.items():
                sep = "&" if "?" in path else "?"
                response = page.goto(f"{live_server}{path}{sep}lang={lang}")
                assert response.status == 200, (path, response.status)
                overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
                assert overflow <= 0, (name, lang, width, overflow)
                page.screenshot(path=str(SHOTS / f"{name}-{lang}-{width}.png"), full_page=True)
                if name == "results" and review is None:
                    review = page.get_attribute("a[href*='/reports/attempts/']", "href")
            page.goto(f"{live_server}{review}?lang={lang}")
            assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
            page.screenshot(path=str(SHOTS / f"review-{lang}-{width}.png"), full_page=True)
        browser.close()
