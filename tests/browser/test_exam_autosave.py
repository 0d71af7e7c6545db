"""Autosave in a real browser (Chromium): two tabs on one attempt never lose an answer silently, a
refused save stays visibly unsaved, and answers given offline are all stored once the network is back."""
import json

import pytest

from app.exams.models import AttemptItem
from tests.browser.test_exam_page import SAVED, _saved, _start, page  # noqa: F401 (fixtures)

SAVE_API = "**/api/attempts/*/answers"


def _choice(db, attempt_id, position):
    response = _saved(db, attempt_id)[position]
    if response is None:
        return None
    if "answer" in response:
        return "true" if response["answer"] else "false"
    return response.get("choice") or response.get("choices")


def _single_choice_with_three_options(tab):
    for fs in tab.locator("fieldset.question[data-multiple=false]").all():
        if fs.locator("input[type=radio]").count() >= 3:
            return fs
    pytest.skip("the exam world has no single-choice question with three options")


def test_two_tabs_answering_alternately_end_with_the_last_choice_or_a_shown_conflict(page, live_server, db):
    attempt_id = _start(page, live_server, db)
    tab_a = page
    tab_b = page.context.new_page()
    tab_b.goto(tab_a.url)
    fs_a = _single_choice_with_three_options(tab_a)
    position = fs_a.get_attribute("data-position")
    fs_b = tab_b.locator(f'fieldset[data-position="{position}"]')
    values = [fs_a.locator("label.option input").nth(i).get_attribute("value") for i in range(3)]
    pos = int(position)

    fs_a.locator(f'label.option input[value="{values[0]}"]').check()
    tab_a.wait_for_selector(SAVED)
    assert _choice(db, attempt_id, pos) == values[0]

    # Tab B still shows the page as loaded (revision 0): its different choice is a shown conflict.
    fs_b.locator(f'label.option input[value="{values[1]}"]').check()
    conflict = fs_b.locator(".q-status.is-conflict")
    conflict.wait_for()
    assert "another window" in conflict.inner_text() or "另一个窗口" in conflict.inner_text()
    assert "unsaved" in fs_b.get_attribute("class")
    assert tab_b.locator("#save-state.error").count() == 1
    assert _choice(db, attempt_id, pos) == values[0]  # nothing overwritten silently
    fs_b.locator("button.keep-mine").click()
    tab_b.wait_for_selector(SAVED)
    assert _choice(db, attempt_id, pos) == values[1]  # B's last choice stored

    # Tab A has not seen B's answer: its next choice is a conflict; it takes the saved one.
    fs_a.locator(f'label.option input[value="{values[2]}"]').check()
    fs_a.locator(".q-status.is-conflict").wait_for()
    assert _choice(db, attempt_id, pos) == values[1]
    fs_a.locator("button.take-saved").click()
    tab_a.wait_for_selector(SAVED)
    assert fs_a.locator(f'label.option input[value="{values[1]}"]').is_checked()
    assert _choice(db, attempt_id, pos) == values[1]
    # ... and now A's page knows the latest revision: its next choice is simply saved.
    fs_a.locator(f'label.option input[value="{values[2]}"]').check()
    tab_a.wait_for_selector(SAVED)
    assert _choice(db, attempt_id, pos) == values[2]

    # A reloaded tab B shows what is stored, and its own choice is saved.
    tab_b.reload()
    fs_b = tab_b.locator(f'fieldset[data-position="{position}"]')
    assert fs_b.locator(f'label.option input[value="{values[2]}"]').is_checked()
    fs_b.locator(f'label.option input[value="{values[0]}"]').check()
    tab_b.wait_for_selector(SAVED)
    assert _choice(db, attempt_id, pos) == values[0]


