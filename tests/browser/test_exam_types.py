"""Every question type in a real browser (Chromium), by keyboard: short answer, numerical with a unit,
matching and ordering are answered, autosaved, still there after a reload, submitted; then an examiner
grades the essay in the grading queue and the attempt gets its result.

Set ``EXAMTYPES_SHOTS=/dir`` to also save screenshots of the partials and the grading pages at
1366x768 and 390x844 in zh and en."""
import os
from decimal import Decimal

import pytest

from app.exams.models import FINISHED, Attempt, AttemptItem
from tests.browser.test_exam_page import CHROMIUM, SAVED, page, playwright_api  # noqa: F401 (fixtures)
from tests.exams.typesworld import make_types_world
from tests.factories import make_department, make_user

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed")


def _login(page, live_server, user):
    page.goto(f"{live_server}/login")
    page.fill("#staff_number", user.staff_number)
    page.fill("#password", "correct-horse-42")
    page.click("button[type=submit]")
    page.wait_for_load_state()


def _positions(db, attempt_id):
    db.session.expire_all()
    return {i.question_version.qtype: i.position for i in db.session.get(Attempt, attempt_id).items}


def _responses(db, attempt_id):
    db.session.expire_all()
    return {i.question_version.qtype: i.response for i in db.session.query(AttemptItem).filter_by(attempt_id=attempt_id)}


def test_every_type_by_keyboard_then_an_examiner_grades_the_essay(page, live_server, db):
    course, exam = make_types_world()
    candidate = make_user(make_department(), name="李建华")
    examiner = make_user(make_department(), name="王考官", is_examiner=True)
    db.session.commit()
    _login(page, live_server, candidate)
    page.goto(f"{live_server}/exams/{exam.code}")
    page.click("form button.primary")
    page.wait_for_selector("#attempt-form")
    attempt_id = int(page.get_attribute("#attempt-form", "data-attempt"))
    pos = _positions(db, attempt_id)

    page.focus(f"#q{pos['short_answer']}-text")
    page.keyboard.type("ＢＥＩＪＩＮＧ")                           # full-width, as an IME may give it
    page.keyboard.press("Tab")
    page.focus(f"#q{pos['numerical']}-value")
    page.keyboard.type("12.5")
    page.keyboard.press("Tab")                                       # to the unit select
    assert page.locator(f"#q{pos['numerical']}-unit:focus").count() == 1
    page.keyboard.press("ArrowDown")                                 # "个"
    page.focus(f"#q{pos['matching']}-m-1")
    page.keyboard.press("ArrowDown")                                 # first answer in sorted order
    first_choice = page.input_value(f"#q{pos['matching']}-m-1")
    assert first_choice
    # ordering: move the last item (the start order is shuffled per attempt) to the top by typing "1"
    last = page.get_attribute(f"#q{pos['ordering']} ol.ordering > li >> nth=3", "data-id")
    page.focus(f"#q{pos['ordering']}-o-{last}")
    page.keyboard.press("1")
    order_now = [page.get_attribute(f"#q{pos['ordering']} ol.ordering > li >> nth={i}", "data-id") for i in range(4)]
    assert order_now[0] == last
    assert page.locator(f"#q{pos['ordering']}-o-{last}:focus").count() == 1     # focus stays on the moved item
    page.focus(f"#q{pos['essay']}-text")
    page.keyboard.type("离开座位时按 Win+L 锁屏。")
    page.wait_for_selector(f"#q{pos['essay']}-count:has-text('16')")
    page.wait_for_timeout(1200)
    page.wait_for_selector(SAVED)

    stored = _responses(db, attempt_id)
    assert stored["short_answer"] == {"text": "ＢＥＩＪＩＮＧ"}
    assert stored["numerical"]["value"] == "12.5 个"
    assert stored["matching"] == {"matches": {"1": first_choice}}
    assert stored["ordering"]["order"] == order_now
    assert stored["essay"] == {"text": "离开座位时按 Win+L 锁屏。"}

    page.reload()                                                    # the answers are still there
    assert page.input_value(f"#q{pos['short_answer']}-text") == "ＢＥＩＪＩＮＧ"
    assert page.input_value(f"#q{pos['numerical']}-value") == "12.5"
    assert page.input_value(f"#q{pos['numerical']}-unit") == "个"
    assert page.input_value(f"#q{pos['matching']}-m-1") == first_choice
    assert [page.get_attribute(f"#q{pos['ordering']} ol.ordering > li >> nth={i}", "data-id") for i in range(4)] == order_now
    assert page.input_value(f"#q{pos['essay']}-text") == "离开座位时按 Win+L 锁屏。"
    assert page.locator(".qbtn.answered:not(.sample)").count() == 5

    page.focus("#to-summary")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/attempts/{attempt_id}/summary")
    page.focus("#submit-attempt")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/attempts/{attempt_id}/result")
    assert "待评分" in page.inner_text("main")

    # the examiner grades the essay in the queue, by keyboard
    grader = page.context.browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN").new_page()
    _login(grader, live_server, examiner)
    grader.goto(f"{live_server}/grading/")
    grader.focus("table.list a.button")
    grader.keyboard.press("Enter")
    grader.wait_for_selector("#mark")
    assert "离开座位时按 Win+L 锁屏。" in grader.inner_text(".candidate-answer")
    assert "提到锁屏得满分" in grader.inner_text(".rubric")
    grader.focus("#mark")
    grader.keyboard.type("19.5")
    grader.keyboard.press("Tab")
    grader.keyboard.type("提到了锁屏和快捷键")
    grader.keyboard.press("Tab")
    grader.keyboard.press("Enter")
    grader.wait_for_url("**/grading/")
    assert "没有待评分" in grader.inner_text("main")
    db.session.expire_all()
    attempt = db.session.get(Attempt, attempt_id)
    assert attempt.state == FINISHED and attempt.score is not None
    essay = next(i for i in attempt.items if i.question_version.qtype == "essay")
    assert (essay.awarded, essay.grade_note, essay.graded_by_id) == (Decimal("19.50"), "提到了锁屏和快捷键", examiner.id)
    page.reload()
    assert "待评分" not in page.inner_text("main")


