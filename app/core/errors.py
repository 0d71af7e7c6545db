"""Error pages (HTML) and JSON errors for API calls; every error rolls the transaction back."""
from __future__ import annotations

from flask import Flask, current_app, jsonify, render_template, request
from flask_babel import _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, NotFound

from app.extensions import db


class DomainError(Exception):
    """A rule of the domain was broken (e.g. no attempts left). ``message`` is user-facing and translated."""

    def __init__(self, message: str, code: str = "invalid", status: int = 400):
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.is_json or request.accept_mimetypes.best == "application/json"


class OutOfScope(NotFound):
    """A 404 that hides an existing object the viewer may not see (outside an officer's scope, or
    another person's attempt, certificate or notice). The response is exactly a plain 404's; the
    error handler also records ``access.denied`` on ``target`` (``"kind:id"``). Raised by
    :func:`app.core.permissions.refuse_out_of_scope`, never directly by a view."""

    def __init__(self, target: str):
        super().__init__()
        self.target = target


def audit_denial(target: str | None = None, status: int = 403) -> None:
    """Record an ``access.denied`` event in its own small transaction, after the request's rollback
    (call it only once the request's own changes are rolled back). A failure to record is logged,
    not raised.

    403 (``target`` None): target ``path:<path>``, detail ``{method, endpoint}``. A scope refusal
    answered with 404: target the object asked for (``user:42``), detail ``{method, endpoint, path,
    status: 404}``. Never the form or the query string. Actor: the signed-in user's id or None; IP:
    the request's address (ProxyFix rules)."""
    from flask_login import current_user

    from app.audit.services import record

    try:
        actor = current_user.id if current_user and current_user.is_authenticated else None
        if target is None:
            record(actor, "access.denied", f"path:{request.path[:190]}",
                   {"method": request.method, "endpoint": request.endpoint})
        else:
            record(actor, "access.denied", target, {"method": request.method, "endpoint": request.endpoint,
                                                    "path": request.path[:190], "status": status})
        db.session.commit()
    except Exception:  # noqa: BLE001  (an audit failure must not turn a 403 into a 500)
        db.session.rollback()
        current_app.logger.exception("could not record an access denial")


def init_app(app: Flask) -> None:
    """Register handlers for HTTP errors, CSRF failures and DomainError."""

    @app.errorhandler(CSRFError)
    def _csrf(error: CSRFError):
        db.session.rollback()
        message = _("Your form expired or was sent from another page. Please reload the page and try again.")
        if _wants_json():
            return jsonify(error="csrf", message=message), 400
        return render_template("error.html", code=400, message=message), 400

    @app.errorhandler(DomainError)
    def _domain(error: DomainError):
        db.session.rollback()
        if _wants_json():
            return jsonify(error=error.code, message=error.message), error.status
        return render_template("error.html", code=error.status, message=error.message), error.status

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException):
        db.session.rollback()
        if error.code == 403:
            audit_denial()
        elif isinstance(error, OutOfScope):
            audit_denial(error.target, 404)
        messages = {
            400: _("The request could not be understood: a value in the address or the form is not valid. "
                   "Please go back and try again."),
            401: _("Please log in."),
            403: _("You do not have permission to see this page."),
            404: _("The page you asked for does not exist."),
            405: _("This address cannot be used that way."),
            413: _("What you sent is too large (at most %(size)s MB).",
                   size=round((current_app.config.get("MAX_CONTENT_LENGTH") or 0) / 1024 / 1024, 1)),
            429: _("Too many attempts. Please wait a minute and try again."),
        }
        # Werkzeug's default descriptions are English: show them never, only a description given on purpose.
        if error.description and error.description != type(error).description:
            message = error.description
        else:
            message = messages.get(error.code, _("Something went wrong with this request. Please try again later."))
        if _wants_json():
            return jsonify(error=error.name, message=message), error.code
        return render_template("error.html", code=error.code, message=message), error.code
