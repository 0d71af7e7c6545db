"""Checking an uploaded file against a task's rules.

``check_file(task, data)`` runs in the calling process (tests, the CLI); ``check_in_subprocess(task,
data)`` runs the same in a child Python process with an address-space limit and a wall-clock timeout,
which is what the exam grader (scheduler/finalise, never a web request) must call.

Score: ``points_awarded`` = sum of the passed rules' points, ``fraction`` = awarded ÷ ``points_possible``
(0–1). An upload refused by ``inspect_upload`` or a file the libraries cannot open scores 0 with a
single rule result ``rule_id="file"`` explaining why.
"""
from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
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
    detail in both languages). Never raises for bad files.
    """
    try:
        inspect_upload(data, filename or task.download_name, task.kind)
    except UploadRefused as exc:
        en = _render(exc.message, "en")
        zh = _render(exc.message, "zh_CN")
        return not_checked(task, exc.code, zh, en)
    try:
        doc = open_document(task.kind, data)
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


def check_in_subprocess(task: Task, data: bytes, timeout_s: float = 20, memory_mb: int = 512,
                        filename: str = "") -> CheckResult:
    """``check_file`` in a separate Python process (``python -m app.practical.worker``) limited to
    ``memory_mb`` MiB of address space (RLIMIT_AS), ``timeout_s`` seconds of wall time (then killed)
    and as many CPU seconds; it writes no files. The child sets its own limits (``setrlimit``) before
    it reads the upload, so no ``preexec_fn`` runs in this process (unsafe with threads, and the
    scheduler runs jobs in threads).

    The task and bytes go to the child's stdin (pickle, parent → child only); the result comes back
    as JSON. A timeout gives a zero ``CheckResult`` with ``refused_code="timeout"`` and one ``file``
    rule "the file could not be checked in time"; a crash, a memory error or unreadable output gives
    ``refused_code="crashed"`` ("the file could not be checked"). Both score 0 with a plain reason
    for the review; as they may come from the machine (load, a killed process) rather than the file,
    a grader may retry them once before keeping the result. Every other ``refused_code`` (an
    ``UploadRefused`` code or "unreadable") is about the file and final.
    """
    payload = pickle.dumps((task, data, filename, max_upload_bytes()))
    env = {k: v for k, v in os.environ.items()
           if k in ("PATH", "LANG", "LC_ALL", "PYTHONPATH", "HOME", "PRACTICAL_LIBREOFFICE_RECALC")}
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    try:
        proc = subprocess.run([sys.executable, "-m", "app.practical.worker", str(int(memory_mb)),
                               str(int(timeout_s) + 1), "0" if recalc_enabled() else "1"],
                              input=payload, capture_output=True, timeout=timeout_s, env=env, cwd=root, check=False)
    except subprocess.TimeoutExpired:
        return not_checked(task, "timeout", f"文件在 {timeout_s:g} 秒内未能检查完毕，无法评分",
                           f"the file could not be checked within {timeout_s:g} seconds")
    if proc.returncode != 0:
        return not_checked(task, "crashed", "文件无法检查（检查程序异常退出），无法评分",
                           "the file could not be checked (the checker stopped)")
    try:
        return CheckResult.from_dict(json.loads(proc.stdout.decode("utf-8")))
    except (ValueError, KeyError, TypeError):
        return not_checked(task, "crashed", "文件无法检查，无法评分", "the file could not be checked")
