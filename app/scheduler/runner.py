"""APScheduler runner: ``flask scheduler run`` (BlockingScheduler) or, for the demo only, a background thread."""
from __future__ import annotations

import logging

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from flask import Flask

from app.scheduler.jobs import JOBS, run_in_context, trigger_for

log = logging.getLogger(__name__)


def _configure(scheduler, app: Flask) -> None:
    with app.app_context():  # cron triggers run in the configured display zone
        triggers = [(job, trigger_for(job)) for job in JOBS]
    for job, trigger in triggers:
        scheduler.add_job(run_in_context, trigger, args=[app, job], id=job.id,
                          max_instances=1, coalesce=True, replace_existing=True)


def run_blocking(app: Flask) -> None:
    """Run every job in the foreground until interrupted (the production scheduler process)."""
    scheduler = BlockingScheduler(timezone="UTC")
    _configure(scheduler, app)
    log.info("scheduler running %d job(s)", len(JOBS))
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        pass


def start_background(app: Flask) -> BackgroundScheduler:
    """Start the jobs in a thread of this process. Only for the single-process demo (SCHEDULER_IN_PROCESS)."""
    scheduler = BackgroundScheduler(timezone="UTC")
    _configure(scheduler, app)
    scheduler.start()
    return scheduler
