"""The question panel, flags and the summary page by keyboard alone (Chromium)."""
from app.exams.models import Attempt, AttemptItem
from tests.browser.test_exam_page import SAVED, _start, page  # noqa: F401 (fixtures)


def _tab_to(page, selector, limit=60, back=False):
    for _ in range(limit):
        if page.locator(f"{selector}:focus").count():
            return
        page.keyboard.press("Shift+Tab" if back else "Tab")
    raise AssertionError(f"{selector} cannot be reached with the Tab key")


def test_panel_flags_and_summary_work_by_keyboard_alone(page, live_server, db):
    attempt_id = _start(page, live_server, db)
    # The panel lists every question as a focusable control with its state in its name.
    assert page.locator(".qpanel .qbtn:not(.sample)").count() == 3
    _tab_to(page, '.qbtn[data-q="2"]')
    page.keyboard.press("Enter")                        # jump to question 2: focus lands on its first option
    assert page.locator("#q2 label.option input:focus").count() == 1
    page.keyboard.press("Space")                        # choose it
    page.wait_for_selector(SAVED)
    assert page.locator('.qbtn.answered[data-q="2"]').count() == 1
    _tab_to(page, "#q2 .flag-toggle", back=True)
    page.keyboard.press("Enter")                        # flag for review
    page.wait_for_selector('#q2 .flag-toggle[aria-pressed="true"]')
    page.wait_for_selector('.qbtn.flagged[data-q="2"]')
    db.session.expire_all()
    assert db.session.query(AttemptItem).filter_by(attempt_id=attempt_id, position=2).one().flagged is True

    page.reload()                                       # the flag is stored on the server
    assert page.locator('#q2 .flag-toggle[aria-pressed="true"]').count() == 1
    assert page.locator('.qbtn.flagged[data-q="2"]').count() == 1

    _tab_to(page, "#to-summary")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/attempts/{attempt_id}/summary")
    unanswered = page.inner_text("section[aria-labelledby=unanswered-title]")
    flagged = page.inner_text("section[aria-labelledby=flagged-title]")
    assert "1" in unanswered and "3" in unanswered and "2" not in unanswered.split("(")[1].split(")")[1]
    assert "2" in flagged.split(")")[1]
    _tab_to(page, "#summary-back")
    page.keyboard.press("Enter")                        # back to the questions
    page.wait_for_url(f"**/attempts/{attempt_id}*")
    assert page.locator("#attempt-form").count() == 1
    _tab_to(page, "#to-summary")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/attempts/{attempt_id}/summary")
    _tab_to(page, "#submit-attempt")
    page.keyboard.press("Enter")                        # the final submit
    page.wait_for_url(f"**/attempts/{attempt_id}/result")
    db.session.expire_all()
    assert db.session.get(Attempt, attempt_id).finished_by == "candidate"
