"""The result and review pages in Chromium at 1366x768 and 390x844, in Chinese and English: nothing
wider than the screen. Screenshots go to $SHOTS_DIR when set (e.g. /tmp/shots-review)."""
import os

import pytest

from app.content.report import SyncReport
from app.exams.services import finish_attempt, save_answer, start_attempt, sync_course_exam
from tests.browser.test_exam_page import CHROMIUM, playwright_api  # noqa: F401 (fixtures)
from tests.factories import make_department, make_exam_world, make_user, right_response, wrong_response

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed")


def _finished_attempt(db):
    course, _exam = make_exam_world()
    exam = sync_course_exam(course, {
        "title": ("测试考试", "Test exam"), "time_limit_minutes": 30, "pass_mark": 60, "attempts_allowed": 3,
        # per thing: all but feedback now, feedback at the (future) close, so the "later" note is drawn too
        "review": {"marks": "immediately", "correctness": "immediately", "response": "immediately",
                   "correct_answer": "immediately", "feedback": "after_close"}, "closes_at": "2030-12-31 17:00",
        "blueprint": [{"item": "X1", "difficulty": "easy", "count": 2, "points": 30},
                      {"item": "X1", "difficulty": "easy", "count": 1, "points": 40}]}, "tests", SyncReport())
    user = make_user(make_department(), name="李建华")
    db.session.commit()
    attempt = start_attempt(user, exam)
    for n, item in enumerate(attempt.items):
        save_answer(attempt, item.position, right_response(item) if n == 0 else wrong_response(item), 0)
    finish_attempt(attempt, by="candidate")
    db.session.commit()
    return user, attempt


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_result_and_review_fit_desktop_and_phone(live_server, db, lang):
    user, attempt = _finished_attempt(db)
    shots = os.environ.get("SHOTS_DIR")
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"])
        for width, height in ((1366, 768), (390, 844)):
            page = browser.new_context(viewport={"width": width, "height": height}).new_page()
            page.goto(f"{live_server}/login?lang={lang}")
            page.fill("#staff_number", user.staff_number)
            page.fill("#password", "correct-horse-42")
            page.click("button[type=submit]")
            for name in ("result", "review"):
                page.goto(f"{live_server}/attempts/{attempt.id}/{name}?lang={lang}")
                assert page.evaluate("document.documentElement.scrollWidth") <= width, (name, width, lang)
                assert page.locator("text=2030-12-31").count() >= 1, (name, lang)  # when feedback follows
                if shots:
                    os.makedirs(shots, exist_ok=True)
                    page.screenshot(path=f"{shots}/{name}-{lang}-{width}x{height}.png", full_page=True)
            page.context.close()
        browser.close()
