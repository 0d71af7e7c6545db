"""The checker server behind ``checking.CheckerServer`` (and so ``check_in_subprocess``):
``python -m app.practical.worker serve``.

It imports Flask, Flask-Babel, python-docx, openpyxl, python-pptx and the rule modules ONCE, prints
``ready``, then serves checks one at a time over its stdin/stdout. For each check it forks a fresh
child, which limits itself before it unpickles the job: RLIMIT_AS (MEMORY_MB MiB of address space),
RLIMIT_CPU, and with NO_WRITE RLIMIT_FSIZE 0 (no file can be written); its stdin and stdout are
/dev/null, it writes the ``CheckResult`` JSON to a pipe of its own and exits. The server kills the
child after the wall-clock timeout. So every file is still checked in its own process with its own
limits (a file that crashes, loops or exhausts memory takes only its own child down), but the
interpreter start and the imports (1.5–3 s of CPU, nearly all the cost of a check) are paid once per
server instead of once per file. The server itself never unpickles or parses a job: it only moves
bytes, forks and waits; it has no threads, so forking is safe.

Protocol (binary, one check at a time):

* parent → server: ``b"<payload bytes> <memory MiB> <cpu seconds> <timeout ms> <no_write 0|1>\\n"``
  then the payload: pickle of ``(task, data, filename, max_upload_bytes)``.
* server → parent: ``b"R <n>\\n"`` and n bytes of result JSON; ``b"T 0\\n"`` (the child was killed
  at the timeout); ``b"C <code>\\n"`` (the child crashed: exit status, signal, or no result).

The server exits on end of input (its parent closed the pipe or died).

A bare Flask app with Flask-Babel (no database, no blueprints) renders the refusal messages in both
languages from the project's catalogs and carries ``PRACTICAL_MAX_UPLOAD_BYTES`` from the parent.
"""
from __future__ import annotations

import json
import os
import pickle
import resource
import select
import signal
import sys
import time
from pathlib import Path

# Imported before any limit is applied: the limits bound the work on the upload itself.
from flask import Flask
from flask_babel import Babel

from app.practical.checking import check_file
from app.practical.documents import open_document  # noqa: F401  (and with it the rule modules)

#: Longest header line the server reads (bytes); anything longer is a protocol error.
HEADER_MAX = 200


def limit_self(memory_mb: int, cpu_seconds: int, no_write: bool) -> None:
    """Apply the resource limits to this process (before any upload byte is parsed)."""
    memory = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))
    if no_write:
        resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))


def _app() -> Flask:
    app = Flask("practical_worker")
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(Path(__file__).resolve().parent.parent / "translations")
    Babel(app)
    return app


def _warm_up(app: Flask) -> None:
    """Before serving: load both catalogs (Flask-Babel caches them per domain) and open an empty
    document of each kind (the libraries import parts of themselves on first use), then freeze the
    garbage collector's objects (``gc.freeze``), so each forked child starts with all of this in
    memory shared with the server instead of doing it again."""
    import gc
    import io

    from docx import Document
    from flask_babel import force_locale, gettext
    from openpyxl import Workbook
    from pptx import Presentation

    with app.app_context():
        for locale in ("zh_CN", "en"):
            with force_locale(locale):
                gettext("Choose a file to upload.")
    for kind, make in (("docx", Document), ("xlsx", Workbook), ("pptx", Presentation)):
        out = io.BytesIO()
        make().save(out)
        open_document(kind, out.getvalue())
    gc.collect()
    gc.freeze()


def _check(app: Flask, payload: bytes) -> bytes:
    """Unpickle one job and check it; the result as JSON bytes."""
    task, data, filename, max_bytes = pickle.loads(payload)  # noqa: S301  # nosec B301 - our parent
    app.config["PRACTICAL_MAX_UPLOAD_BYTES"] = max_bytes
    with app.app_context():
        result = check_file(task, data, filename)
    return json.dumps(result.to_dict(), ensure_ascii=False).encode("utf-8")


def _read_exactly(stream, size: int) -> bytes | None:
    chunks, left = [], size
    while left:
        chunk = stream.read(left)
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _child(app: Flask, payload: bytes, write_fd: int, memory_mb: int, cpu_seconds: int, no_write: bool) -> None:
    """In the forked child: detach from the protocol pipes, limit, check, write the result, exit."""
    code = 1
    try:
        null = os.open(os.devnull, os.O_RDWR)
        os.dup2(null, 0)
        os.dup2(null, 1)
        limit_self(memory_mb, cpu_seconds, no_write)
        out = _check(app, payload)
        view = memoryview(out)
        while view:
            view = view[os.write(write_fd, view):]
        code = 0
    except BaseException:  # noqa: BLE001 - any failure is "crashed" for the parent
        code = 1
    finally:
        os._exit(code)


def _run_one(app: Flask, payload: bytes, memory_mb: int, cpu_seconds: int, timeout_s: float,
             no_write: bool) -> bytes:
    """Fork a child for one job and wait for it at most ``timeout_s``; the response line (+ body)."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        _child(app, payload, write_fd, memory_mb, cpu_seconds, no_write)
    os.close(write_fd)
    deadline = time.monotonic() + timeout_s
    chunks, timed_out = [], False
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                timed_out = True
                break
            ready, _, _ = select.select([read_fd], [], [], left)
            if not ready:
                timed_out = True
                break
            chunk = os.read(read_fd, 65536)
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(read_fd)
    if timed_out:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        os.waitpid(pid, 0)
        return b"T 0\n"
    _, status = os.waitpid(pid, 0)
    body = b"".join(chunks)
    if os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0 and body:
        return b"R %d\n" % len(body) + body
    code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else -os.WTERMSIG(status)
    return b"C %d\n" % code


def serve() -> int:
    """The server loop (see the module docstring). Returns the exit code."""
    app = _app()
    _warm_up(app)
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    stdout.write(b"ready\n")
    stdout.flush()
    while True:
        header = stdin.readline(HEADER_MAX)
        if not header:
            return 0
        try:
            size, memory_mb, cpu_seconds, timeout_ms, no_write = (int(x) for x in header.split())
        except ValueError:
            return 2
        payload = _read_exactly(stdin, size)
        if payload is None:
            return 0
        stdout.write(_run_one(app, payload, memory_mb, cpu_seconds, timeout_ms / 1000, no_write == 1))
        stdout.flush()


def main(argv: list[str]) -> int:
    """``serve`` (the only command); returns the exit code."""
    if argv != ["serve"]:
        sys.stderr.write("usage: python -m app.practical.worker serve\n")
        return 2
    return serve()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
