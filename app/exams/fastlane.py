"""The autosave fast lane: ``POST /api/attempts/<id>/answers`` answered outside Flask's request cycle
when nothing about the request is unusual (issue 6, item 12: exam-day speed).

On exam day nearly every request is an autosave, and most of a save's CPU in the web worker went to
the request cycle around it — the request and app contexts, the before/after hooks, Flask-WTF's CSRF
hook, the session interface, ``jsonify`` — not to the save, which is one statement
(:func:`app.exams.services.save_answer_fast`). This WSGI middleware sits in front of the app (inside
ProxyFix, so ``wsgi.url_scheme`` and the client address are already the trusted ones) and performs
the same checks with the same libraries, once each:

* the path is exactly ``/api/attempts/<digits>/answers`` with an id within the URL converter's
  bound, no query string, method POST, ``Content-Type: application/json``, a declared length of at
  most :data:`~app.exams.views.MAX_BODY_BYTES`;
* the session cookie verifies with the app's own session serializer (itsdangerous, ``SECRET_KEY``,
  the app's salt and age limit: :meth:`flask.sessions.SecureCookieSessionInterface.open_session`)
  and holds a login token and a CSRF secret;
* the CSRF token from the app's ``WTF_CSRF_HEADERS`` verifies as Flask-WTF's
  :func:`flask_wtf.csrf.validate_csrf` does (same serializer, salt ``wtf-csrf-token``, time limit
  and constant-time comparison) and, over HTTPS with ``WTF_CSRF_SSL_STRICT``, the Referer is of the
  same origin (:func:`flask_wtf.csrf.same_origin`);
* the body is a JSON object with ``position``, ``response`` and ``revision`` and nothing the
  app-wide input check refuses (:func:`app.core.inputs.hostile_json`);
* the save itself — login session unrevoked and unexpired, active user, no pending password
  change, owner, in progress, deadline + grace, sequential page, revision — is the one statement.

Only a stored answer is answered here: ``200 {"status": "saved", "revision", "saved_at",
"remaining_seconds"}`` with the app's security headers (:func:`app.core.security.response_headers`).
In every other case (a check not met, a refusal, a conflict, any error before the statement
committed) the request goes, body restored, to the Flask app, whose view answers it with every
hook and the general path's rules — so no refusal, conflict or error has a second implementation.
SQLite (no fast statement) and ``AUTOSAVE_FAST_LANE = False`` always use the app.
"""
from __future__ import annotations

import hmac
import io
import json
import logging
import re
from typing import Callable, Iterable

from itsdangerous import BadData, URLSafeTimedSerializer
from werkzeug.http import parse_cookie, parse_options_header

log = logging.getLogger(__name__)

PATH = re.compile(r"/api/attempts/([0-9]{1,10})/answers")
TRIED = "civicskills.autosave_statement_tried"  # environ key: the lane ran the statement, which declined


