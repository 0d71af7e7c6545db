"""Admission as a deployed worker sees it: the client address from a trusted proxy (ProxyFix), never
from a header the client wrote itself, and wrong access codes throttled per candidate.

Each worker is a separate Python process building its own app with rate limiting on (the test app has
it off), against the same test database."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select

from app.core.security import hash_password
from app.exams.models import Attempt
from tests.factories import make_department, make_exam_world, make_user

ROOT = Path(__file__).resolve().parents[2]

WORKER = r"""
import json, os
from config import TestingConfig
from app import create_app

class Worker(TestingConfig):
    RATELIMIT_ENABLED = True
    RATELIMIT_STORAGE_URI = "memory://"
    TRUSTED_PROXY_COUNT = int(os.environ["T_PROXIES"])
    WTF_CSRF_ENABLED = False

app = create_app(Worker)
client = app.test_client()
peer = {"REMOTE_ADDR": os.environ["T_PEER"]}
assert client.post("/login", data={"staff_number": os.environ["T_STAFF"], "password": "correct-horse-42"},
                   environ_base=peer).status_code == 302
out = []
for forwarded, code in json.loads(os.environ["T_POSTS"]):
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    response = client.post("/exams/" + os.environ["T_EXAM"] + "/start", data={"access_code": code},
                           headers=headers, environ_base=peer)
    out.append([response.status_code, response.headers.get("Location", "")])
print(json.dumps(out))
"""


def _worker(staff: str, exam: str, posts: list, proxies: int, peer: str) -> list:
    env = dict(os.environ, T_PROXIES=str(proxies), T_PEER=peer, T_STAFF=staff, T_EXAM=exam,
               T_POSTS=json.dumps(posts), CIVICSKILLS_ENV="testing")
    done = subprocess.run([sys.executable, "-c", WORKER], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def _world(db):
    _course, exam = make_exam_world()
    exam.allowed_networks = ["10.20.0.0/16"]
    exam.access_code_hash = hash_password("room-7")
    learner = make_user(make_department())
    db.session.commit()
    return exam, learner


def test_a_forwarded_address_counts_only_behind_a_trusted_proxy(app, db):
    exam, learner = _world(db)
    # no trusted proxy: the client's own X-Forwarded-For is ignored, the peer 192.0.2.1 is outside
    out = _worker(learner.staff_number, exam.code, [["10.20.1.5", "room-7"]], proxies=0, peer="192.0.2.1")
    assert out[0][0] == 302 and out[0][1].endswith(f"/exams/{exam.code}")
    assert db.session.execute(select(func.count(Attempt.id))).scalar_one() == 0
    # one trusted proxy (the peer 127.0.0.1) reports the client 10.20.1.5: inside, started
    out = _worker(learner.staff_number, exam.code, [["10.20.1.5", "room-7"]], proxies=1, peer="127.0.0.1")
    assert "/attempts/" in out[0][1]
    assert db.session.execute(select(func.count(Attempt.id))).scalar_one() == 1


def test_wrong_access_codes_are_throttled_per_candidate(app, db):
    exam, learner = _world(db)
    posts = [["10.20.1.5", "wrong"]] * 10 + [["10.20.1.5", "room-7"]]
    out = _worker(learner.staff_number, exam.code, posts, proxies=1, peer="127.0.0.1")
    assert [status for status, _ in out[:10]] == [302] * 10
    assert out[10][0] == 429  # the right code after 10 wrong ones waits for the window to pass
    assert db.session.execute(select(func.count(Attempt.id))).scalar_one() == 0
