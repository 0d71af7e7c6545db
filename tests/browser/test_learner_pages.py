"""The learner's pages (and the officer dashboard) in a real browser at 1366x768 and 390x844, zh and en:
no horizontal overflow, tables that stay readable on a phone, a header menu, touch targets, long
tokens that never break at a hyphen. Screenshots go to docs/screenshots/."""
import datetime as dt
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from sqlalchemy import select

from app.certification.models import Certificate, Certification
from app.certification.services import new_verification_code
from app.core.time import local_today, utcnow
from app.learning.models import Course
from app.learning.services import enrol, open_lesson
from app.rollout.models import Milestone, RolloutPlan
from tests.factories import make_department, make_user

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
playwright_api = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed")
# The committed screenshots are refreshed with SAVE_SCREENSHOTS=1; other runs write to a temporary
# folder (the size check still runs) so that `make test` leaves the working tree clean.
SCREENSHOTS = (Path(__file__).resolve().parents[2] / "docs" / "screenshots" if os.environ.get("SAVE_SCREENSHOTS")
               else Path(tempfile.gettempdir()) / "civicskills-screenshots")
VIEWPORTS = {"1366": {"width": 1366, "height": 768}, "390": {"width": 390, "height": 844}}
LANGS = {"zh": "zh_CN", "en": "en"}


@pytest.fixture()
def world(db, content):
    """A learner with two assigned courses (one overdue, one started) and a certificate; an officer
    with a rollout plan over the learner's department."""
    city = make_department("滨江市人民政府办公室（市政务服务管理办公室）", code="CITY")
    bureau = make_department("市财政局", city, code="CITY-A")
    learner = make_user(bureau, name="王秀英", staff_number="20260001")
    officer = make_user(city, name="陈志强", staff_number="20260002", officer_of=[city])
    courses = {c.slug: c for c in db.session.execute(select(Course)).scalars()}
    enrol(learner, courses["spreadsheets"], source="plan", due_on=local_today() - dt.timedelta(days=3))
    enrol(learner, courses["computer-basics"], source="plan", due_on=local_today() + dt.timedelta(days=9))
    open_lesson(learner, courses["computer-basics"].active_lessons[0])
    certification = db.session.execute(select(Certification).where(Certification.code == "CSDS-SEC")).scalar_one()
    db.session.add(Certificate(certification_id=certification.id, user_id=learner.id, serial="CSDS-SEC-2026-000123",
                               verification_code=new_verification_code(), issued_at=utcnow(),
                               expires_at=utcnow() + dt.timedelta(days=700)))
    basic = db.session.execute(select(Certification).where(Certification.code == "CSDS-BASIC")).scalar_one()
    plan = RolloutPlan(key="t-plan", name_zh="2026年全市公务员数字技能全员培训", name_en="2026 City-wide Digital Skills Training",
                       certification_id=basic.id, starts_on=local_today() - dt.timedelta(days=30),
                       ends_on=local_today() + dt.timedelta(days=60), active=True)
    plan.audience.append(city)
    plan.milestones = [Milestone(due_on=local_today() + dt.timedelta(days=60), target_percent=100)]
    db.session.add(plan)
    db.session.commit()
    code = db.session.execute(select(Certificate.verification_code)).scalar_one()
    return {"learner": learner, "officer": officer, "course": courses["computer-basics"], "verification_code": code}


def _login(page, base, user):
    page.goto(f"{base}/login")
    page.fill("#staff_number", user.staff_number)
    page.fill("#password", "correct-horse-42")
    page.click("form button[type=submit]")
    page.wait_for_load_state()


def _overflow(page) -> list[str]:
    """Elements wider than the viewport, plus the document itself when it scrolls sideways."""
    problems = []
    width = page.evaluate("window.innerWidth")
    if page.evaluate("document.documentElement.scrollWidth") > width:
        problems.append(f"document scrollWidth {page.evaluate('document.documentElement.scrollWidth')} > {width}")
    return problems


