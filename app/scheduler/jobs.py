"""The list of scheduled jobs. Each is idempotent and safe to run twice or alongside requests."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable

from flask import Flask

from app.scheduler import services
from app.scheduler.services import trigger_for  # noqa: F401  (the runner and the admin page use it)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    """A job: id, function called inside an app context, and an interval in seconds; with ``cron``
    (crontab text in the display zone, e.g. ``"0 8 * * mon"``) it runs at those times instead."""

    id: str
    func: Callable[[], object]
    seconds: int
    cron: str | None = None


def _finalise_overdue() -> int:
    from app.exams.services import finalise_overdue_attempts

    return finalise_overdue_attempts()


def _rollout_snapshots() -> int:
    from app.rollout.trend import snapshot_job

    return snapshot_job()


def _rollout_today_snapshot() -> int:
    from app.rollout.trend import today_snapshot_job

    return today_snapshot_job()


def _learner_reminders() -> int:
    from app.notifications.jobs import send_learner_reminders

    return send_learner_reminders()


def _officer_digests() -> int:
    from app.notifications.jobs import send_officer_digests

    return send_officer_digests()


def _escalations() -> int:
    from app.notifications.jobs import send_escalations

    return send_escalations()


def _send_emails() -> int:
    from app.notifications.jobs import send_emails

    return send_emails()


def _check_practical_uploads() -> int:
    from app.exams.practical import check_pending_uploads

    return check_pending_uploads()


def _assign_renewals() -> int:
    from app.certification.services import assign_due_renewals

    return assign_due_renewals()


JOBS = [
    Job("finalise-overdue-attempts", _finalise_overdue, 30),
    Job("rollout-daily-snapshots", _rollout_snapshots, 3600),  # hourly: takes each missing day once
    # Today's figures for the whole-city dashboard; more often than ROLLOUT_SNAPSHOT_MAX_AGE_MINUTES.
    Job("rollout-today-snapshot", _rollout_today_snapshot, 600),
    Job("learner-reminders", _learner_reminders, 86400, cron="0 8 * * *"),
    Job("officer-digests", _officer_digests, 7 * 86400, cron="0 8 * * mon"),
    Job("escalations", _escalations, 86400, cron="30 8 * * *"),
    Job("send-emails", _send_emails, 60),
    Job("check-practical-uploads", _check_practical_uploads, 15),
    Job("assign-certificate-renewals", _assign_renewals, 3600),
]


def run_in_context(app: Flask, job: Job):
    """Run ``job`` in an app context under its lock (:func:`app.scheduler.services.job_lock`), logging
    the run in ``job_run``. Returns the job's result, or None when another process held the lock
    (recorded as ``skipped``). On an error the job's transaction is rolled back, the run recorded as
    ``error`` with the exception, and the exception re-raised."""
    from app.extensions import db

    with app.app_context():
        with services.job_lock(job.id) as held:
            if not held:
                services.record_skip(job.id)
                log.info("job %s skipped: another process holds its lock", job.id)
                return None
            run_id = services.start_run(job.id)
            try:
                result = job.func()
                db.session.commit()
            except Exception as exc:
                db.session.rollback()
                services.finish_run(run_id, services.ERROR, detail=f"{type(exc).__name__}: {exc}")
                log.exception("job %s failed", job.id)
                raise
            finally:
                db.session.remove()
            count = result if isinstance(result, int) and not isinstance(result, bool) else None
            services.finish_run(run_id, services.OK, count=count)
            return result
