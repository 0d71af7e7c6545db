"""Autosave's one-statement path (PostgreSQL, :func:`app.exams.services.save_answer_fast`).

It answers only "stored"; everything else is handed to the general path. These tests make the
cases where a fast path could go wrong: a cached item map that no longer fits the attempt, a login
session ended after the map was cached, a password change required mid-exam, an attempt already
finished. Each must end exactly as the general path would.
"""
import datetime as dt

import pytest
from sqlalchemy import select, update

from app.auth.models import User
from app.exams import services
from app.exams.models import FINISHED, Attempt, AttemptItem
from tests.exams.test_round_trips import Counter, _logged_in_attempt
from tests.factories import csrf_token, right_response, wrong_response


@pytest.fixture()
def started(app, db, client):
    """(attempt id, [(position, right, wrong) per item], CSRF token) after one save filled the caches
    (in a fresh process: an earlier test's map for the same attempt id would send that save the
    general way, as :func:`test_a_stale_item_map_never_writes_the_wrong_item` shows)."""
    services._ITEM_MAPS.clear()
    exam, token = _logged_in_attempt(app, db, client)
    response = client.post(f"/exams/{exam.code}/start", data={"csrf_token": token})
    attempt = db.session.get(Attempt, int(response.headers["Location"].rstrip("/").split("/")[-1]))
    items = [(item.position, right_response(item), wrong_response(item)) for item in attempt.items]
    attempt_id = attempt.id
    db.session.remove()
    first = client.post(f"/api/attempts/{attempt_id}/answers", json={
        "position": items[0][0], "response": items[0][2], "revision": 0}, headers={"X-CSRFToken": token})
    assert first.status_code == 200
    return attempt_id, items, token


def _stored(db, attempt_id):
    db.session.expire_all()
    return {i.position: (i.response, i.revision) for i in db.session.scalars(
        select(AttemptItem).where(AttemptItem.attempt_id == attempt_id))}


def _save(client, token, attempt_id, position, response, revision):
    return client.post(f"/api/attempts/{attempt_id}/answers", json={
        "position": position, "response": response, "revision": revision}, headers={"X-CSRFToken": token})


def test_on_postgresql_a_save_is_one_statement_and_fills_the_item_map(app, db, client, started):
    attempt_id, items, token = started
    if db.engine.dialect.name != "postgresql":
        assert attempt_id not in services._ITEM_MAPS  # SQLite: the general path only
        return
    assert set(services._ITEM_MAPS[attempt_id][0]) == {p for p, _r, _w in items}
    with Counter(db.engine) as counter:
        assert _save(client, token, attempt_id, items[0][0], items[0][1], 1).status_code == 200
    assert len(counter.statements) == 1
    assert _stored(db, attempt_id)[items[0][0]][1] == 2


def test_a_stale_item_map_never_writes_the_wrong_item(app, db, client, started):
    """A map left from an attempt whose id was reused (a database restored from a backup, tests
    emptying tables) points positions at other items: nothing is written through it, the save lands
    on the right item through the general path, and the map is read afresh."""
    attempt_id, items, token = started
    (p1, right1, _w1), (p2, right2, wrong2) = items[0], items[1]
    real = {p: (i.id, i.question_version_id) for p, i in
            ((i.position, i) for i in db.session.scalars(select(AttemptItem).where(AttemptItem.attempt_id == attempt_id)))}
    before = _stored(db, attempt_id)
    # position 2 claims position 1's item and version (same attempt): the statement checks the position
    services._remember_items(attempt_id, [(p1, real[p1][0], real[p1][1], "x" * 64),
                                          (p2, real[p1][0], real[p1][1], "x" * 64)])
    response = _save(client, token, attempt_id, p2, right2, 0)
    assert response.status_code == 200, response.get_json()
    after = _stored(db, attempt_id)
    assert after[p2][1] == 1 and after[p2][0] != before[p2][0]
    assert after[p1] == before[p1]  # untouched
    if db.engine.dialect.name == "postgresql":
        assert attempt_id not in services._ITEM_MAPS  # forgotten: the next save reads the items again
        assert services._VERSION_HASHES.get(real[p1][1]) != "x" * 64


def test_a_session_ended_after_the_map_was_cached_is_refused(app, db, client, started):
    attempt_id, items, token = started
    before = _stored(db, attempt_id)
    captured = client.get_cookie("session").value
    assert client.post("/logout", data={"csrf_token": csrf_token(client, "/courses/")}).status_code == 302
    replay = app.test_client()
    replay.set_cookie("session", captured)
    response = _save(replay, token, attempt_id, items[0][0], items[0][1], 1)
    assert response.status_code == 401
    assert _stored(db, attempt_id) == before


def test_another_candidates_session_cannot_write_through_a_cached_map(app, db, client, started):
    attempt_id, items, _token = started
    before = _stored(db, attempt_id)
    from tests.factories import make_department, make_user
    from tests.conftest import TEST_PASSWORD
    other = make_user(make_department())
    db.session.commit()
    intruder = app.test_client()
    token = csrf_token(intruder, "/login")
    intruder.post("/login", data={"staff_number": other.staff_number, "password": TEST_PASSWORD, "csrf_token": token})
    token = csrf_token(intruder, "/courses/")
    response = _save(intruder, token, attempt_id, items[0][0], items[0][1], 1)
    assert response.status_code == 404
    assert _stored(db, attempt_id) == before


def test_a_password_change_required_mid_exam_is_answered_403(app, db, client, started):
    attempt_id, items, token = started
    before = _stored(db, attempt_id)
    db.session.execute(update(User).values(must_change_password=True))
    db.session.commit()
    response = _save(client, token, attempt_id, items[0][0], items[0][1], 1)
    assert response.status_code == 403 and response.get_json() == {"error": "password_change_required"}
    assert _stored(db, attempt_id) == before


def test_a_finished_or_overdue_attempt_refuses_with_time_up(app, db, client, started):
    attempt_id, items, token = started
    before = _stored(db, attempt_id)
    past = dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc)
    db.session.execute(update(Attempt).where(Attempt.id == attempt_id).values(deadline_at=past, grace_period_seconds=0))
    db.session.commit()
    response = _save(client, token, attempt_id, items[0][0], items[0][1], 1)
    assert response.status_code == 409 and response.get_json()["code"] == "time_up"
    db.session.expire_all()
    assert db.session.get(Attempt, attempt_id).state == FINISHED
    assert _stored(db, attempt_id) == before
