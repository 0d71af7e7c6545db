"""Benchmark: issue sign-in codes to 100,000 people at once (as a 100k-staff import does) and report
time and Python heap peak (tracemalloc) on a temporary SQLite database.

    PYTHONPATH=. .venv/bin/python benchmarks/sign_in_codes.py [--people 100000]

Not part of the test suite; figures go to docs/performance.md.
"""
from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
import tracemalloc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=100_000)
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="bench-codes-")
    os.environ["CIVICSKILLS_ENV"] = "testing"
    os.environ["TEST_DATABASE_URL"] = f"sqlite:///{folder}/bench.db"
    from sqlalchemy import insert, select

    from app import create_app
    from app.auth.models import User
    from app.auth.services import issue_sign_in_codes
    from app.extensions import db
    from config import TestingConfig

    app = create_app(TestingConfig)
    with app.app_context():
        db.create_all()
        db.session.execute(insert(User), [
            {"staff_number": f"S{n:07d}", "name": f"n{n}", "active": True, "is_admin": False, "is_examiner": False,
             "must_change_password": False, "failed_logins": 0} for n in range(args.people)])
        db.session.commit()
        ids = list(db.session.execute(select(User.id)).scalars())
        tracemalloc.start()
        started = time.perf_counter()
        codes = issue_sign_in_codes(ids)
        db.session.commit()
        elapsed = time.perf_counter() - started
        current, peak = tracemalloc.get_traced_memory()
        print(f"{len(codes)} codes in {elapsed:.1f} s (under tracemalloc); Python heap peak {peak / 2**20:.1f} MiB, "
              f"{current / 2**20:.1f} MiB still held (the returned codes); process maxrss "
              f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
