"""A mixed exam in a real browser (Chromium, 1366x768, zh): the candidate answers the choice questions,
downloads the starter file, makes a solution with python-docx (page set-up and title fixed, the rest
left undone), uploads it with the page's upload control, submits, sees "being graded"; the checking
job runs; the review then shows each rule passed or failed in plain words. Also checked at 390x844:
the task fits without sideways scrolling."""
import os

import pytest

from app.exams import practical
from app.exams.models import AWAITING_GRADING, FINISHED, Attempt
from tests.browser.conftest import CHROMIUM
from tests.browser.test_learner_pages import _login, _overflow
from tests.exams.practicalworld import copy_task, make_practical_world
from tests.factories import make_department, make_user, right_response

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed")


def _solve(starter_path, out_path):
    """The starter document with A4 paper, the GB/T 9704 margins and the title centred (python-docx)."""
    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Mm

    document = Document(str(starter_path))
    for section in document.sections:
        section.page_width, section.page_height = Mm(210), Mm(297)
        section.top_margin, section.bottom_margin = Mm(37), Mm(35)
        section.left_margin, section.right_margin = Mm(28), Mm(26)
    for paragraph in document.paragraphs:
        if paragraph.text.strip().endswith("的通知"):
            paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
            break
    document.save(str(out_path))


def test_mixed_exam_choice_answers_upload_submit_grade_review(app, live_server, browser, db, tmp_path):
    tasks_dir = tmp_path / "tasks"
    copy_task(tasks_dir)
    course, exam = make_practical_world(tasks_dir)
    candidate = make_user(make_department(), name="李建华")
    db.session.commit()
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN", accept_downloads=True)
    page = context.new_page()
    _login(page, live_server, candidate)
    page.goto(f"{live_server}/exams/{exam.code}")
    page.click("form button.primary")
    page.wait_for_selector("#attempt-form")
    attempt_id = int(page.get_attribute("#attempt-form", "data-attempt"))
    db.session.expire_all()
    items = db.session.get(Attempt, attempt_id).items
    task = next(i for i in items if i.question_version.qtype == "practical")

    for item in items:                                         # the choice questions, right
        if item is not task:
            page.check(f'#q{item.position} input[value="{right_response(item)["choice"]}"]')
    page.wait_for_selector("#save-state:not(.pending):not(.offline):not(.error)")

    with page.expect_download() as download_info:              # the starter file
        page.click(f"#q{task.position} a.practical-starter")
    starter = tmp_path / "starter.docx"
    download_info.value.save_as(str(starter))
    assert download_info.value.suggested_filename == "doc-gongwen-format.docx"
    solution = tmp_path / "我的答案.docx"
    _solve(starter, solution)

    assert "answered" not in (page.get_attribute(f'.qbtn[data-q="{task.position}"]', "class") or "")
    page.set_input_files(f"#q{task.position}-file", str(solution))   # uploads on choosing the file
    page.wait_for_selector(f"#q{task.position} .practical-state.is-saved")
    assert "我的答案.docx" in page.inner_text(f"#q{task.position} .practical-state")
    assert "answered" in page.get_attribute(f'.qbtn[data-q="{task.position}"]', "class")
    assert page.locator(".qbtn.answered:not(.sample)").count() == 3

    page.set_viewport_size({"width": 390, "height": 844})        # the task at phone width
    assert not _overflow(page), _overflow(page)
    page.set_viewport_size({"width": 1366, "height": 768})

    page.click("#to-summary")
    page.wait_for_url(f"**/attempts/{attempt_id}/summary")
    page.click("#submit-attempt")
    page.wait_for_url(f"**/attempts/{attempt_id}/result")
    assert "正在评分" in page.inner_text("main")
    db.session.expire_all()
    assert db.session.get(Attempt, attempt_id).state == AWAITING_GRADING

    assert practical.check_pending_uploads() == 1               # the scheduler's job, once
    db.session.expire_all()
    attempt = db.session.get(Attempt, attempt_id)
    assert attempt.state == FINISHED and attempt.score is not None
    upload = practical.uploaded_file(next(i for i in attempt.items if i.id == task.id))
    by_id = {r["rule_id"]: r for r in upload.result["rules"]}
    assert by_id["page"]["passed"] is True and not all(r["passed"] for r in by_id.values())

    page.reload()
    assert "正在评分" not in page.inner_text("main")
    page.goto(f"{live_server}/attempts/{attempt_id}/review")
    review = page.locator(f"#q{task.position}")
    text = review.inner_text()
    for rule in upload.result["rules"]:
        assert rule["description_zh"] in text
    assert review.locator(".rule.is-passed").count() == sum(1 for r in by_id.values() if r["passed"])
    assert review.locator(".rule.is-failed").count() == sum(1 for r in by_id.values() if not r["passed"])
    assert "我的答案.docx" in text
    for url in (f"/attempts/{attempt_id}/review?lang=en", f"/attempts/{attempt_id}/result?lang=en"):
        page.goto(f"{live_server}{url}")
        page.set_viewport_size({"width": 390, "height": 844})
        assert not _overflow(page), (url, _overflow(page))
        page.set_viewport_size({"width": 1366, "height": 768})
    assert upload.result["rules"][0]["description_en"] in page.goto(
        f"{live_server}/attempts/{attempt_id}/review?lang=en").text()
    context.close()
