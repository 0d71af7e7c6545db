"""Exam-day load (issue 6, item 12): candidates log in, start an exam, answer with pauses, submit.

``make bench-exam`` runs ``python benchmarks/exam_day.py all`` which, on loopback only and bounded in time:

1. creates a fresh PostgreSQL database (``--database``, default ``bench_exam``; dropped first if it
   exists), migrates it, syncs the content and bulk-inserts N candidates with one precomputed argon2id
   hash (``prepare``);
2. starts gunicorn as the README documents (sync workers, ``-w`` default 2 × cores) on a free port;
3. drives it with a closed-loop client (one thread per candidate, plain ``http.client``): phase 1a
   signs in all N candidates (login, exam page), phase 1b starts them all (start, attempt page) as
   when a sitting opens, ``--concurrency`` at a time (``--together``: both per candidate in one go); phase 2 answers
   ``--answers`` times per candidate (every question once, then changes), each after a pause drawn
   uniformly from ``--pause`` seconds (human pace 20–60 s) times ``--pace-scale``; phase 3 submits;
4. prints starts/s, saves/s, p50/p95/p99 per request kind (milliseconds), errors, the gunicorn
   workers' CPU per save in phase 2 (utime + stime from /proc, milliseconds), their resident memory
   (MB), and checks in the database that every save acknowledged with 200 ``saved`` is stored with
   the acknowledged revision and response;
5. with ``--saturate SECONDS``: a saturated run (no pauses, ``--clients`` candidates saving back to
   back) against the app and against ``benchmarks/bare_app.py`` (one upsert per request, served the
   same way), interleaved ``--rounds`` times, and the ratio of their saves/s;
6. stops gunicorn and drops the database (``--keep`` keeps it).

Other commands: ``prepare`` (fill a database you created), ``run`` (drive a server you started).
Needs PostgreSQL at ``--pg`` (default ``postgresql+psycopg://postgres@127.0.0.1:5432``).
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PASSWORD = "bench-password-1"
EXAM = "security-and-confidentiality"
CLK_TCK = os.sysconf("SC_CLK_TCK")


# --- database --------------------------------------------------------------------------------

def _admin_conninfo(pg: str) -> str:
    return pg.replace("postgresql+psycopg://", "postgresql://") + "/postgres"


def recreate_database(pg: str, name: str) -> None:
    """Drop (if present) and create database ``name`` on the server at ``pg`` (loopback only)."""
    import psycopg

    host = urllib.parse.urlparse(pg.replace("postgresql+psycopg", "postgresql")).hostname
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit(f"refusing a non-loopback database host: {host}")
    with psycopg.connect(_admin_conninfo(pg), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_database(pg: str, name: str) -> None:
    """Drop database ``name`` (no error if absent)."""
    import psycopg

    with psycopg.connect(_admin_conninfo(pg), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def prepare(candidates: int) -> None:
    """Migrate DATABASE_URL, sync content, create a department and ``candidates`` users B00001…
    with one shared argon2id hash (bulk insert), then ANALYZE."""
    from flask_migrate import upgrade
    from sqlalchemy import insert, text

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
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("ANALYZE"))
    print(f"prepared {candidates} candidates", flush=True)


# --- server processes ------------------------------------------------------------------------

def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gunicorn(args: list[str], env: dict, port: int, log: Path) -> subprocess.Popen:
    """Start gunicorn (sync workers) on 127.0.0.1:``port`` and wait until it answers (60 s at most)."""
    process = subprocess.Popen([str(ROOT / ".venv" / "bin" / "gunicorn"), "-k", "sync", "-b", f"127.0.0.1:{port}",
                                "--timeout", "60", *args], cwd=ROOT, env=env, stdout=log.open("wb"),
                               stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.time() + 60
    while time.time() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn exited with {process.returncode}; see {log}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/")
            conn.getresponse().read()
            workers = worker_pids(process.pid)
            if workers:
                return process
        except OSError:
            pass
        time.sleep(0.3)
    stop(process)
    raise SystemExit(f"gunicorn did not answer within 60 s; see {log}")


def stop(process: subprocess.Popen) -> None:
    """Stop the gunicorn master we started (it stops its workers)."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def worker_pids(master: int) -> list[int]:
    """Pids of the gunicorn master's child processes (its workers)."""
    try:
        return [int(p) for p in Path(f"/proc/{master}/task/{master}/children").read_text().split()]
    except OSError:
        return []


