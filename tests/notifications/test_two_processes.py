"""Two scheduler processes at once (real OS processes on the test database): each reminder is queued
once and each e-mail sent once."""
from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys

from sqlalchemy import func, select

from app.core.time import local_today
from app.learning.models import Enrolment
from app.notifications.models import EMAIL, IN_APP, Message
from tests.conftest import ROOT

SCRIPT = """
import sys
from app import create_app
from config import TestingConfig
from app.scheduler.jobs import JOBS, run_in_context
app = create_app(TestingConfig)
print(run_in_context(app, next(j for j in JOBS if j.id == sys.argv[1])))
"""


def _run_two(job_id: str, env: dict) -> list[str]:
    processes = [subprocess.Popen([sys.executable, "-c", SCRIPT, job_id], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = []
    for process in processes:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err[-2000:]
        outputs.append(out.strip().splitlines()[-1])
    return outputs


def test_two_scheduler_processes_send_nothing_twice(app, db, smtp, learners):
    today = local_today()
    for enrolment in db.session.execute(select(Enrolment)).scalars():
        enrolment.due_on = today + dt.timedelta(days=2)
    db.session.commit()
    env = {**os.environ, "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(app.config["MAIL_PORT"]),
           "MAIL_FROM": "training@example.gov.cn", "PUBLIC_BASE_URL": "https://training.example.gov.cn"}
    queued = _run_two("learner-reminders", env)
    assert sorted(int(x) if x != "None" else 0 for x in queued) == [0, 4]  # one did the work; the other skipped or found it done
    count = select(func.count(Message.id))
    assert db.session.execute(count.where(Message.channel == IN_APP)).scalar_one() == 4
    sent = _run_two("send-emails", env)
    assert sum(int(x) if x != "None" else 0 for x in sent) == 3
    assert sorted(m["To"] for m in smtp.messages) == ["alice@example.gov.cn", "wang@example.gov.cn", "zhang@example.gov.cn"]
    db.session.expire_all()
    assert db.session.execute(count.where(Message.channel == EMAIL, Message.sent_at.is_not(None))).scalar_one() == 3
