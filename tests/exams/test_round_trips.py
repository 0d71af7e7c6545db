"""SQL round trips of the exam-day hot paths (issue 6, item 12), counted with SQLAlchemy events over HTTP.

Before the lean path an autosave cost 8 round trips (pool pre-ping, BEGIN, the login session, the
attempt object, the item joined to its question, two UPDATEs, COMMIT). These tests hold the line:
no pre-ping, one SELECT for the login session (user joined to it, nothing else per request), one
SELECT for the item, the two conditional UPDATEs, COMMIT.
"""
import re

from sqlalchemy import event

from app.exams.models import Attempt
from tests.conftest import TEST_PASSWORD
from tests.factories import csrf_token, make_department, make_exam_world, make_user, right_response, wrong_response


class Counter:
    """Statements executed and transactions committed on the app's engine while active."""

    def __init__(self, engine):
        self.engine = engine
        self.statements: list[str] = []
        self.commits = 0

    def _statement(self, conn, cursor, statement, parameters, context, executemany):
        self.statements.append(statement)

    def _commit(self, conn):
        self.commits += 1

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self._statement)
        event.listen(self.engine, "commit", self._commit)
        return self

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self._statement)
        event.remove(self.engine, "commit", self._commit)

    def round_trips(self) -> int:
        """BEGIN + statements + COMMIT (SQLAlchemy's implicit BEGIN is one round trip on PostgreSQL)."""
        return 1 + len(self.statements) + self.commits


def _logged_in_attempt(app, db, client):
    _course, exam = make_exam_world()
    user = make_user(make_department())
    db.session.commit()
    token = csrf_token(client, "/login")
    assert client.post("/login", data={"staff_number": user.staff_number, "password": TEST_PASSWORD,
                                       "csrf_token": token}).status_code == 302
    token = csrf_token(client, f"/exams/{exam.code}")
    return exam, token


def test_engine_does_not_ping_on_every_checkout_and_recycles(app, db):
    options = app.config["SQLALCHEMY_ENGINE_OPTIONS"]
    assert options["pool_pre_ping"] is False
    assert 0 < options["pool_recycle"] <= 3600
    assert db.engine.pool._pre_ping is False


def test_autosave_round_trips(app, db, client):
    exam, token = _logged_in_attempt(app, db, client)
    started = client.post(f"/exams/{exam.code}/start", data={"csrf_token": token})
    attempt = db.session.get(Attempt, int(started.headers["Location"].rstrip("/").split("/")[-1]))
    item = attempt.items[0]
    attempt_id, position, right, wrong = attempt.id, item.position, right_response(item), wrong_response(item)
    db.session.remove()  # the request must not lean on this session's identity map
    client.post(f"/api/attempts/{attempt_id}/answers", json={"position": position, "response": wrong, "revision": 0},
                headers={"X-CSRFToken": token})  # the first save fills the question-version cache
    with Counter(db.engine) as counter:
        response = client.post(f"/api/attempts/{attempt_id}/answers", json={
            "position": position, "response": right, "revision": 1}, headers={"X-CSRFToken": token})
    assert response.status_code == 200 and response.get_json()["revision"] == 2
    kinds = [re.match(r"\s*(\w+)", s).group(1).upper() for s in counter.statements]
    if db.engine.dialect.name == "postgresql":
        # one statement: login session, attempt row (locked) and item write, as the bare app's one upsert
        assert kinds == ["WITH"], counter.statements
        assert all(table in counter.statements[0] for table in ("user_session", "UPDATE attempt ", "UPDATE attempt_item"))
        assert counter.commits == 1 and counter.round_trips() == 3
        return
    # the login session (user joined to it), the item lookup, the attempt UPDATE, the item UPDATE
    assert kinds == ["SELECT", "SELECT", "UPDATE", "UPDATE"], counter.statements
    assert "user_session" in counter.statements[0] and "attempt_item" in counter.statements[1]
    assert counter.commits == 1
    assert counter.round_trips() <= 6


def test_start_round_trips(app, db, client):
    exam, token = _logged_in_attempt(app, db, client)
    with Counter(db.engine) as counter:
        started = client.post(f"/exams/{exam.code}/start", data={"csrf_token": token})
    assert started.status_code == 302
    inserts = [s for s in counter.statements if s.lstrip().upper().startswith("INSERT")]
    item_inserts = len([s for s in inserts if "attempt_item" in s])
    # PostgreSQL: one INSERT for the attempt, one multi-row INSERT … RETURNING for its items;
    # SQLite: SQLAlchemy inserts the items row by row (3 in this exam), which is local and cheap
    per_row = 0 if db.engine.dialect.name == "postgresql" else 2
    assert item_inserts == 1 + per_row, inserts
    assert len([s for s in inserts if "audit_event" in s]) == 1, inserts  # attempt.start is audited
    assert len(inserts) == 3 + per_row, inserts
    assert counter.commits == 1
    assert len(counter.statements) <= BOUND_START + per_row, "\n---\n".join(s[:160] for s in counter.statements)


# the login session, the exam, the open attempt, overrides, the accommodation, attempts used, "passed
# already?" (the retake rule), the blueprint, the pool (one query), the drawn versions' specs, SAVEPOINT,
# the two INSERTs, RELEASE, the audit INSERT, and Flask-Login's reload of the user after the commit: 15 (13 before the
# accommodation and retake rules; 14 with a reload of the whole attempt after the commit), plus the
# audit event of the start: 16; 17 with the exam's sittings (admission: one SELECT; a seat, when taken,
# is one more UPDATE)
BOUND_START = 17
