"""Admin page of the scheduled jobs: each job's schedule, last run and outcome, and when it is next due."""
from __future__ import annotations

from flask import Blueprint, render_template

from app.core.permissions import admin_required
from app.scheduler.jobs import JOBS
from app.scheduler.services import job_statuses

bp = Blueprint("scheduler", __name__)


@bp.route("/admin/jobs")
@admin_required
def jobs():
    """Every job in JOBS with its latest run (outcome, count, error) and next due time."""
    return render_template("scheduler/jobs.html", statuses=job_statuses(JOBS))
