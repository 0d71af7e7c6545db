"""Role checks for views: admin, examiner and officer. Scoping of data lives in the queries (org.services);
a view whose scoped lookup found nothing answers with :func:`refuse_out_of_scope`."""
from __future__ import annotations

from functools import wraps
from typing import NoReturn

from flask import abort
from flask_login import current_user, login_required

from app.core.errors import OutOfScope
from app.extensions import db


def admin_required(view):
    """Allow administrators only (401 if anonymous, 403 otherwise)."""

    @wraps(view)
    @login_required
    def wrapper(*args, **kwargs):
        if not current_user.is_admin:
            abort(403)
        return view(*args, **kwargs)

    return wrapper


def officer_required(view):
    """Allow officers (with at least one scope) and administrators."""

    @wraps(view)
    @login_required
    def wrapper(*args, **kwargs):
        if not (current_user.is_admin or current_user.is_officer):
            abort(403)
        return view(*args, **kwargs)

    return wrapper


def examiner_required(view):
    """Allow examiners (question bank, exams, grading, item analysis) and administrators
    (401 if anonymous, 403 otherwise)."""

    @wraps(view)
    @login_required
    def wrapper(*args, **kwargs):
        if not (current_user.is_admin or current_user.is_examiner):
            abort(403)
        return view(*args, **kwargs)

    return wrapper


def scope_target(model, ident: int | None, kind: str) -> str | None:
    """``"kind:ident"`` if a ``model`` row with primary key ``ident`` exists, else None (one lookup by
    primary key). Used after a scoped query found nothing, to tell a withheld object from a missing one."""
    if ident is None or db.session.get(model, ident) is None:
        return None
    return f"{kind}:{ident}"


def refuse_out_of_scope(model, ident: int | None, kind: str) -> NoReturn:
    """Answer 404 for an object the viewer's scoped lookup did not return (the one way every view
    refuses for scope or ownership). The response is a plain 404 either way, so existence is not
    revealed; if the row exists (``model`` by primary key ``ident``) the refusal is also audited as
    ``access.denied`` on ``kind:ident`` (actor, route, path, IP) by the error handler, after the
    request's rollback. An id that does not exist is an ordinary, unaudited 404: nothing was withheld."""
    target = scope_target(model, ident, kind)
    if target is None:
        abort(404)
    raise OutOfScope(target)