def cpu_seconds(pids: list[int]) -> float:
    """utime + stime of the processes (seconds, from /proc/PID/stat; a vanished process counts 0)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # fields 14 and 15 of proc(5), after pid and comm
    return total / CLK_TCK


def rss_mb(pid: int) -> float:
    """Resident set size of ``pid`` in MB (VmRSS), 0 if gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


# --- the closed-loop client ------------------------------------------------------------------

class Stats:
    """Thread-safe timings (ms) per request kind, errors, and acknowledged saves."""

    def __init__(self):
        self.lock = threading.Lock()
        self.timings: dict[str, list[float]] = defaultdict(list)
        self.errors: list[str] = []
        self.acked: dict[tuple[int, int], tuple[int, dict]] = {}  # (attempt, position) -> (revision, response)

    def time(self, kind: str, ms: float) -> None:
        with self.lock:
            self.timings[kind].append(ms)

    def error(self, text: str) -> None:
        with self.lock:
            self.errors.append(text)

    def ack(self, attempt: int, position: int, revision: int, response: dict) -> None:
        with self.lock:
            known = self.acked.get((attempt, position))
            if known is None or known[0] < revision:
                self.acked[(attempt, position)] = (revision, response)


class Client:
    """An HTTP client with a cookie jar (one per virtual candidate); reconnects when gunicorn's sync
    workers close the connection."""

    def __init__(self, port: int, stats: Stats):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.cookie = ""
        self.stats = stats

    def request(self, kind: str, method: str, path: str, body=None, headers=None):
        headers = dict(headers or {})
        if self.cookie:
            headers["Cookie"] = self.cookie
        started = time.perf_counter()
        try:
            self.conn.request(method, path, body=body, headers=headers)
            response = self.conn.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException):
            self.conn.close()
            raise
        self.stats.time(kind, (time.perf_counter() - started) * 1000)
        for name, value in response.getheaders():
            if name.lower() == "set-cookie" and value.startswith("session="):
                self.cookie = value.split(";", 1)[0]
        return response.status, response.getheader("Location"), data.decode("utf-8", "replace")


FORM = {"Content-Type": "application/x-www-form-urlencoded"}