@pytest.mark.skipif(not os.environ.get("EXAMTYPES_SHOTS"), reason="screenshots only when EXAMTYPES_SHOTS is set")
def test_screenshots_of_the_partials_and_grading_pages(live_server, db):
    """Not a check: saves full-page screenshots for a person to look at (see the module docstring)."""
    from app.exams import grading
    from app.exams.services import finish_attempt, save_answer, start_attempt
    from app.extensions import db as _db
    from tests.exams.typesworld import RIGHT

    out = os.environ["EXAMTYPES_SHOTS"]
    os.makedirs(out, exist_ok=True)
    course, exam = make_types_world()
    candidate = make_user(make_department(), name="李建华")
    sat = make_user(make_department(), name="张伟")
    examiner = make_user(make_department(), name="王考官", is_examiner=True)
    done = start_attempt(sat, exam)
    _db.session.flush()
    for item in done.items:
        save_answer(done, item.position, RIGHT[item.question_version.qtype], item.revision)
    _db.session.expire_all()
    finish_attempt(done, by="candidate")
    _db.session.commit()
    essay_id = grading.grading_queue()[0].items[0].id
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"])
        for lang in ("zh_CN", "en"):
            for width, height in ((1366, 768), (390, 844)):
                tag = f"{lang}-{width}x{height}"
                context = browser.new_context(viewport={"width": width, "height": height})
                pg = context.new_page()
                _login(pg, live_server, candidate)
                open_attempt = start_attempt(candidate, exam)
                _db.session.commit()
                pg.goto(f"{live_server}/attempts/{open_attempt.id}?lang={lang}")
                pg.wait_for_selector("#attempt-form")
                pg.screenshot(path=f"{out}/attempt-{tag}.png", full_page=True)
                context.close()
                context = browser.new_context(viewport={"width": width, "height": height})
                pg = context.new_page()
                _login(pg, live_server, examiner)
                pg.goto(f"{live_server}/grading/?lang={lang}")
                pg.screenshot(path=f"{out}/grading-queue-{tag}.png", full_page=True)
                pg.goto(f"{live_server}/grading/responses/{essay_id}")
                pg.screenshot(path=f"{out}/grading-response-{tag}.png", full_page=True)
                context.close()
        context = browser.new_context(viewport={"width": 390, "height": 844})
        pg = context.new_page()
        _login(pg, live_server, sat)
        pg.goto(f"{live_server}/attempts/{done.id}/result?lang=zh_CN")
        pg.screenshot(path=f"{out}/result-awaiting-zh_CN-390x844.png", full_page=True)
        browser.close()
