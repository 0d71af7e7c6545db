"""Exam-day benchmark for practical tasks (issue 9): N candidates each upload one ~50 KB task file
within a minute, then the checking job grades the uploads.

``python benchmarks/practical_uploads.py --candidates 500`` (not part of ``make test``), on loopback only:

1. creates a fresh PostgreSQL database (``--database``, default ``bench_practical``), migrates it, syncs
   the content and inserts N candidates (``exam_day.prepare``);
2. starts gunicorn (sync workers, ``-w`` default 2 × cores) as ``exam_day`` does;
3. logs every candidate in and starts the mixed exam ``official-documents-practical`` (``--concurrency``
   at a time; not timed as part of the upload figures);
4. upload phase: each candidate uploads one file (the task's reference solution for the task it drew,
   padded with an incompressible stored part to ``--file-kb`` KB, 50 by default) at a moment drawn
   uniformly within ``--window`` seconds (60), one thread per candidate; prints the upload latency
   p50/p95/p99 (ms), uploads/s, errors and the gunicorn workers' CPU per upload;
5. every candidate submits (the attempts become "being graded");
6. grading: ``check_pending_uploads`` runs in ``--graders`` processes side by side (default 1) until
   nothing is pending; prints files/s, and files per CPU-second of the graders and their checker
   children (``RUSAGE_CHILDREN``), which is the throughput of one core;
7. checks in the database that every acknowledged upload is stored with its SHA-256 and that every
   attempt is finished with a score; stops gunicorn and drops the database (``--keep`` keeps it).

Record the figures with the machine and its load in docs/performance.md.
"""
from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import random
import re
import resource
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import exam_day  # noqa: E402  (shares the database, gunicorn and client helpers)

EXAM = "official-documents-practical"


def padded(data: bytes, size: int, seed: int) -> bytes:
    """``data`` (an Office file) with a stored (uncompressed) part of random bytes added so the file is
    about ``size`` bytes: a stand-in for the pictures a real answer carries."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr(info, source.read(info.filename))
        missing = max(0, size - len(data) - 200)
        if missing:
            target.writestr(zipfile.ZipInfo("docProps/bench-padding.bin"), random.Random(seed).randbytes(missing),
                            compress_type=zipfile.ZIP_STORED)
    return out.getvalue()


def multipart(fields: dict[str, str], name: str, filename: str, data: bytes) -> tuple[bytes, str]:
    """A multipart/form-data body with ``fields`` and one file; returns (body, content type)."""
    boundary = uuid.uuid4().hex
    parts = []
    for key, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'.encode())
    parts.append((f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                  "Content-Type: application/octet-stream\r\n\r\n").encode() + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


class Uploader:
    """One candidate: log in, start the mixed exam, upload one file, submit."""

    def __init__(self, port: int, number: int, stats: exam_day.Stats, files: dict[str, bytes]):
        self.client = exam_day.Client(port, stats)
        self.number, self.stats, self.files = number, stats, files
        self.ok = False
        self.attempt_id = 0
        self.token = ""
        self.upload_url = ""
        self.acked: tuple[str, str] | None = None  # (upload url, sha256) once the server said "saved"

    def begin(self) -> None:
        """Log in, start the exam, read the attempt page (CSRF token, upload URL), fetch the starter."""
        try:
            client = self.client
            _s, _l, page = client.request("login page", "GET", "/login")
            token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
            form = urllib.parse.urlencode({"staff_number": f"B{self.number:05d}", "password": exam_day.PASSWORD,
                                           "csrf_token": token})
            status, _l, _ = client.request("login", "POST", "/login", form, exam_day.FORM)
            assert status == 302, f"login {status}"
            status, _l, page = client.request("exam page", "GET", f"/exams/{EXAM}")
            assert status == 200, f"exam page {status}"
            token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
            status, location, _ = client.request("start", "POST", f"/exams/{EXAM}/start",
                                                 urllib.parse.urlencode({"csrf_token": token}), exam_day.FORM)
            assert status == 302, f"start {status}"
            path = urllib.parse.urlparse(location).path
            self.attempt_id = int(path.rstrip("/").split("/")[-1])
            status, _l, page = client.request("attempt page", "GET", path)
            assert status == 200, f"attempt page {status}"
            self.token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
            self.upload_url = re.search(r'data-upload-url="([^"]+)"', page).group(1)
            starter = re.search(r'href="(/attempts/\d+/items/\d+/starter)"', page).group(1)
            status, _l, _body = client.request("starter", "GET", starter)
            assert status == 200, f"starter {status}"
            self.ok = True
        except Exception as exc:  # counted, reported at the end
            self.stats.error(f"candidate {self.number} begin: {exc!r}")

    def upload(self, at: float) -> None:
        """At ``at`` (time.time()) upload the file with revision 0; remember the acknowledged SHA-256."""
        time.sleep(max(0.0, at - time.time()))
        try:
            kind = "docx"
            data = self.files[kind]
            body, content_type = multipart({"revision": "0"}, "file", f"答案{self.number}.{kind}", data)
            status, _l, text = self.client.request("upload", "POST", self.upload_url, body,
                                                   {"Content-Type": content_type, "X-CSRFToken": self.token})
            reply = json.loads(text) if text.startswith("{") else {}
            if status != 200 or reply.get("status") != "saved":
                self.stats.error(f"candidate {self.number} upload {status} {text[:160]}")
                return
            self.acked = (self.upload_url, reply["sha256"])
        except Exception as exc:
            self.stats.error(f"candidate {self.number} upload: {exc!r}")

    def submit(self) -> None:
        """Submit the attempt (302 expected); errors are counted."""
        try:
            status, _l, _ = self.client.request("submit", "POST", f"/attempts/{self.attempt_id}/submit",
                                                urllib.parse.urlencode({"csrf_token": self.token}), exam_day.FORM)
            assert status == 302, f"submit {status}"
        except Exception as exc:
            self.stats.error(f"candidate {self.number} submit: {exc!r}")


def percentiles(values: list[float]) -> str:
    """p50/p95/p99/max of latencies in milliseconds, as one line."""
    if not values:
        return "n/a"
    values = sorted(values)
    pick = lambda p: values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]  # noqa: E731
    return f"p50 {pick(50):.0f} ms, p95 {pick(95):.0f} ms, p99 {pick(99):.0f} ms, max {values[-1]:.0f} ms"


GRADER = """
import resource, sys, time
sys.path.insert(0, {root!r})
from app import create_app
from app.exams.practical import check_pending_uploads
from app.extensions import db
from config import DevelopmentConfig
app = create_app(DevelopmentConfig)
done = 0
with app.app_context():
    while True:
        n = check_pending_uploads(limit=20)
        db.session.commit()
        if n == 0:
            break
        done += n