class Candidate:
    """One candidate's sitting: :meth:`begin` (login, start, attempt page), :meth:`answer`, :meth:`submit`."""

    def __init__(self, port: int, number: int, stats: Stats):
        self.client = Client(port, stats)
        self.number = number
        self.stats = stats
        self.rng = random.Random(number)
        self.ok = False
        self.signed_in = False
        self.attempt_id = 0
        self.token = ""
        self.questions: list[tuple[int, bool, list[str]]] = []
        self.revision: dict[int, int] = defaultdict(int)
        self.saves = 0

    def begin(self, stop_at: float = float("inf")) -> None:
        """Sign in and start (:meth:`sign_in` then :meth:`start`); not even tried past ``stop_at``."""
        self.sign_in(stop_at)
        self.start(stop_at)

    def sign_in(self, stop_at: float = float("inf")) -> None:
        """Log in and open the exam page (its CSRF token), as a candidate does before the sitting opens;
        not even tried past ``stop_at`` (time.time())."""
        if time.time() > stop_at:
            self.stats.error(f"candidate {self.number} sign-in: not tried (time bound)")
            return
        try:
            client = self.client
            _status, _loc, page = client.request("login page", "GET", "/login")
            token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
            form = urllib.parse.urlencode({"staff_number": f"B{self.number:05d}", "password": PASSWORD, "csrf_token": token})
            status, _loc, _ = client.request("login", "POST", "/login", form, FORM)
            assert status == 302, f"login {status}"
            # the login replaced the CSRF secret: the exam page (rules, start button) carries the new token
            status, _loc, page = client.request("exam page", "GET", f"/exams/{EXAM}")
            assert status == 200, f"exam page {status}"
            self.token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
            self.signed_in = True
        except Exception as exc:  # counted, reported at the end
            self.stats.error(f"candidate {self.number} sign-in: {exc!r}")

    def start(self, stop_at: float = float("inf")) -> None:
        """Press start and load the attempt page (the questions); only after a successful sign-in."""
        if not self.signed_in:
            return
        if time.time() > stop_at:
            self.stats.error(f"candidate {self.number} start: not tried (time bound)")
            return
        try:
            client = self.client
            status, location, _ = client.request("start", "POST", f"/exams/{EXAM}/start",
                                                 urllib.parse.urlencode({"csrf_token": self.token}), FORM)
            assert status == 302, f"start {status}"
            path = urllib.parse.urlparse(location).path
            self.attempt_id = int(path.rstrip("/").split("/")[-1])
            status, _loc, page = client.request("attempt page", "GET", path)
            assert status == 200, f"attempt page {status}"
            self.token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
            for position, multiple in re.findall(r'data-position="(\d+)"[^>]*?data-multiple="(true|false)"', page):
                options = re.findall(rf'name="q{position}" value="([^"]+)"', page)
                if options:
                    self.questions.append((int(position), multiple == "true", options))
            assert self.questions, "no questions on the attempt page"
            self.ok = True
        except Exception as exc:  # counted, reported at the end
            self.stats.error(f"candidate {self.number} start: {exc!r}")

    def save_next(self) -> bool:
        """Answer the next question (cycling), recording the acknowledgement. False on an error."""
        position, multiple, options = self.questions[self.saves % len(self.questions)]
        self.saves += 1
        choice = self.rng.choice(options)
        response = {"choices": [choice]} if multiple else {"choice": choice}
        try:
            status, _loc, body = self.client.request(
                "autosave", "POST", f"/api/attempts/{self.attempt_id}/answers",
                json.dumps({"position": position, "response": response, "revision": self.revision[position]}),
                {"Content-Type": "application/json", "X-CSRFToken": self.token})
        except Exception as exc:
            self.stats.error(f"candidate {self.number} autosave: {exc!r}")
            return False
        if status != 200:
            self.stats.error(f"candidate {self.number} autosave {status} {body[:120]}")
            return False
        data = json.loads(body)
        if data.get("status") != "saved":
            self.stats.error(f"candidate {self.number} autosave 200 without saved: {body[:120]}")
            return False
        self.revision[position] = data["revision"]
        self.stats.ack(self.attempt_id, position, data["revision"], response)
        return True

    def answer(self, count: int, pause: tuple[float, float], stop_at: float) -> None:
        for _ in range(count):
            delay = self.rng.uniform(*pause)
            if time.time() + delay > stop_at:
                return
            time.sleep(delay)
            self.save_next()

    def submit(self) -> bool:
        """Submit the attempt; True if the server accepted it (302)."""
        try:
            status, _loc, _ = self.client.request("submit", "POST", f"/attempts/{self.attempt_id}/submit",
                                                  urllib.parse.urlencode({"csrf_token": self.token}), FORM)
            assert status == 302, f"submit {status}"
            return True
        except Exception as exc:
            self.stats.error(f"candidate {self.number} submit: {exc!r}")
            return False


def percentiles(values: list[float]) -> tuple[float, float, float, float]:
    """(p50, p95, p99, max) of ``values`` (nearest-rank)."""
    values = sorted(values)
    pick = lambda q: values[min(len(values) - 1, max(0, int(q * len(values) + 0.999999) - 1))]  # noqa: E731
    return pick(0.50), pick(0.95), pick(0.99), values[-1]


def print_timings(stats: Stats) -> None:
    print(f"{'kind':<14}{'count':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'max ms':>9}")
    for kind, values in stats.timings.items():
        if values:
            p50, p95, p99, top = percentiles(values)
            print(f"{kind:<14}{len(values):>8}{p50:>9.1f}{p95:>9.1f}{p99:>9.1f}{top:>9.1f}")


def same_response(sent: dict, stored: dict | None) -> bool:
    """Whether the stored (normalised) response is the one sent: choice ids as sent, except that
    true/false questions store ``{"answer": bool}`` for the options ``true``/``false``."""
    if stored == sent:
        return True
    if isinstance(stored, dict) and "answer" in stored and "choice" in sent:
        return str(stored["answer"]).lower() == sent["choice"]
    return False


