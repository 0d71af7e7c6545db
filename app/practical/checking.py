"""Checking an uploaded file against a task's rules.

``check_file(task, data)`` runs in the calling process (tests, the CLI); ``CheckerServer.check`` runs
the same in a child process of its own with an address-space limit and a wall-clock timeout, forked
from a warm checker server that one grading job run keeps for all its files, which is what the exam
grader (scheduler/finalise, never a web request) must call; ``check_in_subprocess(task, data)`` is
one such check with a server of its own.

Score: ``points_awarded`` = sum of the passed rules' points, ``fraction`` = awarded ÷ ``points_possible``
(0–1). An upload refused by ``inspect_upload`` or a file the libraries cannot open scores 0 with a
single rule result ``rule_id="file"`` explaining why.
"""
from __future__ import annotations

import json
import os
import pickle
import select
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field

from flask import has_app_context
from flask_babel import force_locale

from app.practical.documents import open_document
from app.practical.recalc import enabled as recalc_enabled
from app.practical.rules import RuleResult
from app.practical.safety import UploadRefused, inspect_upload, max_upload_bytes
from app.practical.tasks import Task

#: rule_id of the single result given when the file itself could not be checked
FILE_RULE_ID = "file"


@dataclass
class CheckResult:
    """Outcome of checking one file: ``fraction`` 0–1, ``points_awarded`` (float, sum of the passed
    rules' points), ``points_possible`` (the task's points), ``rules`` one ``RuleResult`` per task rule
    in task order, or a single ``rule_id="file"`` result when the file could not be checked
    (``refused_code`` then holds the ``UploadRefused`` code, "unreadable", "timeout" or "crashed")."""

    fraction: float
    points_awarded: float
    points_possible: int
    rules: list[RuleResult] = field(default_factory=list)
    refused_code: str | None = None

    def passed(self, task: Task) -> bool:
        """True when the fraction reaches the task's pass_fraction."""
        return self.fraction + 1e-9 >= task.pass_fraction

    def to_dict(self) -> dict:
        """Plain JSON-able dict (store it; ``from_dict`` reads it back)."""
        return {"fraction": self.fraction, "points_awarded": self.points_awarded,
                "points_possible": self.points_possible, "refused_code": self.refused_code,
                "rules": [r.to_dict() for r in self.rules]}

    @classmethod
    def from_dict(cls, data: dict) -> "CheckResult":
        """Inverse of ``to_dict``."""
        return cls(data["fraction"], data["points_awarded"], data["points_possible"],
                   [RuleResult.from_dict(r) for r in data["rules"]], data.get("refused_code"))


def not_checked(task: Task, code: str, zh: str, en: str) -> CheckResult:
    """A zero result with one ``file`` rule saying, in plain words, why the file was not checked."""
    rule = RuleResult(FILE_RULE_ID, "文件能否打开并检查", "whether the file can be opened and checked",
                      task.points, 0.0, False, zh, en)
    return CheckResult(0.0, 0.0, task.points, [rule], code)


def check_file(task: Task, data: bytes, filename: str = "") -> CheckResult:
    """Check ``data`` (the uploaded bytes) against every rule of ``task``; see the module docstring.

    Calls ``inspect_upload`` first: a refused upload gives a zero result (``refused_code`` set,
    detail in both languages). Never raises for bad files; a MemoryError (the checker child's
    memory limit) is raised, so the child fails and the grader sees "crashed", not "unreadable".
    """
    try:
        inspect_upload(data, filename or task.download_name, task.kind)
    except UploadRefused as exc:
        en = _render(exc.message, "en")
        zh = _render(exc.message, "zh_CN")
        return not_checked(task, exc.code, zh, en)
    try:
        doc = open_document(task.kind, data)
    except MemoryError:  # the checker's memory limit, not the file's fault: the grader's "crashed"
        raise
    except Exception as exc:  # a zip that is not a valid document for the library
        return not_checked(task, "unreadable", f"文件无法打开（{type(exc).__name__}），请用 WPS 或 Office 重新保存后上传",
                           f"the file could not be opened ({type(exc).__name__}); save it again in WPS or Office")
    results = [rule.check(doc) for rule in task.rules]
    awarded = sum(r.awarded for r in results)
    return CheckResult(awarded / task.points if task.points else 0.0, awarded, task.points, results)


def _render(message, locale: str) -> str:
    """A lazy gettext message rendered in ``locale`` (needs an app context for the catalog; without
    one, the English msgid)."""
    if not has_app_context():
        return str(message)
    with force_locale(locale):
        return str(message)


