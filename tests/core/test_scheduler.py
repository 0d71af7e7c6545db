"""The scheduler's one job list: each job runs in an app context and is safe to run twice."""
import time_machine

from app.exams.models import Attempt
from app.exams.services import start_attempt
from app.scheduler.jobs import JOBS, run_in_context
from tests.factories import make_exam_world, make_user, utc


def test_finalise_job_finishes_overdue_attempts_once(app, db):
    course, exam = make_exam_world(time_limit_minutes=10)
    user = make_user()
    with time_machine.travel(utc(2026, 11, 20, 1, 0), tick=False):
        attempt = start_attempt(user, exam)
        db.session.commit()
    job = next(j for j in JOBS if j.id == "finalise-overdue-attempts")
    with time_machine.travel(utc(2026, 11, 20, 1, 11), tick=False):
        assert run_in_context(app, job) == 1
        assert run_in_context(app, job) == 0
    db.session.expire_all()
    assert db.session.get(Attempt, attempt.id).finished_by == "scheduler"


def test_create_app_starts_no_scheduler(app):
    import threading

    names = {t.name for t in threading.enumerate()}
    assert not any("APScheduler" in n or "scheduler" in n.lower() for n in names)
