"""Child process of ``checking.check_in_subprocess``: ``python -m app.practical.worker MEMORY_MB
CPU_SECONDS NO_WRITE`` first limits itself (RLIMIT_AS to MEMORY_MB MiB, RLIMIT_CPU, and with NO_WRITE=1
RLIMIT_FSIZE 0: no file can be written), then reads a pickled ``(task, data, filename,
max_upload_bytes)`` from stdin, checks the file and writes the ``CheckResult`` as JSON to stdout
(exit code 0 on success).

A bare Flask app with Flask-Babel (no database, no blueprints) renders the refusal messages in both
languages from the project's catalogs and carries ``PRACTICAL_MAX_UPLOAD_BYTES`` from the parent.
"""
from __future__ import annotations

import json
import pickle
import resource
import sys
from pathlib import Path

# Imported before the limits are applied (main): the limits bound the work on the upload itself.
from flask import Flask
from flask_babel import Babel

from app.practical.checking import check_file
from app.practical.documents import open_document  # noqa: F401  (and with it the rule modules)


def limit_self(memory_mb: int, cpu_seconds: int, no_write: bool) -> None:
    """Apply the resource limits to this process (before any upload byte is read)."""
    memory = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))
    if no_write:
        resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))


def main(argv: list[str]) -> int:
    """Limit this process, read the job from stdin, write the result to stdout; returns the exit code."""
    memory_mb, cpu_seconds, no_write = int(argv[0]), int(argv[1]), argv[2] == "1"
    limit_self(memory_mb, cpu_seconds, no_write)
    task, data, filename, max_bytes = pickle.loads(sys.stdin.buffer.read())  # noqa: S301  # nosec B301 - our parent
    app = Flask("practical_worker")
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(Path(__file__).resolve().parent.parent / "translations")
    app.config["PRACTICAL_MAX_UPLOAD_BYTES"] = max_bytes
    Babel(app)
    with app.app_context():
        result = check_file(task, data, filename)
    sys.stdout.write(json.dumps(result.to_dict(), ensure_ascii=False))
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
