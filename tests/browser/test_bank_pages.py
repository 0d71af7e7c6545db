"""The question bank pages in a real browser at 1366x768 and 390x844, zh and en: nothing wider than the
viewport, tables inside their box, field errors shown. Screenshots go to $BANK_SHOTS (default a temp folder)."""
import os
import tempfile
from pathlib import Path

import pytest
from sqlalchemy import select

from app.questions.models import Question
from tests.browser.conftest import CHROMIUM
from tests.browser.test_learner_pages import LANGS, VIEWPORTS, _login, _overflow
from tests.factories import make_department, make_user

playwright_api = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed")
SHOTS = Path(os.environ.get("BANK_SHOTS") or Path(tempfile.gettempdir()) / "civicskills-bank-shots")
GIFT = ("// [id:SHOT-1] [tag:item:NOPE]\n::SHOT-1::一道标准条目写错的题 {T}\n\n"
        "::SHOT-2::新的判断题：离开座位要锁屏。{T}\n")


@pytest.fixture()
def world(db, content):
    examiner = make_user(make_department("市财政局"), name="李考官", staff_number="20269001", is_examiner=True)
    db.session.commit()
    choice = db.session.execute(select(Question).where(Question.qtype == "multiple_choice")
                                .order_by(Question.key)).scalars().first()
    return examiner, choice


def _fits(page, narrow):
    """Nothing sticks out of the viewport; every table stays inside its (scrolling) box; no question
    text squeezed to a few characters per line."""
    assert not _overflow(page), _overflow(page)
    width = page.evaluate("window.innerWidth")
    for table in page.locator("main table").all():
        box = table.bounding_box()
        parent_right = table.evaluate("t => t.parentElement.getBoundingClientRect().right")
        assert box["x"] >= 0 and box["x"] + box["width"] <= max(width, parent_right) + 1, box
    for cell in page.locator("main td.stem").all():
        assert cell.bounding_box()["width"] >= (150 if narrow else 300), cell.inner_text()[:40]


def _shot(page, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=False)


@pytest.mark.parametrize("size", VIEWPORTS)
@pytest.mark.parametrize("lang", LANGS)
def test_bank_pages_fit(browser, live_server, world, size, lang, tmp_path):
    examiner, choice = world
    context = browser.new_context(viewport=VIEWPORTS[size], locale="zh-CN")
    page = context.new_page()
    narrow = size == "390"
    page.goto(f"{live_server}/login?lang={LANGS[lang]}")
    _login(page, live_server, examiner)
    page.goto(f"{live_server}/bank/?text=%E5%AF%86%E7%A0%81")
    _fits(page, narrow)
    _shot(page, f"bank-list-{lang}-{size}")
    page.goto(f"{live_server}/bank/questions/{choice.id}")
    _fits(page, narrow)
    assert page.locator("#candidate-preview input[type=checkbox]").count() >= 3
    _shot(page, f"bank-question-{lang}-{size}")
    page.locator("#examiner-view").scroll_into_view_if_needed()
    _shot(page, f"bank-question-key-{lang}-{size}")
    page.goto(f"{live_server}/bank/questions/{choice.id}/edit")
    page.fill("#spec", '{"options": []}')
    page.fill("#stem", "")
    page.click("form button.primary")
    page.wait_for_load_state()
    assert page.locator("p.error").count() == 2
    _fits(page, narrow)
    page.locator("p.error").first.scroll_into_view_if_needed()
    _shot(page, f"bank-edit-errors-{lang}-{size}")
    upload = tmp_path / "questions.gift"
    upload.write_text(GIFT, encoding="utf-8")
    page.goto(f"{live_server}/bank/import")
    page.set_input_files("#file", str(upload))
    page.click("form button[type=submit] >> nth=-1")
    page.wait_for_load_state()
    assert page.locator("#dry-run").count() == 1
    _fits(page, narrow)
    page.locator("#dry-run").scroll_into_view_if_needed()
    _shot(page, f"bank-import-{lang}-{size}")
    context.close()
