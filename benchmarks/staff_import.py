"""Staff import from an HR file at 100,000 rows: seconds and peak memory (RSS) per step.

Usage (an empty, migrated database; SQLite or PostgreSQL):
    DATABASE_URL=sqlite:////tmp/bench-staff.db flask --app app db upgrade
    DATABASE_URL=sqlite:////tmp/bench-staff.db python benchmarks/staff_import.py [--staff 100000]

Generates (in a temporary folder) 201 departments and three HR files: ``staff.csv`` (every member new,
no passwords: each gets a personal sign-in code, written to a CSV as the CLI's --codes-csv does),
``staff-next.csv`` (a month later: 10 % transferred to another division with an effective date,
1 % gone) and the same as ``staff-next.xlsx``. Each step runs in its own process, as a ``flask users
import`` command would, and reports wall seconds (read, check, write, commit, ANALYZE) and the
process's CPU seconds (user + system, which the load of a shared machine does not inflate) and
peak resident memory (``ru_maxrss``, MiB).
"""
from __future__ import annotations

import argparse
import csv
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.org_import import write_files  # noqa: E402


def write_next(folder: Path, staff: int, codes: list[str]) -> tuple[Path, Path]:
    """The next month's file: every 10th person in another division from 2026-12-01, every 100th gone."""
    import openpyxl

    header = ["staff_number", "name", "department_code", "position", "grade", "effective_date"]
    rows = []
    for n in range(staff):
        if n % 100 == 99:
            continue
        code = codes[(n + (7 if n % 10 == 0 else 0)) % len(codes)]
        rows.append([f"9{n:06d}", f"职员{n}", code, "科员", "科员级", "2026-12-01" if n % 10 == 0 else ""])
    path_csv = folder / "staff-next.csv"
    with path_csv.open("w", encoding="utf-8", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(header)
        out.writerows(rows)
    # A normal (not write-only) workbook, as Excel and WPS save them: with a <dimension> element, which
    # openpyxl's read-only mode otherwise finds by scanning the whole sheet once more.
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    path_xlsx = folder / "staff-next.xlsx"
    workbook.save(path_xlsx)
    return path_csv, path_xlsx


def step(kind: str, path: str, deactivate_missing: bool, codes_csv: str) -> None:
    """One import in this process; prints a JSON line with seconds, peak RSS and the summary."""
    from app import create_app
    from app.core.cli import refresh_statistics
    from app.extensions import db
    from app.org.cli import _hand_out_codes
    from app.org.imports import import_departments, import_staff
    from config import DevelopmentConfig

    app = create_app(DevelopmentConfig)
    with app.app_context():
        started = time.perf_counter()
        if kind == "departments":
            summary = import_departments(Path(path))
        else:
            summary = import_staff(Path(path), deactivate_missing=deactivate_missing)
        db.session.commit()
        refresh_statistics("department", "department_closure", "user", "officer_scope", "staff_transfer")
        if summary.sign_in_codes:
            _hand_out_codes(summary, Path(codes_csv))
        seconds = time.perf_counter() - started
        usage = resource.getrusage(resource.RUSAGE_SELF)
        print(json.dumps({"seconds": round(seconds, 2), "cpu": round(usage.ru_utime + usage.ru_stime, 1),
                          "rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
                          "summary": summary.lines()[1:]}, ensure_ascii=False))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--staff", type=int, default=100_000)
    parser.add_argument("--step", nargs=4, metavar=("KIND", "PATH", "DEACTIVATE", "CODES_CSV"))
    args = parser.parse_args()
    if args.step:
        kind, path, deactivate, codes_csv = args.step
        step(kind, path, deactivate == "1", codes_csv)
        return
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        departments, people, count = write_files(folder, args.staff)
        codes = [f"B{b:02d}-D{d}" for b in range(40) for d in range(4)]
        next_csv, next_xlsx = write_next(folder, args.staff, codes)
        print(f"{args.staff} staff, {count} departments; files: "
              + ", ".join(f"{p.name} {p.stat().st_size / 2**20:.1f} MiB" for p in (people, next_csv, next_xlsx)))
        for label, kind, path, deactivate in (
            ("departments (new)", "departments", departments, "0"),
            ("staff.csv: all new, sign-in codes", "staff", people, "0"),
            ("staff-next.csv: 10% transfers, 1% gone", "staff", next_csv, "1"),
            ("staff-next.xlsx: same again (no changes)", "staff", next_xlsx, "1"),
        ):
            result = subprocess.run([sys.executable, __file__, "--step", kind, str(path), deactivate,
                                     str(folder / "codes.csv")], capture_output=True, text=True, cwd=ROOT)
            if result.returncode:
                sys.exit(result.stderr)
            figures = json.loads(result.stdout.strip().splitlines()[-1])
            print(f"{label:<44} {figures['seconds']:7.2f} s wall {figures['cpu']:6.1f} s CPU {figures['rss_mib']:5d} MiB  "
                  + " / ".join(figures["summary"]))


if __name__ == "__main__":
    main()
