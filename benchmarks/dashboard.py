"""Dashboard figures at city scale: time department_figures and unfinished_staff for an admin (whole
city) and an officer (one bureau), and the dashboard page over HTTP (in-process test client).

Usage:
    createdb bench20k
    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/bench20k flask --app app db upgrade
    DATABASE_URL=... flask --app app demo --staff 20000 --quiet
    DATABASE_URL=... python benchmarks/dashboard.py [--repeat 20]
Prints median and max milliseconds per call.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def timed(fn, repeat: int) -> tuple[float, float]:
    """(median ms, max ms) of ``repeat`` calls after one warm-up call."""
    fn()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples), max(samples)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()

    import re

    from sqlalchemy import func, select

    from app import create_app
    from app.auth.models import User
    from app.core.time import local_today
    from app.extensions import db
    from app.org.models import Department
    from app.rollout.services import department_figures, flatten, plans_for, unfinished_staff
    from config import DevelopmentConfig

    DevelopmentConfig.RATELIMIT_ENABLED = False
    app = create_app(DevelopmentConfig)
    with app.app_context():
        staff = db.session.execute(select(func.count(User.id))).scalar_one()
        departments = db.session.execute(select(func.count(Department.id))).scalar_one()
        today = local_today()
        print(f"{staff} staff, {departments} departments, {db.engine.dialect.name}")
        for number in ("admin", "officer"):
            user = db.session.execute(select(User).where(User.staff_number == number)).scalar_one()
            plan = plans_for(user)[0]
            rows = flatten(department_figures(plan, user, today))
            med, worst = timed(lambda: department_figures(plan, user, today), args.repeat)
            print(f"department_figures  {number:<8} {len(rows):>4} rows   median {med:7.1f} ms   max {worst:7.1f} ms")
            root = rows[0].department.id
            med, worst = timed(lambda: unfinished_staff(plan, user, root, today, limit=101), args.repeat)
            print(f"unfinished_staff    {number:<8} first page   median {med:7.1f} ms   max {worst:7.1f} ms")
    client = app.test_client()
    for number in ("admin", "officer"):
        client.get("/login")
        page = client.get("/login").get_data(as_text=True)
        token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
        client.post("/login", data={"staff_number": number, "password": "demo12345", "csrf_token": token})
        med, worst = timed(lambda: client.get("/dashboard/"), args.repeat)
        print(f"GET /dashboard/     {number:<8}              median {med:7.1f} ms   max {worst:7.1f} ms")
        client.post("/logout", data={"csrf_token": token})


if __name__ == "__main__":
    main()