def _check_tables(page, narrow: bool):
    """Every table fits the viewport (a card list, or a box that scrolls inside itself); no cell
    holds a word broken one character per line."""
    width = page.evaluate("window.innerWidth")
    for table in page.locator("main table").all():
        box = table.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= width + 1, f"table sticks out: {box}"
        parent_right = table.evaluate("t => t.parentElement.getBoundingClientRect().right")
        assert box["x"] + box["width"] <= parent_right + 1, f"table wider than its box: {box}, {parent_right}"
    for link in page.locator("main table a, main .course-card h3 a").all():
        box = link.bounding_box()
        if box and narrow:
            # A title squeezed to one character per line is taller than it is wide.
            assert box["width"] >= 60, f"squeezed link {link.inner_text()!r}: {box}"


def _shot(page, name: str):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)
    assert path.stat().st_size < 300_000


@pytest.mark.parametrize("size", VIEWPORTS)
@pytest.mark.parametrize("lang", LANGS)
def test_learner_pages_fit_and_hold(browser, live_server, world, size, lang):
    context = browser.new_context(viewport=VIEWPORTS[size], locale="zh-CN")
    page = context.new_page()
    narrow = size == "390"
    page.goto(f"{live_server}/login?lang={LANGS[lang]}")
    assert not _overflow(page)
    _shot(page, f"login-{lang}-{size}")
    _login(page, live_server, world["learner"])
    course = world["course"]
    lesson = course.active_lessons[0]
    pages = {
        "home": "/",
        "course": f"/courses/{course.slug}",
        "lesson": f"/courses/{course.slug}/lessons/{lesson.key}",
        "certificates": "/certificates/",
        "verify": "/verify/" + world["verification_code"],
    }
    for name, path in pages.items():
        page.goto(f"{live_server}{path}")
        assert not _overflow(page), f"{name}: {_overflow(page)}"
        _check_tables(page, narrow)
        _shot(page, f"{name}-{lang}-{size}")
    # The certificate's buttons are whole and inside the screen.
    page.goto(f"{live_server}/certificates/")
    width = page.evaluate("window.innerWidth")
    for selector in ("text=" + ("下载 PDF" if lang == "zh" else "Download PDF"),):
        box = page.locator(selector).first.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= width, box
        assert box["height"] >= 44, f"touch target {box}"
    if narrow:
        # The header collapses to a menu that opens by keyboard.
        assert not page.locator("header.site > nav a").first.is_visible()
        nav_link = page.locator("header.site details nav a").first
        assert not nav_link.is_visible()
        page.locator("header.site summary").focus()
        page.keyboard.press("Enter")
        assert nav_link.is_visible()
        assert nav_link.bounding_box()["height"] >= 44
        assert not _overflow(page)
        _shot(page, f"menu-{lang}-{size}")
    context.close()


@pytest.mark.parametrize("size", VIEWPORTS)
def test_officer_dashboard_fits(browser, live_server, world, size):
    context = browser.new_context(viewport=VIEWPORTS[size], locale="zh-CN")
    page = context.new_page()
    _login(page, live_server, world["officer"])
    page.goto(f"{live_server}/dashboard/")
    assert page.locator("table.figures").count() == 1
    assert not _overflow(page), _overflow(page)
    _check_tables(page, size == "390")
    _shot(page, f"dashboard-zh-{size}")
    context.close()


def test_long_tokens_never_break_at_a_hyphen(browser, live_server, world, db):
    """A web address in text wraps (if at all) without a hyphen being added, and the page never
    scrolls sideways; Chinese text still wraps between characters."""
    context = browser.new_context(viewport=VIEWPORTS["390"], locale="zh-CN")
    page = context.new_page()
    _login(page, live_server, world["learner"])
    page.goto(f"{live_server}/courses/")
    styles = page.evaluate("""() => {
        const main = document.querySelector('main');
        const p = document.createElement('p');
        p.innerHTML = '请访问 <code id="t-url">https://zwfw.example.gov.cn/service-guide/e-seal-application-form-2026.pdf</code> 下载表格，然后按照页面提示逐项填写申请人的单位、姓名、联系电话与办理事项。';
        main.appendChild(p);
        const pre = document.createElement('pre');
        pre.innerHTML = '<code id="t-pre">第一行\\n第二行\\n第三行</code>';
        main.appendChild(pre);
        const c = getComputedStyle(document.getElementById('t-url'));
        return {hyphens: c.hyphens, width: document.documentElement.scrollWidth, inner: window.innerWidth,
                pWidth: p.getBoundingClientRect().width, lines: Math.round(p.getBoundingClientRect().height / parseFloat(getComputedStyle(p).lineHeight)),
                family: c.fontFamily, bodyHyphens: getComputedStyle(document.body).hyphens,
                preWhiteSpace: getComputedStyle(document.getElementById('t-pre')).whiteSpace,
                urlRight: document.getElementById('t-url').getBoundingClientRect().right};
    }""")
    context.close()
    assert styles["hyphens"] in ("manual", "none") and styles["bodyHyphens"] == "manual"
    assert "mono" in styles["family"].lower()
    assert styles["width"] <= styles["inner"], styles
    assert styles["lines"] >= 3  # the Chinese sentence wraps naturally instead of overflowing
    assert styles["urlRight"] <= styles["inner"]  # the address scrolls inside its own box
    assert styles["preWhiteSpace"] == "pre"  # code blocks keep their lines


