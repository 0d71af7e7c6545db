"""The exam page in a real browser (Debian's Chromium driven by Playwright): autosave, reload,
offline queue, server-driven countdown, and submission when time runs out."""
import datetime as dt
import os
import shutil

import pytest
from sqlalchemy import update

from app.core.time import utcnow
from app.exams.models import Attempt, AttemptItem
from tests.factories import make_department, make_exam_world, make_user

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
playwright_api = pytest.importorskip("playwright.sync_api")
SAVED = "#save-state:not(.pending):not(.offline):not(.error)"  # selectors, not script: the page's CSP forbids eval
pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed")


@pytest.fixture()
def page():
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"])
        context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
        yield context.new_page()
        browser.close()


def _saved(db, attempt_id):
    db.session.expire_all()
    return {i.position: i.response for i in db.session.query(AttemptItem).filter_by(attempt_id=attempt_id)}


def _start(page, live_server, db):
    course, exam = make_exam_world()
    user = make_user(make_department(), name="李建华")
    db.session.commit()
    page.goto(f"{live_server}/login")
    page.fill("#staff_number", user.staff_number)
    page.fill("#password", "correct-horse-42")
    page.click("button[type=submit]")
    page.goto(f"{live_server}/exams/{exam.code}")
    page.click("form button.primary")
    page.wait_for_selector("#attempt-form")
    attempt_id = int(page.get_attribute("#attempt-form", "data-attempt"))
    return attempt_id


def test_answers_autosave_survive_reload_and_offline(page, live_server, db):
    attempt_id = _start(page, live_server, db)
    first = page.locator("fieldset.question").nth(0)
    position = int(first.get_attribute("data-position"))
    first.locator("label.option input").first.check()
    page.wait_for_selector(SAVED)
    saved = _saved(db, attempt_id)
    assert saved[position] is not None

    page.reload()
    assert page.locator(f'fieldset[data-position="{position}"] input:checked').count() == 1

    page.context.set_offline(True)
    second = page.locator("fieldset.question").nth(1)
    second_position = int(second.get_attribute("data-position"))
    second.locator("label.option input").first.check()
    page.wait_for_selector("#save-state.offline")
    assert _saved(db, attempt_id)[second_position] is None
    page.context.set_offline(False)
    page.wait_for_selector(SAVED, timeout=10000)
    assert _saved(db, attempt_id)[second_position] is not None


def test_countdown_follows_server_and_time_up_submits(page, live_server, db):
    attempt_id = _start(page, live_server, db)
    text = page.inner_text("#countdown")
    minutes, seconds = (int(x) for x in text.split(":"))
    assert 29 * 60 <= minutes * 60 + seconds <= 30 * 60
    page.locator("fieldset.question").nth(0).locator("label.option input").first.check()
    page.wait_for_selector(SAVED)
    # The server moves the deadline to 3 s from now: the next status sync and the page must follow it.
    db.session.execute(update(Attempt).where(Attempt.id == attempt_id).values(deadline_at=utcnow() + dt.timedelta(seconds=3)))
    db.session.commit()
    page.on("dialog", lambda dialog: dialog.accept())
    page.reload()
    page.wait_for_url(f"**/attempts/{attempt_id}/result", timeout=15000)
    db.session.expire_all()
    attempt = db.session.get(Attempt, attempt_id)
    assert attempt.state == "finished" and attempt.finished_by in ("deadline", "candidate", "scheduler")
    assert attempt.points is not None
