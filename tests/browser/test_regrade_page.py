"""The regrade page in Chromium at 1366x768 and 390x844, zh and en: the dry-run report fits the
screen (cards on a phone), the confirm button applies it. Screenshots go to $REGRADE_SHOTS
(default: a temporary folder)."""
import os
import tempfile
from pathlib import Path

import pytest

from tests.browser.test_learner_pages import (  # noqa: F401 (fixtures)
    CHROMIUM, LANGS, VIEWPORTS, _check_tables, _login, _overflow,
)
from tests.exams.test_regrade import _fix_key, world  # noqa: F401 (fixture)
from tests.factories import make_department, make_user

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed")
SHOTS = Path(os.environ.get("REGRADE_SHOTS") or Path(tempfile.gettempdir()) / "civicskills-regrade-shots")


@pytest.mark.parametrize("size", VIEWPORTS)
@pytest.mark.parametrize("lang", LANGS)
def test_regrade_page_fits_and_applies(browser, live_server, world, db, size, lang):  # noqa: F811
    question = _fix_key(db)
    examiner = make_user(make_department("考试中心"), is_examiner=True, name="王考官")
    db.session.commit()
    page = browser.new_context(viewport=VIEWPORTS[size], locale="zh-CN").new_page()
    page.goto(f"{live_server}/login?lang={LANGS[lang]}")
    _login(page, live_server, examiner)
    _course, exam, _people = world
    page.goto(f"{live_server}/admin/exams/{exam.code}/regrade?question={question.id}")
    assert page.locator("main table tbody tr").count() == 3
    assert not _overflow(page), _overflow(page)
    _check_tables(page, size == "390")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"regrade-dry-run-{lang}-{size}.png"), full_page=True)
    button = page.locator("button.primary")
    box = button.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= page.evaluate("window.innerWidth") and box["height"] >= 44
    button.click()
    page.wait_for_load_state()
    assert page.locator(".flash.success").count() == 1
    assert not _overflow(page), _overflow(page)
    page.screenshot(path=str(SHOTS / f"regrade-applied-{lang}-{size}.png"), full_page=True)
