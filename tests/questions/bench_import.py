"""Benchmark: import N generated questions with `flask questions import` and report time and peak RSS.

Not part of the test suite (no ``test_`` prefix). Usage, from the repository root::

    .venv/bin/python tests/questions/bench_import.py --n 100000 --format gift \
        --database-url sqlite:////tmp/bench.db
    .venv/bin/python tests/questions/bench_import.py --n 100000 --format xml \
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/h_questions

The database is emptied and migrated first (PostgreSQL: the public schema is dropped!). Prints the
file size, the wall time of the import command and the peak resident set size of that process
(``getrusage(RUSAGE_CHILDREN).ru_maxrss``, KiB on Linux).
"""
from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def generate(n: int, fmt: str, path: Path) -> None:
    """Write ``n`` questions (mixed types for GIFT and XML, single choice for Aiken) to ``path``."""
    from app.questions.formats import write
    from app.questions.portable import ParsedQuestion

    def questions():
        for i in range(n):
            kind = i % 4 if fmt != "aiken" else 0
            common = dict(line=0, name=f"Q{i}", stem=f"第 {i} 题：下列哪一项正确？", stem_format="plain",
                          idnumber=None if fmt == "aiken" else f"B-{i}", category=f"Bench/{i // 10000}",
                          tags=[] if fmt == "aiken" else ["difficulty:" + ("easy", "medium", "hard")[i % 3]])
            if fmt == "aiken":
                common["category"] = ""
            if kind == 0:
                yield ParsedQuestion(qtype="single_choice", spec={"options": [
                    {"id": c, "text": f"选项 {c} {i}", "format": "plain", "fraction": 1.0 if c == "a" else 0.0,
                     "feedback": ""} for c in "abcd"]}, **common)
            elif kind == 1:
                yield ParsedQuestion(qtype="true_false", spec={"answer": bool(i % 2), "feedback_right": "",
                                                               "feedback_wrong": ""}, **common)
            elif kind == 2:
                yield ParsedQuestion(qtype="short_answer", spec={"answers": [
                    {"text": f"答案{i}", "fraction": 1.0, "feedback": ""}], "case_sensitive": False}, **common)
            else:
                yield ParsedQuestion(qtype="numerical", spec={"answers": [
                    {"value": float(i), "tolerance": 0.5, "fraction": 1.0, "feedback": ""}], "units": [],
                    "unit_required": False}, **common)

    with path.open("w", encoding="utf-8") as fh:
        for piece in write(fmt, questions()):
            fh.write(piece)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--format", default="gift", choices=["gift", "aiken", "xml"])
    parser.add_argument("--database-url", required=True)
    args = parser.parse_args()
    env = dict(os.environ, DATABASE_URL=args.database_url, CIVICSKILLS_ENV="development")
    flask = [str(ROOT / ".venv/bin/flask"), "--app", "app"]
    if args.database_url.startswith("postgresql"):
        import sqlalchemy as sa

        engine = sa.create_engine(args.database_url)
        with engine.begin() as conn:
            conn.execute(sa.text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(sa.text("CREATE SCHEMA public"))
        engine.dispose()
    elif args.database_url.startswith("sqlite:///"):
        Path(args.database_url[len("sqlite:///"):]).unlink(missing_ok=True)
    subprocess.run(flask + ["db", "upgrade"], env=env, check=True, capture_output=True, cwd=ROOT)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"bench.{args.format}"
        generate(args.n, args.format, path)
        size = path.stat().st_size
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        before, cpu_before = usage.ru_maxrss, usage.ru_utime + usage.ru_stime
        started = time.perf_counter()
        done = subprocess.run(flask + ["questions", "import", str(path), "--format", args.format],
                              env=env, capture_output=True, text=True, cwd=ROOT)
        elapsed = time.perf_counter() - started
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        peak, cpu = usage.ru_maxrss, usage.ru_utime + usage.ru_stime - cpu_before
    print(done.stdout.strip() or done.stderr.strip()[-2000:])
    engine_name = args.database_url.split(":", 1)[0]
    print(f"{args.n} questions, {args.format}, {size / 1e6:.1f} MB, {engine_name}: {elapsed:.1f} s wall, {cpu:.1f} s CPU of the import process, "
          f"peak RSS {peak / 1024:.0f} MiB (migration step before it: {before / 1024:.0f} MiB; exit {done.returncode})")
    return done.returncode


if __name__ == "__main__":
    sys.exit(main())
