"""The autosave fast lane (app.exams.fastlane): on PostgreSQL an ordinary save is answered in front
of Flask with the same checks; anything unusual is handed to the app, which answers exactly as it
would without the lane (and nothing is stored that the app would refuse)."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from app.exams.fastlane import AutosaveLane
from app.exams.models import Attempt, AttemptItem
from tests.exams.test_round_trips import _logged_in_attempt
from tests.factories import right_response, wrong_response

SECURITY_HEADERS = ("Content-Security-Policy", "X-Content-Type-Options", "Referrer-Policy", "X-Frame-Options")


@pytest.fixture()
def lane(app):
    wsgi = app.wsgi_app
    assert isinstance(wsgi, AutosaveLane)  # installed on every app (TRUSTED_PROXY_COUNT 0 in tests)
    saved = dict(app.config)
    wsgi._ready = False  # read the settings afresh (a test may change them)
    yield wsgi
    app.config.update(saved)
    wsgi._ready = False


@pytest.fixture()
def started(app, db, client, lane):
    """(attempt id, position, right, wrong, CSRF token) of a started attempt."""
    exam, token = _logged_in_attempt(app, db, client)
    response = client.post(f"/exams/{exam.code}/start", data={"csrf_token": token})
    attempt = db.session.get(Attempt, int(response.headers["Location"].rstrip("/").split("/")[-1]))
    item = attempt.items[0]
    values = attempt.id, item.position, right_response(item), wrong_response(item), token
    db.session.remove()
    return values


def _stored(db, attempt_id, position):
    db.session.expire_all()
    item = db.session.scalars(select(AttemptItem).where(AttemptItem.attempt_id == attempt_id,
                                                        AttemptItem.position == position)).one()
    return item.response, item.revision


def _post(client, attempt_id, body, headers, **kwargs):
    return client.post(f"/api/attempts/{attempt_id}/answers", json=body, headers=headers, **kwargs)


def test_an_ordinary_save_is_answered_by_the_lane_on_postgresql(db, client, lane, started):
    attempt_id, position, right, _wrong, token = started
    before = lane.handled
    response = _post(client, attempt_id, {"position": position, "response": right, "revision": 0},
                     {"X-CSRFToken": token})
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "saved" and body["revision"] == 1 and body["remaining_seconds"] > 0
    assert set(body) == {"status", "revision", "saved_at", "remaining_seconds"}
    assert response.headers["Cache-Control"] == "no-store"
    assert all(h in response.headers for h in SECURITY_HEADERS)
    assert _stored(db, attempt_id, position)[1] == 1
    if db.engine.dialect.name == "postgresql":
        assert lane.handled == before + 1
    else:  # SQLite: the lane stays out of the way, the view stores it
        assert lane.handled == before


@pytest.mark.parametrize("case", ["wrong token", "no token", "no cookie", "tampered cookie", "text/plain",
                                  "NUL in the answer", "stale revision"])
def test_anything_unusual_is_answered_by_the_app_as_without_the_lane(app, db, client, lane, started, case):
    attempt_id, position, right, wrong, token = started
    assert _post(client, attempt_id, {"position": position, "response": wrong, "revision": 0},
                 {"X-CSRFToken": token}).status_code == 200
    before_store, before_count = _stored(db, attempt_id, position), lane.handled
    body, headers = {"position": position, "response": right, "revision": 1}, {"X-CSRFToken": token}
    expected = {"wrong token": 400, "no token": 400, "no cookie": 400, "tampered cookie": 400,  # the CSRF secret lives in the session
                "text/plain": 400,
                "NUL in the answer": 400, "stale revision": 409}[case]
    if case == "wrong token":
        headers = {"X-CSRFToken": token[:-2] + ("AA" if not token.endswith("AA") else "BB")}
    elif case == "no token":
        headers = {}
    elif case in ("no cookie", "tampered cookie"):
        cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
        value = cookie.value
        client.delete_cookie(app.config["SESSION_COOKIE_NAME"])
        if case == "tampered cookie":
            client.set_cookie(app.config["SESSION_COOKIE_NAME"], value[:-3] + "xyz")
    elif case == "NUL in the answer":
        body["response"] = {key: "a\x00" for key in right}
    elif case == "stale revision":
        body["revision"] = 0
    if case == "text/plain":
        import json
        response = client.post(f"/api/attempts/{attempt_id}/answers", data=json.dumps(body),
                               headers={**headers, "Content-Type": "text/plain"})
    else:
        response = _post(client, attempt_id, body, headers)
    assert response.status_code == expected, response.get_data(as_text=True)
    assert lane.handled == before_count
    assert _stored(db, attempt_id, position) == before_store  # nothing stored
    if case == "stale revision":
        assert response.get_json()["code"] == "conflict" and response.get_json()["revision"] == 1


def test_a_query_string_or_a_large_body_goes_to_the_app(db, client, lane, started):
    attempt_id, position, right, _wrong, token = started
    before = lane.handled
    response = client.post(f"/api/attempts/{attempt_id}/answers?x=1", json={
        "position": position, "response": right, "revision": 0}, headers={"X-CSRFToken": token})
    assert response.status_code == 200 and lane.handled == before  # the view stored it
    response = _post(client, attempt_id, {"position": position, "response": right, "revision": 1,
                                          "padding": "x" * 20000}, {"X-CSRFToken": token})
    assert response.status_code == 400 and lane.handled == before
    assert _stored(db, attempt_id, position)[1] == 1


def test_over_https_with_strict_referrers_the_referrer_is_checked_as_flask_wtf_does(app, db, client, lane, started):
    attempt_id, position, right, wrong, token = started
    app.config["WTF_CSRF_SSL_STRICT"] = True
    before = lane.handled
    body = {"position": position, "response": right, "revision": 0}
    refused = _post(client, attempt_id, body, {"X-CSRFToken": token}, base_url="https://localhost")
    assert refused.status_code == 400  # no Referer: Flask-WTF refuses
    other = _post(client, attempt_id, body, {"X-CSRFToken": token, "Referer": "https://evil.example/"},
                  base_url="https://localhost")
    assert other.status_code == 400
    assert lane.handled == before and _stored(db, attempt_id, position)[1] == 0
    ok = _post(client, attempt_id, body, {"X-CSRFToken": token, "Referer": "https://localhost/attempts/1"},
               base_url="https://localhost")
    assert ok.status_code == 200 and "Strict-Transport-Security" in ok.headers
    assert lane.handled == before + (db.engine.dialect.name == "postgresql")


def test_the_lane_can_be_turned_off(app, db, client, lane, started):
    attempt_id, position, right, _wrong, token = started
    app.config["AUTOSAVE_FAST_LANE"] = False
    before = lane.handled
    assert _post(client, attempt_id, {"position": position, "response": right, "revision": 0},
                 {"X-CSRFToken": token}).status_code == 200
    assert lane.handled == before and _stored(db, attempt_id, position)[1] == 1


def test_behind_trusted_proxies_the_lane_sits_inside_proxyfix(app):
    """With TRUSTED_PROXY_COUNT > 0 the lane must see the scheme and host ProxyFix derives from the
    proxy's headers (so the HTTPS referrer rule applies behind a TLS-terminating proxy)."""
    from werkzeug.middleware.proxy_fix import ProxyFix

    from app import create_app

    config = {k: v for k, v in app.config.items() if k.isupper()}
    config["TRUSTED_PROXY_COUNT"] = 1
    proxied = create_app(type("Proxied", (), config))
    assert isinstance(proxied.wsgi_app, ProxyFix) and isinstance(proxied.wsgi_app.app, AutosaveLane)


def test_the_documented_setting_turns_the_lane_off():
    """README: AUTOSAVE_FAST_LANE=0 sends every save through the full request cycle (read at import,
    so in a fresh interpreter)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    code = "import config; print(config.ProductionConfig.AUTOSAVE_FAST_LANE, config.TestingConfig.AUTOSAVE_FAST_LANE)"
    for value, expected in (("0", "False False"), ("1", "True True"), (None, "True True")):
        env = {k: v for k, v in os.environ.items() if k != "AUTOSAVE_FAST_LANE"}
        if value is not None:
            env["AUTOSAVE_FAST_LANE"] = value
        out = subprocess.run([sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True, check=True)
        assert out.stdout.strip() == expected, (value, out.stdout, out.stderr)