def check_stored(database_url: str, stats: Stats) -> tuple[int, int]:
    """Compare every acknowledged save with attempt_item. Returns (acknowledged answers, missing):
    missing = stored revision lower than acknowledged, or same revision with another response."""
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    attempts = sorted({a for a, _p in stats.acked})
    stored = {}
    with engine.connect() as conn:
        for i in range(0, len(attempts), 1000):
            for attempt_id, position, revision, response in conn.execute(text(
                    "SELECT attempt_id, position, revision, response FROM attempt_item WHERE attempt_id = ANY(:ids)"),
                    {"ids": attempts[i:i + 1000]}):
                stored[(attempt_id, position)] = (revision, response)
    engine.dispose()
    missing = 0
    for key, (revision, response) in stats.acked.items():
        row = stored.get(key)
        if row is None or row[0] < revision or (row[0] == revision and not same_response(response, row[1])):
            missing += 1
            if missing <= 5:
                print(f"MISSING attempt {key[0]} position {key[1]}: acknowledged revision {revision} {response}, stored {row}")
    return len(stats.acked), missing


def run_sitting(port: int, master: int, candidates: int, concurrency: int, answers: int, pause: tuple[float, float],
                stop_at: float, submit_seconds: float = 300, together: bool = False) -> Stats:
    """Phases 1–3 against a running server; prints the figures; returns the stats.

    Phase 1 signs everyone in (1a), then starts everyone (1b: the sitting opening); ``together``
    does both per candidate in one phase instead (the figures before 2026-12-05)."""
    stats = Stats()
    people = [Candidate(port, n, stats) for n in range(1, candidates + 1)]
    t0 = time.perf_counter()
    if together:
        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            list(pool.map(lambda person: person.begin(stop_at), people))
        t_started = time.perf_counter() - t0
        started = [c for c in people if c.ok]
        print(f"phase 1: {len(started)} of {candidates} logged in and started in {t_started:.1f} s "
              f"= {len(started) / t_started:.1f} starts/s (concurrency {concurrency})", flush=True)
    else:  # as on the day: people sign in while the room fills, then the sitting opens and all press start
        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            list(pool.map(lambda person: person.sign_in(stop_at), people))
        t_signed = time.perf_counter() - t0
        signed = sum(c.signed_in for c in people)
        print(f"phase 1a: {signed} of {candidates} signed in and on the exam page in {t_signed:.1f} s "
              f"= {signed / t_signed:.1f} sign-ins/s (concurrency {concurrency})", flush=True)
        t0 = time.perf_counter()
        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            list(pool.map(lambda person: person.start(stop_at), people))
        t_started = time.perf_counter() - t0
        started = [c for c in people if c.ok]
        print(f"phase 1b: {len(started)} of {signed} started (start + attempt page) in {t_started:.1f} s "
              f"= {len(started) / t_started:.1f} starts/s (concurrency {concurrency})", flush=True)
    workers = worker_pids(master)
    cpu0 = cpu_seconds(workers)
    t1 = time.perf_counter()
    threads = [threading.Thread(target=c.answer, args=(answers, pause, stop_at), daemon=True) for c in started]
    for t in threads:
        t.start()
    for t in threads:
        t.join(max(0.0, stop_at - time.time()) + 30)
    t_answer = time.perf_counter() - t1
    cpu1 = cpu_seconds(workers)
    saves = len(stats.timings["autosave"])
    print(f"phase 2: {saves} saves in {t_answer:.1f} s = {saves / t_answer:.1f} saves/s; pauses {pause[0]:.2f}–{pause[1]:.2f} s; "
          f"server CPU {cpu1 - cpu0:.1f} s = {1000 * (cpu1 - cpu0) / max(saves, 1):.2f} ms per save "
          f"({len(workers)} workers)", flush=True)
    t2 = time.perf_counter()
    submit_by = max(stop_at, time.time()) + submit_seconds

    def submit(person: Candidate) -> bool:
        if time.time() > submit_by:
            return False  # bounded in time: the attempt stays in progress (its answers are checked all the same)
        return person.submit()

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        submitted = sum(pool.map(submit, started))
    print(f"phase 3: {submitted} of {len(started)} submitted in {time.perf_counter() - t2:.1f} s"
          f" (the others failed or were not sent: submits stop {submit_seconds:.0f} s after phase 2)", flush=True)
    return stats


