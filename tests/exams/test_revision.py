"""Autosave by server-issued revision: a page that has not seen the latest answer gets a conflict,
never a silent overwrite and never a silent loss; a retried save whose acknowledgement was lost is saved."""
import pytest

from app.core.errors import DomainError
from app.exams.models import AttemptItem
from app.exams.services import SaveConflict, save_answer, start_attempt
from tests.factories import csrf_token, make_department, make_exam_world, make_user, right_response, wrong_response


def _started(db):
    course, exam = make_exam_world()
    user = make_user(make_department())
    attempt = start_attempt(user, exam)
    db.session.commit()
    return user, attempt


def _stored(db, item_id):
    db.session.expire_all()
    return db.session.get(AttemptItem, item_id)


def test_two_tabs_older_revision_gets_conflict_and_keep_mine_stores(db):
    _user, attempt = _started(db)
    item = attempt.items[0]
    seen_by_a = seen_by_b = item.revision  # both tabs loaded the page
    assert seen_by_a == 0
    b = save_answer(attempt, item.position, right_response(item), seen_by_b)
    db.session.commit()
    assert b.status == "saved" and b.revision == 1
    with pytest.raises(SaveConflict) as caught:
        save_answer(attempt, item.position, wrong_response(item), seen_by_a)
    db.session.rollback()
    conflict = caught.value
    assert conflict.status == 409 and conflict.code == "conflict" and conflict.revision == 1
    stored = _stored(db, item.id)
    assert stored.response == conflict.saved_response
    assert stored.revision == 1
    assert conflict.selected  # the option ids the page shows for B's answer
    # Tab A chooses "keep mine": it re-sends with the revision the conflict told it.
    kept = save_answer(attempt, item.position, wrong_response(item), conflict.revision)
    db.session.commit()
    assert kept.status == "saved" and kept.revision == 2
    stored = _stored(db, item.id)
    assert stored.revision == 2
    assert stored.response != conflict.saved_response


def test_retry_of_same_answer_after_lost_ack_is_saved(db):
    _user, attempt = _started(db)
    item = attempt.items[0]
    first = save_answer(attempt, item.position, right_response(item), 0)
    db.session.commit()
    again = save_answer(attempt, item.position, right_response(item), 0)  # the ack of the first was lost
    db.session.commit()
    assert first.status == again.status == "saved"
    assert again.revision == first.revision == 1
    assert _stored(db, item.id).revision == 1


def test_revision_from_the_future_is_a_conflict_not_a_write(db):
    _user, attempt = _started(db)
    item = attempt.items[0]
    with pytest.raises(SaveConflict):
        save_answer(attempt, item.position, right_response(item), 7)
    db.session.rollback()
    assert _stored(db, item.id).response is None


@pytest.mark.parametrize("revision", [True, -1, "0", None, 1.0, 2**40])
def test_bad_revision_is_refused_and_changes_nothing(db, revision):
    _user, attempt = _started(db)
    item = attempt.items[0]
    with pytest.raises(DomainError) as caught:
        save_answer(attempt, item.position, right_response(item), revision)
    assert caught.value.status == 400
    db.session.rollback()
    assert _stored(db, item.id).response is None


# --- over HTTP ----------------------------------------------------------------------------------

def _client(app, db):
    user, attempt = _started(db)
    client = app.test_client()
    token = csrf_token(client, "/login")
    client.post("/login", data={"staff_number": user.staff_number, "password": "correct-horse-42", "csrf_token": token})
    token = csrf_token(client, f"/attempts/{attempt.id}")
    return client, token, attempt


def test_http_two_tabs_conflict_is_409_with_the_saved_answer(app, db):
    client, token, attempt = _client(app, db)
    item = attempt.items[0]
    url = f"/api/attempts/{attempt.id}/answers"
    b = client.post(url, json={"position": item.position, "response": right_response(item), "revision": 0, "seq": 1},
                    headers={"X-CSRFToken": token})
    assert b.status_code == 200 and b.get_json()["status"] == "saved" and b.get_json()["revision"] == 1
    a = client.post(url, json={"position": item.position, "response": wrong_response(item), "revision": 0, "seq": 1},
                    headers={"X-CSRFToken": token})
    assert a.status_code == 409
    body = a.get_json()
    assert body["status"] == "conflict" and body["code"] == "conflict" and body["revision"] == 1
    assert body["selected"] and body["saved_response"] == _stored(db, item.id).response
    assert _stored(db, item.id).response == b_response(item)


def b_response(item):
    from app.questions.types import REGISTRY

    version = item.question_version
    return REGISTRY[version.qtype].check_response(version.spec, right_response(item))


@pytest.mark.parametrize("payload", [
    {"position": True, "response": None, "revision": 0},
    {"position": 1, "revision": True},
    {"position": 1, "revision": False},
    {"position": 10**12, "revision": 0},
    {"position": 1, "revision": 10**12},
    {"position": 1},
    {"revision": 0},
    {"position": "1", "revision": 0},
    {"position": 1, "revision": 0, "response": {"choice": "x" * 100000}},
    [1, 2, 3],
])
def test_http_malformed_save_is_400_with_a_message(app, db, payload):
    client, token, attempt = _client(app, db)
    item = attempt.items[0]
    if isinstance(payload, dict) and "response" not in payload:
        payload = dict(payload, response=right_response(item))
    response = client.post(f"/api/attempts/{attempt.id}/answers", json=payload, headers={"X-CSRFToken": token})
    assert response.status_code == 400
    assert response.get_json()["message"]
    assert _stored(db, item.id).response is None


def test_http_bad_json_is_400_never_500(app, db):
    client, token, attempt = _client(app, db)
    response = client.post(f"/api/attempts/{attempt.id}/answers", data=b"{not json",
                           headers={"X-CSRFToken": token, "Content-Type": "application/json"})
    assert response.status_code == 400 and response.get_json()["message"]


def test_stale_form_submit_does_not_overwrite_a_newer_answer(app, db):
    client, token, attempt = _client(app, db)
    item = attempt.items[0]
    page_revision = item.revision
    newer = client.post(f"/api/attempts/{attempt.id}/answers",
                        json={"position": item.position, "response": right_response(item), "revision": 0, "seq": 1},
                        headers={"X-CSRFToken": token})
    assert newer.status_code == 200
    stale = wrong_response(item)
    values = stale.get("choices") or [stale.get("choice")]
    form = {"csrf_token": token, f"q{item.position}": values, f"r{item.position}": str(page_revision)}
    if item.question_version.qtype == "multiple_choice":
        form[f"q{item.position}-multiple"] = "1"
    client.post(f"/attempts/{attempt.id}/submit", data=form)
    assert _stored(db, item.id).response == b_response(item)


def test_spec_cache_is_keyed_by_content_hash_so_a_reused_id_is_never_stale(db):
    from app.exams.services import version_spec
    from app.questions.models import QuestionVersion

    _user, attempt = _started(db)
    version = attempt.items[0].question_version
    qtype, spec = version_spec(version.id, version.content_hash)
    assert (qtype, spec) == (version.qtype, version.spec)
    # The same id with other content (as after a database was emptied and refilled) is read afresh.
    db.session.query(QuestionVersion).filter_by(id=version.id).update({"qtype": "true_false", "spec": {"answer": True},
                                                                       "content_hash": "0" * 64})
    assert version_spec(version.id, "0" * 64) == ("true_false", {"answer": True})
