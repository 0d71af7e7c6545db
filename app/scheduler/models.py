"""Scheduler bookkeeping: one row per job run, and lock rows for engines without advisory locks."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.types import UTCDateTime
from app.extensions import db

RUNNING, OK, ERROR, SKIPPED = "running", "ok", "error", "skipped"


class JobRun(db.Model):
    """One run of a scheduled job. ``outcome``: ``running`` (until it ends), ``ok``, ``error`` or
    ``skipped`` (another process held the job's lock). ``count``: what the job returned when it was a
    whole number (messages queued, attempts finalised, …); ``detail``: the error or a short note.
    ``host``: ``hostname:pid`` of the process that ran it. Times are aware UTC."""

    __tablename__ = "job_run"
    __table_args__ = (Index("ix_job_run_job_started", "job_id", "started_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[str] = mapped_column(String(80))
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[str] = mapped_column(String(10))
    count: Mapped[int | None] = mapped_column(Integer)
    detail: Mapped[str | None] = mapped_column(Text)
    host: Mapped[str | None] = mapped_column(String(120))


class JobLock(db.Model):
    """The lock of one job where PostgreSQL advisory locks are not available (SQLite).

    Taken by one conditional UPDATE (``locked_until`` empty or past), released by the holder
    (``holder`` token). A holder that dies leaves the lock to expire at ``locked_until`` (UTC)."""

    __tablename__ = "job_lock"

    job_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(64))
    locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