class CheckerServer:
    """Checks files in isolated child processes forked from one warm checker server
    (``python -m app.practical.worker serve``, see :mod:`app.practical.worker`).

    Use as a context manager (``with CheckerServer() as server: server.check(task, data, ...)``) for
    a batch, e.g. one run of the grading job: the server process starts at the first check (its
    imports cost 1.5–3 s of CPU once) and stops at the end; each file is then checked in a fresh
    child with its own limits, at the cost of a fork and the check itself. The server runs with a
    reduced environment (no database URL or secret key: only PATH, LANG, LC_ALL, PYTHONPATH, HOME
    and PRACTICAL_LIBREOFFICE_RECALC), in a session of its own so that it and its child can be
    killed together. A server that dies, answers garbage or does not answer in time is killed and
    replaced at the next check. ``check`` may be called from several threads (one check at a time).
    """

    #: Seconds allowed for the server to start (interpreter and imports) before a check is given up.
    START_TIMEOUT = 60.0
    #: Seconds the parent waits beyond the check's own timeout (the server enforces the timeout).
    MARGIN = 10.0

    def __init__(self):
        self._proc: subprocess.Popen | None = None
        self._lock = threading.Lock()

    def __enter__(self) -> "CheckerServer":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Stop the server (end of input, then kill its session if it lingers)."""
        with self._lock:
            self._stop()

    def _stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        try:
            proc.stdin.close()
            proc.wait(timeout=2)
        except (OSError, subprocess.TimeoutExpired):
            self._kill(proc)
        finally:
            if proc.stdout:
                proc.stdout.close()

    @staticmethod
    def _kill(proc: subprocess.Popen) -> None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass

    def _start(self) -> None:
        env = {k: v for k, v in os.environ.items()
               if k in ("PATH", "LANG", "LC_ALL", "PYTHONPATH", "HOME", "PRACTICAL_LIBREOFFICE_RECALC")}
        root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        self._proc = subprocess.Popen([sys.executable, "-m", "app.practical.worker", "serve"], stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, cwd=root,
                                      start_new_session=True)
        if self._read_line(time.monotonic() + self.START_TIMEOUT) != b"ready":
            raise OSError("the checker server did not start")

    def _read_line(self, deadline: float) -> bytes:
        fd, line = self._proc.stdout.fileno(), b""
        while not line.endswith(b"\n"):
            line += self._read(fd, 1, deadline)
            if len(line) > 100:
                raise OSError("the checker server answered garbage")
        return line.rstrip(b"\n")

    @staticmethod
    def _read(fd: int, size: int, deadline: float) -> bytes:
        data = b""
        while len(data) < size:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise TimeoutError("the checker server did not answer in time")
            chunk = os.read(fd, size - len(data))
            if not chunk:
                raise OSError("the checker server stopped")
            data += chunk
        return data

    def check(self, task: Task, data: bytes, timeout_s: float = 20, memory_mb: int = 512,
              filename: str = "") -> CheckResult:
        """``check_file`` in a fresh child of the server limited to ``memory_mb`` MiB of address space
        (RLIMIT_AS), ``timeout_s`` seconds of wall time (then killed), ``int(timeout_s) + 1`` CPU
        seconds, and no file writes (unless LibreOffice recalculation is enabled). The task and bytes
        go to the child pickled (parent → child only; the child unpickles them after its limits are
        set); the result comes back as JSON.

        A timeout gives a zero ``CheckResult`` with ``refused_code="timeout"`` and one ``file`` rule
        "the file could not be checked in time"; a crash, a memory error, unreadable output or a
        server that could not be started or stopped answering gives ``refused_code="crashed"``
        ("the file could not be checked"). Both score 0 with a plain reason for the review; as they
        may come from the machine (load, a killed process) rather than the file, a grader may retry
        them before keeping the result. Every other ``refused_code`` (an ``UploadRefused`` code or
        "unreadable") is about the file and final.
        """
        payload = pickle.dumps((task, data, filename, max_upload_bytes()))
        header = b"%d %d %d %d %d\n" % (len(payload), int(memory_mb), int(timeout_s) + 1,
                                         max(1, int(timeout_s * 1000)), 0 if recalc_enabled() else 1)
        with self._lock:
            try:
                if self._proc is None or self._proc.poll() is not None:
                    self._stop()
                    self._start()
                self._proc.stdin.write(header)
                self._proc.stdin.write(payload)
                self._proc.stdin.flush()
                deadline = time.monotonic() + timeout_s + self.MARGIN
                kind, _, size = self._read_line(deadline).partition(b" ")
                body = self._read(self._proc.stdout.fileno(), int(size), deadline) if kind == b"R" else b""
            except (OSError, ValueError, TimeoutError):
                if self._proc is not None:
                    self._kill(self._proc)
                self._stop()
                kind, body = b"C", b""
        if kind == b"T":
            return not_checked(task, "timeout", f"文件在 {timeout_s:g} 秒内未能检查完毕，无法评分",
                               f"the file could not be checked within {timeout_s:g} seconds")
        try:
            if kind == b"R":
                return CheckResult.from_dict(json.loads(body.decode("utf-8")))
        except (ValueError, KeyError, TypeError):
            pass
        return not_checked(task, "crashed", "文件无法检查（检查程序异常退出），无法评分",
                           "the file could not be checked (the checker stopped)")


def check_in_subprocess(task: Task, data: bytes, timeout_s: float = 20, memory_mb: int = 512,
                        filename: str = "") -> CheckResult:
    """One check in an isolated child process: a :class:`CheckerServer` started for this one file
    (so it pays the interpreter start and imports, 1.5–3 s of CPU) and stopped after it. Same limits
    and results as :meth:`CheckerServer.check`; for several files use one server for all of them.
    Call it from the scheduler or a grading job, never inside a web request."""
    with CheckerServer() as server:
        return server.check(task, data, timeout_s, memory_mb, filename)