class AutosaveLane:
    """WSGI middleware: ``AutosaveLane(flask_app, inner_wsgi)``; ``inner_wsgi`` is what it hands
    every other request to (the Flask app's own ``wsgi_app``). ``handled`` counts saves answered
    here (for tests and diagnostics)."""

    def __init__(self, flask_app, inner: Callable) -> None:
        self.flask_app = flask_app
        self.inner = inner
        self.handled = 0
        self._ready = False

    def _prepare(self) -> bool:
        """Read the settings once (first request): whether the lane is on, the serializers."""
        from flask_wtf.csrf import same_origin

        from app.core.inputs import MAX_ID, hostile_json
        from app.core.security import response_headers
        from app.exams import services
        from app.exams.views import MAX_BODY_BYTES
        from app.extensions import db

        app = self.flask_app
        config = app.config
        with app.app_context():
            dialect = db.engine.dialect.name
        self.enabled = bool(config.get("AUTOSAVE_FAST_LANE", True)) and dialect == "postgresql" \
            and config.get("WTF_CSRF_ENABLED", True) and config.get("WTF_CSRF_CHECK_DEFAULT", True) \
            and "POST" in config.get("WTF_CSRF_METHODS", ("POST",))
        self.session_serializer = app.session_interface.get_signing_serializer(app)
        self.session_max_age = int(app.permanent_session_lifetime.total_seconds())
        self.cookie_name = app.config["SESSION_COOKIE_NAME"]
        self.csrf_serializer = URLSafeTimedSerializer(config.get("WTF_CSRF_SECRET_KEY") or app.secret_key,
                                                      salt="wtf-csrf-token")
        self.csrf_field = config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
        self.csrf_time_limit = config.get("WTF_CSRF_TIME_LIMIT", 3600)
        self.csrf_headers = ["HTTP_" + h.upper().replace("-", "_") for h in config.get(
            "WTF_CSRF_HEADERS", ["X-CSRFToken", "X-CSRF-Token"])]
        self.ssl_strict = bool(config.get("WTF_CSRF_SSL_STRICT", True))
        self.same_origin = same_origin
        self.max_id = MAX_ID
        self.max_body = MAX_BODY_BYTES
        self.hostile_json = hostile_json
        self.response_headers = response_headers
        self.save = services.save_answer_fast
        self._ready = True
        return self.enabled

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") != "POST":
            return self.inner(environ, start_response)
        match = PATH.fullmatch(environ.get("PATH_INFO", ""))
        if match is None or (not self._ready and not self._prepare()) or not self.enabled:
            return self.inner(environ, start_response)
        body = self._read_body(environ)
        if body is not None:
            answer = self._try(environ, int(match.group(1)), body)
            if answer is not None:
                self.handled += 1
                start_response("200 OK", answer[1])
                return [answer[0]]
            environ["wsgi.input"] = io.BytesIO(body)  # the app reads the body afresh
        return self.inner(environ, start_response)

    def _read_body(self, environ: dict) -> bytes | None:
        """The body when its declared length is present and within the limit (read up to it: a
        shorter body, a client gone, is handed over as it is), else None (the app decides; nothing read)."""
        try:
            length = int(environ.get("CONTENT_LENGTH") or -1)
        except ValueError:
            return None
        if not 0 < length <= self.max_body or environ.get("HTTP_TRANSFER_ENCODING"):
            return None
        return environ["wsgi.input"].read(length)

    def _try(self, environ: dict, attempt_id: int, body: bytes) -> tuple[bytes, list] | None:
        """Every check, then the save: ``(body, headers)`` of the 200 answer, or None to hand over."""
        if environ.get("QUERY_STRING") or attempt_id > self.max_id or len(body) != int(environ["CONTENT_LENGTH"]):
            return None
        if parse_options_header(environ.get("CONTENT_TYPE", ""))[0] != "application/json":
            return None
        cookie = parse_cookie(environ.get("HTTP_COOKIE", "")).get(self.cookie_name)
        if not cookie or self.session_serializer is None:
            return None
        try:
            session = self.session_serializer.loads(cookie, max_age=self.session_max_age)
        except BadData:
            return None
        if not isinstance(session, dict):
            return None
        login_token, csrf_secret = session.get("_user_id"), session.get(self.csrf_field)
        if not isinstance(login_token, str) or not login_token or not isinstance(csrf_secret, str):
            return None
        if not self._csrf_ok(environ, csrf_secret):
            return None
        try:
            data = json.loads(body)
        except ValueError:
            return None
        if not isinstance(data, dict) or self.hostile_json(data) \
                or not all(k in data for k in ("position", "revision", "response")):
            return None
        secure = environ.get("wsgi.url_scheme") == "https"
        try:
            with self.flask_app.app_context():
                result = self.save(login_token, attempt_id, data["position"], data["response"], data["revision"])
        except Exception:  # nothing was committed: the app's view answers (and logs) it
            log.debug("autosave fast lane handed over after an error", exc_info=True)
            return None
        if result is None:  # the statement declined: the view goes straight to the general path
            environ[TRIED] = True
            return None
        payload = (json.dumps({"remaining_seconds": result.remaining_seconds, "revision": result.revision,
                               "saved_at": result.saved_at.isoformat(), "status": result.status},
                              separators=(",", ":")) + "\n").encode()
        # as the view's answer: JSON, the session was read (Vary: Cookie), the security headers
        headers = [("Content-Type", "application/json"), ("Content-Length", str(len(payload))), ("Vary", "Cookie"),
                   *self.response_headers(secure=secure, no_store=True)]
        return payload, headers

    def _csrf_ok(self, environ: dict, secret: str) -> bool:
        """Flask-WTF's check of the request's CSRF token against the session's secret."""
        token = next((environ[h] for h in self.csrf_headers if environ.get(h)), None)
        if not token:
            return False
        try:
            value = self.csrf_serializer.loads(token, max_age=self.csrf_time_limit)
        except BadData:
            return False
        if not isinstance(value, str) or not hmac.compare_digest(secret, value):
            return False
        if environ.get("wsgi.url_scheme") == "https" and self.ssl_strict:
            referrer = environ.get("HTTP_REFERER")
            host = environ.get("HTTP_HOST") or environ.get("SERVER_NAME", "")
            if not referrer or not self.same_origin(referrer, f"https://{host}/"):
                return False
        return True


def install(app) -> None:
    """Put the lane in front of ``app.wsgi_app`` (call before ProxyFix wraps it, so ProxyFix stays
    outermost and the lane sees the trusted scheme and host)."""
    app.wsgi_app = AutosaveLane(app, app.wsgi_app)
