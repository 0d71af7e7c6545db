"""Role checks for views: admin, examiner and officer. Scoping of data lives in the queries (org.services)."""
from __future__ import annotations

from functools import wraps

from flask import abort
from flask_login import current_user, login_required


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
