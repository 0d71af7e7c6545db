"""Scheduler job locks (PostgreSQL advisory lock, SQLite lock row), the run log and the admin jobs page."""
from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
import time_machine
from sqlalchemy import select

from app.scheduler import services
from app.scheduler.jobs import JOBS, Job, run_in_context
from app.scheduler.models import JobLock, JobRun
from tests.factories import make_user, utc

calls = []


def _count_call() -> int:
    calls.append(1)
    return 7


def _boom():
    raise RuntimeError("the disk is full")


COUNTING = Job("test-counting", _count_call, 60)


def _runs(db, job_id):
    db.session.expire_all()
    return db.session.execute(select(JobRun).where(JobRun.job_id == job_id).order_by(JobRun.id)).scalars().all()


def test_each_run_is_recorded_with_its_outcome(app, db):
    calls.clear()
    assert run_in_context(app, COUNTING) == 7
    (run,) = _runs(db, "test-counting")
    assert (run.outcome, run.count, run.detail) == ("ok", 7, None)
    assert run.finished_at >= run.started_at
    with pytest.raises(RuntimeError):
        run_in_context(app, Job("test-boom", _boom, 60))
    (failed,) = _runs(db, "test-boom")
    assert failed.outcome == "error" and failed.detail == "RuntimeError: the disk is full"
    # the lock was released despite the error: the next run goes ahead
    with pytest.raises(RuntimeError):
        run_in_context(app, Job("test-boom", _boom, 60))
    assert [r.outcome for r in _runs(db, "test-boom")] == ["error", "error"]


def test_a_held_lock_makes_the_run_a_skip(app, db):
    calls.clear()
    if db.engine.dialect.name == "postgresql":
        other = db.engine.connect()  # another scheduler process holding the job's advisory lock
        assert other.execute(sa.text("SELECT pg_try_advisory_lock(:k)"),
                             {"k": services.advisory_key("test-counting")}).scalar() is True
        other.commit()
        try:
            assert run_in_context(app, COUNTING) is None
        finally:
            other.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": services.advisory_key("test-counting")})
            other.commit()
            other.close()
    else:
        assert services.take_lock_row("test-counting", "another-process") is True
        assert run_in_context(app, COUNTING) is None
        services.release_lock_row("test-counting", "another-process")
    assert calls == []
    assert [r.outcome for r in _runs(db, "test-counting")] == ["skipped"]
    assert run_in_context(app, COUNTING) == 7
    assert calls == [1]


@pytest.mark.skipif("postgresql" not in __import__("os").environ.get("TEST_DATABASE_URL", ""),
                    reason="advisory locks are PostgreSQL's")
def test_advisory_lock_is_exclusive_between_connections(app, db):
    with services.job_lock("test-x") as first:
        assert first is True
        with services.job_lock("test-x") as second:
            assert second is False
        with services.job_lock("test-y") as other_job:
            assert other_job is True
    with services.job_lock("test-x") as again:
        assert again is True


def test_lock_row_is_exclusive_and_expires(app, db):
    with time_machine.travel(utc(2026, 12, 3, 1, 0), tick=False):
        assert services.take_lock_row("test-row", "a") is True
        assert services.take_lock_row("test-row", "b") is False
        services.release_lock_row("test-row", "b")  # not the holder: changes nothing
        assert services.take_lock_row("test-row", "c") is False
    lease = app.config["JOB_LOCK_SECONDS"]
    with time_machine.travel(utc(2026, 12, 3, 1, 0) + dt.timedelta(seconds=lease + 1), tick=False):
        assert services.take_lock_row("test-row", "b") is True  # a dead holder's lock lapses
    db.session.expire_all()
    assert db.session.get(JobLock, "test-row").holder == "b"
    services.release_lock_row("test-row", "b")
    assert services.take_lock_row("test-row", "d") is True


def test_advisory_keys_are_stable_and_distinct():
    keys = {services.advisory_key(job.id) for job in JOBS}
    assert len(keys) == len(JOBS)
    assert services.advisory_key("send-emails") == services.advisory_key("send-emails")
    assert all(-2**63 <= k < 2**63 for k in keys)


def test_admin_sees_each_jobs_last_run_and_next_time(app, db, client, login_as):
    admin = make_user(is_admin=True)
    db.session.commit()
    with time_machine.travel(utc(2026, 12, 3, 1, 0), tick=False):  # 09:00 in Shanghai, a Thursday
        run_in_context(app, next(j for j in JOBS if j.id == "send-emails"))
        services.record_skip("send-emails")
        with pytest.raises(RuntimeError):
            run_in_context(app, Job("escalations", _boom, 60))
        statuses = {s.job.id: s for s in services.job_statuses(JOBS)}
        assert statuses["send-emails"].last.outcome == "skipped"
        assert statuses["send-emails"].last_done.outcome == "ok"
        assert statuses["send-emails"].next_due == utc(2026, 12, 3, 1, 1)
        assert statuses["officer-digests"].next_due == utc(2026, 12, 7, 0, 0)  # Monday 08:00 local
        assert statuses["learner-reminders"].next_due == utc(2026, 12, 4, 0, 0)
        assert statuses["officer-digests"].last is None
        login_as(admin)
        page = client.get("/admin/jobs?lang=en").get_data(as_text=True)
    assert "send-emails" in page and "officer-digests" in page and "0 8 * * mon" in page
    assert "Succeeded" in page and "Failed" in page and "RuntimeError: the disk is full" in page
    assert "Last skipped: 2026-12-03 09:00" in page and "Never" in page


def test_runner_schedules_every_job_with_its_trigger(app):
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.triggers.cron import CronTrigger
    from apscheduler.triggers.interval import IntervalTrigger

    from app.scheduler.runner import _configure

    scheduler = BackgroundScheduler(timezone="UTC")
    _configure(scheduler, app)
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert set(jobs) == {job.id for job in JOBS}
    assert isinstance(jobs["send-emails"].trigger, IntervalTrigger)
    digest = jobs["officer-digests"].trigger
    assert isinstance(digest, CronTrigger) and str(digest.timezone) == "Asia/Shanghai"
    assert digest.get_next_fire_time(None, utc(2026, 12, 3, 1, 0)) == utc(2026, 12, 7, 0, 0)