def test_lesson_button_waits_for_the_end_and_the_minimum(browser, live_server, world, app, monkeypatch):
    monkeypatch.setitem(app.config, "LESSON_MIN_SECONDS", 2)
    context = browser.new_context(viewport=VIEWPORTS["1366"], locale="zh-CN")
    page = context.new_page()
    _login(page, live_server, world["learner"])
    course = world["course"]
    lesson = course.active_lessons[1]  # a long lesson: its end is below the fold
    page.goto(f"{live_server}/courses/{course.slug}/lessons/{lesson.key}")
    button = page.locator("#lesson-done button[type=submit]")
    assert button.is_disabled()
    page.wait_for_timeout(2500)
    assert button.is_disabled()  # time has passed, but the reader has not reached the end
    page.locator("#lesson-end").scroll_into_view_if_needed()
    page.wait_for_selector("#lesson-done button:enabled", timeout=5000)
    button.click()
    page.wait_for_load_state()
    assert page.locator(".flash.success").count() == 1
    context.close()


@pytest.mark.parametrize("size", VIEWPORTS)
def test_exam_page_fits_and_answer_controls_are_equal(browser, live_server, world, db, size):
    """The exam page on a phone: no sideways scrolling, a small status bar, every radio/checkbox the
    same size however long its option text, options at least 44 px high."""
    from tests.factories import make_exam_world

    _course, exam = make_exam_world()
    db.session.commit()
    context = browser.new_context(viewport=VIEWPORTS[size], locale="zh-CN")
    page = context.new_page()
    _login(page, live_server, world["learner"])
    page.goto(f"{live_server}/exams/{exam.code}")
    assert not _overflow(page)
    page.click("form button.primary")
    page.wait_for_selector("#attempt-form")
    assert not _overflow(page), _overflow(page)
    # One option with a very long text (as real distractors can be): its control must not shrink.
    page.evaluate("""() => { document.querySelector('label.option span').textContent =
        '在不确定邮件来源时，先通过单位通讯录中登记的电话与发件人核实，再决定是否打开附件或点击链接，' +
        '必要时向信息中心报告并保留原始邮件以便调查处理'.repeat(2); }""")
    sizes = {(round(b["width"]), round(b["height"])) for b in
             (i.bounding_box() for i in page.locator("label.option input").all())}
    assert len(sizes) == 1, sizes
    for option in page.locator("label.option").all():
        assert option.bounding_box()["height"] >= 44
    assert page.locator("#exam-bar").bounding_box()["height"] <= (160 if size == "390" else 90)
    _shot(page, f"exam-zh-{size}")
    context.close()


def test_larger_text_still_fits_a_phone(browser, live_server, world):
    context = browser.new_context(viewport=VIEWPORTS["390"], locale="zh-CN")
    page = context.new_page()
    _login(page, live_server, world["learner"])
    page.goto(f"{live_server}/courses/?text=large")
    assert page.evaluate("document.documentElement.className") == "text-large"
    assert page.evaluate("parseFloat(getComputedStyle(document.documentElement).fontSize)") >= 20
    for path in ("/courses/", f"/courses/{world['course'].slug}", "/certificates/"):
        page.goto(f"{live_server}{path}")
        assert not _overflow(page), (path, _overflow(page))
    serial = page.locator(".serial").first
    assert serial.evaluate("e => e.scrollWidth <= e.clientWidth"), "the serial is cut off"
    _shot(page, "certificates-large-zh-390")
    context.close()
