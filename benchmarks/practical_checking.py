"""Cost of checking practical-task uploads in isolated child processes (issue 9; docs/performance.md).

``python benchmarks/practical_checking.py --files 36`` checks the shipped tasks' reference, starter and
sample files round-robin (``--files`` checks in all) and prints, per mode, wall seconds, CPU seconds
(this process + its children, ``resource.getrusage``) and files per CPU-second:

* ``one-shot``: ``check_in_subprocess`` per file (each starts its own checker);
* ``server`` (when ``app.practical.checking.CheckerServer`` exists): one checker server for the whole
  run, each file checked in a fresh child forked from it, as one grading job run does.

Every result is compared with ``check_file`` in this process (same fractions), so a fast wrong
checker cannot pass. Also prints the load average before and after. Not part of ``make test``.
"""
from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.practical import checking  # noqa: E402
from app.practical.tasks import load_all_tasks  # noqa: E402


def _cpu() -> float:
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _jobs(count: int):
    files = []
    for task in load_all_tasks(ROOT / "question_bank" / "tasks"):
        for path in [task.reference_file, task.starter_file] + [s.file for s in task.samples]:
            files.append((task, path.read_bytes(), path.name))
    return [files[i % len(files)] for i in range(count)]


def _run(name, jobs, check):
    """Check every job with ``check`` and compare with ``check_file``."""
    for task, data, filename in jobs:
        result = check(task, data, filename)
        expected = checking.check_file(task, data, filename)
        if result.to_dict() != expected.to_dict():
            raise SystemExit(f"{name}: {task.id}/{filename}: result differs from check_file")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=36)
    parser.add_argument("--modes", default="one-shot,server")
    args = parser.parse_args()
    jobs = _jobs(args.files)
    from flask import Flask
    from flask_babel import Babel

    app = Flask("bench")
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(ROOT / "app" / "translations")
    Babel(app)
    with app.app_context():
        begin = time.perf_counter(), _cpu()
        for task, data, filename in jobs:
            checking.check_file(task, data, filename)
        in_process_cpu = _cpu() - begin[1]
        print(f"load average before: {os.getloadavg()[0]:.2f}; files: {len(jobs)}; in-process check_file "
              f"{in_process_cpu:.2f} CPU-s ({len(jobs) / in_process_cpu:.1f} files/CPU-s)")
        for mode in args.modes.split(","):
            # CPU of children counts once they are waited for: measured after the server has stopped
            start_wall, start_cpu = time.perf_counter(), _cpu()
            if mode == "one-shot":
                _run(mode, jobs, lambda t, d, f: checking.check_in_subprocess(t, d, filename=f))
            elif mode == "server":
                if not hasattr(checking, "CheckerServer"):
                    print("server: not available in this version")
                    continue
                with checking.CheckerServer() as server:
                    _run(mode, jobs, lambda t, d, f: server.check(t, d, filename=f))
            else:
                raise SystemExit(f"unknown mode {mode}")
            wall = time.perf_counter() - start_wall
            cpu = _cpu() - start_cpu - in_process_cpu  # less the comparison's own check_file calls
            print(f"{mode}: {len(jobs)} files in {wall:.1f} s wall, {cpu:.2f} CPU-s "
                  f"= {len(jobs) / cpu:.2f} files/CPU-s, {wall / len(jobs) * 1000:.0f} ms wall per file")
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
