"""Officer dashboard at province scale (issue 7 item 10): `make bench-dashboard`.

Builds (or reuses) the large demo city on PostgreSQL — 100,000 staff in 1,000 departments with two
years of history (`flask demo --size large`) — then times, in-process with the Flask test client
(one request at a time, after one warm-up request each):

    city dashboard (admin)            GET /dashboard/
    bureau dashboard (officer)        GET /dashboard/                       (scope: one bureau)
    drill-down pages                  GET /dashboard/departments/<id>       (city root as admin, bureau as officer)
    person record                     GET /dashboard/people/<id>
and, when the code on this branch has them (looked up by endpoint or function name; otherwise a
note says they were skipped):
    trend chart                       app.rollout.trend.trend_series + forecast + app.rollout.chart.trend_svg
    skills map                        endpoint rollout.skills_page
    full XLSX export                  endpoint rollout.export_xlsx
    snapshot job                      app.rollout.trend.today_snapshot_job(today) (else take_snapshot(today))

Prints p50 / p95 / max in milliseconds over ``--repeat`` requests (default 20; the exports and the
snapshot job ``--slow-repeat`` times, default 3) and the 1-minute load average before and after
each measure, since the development machine is shared.

Usage:
    make bench-dashboard                                   # BENCH_PG, database bench_dashboard
    .venv/bin/python benchmarks/dashboard.py --rebuild     # drop and build the large demo again
    DATABASE_URL=... .venv/bin/python benchmarks/dashboard.py --no-build   # time an existing database

The database is kept afterwards (building it takes minutes) and reused when it already holds the
large demo at the current migration; ``--rebuild`` forces a fresh one.
"""
from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432"
DB_NAME = "bench_dashboard"


def percentile(samples: list[float], fraction: float) -> float:
    """Nearest-rank percentile (``fraction`` 0–1) of ``samples``."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def load() -> str:
    """The machine's 1-minute load average, as text."""
    return f"{os.getloadavg()[0]:.1f}"


def head_revision() -> str:
    """The migration head of this checkout."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(ROOT / "migrations"))
    return ScriptDirectory.from_config(config).get_current_head()


def database_state(url: str) -> str | None:
    """None if ``url`` holds the large demo (≥ 100,000 staff, ≥ 1,000 departments) at the head
    migration; ``"missing"`` if the database cannot be reached or has no tables; otherwise why not."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            version = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
            staff = conn.execute(text('SELECT count(*) FROM "user"')).scalar()
            departments = conn.execute(text("SELECT count(*) FROM department")).scalar()
    except Exception as exc:  # noqa: BLE001 - no database, no tables
        print(f"{DB_NAME}: not usable ({type(exc).__name__}: {str(exc).splitlines()[0][:120]})")
        return "missing"
    finally:
        engine.dispose()
    if version != head_revision() or staff < 100_000 or departments < 1000:
        return f"migration {version} (head {head_revision()}), {staff} staff, {departments} departments"
    return None


