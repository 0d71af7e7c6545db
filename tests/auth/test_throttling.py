"""Login throttling shared by every worker (Redis) and keyed on the client address a trusted proxy
resolved, never on a header the client can spoof.

Each "worker" is a separate Python process that builds its own app (as gunicorn's workers do), so
nothing in-process can be shared between them: only the rate-limit store.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
REDIS_URI = "redis://127.0.0.1:6379/15"

WORKER = r"""
import json, os, sys
from config import TestingConfig
from app import create_app

class Worker(TestingConfig):
    RATELIMIT_ENABLED = True
    RATELIMIT_STORAGE_URI = os.environ["T_STORAGE"]
    RATELIMIT_KEY_PREFIX = os.environ["T_PREFIX"]
    LOGIN_RATE_LIMIT = os.environ["T_LIMIT"]
    TRUSTED_PROXY_COUNT = int(os.environ["T_PROXIES"])
    WTF_CSRF_ENABLED = False

app = create_app(Worker)
client = app.test_client()
codes = []
for header in json.loads(os.environ["T_FORWARDED"]):
    headers = {"X-Forwarded-For": header} if header else {}
    response = client.post("/login", data={"staff_number": "NOBODY", "password": "wrong-password"},
                           headers=headers, environ_base={"REMOTE_ADDR": "10.9.8.7"})
    codes.append(response.status_code)
print(json.dumps(codes))
"""


def _redis_reachable() -> bool:
    import socket

    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=1).close()
        return True
    except OSError:
        return False


def _worker(storage: str, prefix: str, limit: str, forwarded: list[str], proxies: int = 0) -> list[int]:
    """Run one worker process that posts one wrong login per entry of ``forwarded`` (an
    X-Forwarded-For value, "" for none) from REMOTE_ADDR 10.9.8.7; returns the status codes."""
    env = dict(os.environ, T_STORAGE=storage, T_PREFIX=prefix, T_LIMIT=limit, T_PROXIES=str(proxies),
               T_FORWARDED=json.dumps(forwarded), CIVICSKILLS_ENV="testing")
    done = subprocess.run([sys.executable, "-c", WORKER], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


needs_redis = pytest.mark.skipif(not _redis_reachable(), reason="Redis is not reachable on 127.0.0.1:6379")


@needs_redis
def test_login_limit_holds_across_four_workers_sharing_redis(app, db):
    """Limit 5 per day (a day, not a minute: four worker processes on a loaded machine can straddle a
    fixed-window minute boundary); 4 workers each send 2 wrong logins: exactly 5 are let through."""
    prefix = f"t{uuid.uuid4().hex}"
    codes = []
    for _ in range(4):
        codes += _worker(REDIS_URI, prefix, "5 per day", ["", ""])
    assert codes.count(429) == 3, codes
    assert codes[:5] == [401] * 5


@needs_redis
def test_spoofed_forwarded_for_does_not_change_the_key_without_a_trusted_proxy(app, db):
    prefix = f"t{uuid.uuid4().hex}"
    codes = _worker(REDIS_URI, prefix, "3 per day", ["1.1.1.1", "2.2.2.2", "3.3.3.3", "4.4.4.4", "5.5.5.5"])
    assert codes == [401, 401, 401, 429, 429]


@needs_redis
def test_behind_one_trusted_proxy_the_forwarded_address_is_the_key(app, db):
    prefix = f"t{uuid.uuid4().hex}"
    # The proxy appends the real client address; with one trusted proxy only the last entry counts,
    # so a client cannot pick its key by sending its own X-Forwarded-For first.
    codes = _worker(REDIS_URI, prefix, "2 per day",
                    ["9.9.9.9, 1.1.1.1", "8.8.8.8, 1.1.1.1", "7.7.7.7, 1.1.1.1", "2.2.2.2", "3.3.3.3"], proxies=1)
    assert codes == [401, 401, 429, 401, 401]