own = resource.getrusage(resource.RUSAGE_SELF)
kids = resource.getrusage(resource.RUSAGE_CHILDREN)
print(done, own.ru_utime + own.ru_stime, kids.ru_utime + kids.ru_stime, flush=True)
"""


def grade(env: dict, graders: int) -> tuple[int, float, float, float]:
    """Run ``graders`` grading processes until nothing is pending: (files, wall s, own CPU s, checker CPU s)."""
    started = time.time()
    procs = [subprocess.Popen([sys.executable, "-c", GRADER.format(root=str(ROOT))], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, text=True) for _ in range(graders)]
    files = own = kids = 0.0
    for proc in procs:
        out, _ = proc.communicate()
        if proc.returncode != 0 or not out.strip():
            raise SystemExit(f"grader exited with {proc.returncode}")
        d, o, k = out.split()
        files += int(d)
        own += float(o)
        kids += float(k)
    return int(files), time.time() - started, own, kids


def verify(uploaders: list[Uploader]) -> list[str]:
    """Problems found in the database: an acknowledged upload missing or with another SHA-256, an
    attempt not finished with a score."""
    from sqlalchemy import select

    from app import create_app
    from app.exams.models import Attempt, AttemptItem, PracticalUpload
    from app.extensions import db
    from config import DevelopmentConfig

    problems = []
    app = create_app(DevelopmentConfig)
    with app.app_context():
        rows = {(a, p): (sha, state) for a, p, sha, state in db.session.execute(
            select(AttemptItem.attempt_id, AttemptItem.position, PracticalUpload.sha256, PracticalUpload.state)
            .join(PracticalUpload, PracticalUpload.attempt_item_id == AttemptItem.id))}
        for u in uploaders:
            if u.acked is None:
                continue
            position = int(re.search(r"/items/(\d+)/upload", u.acked[0]).group(1))
            found = rows.get((u.attempt_id, position))
            if found is None or found[0] != u.acked[1]:
                problems.append(f"candidate {u.number}: acknowledged upload not stored as acknowledged")
            elif found[1] != "graded":
                problems.append(f"candidate {u.number}: upload state {found[1]}")
        ids = [u.attempt_id for u in uploaders if u.ok]
        unfinished = db.session.execute(select(Attempt.id).where(Attempt.id.in_(ids), (Attempt.state != "finished")
                                                                 | Attempt.score.is_(None))).scalars().all()
        problems += [f"attempt {a} not finished with a score" for a in unfinished]
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--candidates", type=int, default=500)
    parser.add_argument("--window", type=float, default=60.0, help="seconds in which all uploads arrive")
    parser.add_argument("--file-kb", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=20, help="logins/starts at a time (not timed)")
    parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1))
    parser.add_argument("--graders", type=int, default=1)
    parser.add_argument("--pg", default=os.environ.get("BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432"))
    parser.add_argument("--database", default="bench_practical")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()

    exam_day.recreate_database(args.pg, args.database)
    env = dict(os.environ, DATABASE_URL=f"{args.pg}/{args.database}", FLASK_DEBUG="0", SECRET_KEY="bench-secret",
               LOGIN_RATE_LIMIT="1000000 per minute")
    os.environ.update(env)
    subprocess.run([sys.executable, "-c", f"import sys; sys.path.insert(0, {str(ROOT / 'benchmarks')!r}); "
                    f"import exam_day; exam_day.prepare({args.candidates})"], cwd=ROOT, env=env, check=True)
    reference = (ROOT / "question_bank/tasks/doc-gongwen-format/reference.docx").read_bytes()
    files = {"docx": padded(reference, args.file_kb * 1024, 1)}
    print(f"file: {len(files['docx'])} bytes, sha256 {hashlib.sha256(files['docx']).hexdigest()[:12]}…", flush=True)
    port = exam_day.free_port()
    log = Path("/tmp") / f"bench-practical-{port}.log"
    server = exam_day.start_gunicorn(["-w", str(args.workers), "app:create_app()"], env, port, log)
    stats = exam_day.Stats()
    try:
        uploaders = [Uploader(port, n, stats, files) for n in range(1, args.candidates + 1)]
        started = time.time()
        with ThreadPoolExecutor(args.concurrency) as pool:
            list(pool.map(lambda u: u.begin(), uploaders))
        ready = [u for u in uploaders if u.ok]
        print(f"logged in and started {len(ready)} of {args.candidates} in {time.time() - started:.1f} s", flush=True)

        workers = exam_day.worker_pids(server.pid)
        cpu_before = exam_day.cpu_seconds(workers)
        rng = random.Random(7)
        begin = time.time() + 1
        threads = [threading.Thread(target=u.upload, args=(begin + rng.uniform(0, args.window),)) for u in ready]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.time() - begin
        cpu = exam_day.cpu_seconds(workers) - cpu_before
        acked = sum(1 for u in ready if u.acked)
        upload_errors = [e for e in stats.errors if " upload" in e]
        print(f"uploads: {acked} saved of {len(ready)} in {elapsed:.1f} s ({acked / elapsed:.1f}/s); "
              f"{percentiles(stats.timings['upload'])}; errors {len(upload_errors)}; "
              f"worker CPU {cpu * 1000 / max(1, acked):.1f} ms per upload", flush=True)
        for e in upload_errors[:5]:
            print("  ", e)

        with ThreadPoolExecutor(args.concurrency) as pool:
            list(pool.map(lambda u: u.submit(), ready))
        print(f"submitted; {percentiles(stats.timings['submit'])}", flush=True)
    finally:
        exam_day.stop(server)
    count, wall, own, kids = grade(env, args.graders)
    cpu_total = own + kids
    print(f"grading: {count} files in {wall:.1f} s with {args.graders} grader process(es) = {count / wall:.2f} files/s; "
          f"CPU {cpu_total:.1f} s (job {own:.1f} s + checker children {kids:.1f} s) = "
          f"{count / cpu_total if cpu_total else 0:.2f} files per CPU-second (one core)", flush=True)
    problems = verify(uploaders)
    print(f"verified: {len(problems)} problem(s)", flush=True)
    for p in problems[:10]:
        print("  ", p)
    print(f"other errors: {len(stats.errors) - len([e for e in stats.errors if ' upload' in e])}")
    load = os.getloadavg()
    print(f"machine: {os.cpu_count()} cores, load average now {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}")
    if not args.keep:
        exam_day.drop_database(args.pg, args.database)


if __name__ == "__main__":
    main()