def saturated(port: int, master: int, clients: int, seconds: float, bare: bool, stats: Stats | None = None,
              first: int = 1) -> float:
    """``clients`` threads saving back to back for ``seconds``; returns saves/s and prints CPU per save.
    ``bare``: POST the bare app's ``/api/answers``; else candidates ``first``… log in, start, then save."""
    stats = stats or Stats()
    counts = [0] * clients
    if not bare:
        people = [Candidate(port, n, stats) for n in range(first, first + clients)]
        with ThreadPoolExecutor(max_workers=clients) as pool:
            list(pool.map(Candidate.begin, people))

    def loop(i: int) -> None:
        if bare:
            client, rng, revision = Client(port, stats), random.Random(i), 0
            while time.time() < stop_at:
                position = counts[i] % 20 + 1
                try:
                    status, _loc, body = client.request("bare save", "POST", "/api/answers", json.dumps(
                        {"client": i, "position": position, "response": {"choice": rng.choice("abcd")}}),
                        {"Content-Type": "application/json"})
                    assert status == 200 and json.loads(body)["status"] == "saved", f"{status} {body[:80]}"
                    counts[i] += 1
                except Exception as exc:
                    stats.error(f"bare client {i}: {exc!r}")
        else:
            person = people[i]
            while person.ok and time.time() < stop_at:
                if person.save_next():
                    counts[i] += 1

    stop_at = time.time() + seconds
    workers = worker_pids(master)
    cpu0, t0 = cpu_seconds(workers), time.perf_counter()
    threads = [threading.Thread(target=loop, args=(i,), daemon=True) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(seconds + 60)
    elapsed, cpu = time.perf_counter() - t0, cpu_seconds(workers) - cpu0
    total = sum(counts)
    kind = "bare save" if bare else "autosave"
    p50, p95, p99, _top = percentiles(stats.timings[kind] or [0.0])
    print(f"saturated {'bare app' if bare else 'CivicSkills'}: {clients} clients, {total} saves in {elapsed:.1f} s = "
          f"{total / elapsed:.1f} saves/s, p50 {p50:.1f} p95 {p95:.1f} p99 {p99:.1f} ms, "
          f"server CPU {1000 * cpu / max(total, 1):.2f} ms per save, errors {len(stats.errors)}", flush=True)
    for line in stats.errors[:3]:
        print("  ", line)
    return total / elapsed


def all_in_one(args) -> int:
    """``make bench-exam``: fresh database, gunicorn, the sitting, the database check, saturated runs, teardown."""
    if not (ROOT / "app" / "translations" / "en" / "LC_MESSAGES" / "messages.mo").exists():
        raise SystemExit("compile the catalogs first: make translations")
    pg = args.pg.rstrip("/")
    url = f"{pg}/{args.database}"
    bench_deadline = time.time() + args.max_seconds
    print(f"database {url}; {args.candidates} candidates; {args.workers} sync workers; cores {os.cpu_count()}; "
          f"load average before {os.getloadavg()[0]:.2f}", flush=True)
    recreate_database(pg, args.database)
    logs = ROOT / "instance"
    logs.mkdir(exist_ok=True)
    status = 0
    try:
        env = dict(os.environ, DATABASE_URL=url, CIVICSKILLS_ENV="production", SECRET_KEY=secrets.token_hex(32),
                   RATELIMIT_ENABLED="0", SESSION_COOKIE_SECURE="0", SCHEDULER_IN_PROCESS="0")
        t = time.perf_counter()
        subprocess.run([sys.executable, __file__, "prepare", "--candidates", str(args.candidates + args.clients * args.rounds * bool(args.saturate))],
                       env=env, check=True)
        print(f"prepare took {time.perf_counter() - t:.1f} s", flush=True)
        port = free_port()
        env["PUBLIC_BASE_URL"] = f"http://127.0.0.1:{port}"
        server = start_gunicorn(["-w", str(args.workers), "app:create_app()"], env, port, logs / "bench-gunicorn.log")
        try:
            pause = (args.pause[0] * args.pace_scale, args.pause[1] * args.pace_scale)
            stats = run_sitting(port, server.pid, args.candidates, args.concurrency, args.answers, pause,
                                bench_deadline, args.submit_seconds, args.together)
            rss = [rss_mb(pid) for pid in worker_pids(server.pid)]
            print_timings(stats)
            acked, missing = check_stored(url, stats)
            print(f"errors: {len(stats.errors)}; acknowledged answers: {acked}; missing in the database: {missing}; "
                  f"worker RSS MB: {', '.join(f'{r:.0f}' for r in rss)}", flush=True)
            for line in stats.errors[:10]:
                print("  ", line)
            if stats.errors or missing:
                status = 1
        finally:
            stop(server)
        if args.saturate:
            status |= saturation(args, pg, url, env)
    finally:
        if not args.keep:
            drop_database(pg, args.database)
    return status


def saturation(args, pg: str, url: str, env: dict) -> int:
    """Interleaved saturated runs of the app and the bare app; prints the ratio of saves/s."""
    from bare_app import create_table  # noqa: PLC0415  (benchmarks/ is on sys.path when run as a script)

    create_table(url)
    logs = ROOT / "instance"
    ours, bare = [], []
    errors = 0
    for rnd in range(args.rounds):
        port = free_port()
        env = dict(env, PUBLIC_BASE_URL=f"http://127.0.0.1:{port}")
        server = start_gunicorn(["-w", str(args.workers), "app:create_app()"], env, port, logs / "bench-gunicorn.log")
        try:
            stats = Stats()
            ours.append(saturated(port, server.pid, args.clients, args.saturate, bare=False, stats=stats,
                                  first=args.candidates + rnd * args.clients + 1))
            errors += len(stats.errors)
        finally:
            stop(server)
        port = free_port()
        server = start_gunicorn(["-w", str(args.workers), "--chdir", str(ROOT / "benchmarks"), "bare_app:app"],
                                dict(env, BARE_DATABASE_URL=url), port, logs / "bench-bare.log")
        try:
            stats = Stats()
            bare.append(saturated(port, server.pid, args.clients, args.saturate, bare=True, stats=stats))
            errors += len(stats.errors)
        finally:
            stop(server)
        print(f"round {rnd + 1}: ratio {ours[-1] / bare[-1]:.2f}", flush=True)
    ratios = [o / b for o, b in zip(ours, bare)]
    print(f"saturated saves/s: CivicSkills {', '.join(f'{v:.0f}' for v in ours)}; bare {', '.join(f'{v:.0f}' for v in bare)}; "
          f"ratio per round {', '.join(f'{r:.2f}' for r in ratios)}; ratio of sums {sum(ours) / sum(bare):.2f}", flush=True)
    return 1 if errors else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("prepare", help="migrate DATABASE_URL, sync content, create candidates")
    p.add_argument("--candidates", type=int, default=500)
    a = sub.add_parser("all", help="the whole benchmark (make bench-exam)")
    a.add_argument("--pg", default=os.environ.get("BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432"))
    a.add_argument("--database", default="bench_exam")
    a.add_argument("--candidates", type=int, default=500)
    a.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1))
    a.add_argument("--concurrency", type=int, default=100, help="candidates logging in and starting at a time")
    a.add_argument("--answers", type=int, default=20, help="saves per candidate")
    a.add_argument("--pause", type=float, nargs=2, default=(20.0, 60.0), metavar=("MIN", "MAX"),
                   help="seconds between two answers at human pace")
    a.add_argument("--pace-scale", type=float, default=0.1, help="multiplies the pauses (0.1: ten times faster)")
    a.add_argument("--max-seconds", type=float, default=600, help="phase 2 stops at this many seconds from the start (prepare and phase 1 included)")
    a.add_argument("--submit-seconds", type=float, default=300, help="submits stop being sent after this")
    a.add_argument("--saturate", type=float, default=0, help="seconds of each saturated run (0: none)")
    a.add_argument("--clients", type=int, default=100, help="clients of the saturated runs")
    a.add_argument("--rounds", type=int, default=2, help="interleaved saturated rounds (app, bare, app, bare…)")
    a.add_argument("--together", action="store_true",
                   help="each candidate signs in and starts in one go (default: all sign in, then all start)")
    a.add_argument("--keep", action="store_true", help="keep the database")
    r = sub.add_parser("run", help="drive a server already running on 127.0.0.1:PORT")
    r.add_argument("--port", type=int, default=8100)
    r.add_argument("--master-pid", type=int, default=0)
    r.add_argument("--candidates", type=int, default=300)
    r.add_argument("--concurrency", type=int, default=100)
    r.add_argument("--answers", type=int, default=20)
    r.add_argument("--pause", type=float, nargs=2, default=(2.0, 6.0))
    args = parser.parse_args()
    if args.command == "prepare":
        prepare(args.candidates)
    elif args.command == "all":
        sys.exit(all_in_one(args))
    else:
        stats = run_sitting(args.port, args.master_pid, args.candidates, args.concurrency, args.answers,
                            tuple(args.pause), time.time() + 3600)
        print_timings(stats)
        print(f"errors: {len(stats.errors)}")
        for line in stats.errors[:10]:
            print("  ", line)


if __name__ == "__main__":
    main()
