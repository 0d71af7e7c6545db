"""The list of scheduled jobs. Each is idempotent and safe to run twice or alongside requests."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from flask import Flask


@dataclass(frozen=True)
class Job:
    """A job: id, function called inside an app context, and an interval in seconds."""

    id: str
    func: Callable[[], object]
    seconds: int


def _finalise_overdue() -> int:
    from app.exams.services import finalise_overdue_attempts

    return finalise_overdue_attempts()


def _assign_renewals() -> int:
    from app.certification.services import assign_due_renewals

    return assign_due_renewals()


JOBS = [
    Job("finalise-overdue-attempts", _finalise_overdue, 30),
    Job("assign-certificate-renewals", _assign_renewals, 3600),
]


def run_in_context(app: Flask, job: Job):
    """Run ``job`` in an app context; roll back and re-raise on error."""
    from app.extensions import db

    with app.app_context():
        try:
            result = job.func()
            db.session.commit()
            return result
        except Exception:
            db.session.rollback()
            raise
        finally:
            db.session.remove()
