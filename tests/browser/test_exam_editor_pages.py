"""The exam editor in a real browser: an examiner creates an exam with two blueprint rows, watching the
live pool check, and saves it; a learner then sees it. The pages fit 390x844 in zh and en."""
import datetime as dt
import os
import tempfile
from pathlib import Path

import pytest

from app.core.time import utcnow
from app.exams.models import ExamSitting
from tests.browser.conftest import CHROMIUM
from tests.browser.test_learner_pages import LANGS, _login, _overflow
from tests.factories import make_department, make_exam_world, make_user

playwright_api = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed")
SHOTS = Path(os.environ.get("EDITOR_SHOTS") or Path(tempfile.gettempdir()) / "civicskills-editor-shots")


def _shot(page, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


@pytest.fixture()
def world(db):
    _course, exam = make_exam_world()
    department = make_department("市财政局")
    examiner = make_user(department, name="李考官", is_examiner=True)
    learner = make_user(department, name="王秀英")
    start = utcnow() - dt.timedelta(minutes=5)
    db.session.add(ExamSitting(exam_id=exam.id, starts_at=start, ends_at=start + dt.timedelta(hours=2), capacity=30,
                               seats_taken=4))
    db.session.commit()
    return exam, examiner, learner


def _pool_text(page, row):
    return page.locator("tr.bp-row").nth(row).locator("td.pool")


def test_examiner_creates_an_exam_with_two_rows_and_a_learner_sees_it(browser, live_server, world):
    exam, examiner, learner = world
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="en-US")
    page = context.new_page()
    page.goto(f"{live_server}/login?lang=en")
    _login(page, live_server, examiner)
    page.goto(f"{live_server}/admin/exams/new")
    page.fill("#code", "phishing-drill")
    page.fill("#title_zh", "钓鱼邮件演练")
    page.fill("#title_en", "Phishing drill")
    page.select_option("#rows-0-item", "X1")
    page.select_option("#rows-0-difficulty", "easy")
    page.fill("#rows-0-count", "2")
    # the live check refuses a row drawing 2 of 3 questions (needs 3 × 2)
    playwright_api.expect(_pool_text(page, 0)).to_contain_text("Only 3 questions in the bank for 2 drawn")
    assert _pool_text(page, 0).locator(".bad").count() == 1
    page.fill("#rows-0-count", "1")
    playwright_api.expect(_pool_text(page, 0)).to_contain_text("3 questions in the bank for 1 drawn")
    # distinct forms, live: C(3,1) = 3, fewer than 20: a warning
    playwright_api.expect(page.locator("#form-count")).to_contain_text("Distinct forms this blueprint can draw: 3.")
    playwright_api.expect(page.locator("#form-count")).to_contain_text("Fewer than 20")
    page.fill("#rows-0-points", "40")
    page.click("button[value=add_row]")  # the server adds the row; nothing is lost
    page.wait_for_load_state()
    assert page.input_value("#rows-0-count") == "1" and page.input_value("#rows-0-points") == "40"
    page.select_option("#rows-1-item", "X1")
    page.select_option("#rows-1-difficulty", "any")
    page.fill("#rows-1-count", "1")
    page.fill("#rows-1-points", "60")
    playwright_api.expect(_pool_text(page, 1)).to_contain_text("3 questions in the bank for 1 drawn")
    playwright_api.expect(page.locator("#points-total")).to_have_text("Points in all: 100 of 100")
    playwright_api.expect(page.locator("#form-count")).to_contain_text("at most 9")  # 3 × 3, the rows share X1 easy
    page.fill("#opens_at", "2026-12-01T09:00")
    page.check("#review_feedback-immediately")
    # the review matrix by keyboard: arrow keys move within a row's radio group (never → after close → now)
    page.focus("#review_correctness-never")
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")
    assert page.is_checked("#review_correctness-immediately") and not page.is_checked("#review_correctness-never")
    assert not _overflow(page), _overflow(page)
    _shot(page, "editor-new-1366")
    page.click("form button.primary")
    page.wait_for_load_state()
    assert page.url.endswith("/admin/exams/phishing-drill/edit")
    assert page.locator("p.flash.success").inner_text() == "Exam created."
    assert page.input_value("#opens_at") == "2026-12-01T09:00"
    assert page.locator("tr.bp-row").count() == 2
    assert page.is_checked("#review_feedback-immediately") and page.is_checked("#review_correctness-immediately")
    context.close()

    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="en-US")
    page = context.new_page()
    page.goto(f"{live_server}/login?lang=en")
    _login(page, live_server, learner)
    page.goto(f"{live_server}/exams/phishing-drill")
    assert page.locator("h1").inner_text() == "Phishing drill"
    assert page.locator("form.start-form button.primary").is_visible()
    assert not _overflow(page)
    context.close()


@pytest.mark.parametrize("lang", LANGS)
def test_editor_and_exam_pages_fit_a_phone(browser, live_server, world, lang):
    exam, examiner, learner = world
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
    page = context.new_page()
    page.goto(f"{live_server}/login?lang={LANGS[lang]}")
    _login(page, live_server, examiner)
    sitting_id = exam.sittings[0].id
    for url in ("/admin/exams/", "/admin/exams/new", f"/admin/exams/{exam.code}/edit",
                f"/admin/exams/{exam.code}/sittings/{sitting_id}"):
        page.goto(live_server + url)
        assert not _overflow(page), (url, _overflow(page))
    page.goto(f"{live_server}/admin/exams/new")
    page.click("button[value=add_row]")
    page.wait_for_load_state()
    page.click("button[value=add_sitting]")
    page.wait_for_load_state()
    page.click("form button.primary")  # empty fields: every error shown, still no sideways scrolling
    page.wait_for_load_state()
    assert page.locator("p.error").count() >= 5
    assert not _overflow(page), _overflow(page)
    _shot(page, f"editor-errors-{lang}-390")
    context.close()
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
    page = context.new_page()
    page.goto(f"{live_server}/login?lang={LANGS[lang]}")
    _login(page, live_server, learner)
    page.goto(f"{live_server}/exams/{exam.code}")
    assert page.locator("input[name=sitting]").count() == 1
    assert not _overflow(page), _overflow(page)
    _shot(page, f"exam-sittings-{lang}-390")
    context.close()
