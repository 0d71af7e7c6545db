"""Job locks and the run log.

Every run of a job first takes the job's lock, so two scheduler processes (or a manual run beside
the scheduler) never run one job at the same time; the loser records a ``skipped`` run and does
nothing. PostgreSQL: a session-level advisory lock (``pg_try_advisory_lock``) on a key derived from
the job id, held on its own connection for the length of the run and released by the server if the
process dies. Other engines (SQLite): a ``job_lock`` row taken with one conditional UPDATE that
expires after JOB_LOCK_SECONDS. Each run (``ok``, ``error`` or ``skipped``) is a ``job_run`` row
written in its own transaction, so it survives the job's rollback.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import os
import secrets
import socket
from contextlib import contextmanager
from dataclasses import dataclass

from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from flask import current_app
from sqlalchemy import delete, insert, or_, select, text, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from app.core.time import local_zone, utcnow
from app.extensions import db
from app.scheduler.models import ERROR, OK, RUNNING, SKIPPED, JobLock, JobRun

KEEP_RUNS_DAYS = 30


def advisory_key(job_id: str) -> int:
    """A stable signed 64-bit key for ``job_id``: the first 8 bytes of SHA-256("civicskills-job:" + id)."""
    digest = hashlib.sha256(f"civicskills-job:{job_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _host() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:120]


@contextmanager
def job_lock(job_id: str):
    """Context manager yielding True if this process now holds ``job_id``'s lock (released on exit),
    False if another holds it. Never blocks."""
    engine = db.engine
    if engine.dialect.name == "postgresql":
        connection = engine.connect()
        try:
            key = advisory_key(job_id)
            got = bool(connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}).scalar())
            connection.commit()
            try:
                yield got
            finally:
                if got:
                    connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                    connection.commit()
        finally:
            connection.close()
        return
    holder = secrets.token_hex(16)
    got = take_lock_row(job_id, holder)
    try:
        yield got
    finally:
        if got:
            release_lock_row(job_id, holder)


def take_lock_row(job_id: str, holder: str) -> bool:
    """Take ``job_id``'s lock row for ``holder`` (the row is created if missing) with one conditional
    UPDATE: only if it is free or its ``locked_until`` has passed. Lasts JOB_LOCK_SECONDS. Own transaction."""
    now = utcnow()
    until = now + dt.timedelta(seconds=int(current_app.config.get("JOB_LOCK_SECONDS", 3600)))
    with db.engine.begin() as connection:
        if connection.dialect.name == "sqlite":
            connection.execute(sqlite_insert(JobLock).values(job_id=job_id).on_conflict_do_nothing())
        elif connection.execute(select(JobLock.job_id).where(JobLock.job_id == job_id)).first() is None:
            connection.execute(insert(JobLock).values(job_id=job_id))
        result = connection.execute(
            update(JobLock).where(JobLock.job_id == job_id,
                                  or_(JobLock.locked_until.is_(None), JobLock.locked_until < now))
            .values(holder=holder, locked_until=until))
        return result.rowcount == 1


def release_lock_row(job_id: str, holder: str) -> None:
    """Free ``job_id``'s lock row if ``holder`` still holds it. Own transaction."""
    with db.engine.begin() as connection:
        connection.execute(update(JobLock).where(JobLock.job_id == job_id, JobLock.holder == holder)
                           .values(holder=None, locked_until=None))


def start_run(job_id: str, outcome: str = RUNNING) -> int:
    """Insert a ``job_run`` row (own transaction, committed at once); returns its id."""
    now = utcnow()
    with db.engine.begin() as connection:
        return connection.execute(insert(JobRun).values(
            job_id=job_id, started_at=now, finished_at=None if outcome == RUNNING else now, outcome=outcome,
            host=_host()).returning(JobRun.id)).scalar_one()


def finish_run(run_id: int, outcome: str, *, count: int | None = None, detail: str | None = None) -> None:
    """Close a ``job_run`` row with its outcome, and drop this job's runs older than KEEP_RUNS_DAYS. Own transaction."""
    now = utcnow()
    with db.engine.begin() as connection:
        job_id = connection.execute(update(JobRun).where(JobRun.id == run_id).values(
            finished_at=now, outcome=outcome, count=count, detail=(detail or None) and detail[:2000])
            .returning(JobRun.job_id)).scalar_one()
        connection.execute(delete(JobRun).where(JobRun.job_id == job_id,
                                                JobRun.started_at < now - dt.timedelta(days=KEEP_RUNS_DAYS)))


def record_skip(job_id: str) -> None:
    """Record a run that found the job's lock held (``skipped``)."""
    start_run(job_id, SKIPPED)


def trigger_for(job):
    """The APScheduler trigger of ``job``: a cron trigger in the display zone (``TIMEZONE``) when the job
    has ``cron`` (crontab text, e.g. ``"0 8 * * mon"``), else an interval of ``seconds``."""
    if getattr(job, "cron", None):
        return CronTrigger.from_crontab(job.cron, timezone=local_zone())
    return IntervalTrigger(seconds=job.seconds, timezone=dt.timezone.utc)


@dataclass
class JobStatus:
    """For the admin page: a job, its latest finished-or-running run (or None) and the next time it is due (UTC)."""

    job: object
    last: JobRun | None
    last_done: JobRun | None
    next_due: dt.datetime | None


def job_statuses(jobs) -> list[JobStatus]:
    """Each job with its latest run, its latest run that was not skipped, and its next due time
    (cron jobs: the trigger's next fire time; interval jobs: last start + interval, or now)."""
    out = []
    now = utcnow()
    for job in jobs:
        last = db.session.execute(select(JobRun).where(JobRun.job_id == job.id)
                                  .order_by(JobRun.started_at.desc(), JobRun.id.desc()).limit(1)).scalar_one_or_none()
        done = db.session.execute(select(JobRun).where(JobRun.job_id == job.id, JobRun.outcome != SKIPPED)
                                  .order_by(JobRun.started_at.desc(), JobRun.id.desc()).limit(1)).scalar_one_or_none()
        out.append(JobStatus(job=job, last=last, last_done=done, next_due=next_due(job, last, now)))
    return out


def next_due(job, last: JobRun | None, now: dt.datetime) -> dt.datetime | None:
    """When ``job`` is next due (aware UTC): cron jobs from their trigger in the display zone,
    interval jobs ``seconds`` after the last start (now if it never ran or is late)."""
    if getattr(job, "cron", None):
        fire = trigger_for(job).get_next_fire_time(None, now)
        return fire.astimezone(dt.timezone.utc) if fire else None
    if last is None:
        return now
    return max(now, last.started_at + dt.timedelta(seconds=job.seconds))


__all__ = ["ERROR", "OK", "SKIPPED", "job_lock", "start_run", "finish_run", "record_skip", "job_statuses"]