def build(base: str, url: str, staff: int | None) -> None:
    """Drop and create the database, migrate, build the large demo, ANALYZE. Prints the times."""
    import psycopg

    plain = base.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(f"{plain}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DB_NAME}"')
    env = dict(os.environ, DATABASE_URL=url, FLASK_APP="app")
    flask = str(ROOT / ".venv" / "bin" / "flask")
    subprocess.run([flask, "db", "upgrade"], env=env, cwd=ROOT, check=True, capture_output=True)
    started = time.perf_counter()
    command = [flask, "demo", "--size", "large", "--quiet"] + (["--staff", str(staff)] if staff else [])
    result = subprocess.run(["/usr/bin/time", "-f", "%e s wall, %U s user, %M KiB max RSS"] + command,
                            env=env, cwd=ROOT, capture_output=True, text=True)
    if result.returncode:
        sys.exit(result.stderr)
    print(f"flask demo --size large: {time.perf_counter() - started:.0f} s ({result.stderr.strip().splitlines()[-1]}), "
          f"load {load()}")
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
        started = time.perf_counter()
        conn.execute("ANALYZE")
        print(f"ANALYZE: {time.perf_counter() - started:.1f} s")


def measure(label: str, fn, repeat: int) -> None:
    """Run ``fn`` once to warm up, then ``repeat`` times; print p50 / p95 / max ms and the load."""
    before = load()
    fn()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    print(f"{label:<44} n={repeat:<3} p50 {statistics.median(samples):8.1f}  p95 {percentile(samples, 0.95):8.1f}  "
          f"max {max(samples):8.1f} ms   load {before}→{load()}", flush=True)


def get(client, url: str):
    """A GET that must answer 200 (a benchmark of error pages would be worthless)."""
    def call():
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        response.get_data()
    return call


def run(args) -> None:
    import re

    from sqlalchemy import func, select, text

    from app import create_app
    from app.auth.models import User
    from app.core.time import local_today
    from app.extensions import db
    from app.org.models import Department
    from app.rollout.services import department_figures, flatten, plans_for
    from config import DevelopmentConfig

    DevelopmentConfig.RATELIMIT_ENABLED = False
    app = create_app(DevelopmentConfig)
    with app.app_context():
        staff = db.session.execute(select(func.count(User.id))).scalar_one()
        departments = db.session.execute(select(func.count(Department.id))).scalar_one()
        print(f"{staff} staff, {departments} departments, {db.engine.dialect.name}; load {load()}; "
              f"{os.cpu_count()} CPUs", flush=True)
        admin = db.session.execute(select(User).where(User.staff_number == "admin")).scalar_one()
        officer = db.session.execute(select(User).where(User.staff_number == "officer")).scalar_one()
        plan = plans_for(admin)[0]  # the city-wide plan (newest start; the pilot plan is older)
        today = local_today()
        city_rows = flatten(department_figures(plan, admin, today))
        city_id = city_rows[0].department.id
        bureau_id = flatten(department_figures(plan, officer, today))[0].department.id
        person_id = db.session.execute(select(User.id).where(User.department_id.is_not(None), User.active.is_(True))
                                       .order_by(User.id).offset(staff // 2).limit(1)).scalar_one()
        plan_id = plan.id
        endpoints = {rule.endpoint: rule.rule for rule in app.url_map.iter_rules()}

    def login(number: str):
        client = app.test_client()
        page = client.get("/login").get_data(as_text=True)
        token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
        assert client.post("/login", data={"staff_number": number, "password": "demo12345",
                                           "csrf_token": token}).status_code == 302
        return client

    try:
        from app.rollout import chart, trend
    except ImportError:
        trend = None
    if trend is not None and hasattr(trend, "backfill"):
        # The trend chart and forecast read the last 28 days of snapshots: rebuild them once (kept).
        with app.app_context():
            from app.rollout.models import DepartmentSnapshot
            start = today - dt.timedelta(days=28)
            have = db.session.execute(select(func.count(func.distinct(DepartmentSnapshot.day))).where(
                DepartmentSnapshot.day >= start, DepartmentSnapshot.day < today)).scalar_one()
            if have < 28:
                started = time.perf_counter()
                trend.backfill(start, today - dt.timedelta(days=1))
                db.session.commit()
                print(f"backfill of the snapshots of {start} … {today - dt.timedelta(days=1)}: "
                      f"{time.perf_counter() - started:.0f} s, load {load()}", flush=True)
            db.session.remove()
    if trend is not None and hasattr(trend, "today_snapshot_job"):
        # What the scheduler's rollout-today-snapshot job keeps fresh; the admin's pages serve it.
        with app.app_context():
            started = time.perf_counter()
            rows = trend.today_snapshot_job()
            db.session.commit()
            print(f"today's snapshot (rollout-today-snapshot job): {rows} rows, "
                  f"{(time.perf_counter() - started) * 1000:.0f} ms, load {load()}", flush=True)
            # What autovacuum's ANALYZE does soon after 100,000 new rows; done here so the timings
            # below do not depend on when it happens to run.
            db.session.execute(text("ANALYZE rollout_snapshot"))
            if hasattr(trend, "take_people"):
                db.session.execute(text("ANALYZE rollout_person_snapshot"))
            db.session.commit()
            db.session.remove()

    as_admin, as_officer = login("admin"), login("officer")
    q = f"?plan={plan_id}"
    measure("city dashboard (admin)", get(as_admin, f"/dashboard/{q}"), args.repeat)
    measure("city dashboard (admin), counted live: ?live=1", get(as_admin, f"/dashboard/{q}&live=1"), args.repeat)
    measure("bureau dashboard (officer)", get(as_officer, f"/dashboard/{q}"), args.repeat)
    measure("drill-down, city root (admin)", get(as_admin, f"/dashboard/departments/{city_id}{q}"), args.repeat)
    measure("drill-down, city root (admin), counted live: ?live=1",
            get(as_admin, f"/dashboard/departments/{city_id}{q}&live=1"), args.repeat)
    measure("drill-down, bureau (officer)", get(as_officer, f"/dashboard/departments/{bureau_id}{q}"), args.repeat)
    measure("drill-down, city, everyone by department, p.2",
            get(as_admin, f"/dashboard/departments/{city_id}{q}&status=all&sort=department&page=2"), args.repeat)
    measure("person record (admin)", get(as_admin, f"/dashboard/people/{person_id}{q}"), args.repeat)

    if trend is not None and hasattr(trend, "trend_series"):
        def trend_chart():
            with app.app_context():
                p = db.session.get(type(plan), plan_id)
                points = trend.trend_series(p, [city_id], today, (city_rows[0].eligible, city_rows[0].certified))
                chart.trend_svg(p, points, trend.forecast(p, today, points), scope="city")
                db.session.remove()
        measure("trend chart, city (series + forecast + SVG)", trend_chart, args.repeat)
    else:
        print("trend chart: skipped (no app.rollout.trend.trend_series on this branch)")
    if "rollout.skills_page" in endpoints:
        measure("skills map, city (admin)", get(as_admin, f"{endpoints['rollout.skills_page']}{q}"), args.repeat)
    else:
        print("skills map: skipped (no endpoint rollout.skills_page on this branch)")
    if "rollout.export_xlsx" in endpoints:
        measure("full XLSX export (admin)", get(as_admin, f"{endpoints['rollout.export_xlsx']}{q}"), args.slow_repeat)
    else:
        print("full XLSX export: skipped (no endpoint rollout.export_xlsx on this branch)")
    if trend is not None and hasattr(trend, "take_snapshot"):
        def snapshot():
            with app.app_context():
                if hasattr(trend, "today_snapshot_job"):
                    trend.today_snapshot_job(today)  # today's department and person snapshots
                else:
                    trend.take_snapshot(today)
                db.session.commit()
                db.session.remove()
        measure("snapshot job (today_snapshot_job, every plan)", snapshot, args.slow_repeat)
    else:
        print("daily snapshot job: skipped (no app.rollout.trend.take_snapshot on this branch)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=20, help="timed requests per page (default 20)")
    parser.add_argument("--slow-repeat", type=int, default=3, help="timed runs of the export and snapshot (default 3)")
    parser.add_argument("--rebuild", action="store_true", help="drop and build the large demo even if present")
    parser.add_argument("--no-build", action="store_true", help="time DATABASE_URL as it is")
    parser.add_argument("--staff", type=int, default=None, help="staff for the build (default 100,000)")
    args = parser.parse_args()
    if not args.no_build:
        base = os.environ.get("BENCH_PG", DEFAULT_PG).rstrip("/")
        url = f"{base}/{DB_NAME}"
        state = None if args.rebuild else database_state(url)
        if args.rebuild or state == "missing":
            build(base, url, args.staff)
        elif state is not None:  # never drop a database with data in it unless asked to
            sys.exit(f"{DB_NAME} holds something else ({state}); run with --rebuild to replace it")
        else:
            print(f"reusing {DB_NAME} (large demo at migration {head_revision()}; --rebuild to build again)")
        os.environ["DATABASE_URL"] = url
    run(args)


if __name__ == "__main__":
    main()
