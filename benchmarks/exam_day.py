"""Exam-day load: many candidates log in, start an exam, answer every question (autosave), submit.

Usage (PostgreSQL, gunicorn with 4 workers on this machine):
    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/bench python benchmarks/exam_day.py prepare --candidates 300
    DATABASE_URL=... gunicorn -w 4 -b 127.0.0.1:8100 "app:create_app()" &
    python benchmarks/exam_day.py run --url http://127.0.0.1:8100 --candidates 300 --concurrency 50

`prepare` empties nothing: point it at a fresh database (it runs migrations, syncs content and creates
candidates B00001…). `run` drives the site over HTTP with one thread per concurrent candidate and prints
latency percentiles per request kind (milliseconds) and throughput (requests/second).
"""
from __future__ import annotations

import argparse
import http.client
import json
import random
import re
import statistics
import sys
import time
import urllib.parse
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

PASSWORD = "bench-password-1"
EXAM = "security-and-confidentiality"


def prepare(candidates: int) -> None:
    """Migrate, sync content, create a department and ``candidates`` users (one shared argon2id hash)."""
    from flask_migrate import upgrade
    from sqlalchemy import insert

    from app import create_app
    from app.auth.models import User
    from app.content.services import sync_content
    from app.core.security import hash_password
    from app.extensions import db
    from app.org.services import create_department
    from config import DevelopmentConfig

    app = create_app(DevelopmentConfig)
    with app.app_context():
        upgrade()
        sync_content(Path(app.config["COURSES_DIR"]), Path(app.config["QUESTION_BANK_DIR"]))
        department = create_department("BENCH", "压测单位")
        password_hash = hash_password(PASSWORD)
        db.session.execute(insert(User), [
            {"staff_number": f"B{i:05d}", "name": f"考生{i}", "department_id": department.id, "password_hash": password_hash,
             "active": True, "is_admin": False, "failed_logins": 0}
            for i in range(1, candidates + 1)])
        db.session.commit()
    print(f"prepared {candidates} candidates")


class Client:
    """A keep-alive HTTP client with a cookie jar (one per virtual candidate)."""

    def __init__(self, base: str, timings):
        parsed = urllib.parse.urlparse(base)
        self.conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=60)
        self.cookie = ""
        self.timings = timings

    def request(self, kind: str, method: str, path: str, body=None, headers=None):
        headers = dict(headers or {})
        if self.cookie:
            headers["Cookie"] = self.cookie
        started = time.perf_counter()
        self.conn.request(method, path, body=body, headers=headers)
        response = self.conn.getresponse()
        data = response.read()
        self.timings[kind].append((time.perf_counter() - started) * 1000)
        for name, value in response.getheaders():
            if name.lower() == "set-cookie" and value.startswith("session="):
                self.cookie = value.split(";", 1)[0]
        return response.status, response.getheader("Location"), data.decode("utf-8", "replace")


def candidate(base: str, number: int, timings, errors) -> None:
    """One candidate's whole sitting."""
    client = Client(base, timings)
    try:
        _status, _loc, page = client.request("login page", "GET", "/login")
        token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
        form = urllib.parse.urlencode({"staff_number": f"B{number:05d}", "password": PASSWORD, "csrf_token": token})
        status, _loc, _ = client.request("login", "POST", "/login", form,
                                         {"Content-Type": "application/x-www-form-urlencoded"})
        assert status == 302, f"login {status}"
        status, location, _ = client.request("start", "POST", f"/exams/{EXAM}/start",
                                             urllib.parse.urlencode({"csrf_token": token}),
                                             {"Content-Type": "application/x-www-form-urlencoded"})
        assert status == 302, f"start {status}"
        path = urllib.parse.urlparse(location).path
        attempt_id = int(path.rstrip("/").split("/")[-1])
        _status, _loc, page = client.request("attempt page", "GET", path)
        token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
        questions = re.findall(r'data-position="(\d+)" data-multiple="(true|false)"', page)
        options = {int(p): re.findall(rf'name="q{p}" value="([^"]+)"', page) for p, _m in questions}
        rng = random.Random(number)
        revision = defaultdict(int)  # the server's revision per question, 0 before the first save
        for position, multiple in questions * 2:  # every answer once, then changed once
            position = int(position)
            choice = rng.choice(options[position])
            response = {"choices": [choice]} if multiple == "true" else {"choice": choice}
            status, _loc, body = client.request("autosave", "POST", f"/api/attempts/{attempt_id}/answers",
                                                json.dumps({"position": position, "response": response,
                                                            "revision": revision[position]}),
                                                {"Content-Type": "application/json", "X-CSRFToken": token})
            assert status == 200, f"autosave {status} {body[:200]}"
            revision[position] = json.loads(body)["revision"]
        status, _loc, _ = client.request("submit", "POST", f"/attempts/{attempt_id}/submit",
                                         urllib.parse.urlencode({"csrf_token": token}),
                                         {"Content-Type": "application/x-www-form-urlencoded"})
        assert status == 302, f"submit {status}"
    except Exception as exc:  # counted, reported at the end
        errors.append(f"candidate {number}: {exc}")


def run(url: str, candidates: int, concurrency: int) -> None:
    """Drive ``candidates`` sittings with ``concurrency`` at a time; print percentiles."""
    timings: dict[str, list[float]] = defaultdict(list)
    errors: list[str] = []
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        for number in range(1, candidates + 1):
            pool.submit(candidate, url, number, timings, errors)
    elapsed = time.perf_counter() - started
    total = sum(len(v) for v in timings.values())
    print(f"{candidates} candidates, concurrency {concurrency}: {total} requests in {elapsed:.1f} s "
          f"= {total / elapsed:.0f} req/s; errors: {len(errors)}")
    print(f"{'kind':<14}{'count':>7}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'max ms':>9}")
    for kind, values in timings.items():
        values.sort()
        pick = lambda q: values[min(len(values) - 1, int(q * len(values)))]  # noqa: E731
        print(f"{kind:<14}{len(values):>7}{statistics.median(values):>9.1f}{pick(0.95):>9.1f}{pick(0.99):>9.1f}{values[-1]:>9.1f}")
    for line in errors[:10]:
        print(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("prepare")
    p.add_argument("--candidates", type=int, default=300)
    r = sub.add_parser("run")
    r.add_argument("--url", default="http://127.0.0.1:8100")
    r.add_argument("--candidates", type=int, default=300)
    r.add_argument("--concurrency", type=int, default=50)
    args = parser.parse_args()
    if args.command == "prepare":
        prepare(args.candidates)
    else:
        run(args.url, args.candidates, args.concurrency)


if __name__ == "__main__":
    main()