@pytest.mark.parametrize("status,body", [
    (400, {"status": "error", "code": "bad_request", "message": "Field 'revision' must be a whole number."}),
    (403, {"status": "error", "code": "forbidden", "message": "You do not have permission."}),
    (409, {"status": "error", "code": "sequential", "message": "This question can no longer be changed."}),
    (500, {"status": "error", "code": "internal", "message": "Internal Server Error"}),
])
def test_a_refused_save_leaves_the_answer_marked_unsaved(page, live_server, db, status, body):
    attempt_id = _start(page, live_server, db)
    page.route(SAVE_API, lambda route: route.fulfill(status=status, content_type="application/json",
                                                     body=json.dumps(body)))
    fs = page.locator("fieldset.question").nth(0)
    position = int(fs.get_attribute("data-position"))
    fs.locator("label.option input").first.check()
    page.wait_for_selector(f'fieldset.question.unsaved[data-position="{position}"] .q-status.is-unsaved p')
    assert page.locator(SAVED).count() == 0
    assert page.locator(f'.qbtn.unsaved[data-q="{position}"]').count() == 1
    text = fs.locator(".q-status").inner_text()
    if status in (400, 409):
        assert body["message"] in text  # the reason is shown
    assert _saved(db, attempt_id)[position] is None
    # The answer is still queued in this browser: once the server accepts again, it is stored.
    page.unroute(SAVE_API)
    page.reload()
    page.wait_for_selector(SAVED, timeout=15000)
    assert _saved(db, attempt_id)[position] is not None


def test_offline_for_a_while_then_online_stores_every_answer(page, live_server, db):
    attempt_id = _start(page, live_server, db)
    page.context.set_offline(True)
    chosen = {}
    for fs in page.locator("fieldset.question").all():
        option = fs.locator("label.option input").last
        option.check()
        chosen[int(fs.get_attribute("data-position"))] = option.get_attribute("value")
    page.wait_for_selector("#save-state.offline")
    page.wait_for_timeout(2500)  # a retry or two fail while offline
    assert all(response is None for response in _saved(db, attempt_id).values())
    page.context.set_offline(False)
    page.wait_for_selector(SAVED, timeout=20000)
    db.session.expire_all()
    stored = {i.position: i for i in db.session.query(AttemptItem).filter_by(attempt_id=attempt_id)}
    assert set(stored) == set(chosen)
    for position, value in chosen.items():
        assert value in (json.dumps(stored[position].response) + str(stored[position].response)), position
        assert stored[position].revision == 1


def test_a_tab_restored_from_an_old_queue_replays_into_a_conflict_never_an_overwrite(page, live_server, db):
    attempt_id = _start(page, live_server, db)
    attempt_url = page.url
    fs = _single_choice_with_three_options(page)
    position = fs.get_attribute("data-position")
    values = [fs.locator("label.option input").nth(i).get_attribute("value") for i in range(2)]
    # Yesterday, on this PC: chosen while offline, then the tab was closed before it could send.
    page.context.set_offline(True)
    fs.locator(f'label.option input[value="{values[0]}"]').check()
    page.wait_for_selector("#save-state.offline")
    page.close()
    # Today, on another device: a different answer is saved.
    other = page.context.browser.new_context()
    tab = other.new_page()
    tab.goto(f"{live_server}/login")
    user_staff = db.session.get(__import__("app.exams.models", fromlist=["Attempt"]).Attempt, attempt_id).user.staff_number
    tab.fill("#staff_number", user_staff)
    tab.fill("#password", "correct-horse-42")
    tab.click("button[type=submit]")
    tab.goto(attempt_url)
    tab.locator(f'fieldset[data-position="{position}"] label.option input[value="{values[1]}"]').check()
    tab.wait_for_selector(SAVED)
    assert _choice(db, attempt_id, int(position)) == values[1]
    other.close()
    # Back on the first PC: the page replays its old queue and shows a conflict instead of overwriting.
    page.context.set_offline(False)
    restored = page.context.new_page()
    restored.goto(attempt_url)
    box = restored.locator(f'fieldset[data-position="{position}"] .q-status.is-conflict')
    box.wait_for()
    assert _choice(db, attempt_id, int(position)) == values[1]
    box.locator("button.keep-mine").click()
    restored.wait_for_selector(SAVED)
    assert _choice(db, attempt_id, int(position)) == values[0]
