"""Organisation import at city scale: time `import_departments` and `import_staff` (new staff with the
default password, then the same file again, which changes nothing) on an empty, migrated database.

Usage:
    DATABASE_URL=sqlite:////tmp/bench-org.db flask --app app db upgrade
    DATABASE_URL=sqlite:////tmp/bench-org.db python benchmarks/org_import.py [--staff 20000]
(or a PostgreSQL URL). Writes the generated CSV files to a temporary folder, commits each import,
and prints seconds per step, each step in a fresh session as the CLI runs it. Run it on an empty database: the staff numbers are fixed.
"""
from __future__ import annotations

import argparse
import csv
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def write_files(folder: Path, staff: int, bureaus: int = 40, divisions: int = 4) -> tuple[Path, Path, int]:
    """A city root, ``bureaus`` bureaus with ``divisions`` divisions each, and ``staff`` staff spread
    over the divisions. Returns (departments.csv, staff.csv, department count)."""
    departments = folder / "departments.csv"
    codes = []
    with departments.open("w", encoding="utf-8", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["code", "name", "parent_code"])
        out.writerow(["BENCH", "基准市", ""])
        for b in range(bureaus):
            out.writerow([f"B{b:02d}", f"第{b + 1}局", "BENCH"])
            for d in range(divisions):
                code = f"B{b:02d}-D{d}"
                out.writerow([code, f"第{d + 1}处", f"B{b:02d}"])
                codes.append(code)
    people = folder / "staff.csv"
    with people.open("w", encoding="utf-8", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["staff_number", "name", "department_code", "position", "grade"])
        for n in range(staff):
            out.writerow([f"9{n:06d}", f"职员{n}", codes[n % len(codes)], "科员", "科员级"])
    return departments, people, 1 + bureaus * (1 + divisions)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--staff", type=int, default=20000)
    args = parser.parse_args()

    from app import create_app
    from app.core.cli import refresh_statistics
    from app.extensions import db
    from app.org.imports import import_departments, import_staff
    from config import DevelopmentConfig

    app = create_app(DevelopmentConfig)
    with app.app_context(), tempfile.TemporaryDirectory() as tmp:
        departments, people, count = write_files(Path(tmp), args.staff)
        print(f"{args.staff} staff, {count} departments, {db.engine.dialect.name}")
        for label, run in (
            ("import-departments (new)", lambda: import_departments(departments)),
            ("import-staff (new, default password)", lambda: import_staff(people, default_password="chushi-2026")),
            ("import-staff (same file again)", lambda: import_staff(people, default_password="chushi-2026")),
        ):
            started = time.perf_counter()
            summary = run()
            db.session.commit()
            refresh_statistics("department", "department_closure", "user", "officer_scope")  # as the CLI does
            seconds = time.perf_counter() - started
            db.session.remove()  # each CLI command runs in its own process: start the next step afresh
            print(f"{label:<40} {seconds:7.2f} s   {summary.lines()[-1]}")


if __name__ == "__main__":
    main()
