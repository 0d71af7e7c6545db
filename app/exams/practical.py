"""Practical tasks in exams (issue 9): content sync of tasks into the question bank, the candidate's
upload (stored in the database with the attempt), the starter file, and the checking job that grades
uploads after submit and then finishes the attempt's grading exactly once.

The checking rules themselves live in :mod:`app.practical` (``load_task``, ``inspect_upload``,
``check_in_subprocess``); this module only decides who may upload what and when, and what happens
to the attempt.

Life of an upload (``PracticalUpload.state``):

* ``stored`` — uploaded while the attempt is open; a new upload replaces it (same row) if the page
  saw the item's current revision (the autosave rule: otherwise 409 ``conflict``).
* ``pending`` — the attempt was submitted or finalised; :func:`mark_pending` is called by
  ``grade_attempt`` when it holds the attempt as ``awaiting_grading`` ("being graded").
* ``checking`` — claimed by :func:`check_pending_uploads` with ONE conditional UPDATE (``pending →
  checking``, or a ``checking`` row whose ``claimed_at`` is older than the stale limit); the result
  is written only by the claim's owner (``claimed_at`` must still be its own).
* ``graded`` / ``failed`` — the attempt item gets its fraction and points; when no item of the
  attempt is pending any more, :func:`app.exams.grading.finalise_if_complete` totals the attempt,
  decides pass and runs the completion/certificate path once (a conditional UPDATE on the state).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import logging
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import undefer

from app.content.report import ContentError, SyncReport
from app.core.errors import DomainError
from app.core.time import utcnow
from app.exams.models import (
    AWAITING_GRADING, IN_PROGRESS, TASK_FILE_STARTER, TASK_FILE_YAML, UPLOAD_CHECKING, UPLOAD_FAILED,
    UPLOAD_GRADED, UPLOAD_PENDING, UPLOAD_STORED, Attempt, AttemptItem, Exam, PracticalTaskFile, PracticalUpload,
)
from app.extensions import db
from app.questions.models import Question, QuestionVersion
from app.standards.models import StandardItem

log = logging.getLogger(__name__)

PRACTICAL = "practical"
#: Task difficulty 1..3 as the bank's difficulty words.
DIFFICULTY_WORDS = {1: "easy", 2: "medium", 3: "hard"}
CONTENT_TYPES = {
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
}
FILENAME_MAX = 255


def max_upload_bytes() -> int:
    """Largest accepted upload in bytes: ``PRACTICAL_MAX_UPLOAD_BYTES`` (default 10 MiB), the same limit
    :func:`app.practical.safety.inspect_upload` applies."""
    from app.practical.safety import max_upload_bytes as limit

    return limit()


# --- content sync --------------------------------------------------------------------------------

def _task_stem(task) -> str:
    return f"**{task.title}**\n\n{task.instructions}"


def _task_feedback(task) -> str:
    """The explanation kept with the question: what the checker looks at, one rule a line (Chinese)."""
    lines = [f"- {getattr(rule, 'description_zh', '') or getattr(rule, 'id', '')}（{getattr(rule, 'points', '')} 分）"
             for rule in task.rules]
    return "评分要点：\n\n" + "\n".join(lines)


def sync_tasks(tasks_dir: Path, report: SyncReport, *, root: Path | None = None) -> int:
    """Create or update one practical Question per task folder under ``tasks_dir`` (``question_bank/tasks``).

    Key ``task:<id>``, type ``practical``, the task's standard item and difficulty (1/2/3 → easy/medium/
    hard), so blueprint rows with ``type: practical`` draw tasks by item. A new QuestionVersion is made
    only when the fingerprint (:func:`app.practical.tasks.fingerprint_of` task.yaml + starter) changes
    (it is the version's content hash); with it go the task.yaml and starter bytes it was computed from
    (:class:`PracticalTaskFile`, read once from disk), and the version's stem and rules come from those
    same bytes. Attempts keep the version they showed, hence its rules and starter. A current version
    without its files (made before they were kept) gets them when its fingerprint still matches.
    Tasks whose folder disappeared are retired (inactive). Returns the number of tasks read.
    All-or-nothing: raises ContentError naming each bad folder (``question_bank/tasks/<id>: ...``)
    before anything is written. Flushes.
    """
    if not tasks_dir.is_dir():
        return 0
    from app.practical.tasks import TaskFileError, fingerprint_of, load_all_tasks, read_task_files, task_from_snapshot

    try:
        loaded = load_all_tasks(tasks_dir)
        snapshots = []
        for disk_task in loaded:
            task_yaml, starter = read_task_files(disk_task)
            task = task_from_snapshot(task_yaml, disk_task.id, str(disk_task.source))
            snapshots.append((task, task_yaml, starter))
    except TaskFileError as exc:
        raise ContentError([str(exc)]) from exc
    except OSError as exc:
        raise ContentError([f"{_rel(tasks_dir, root)}: cannot read a task file ({exc})"]) from exc
    items = {code: item_id for code, item_id in db.session.execute(select(StandardItem.code, StandardItem.id))}
    errors = []
    for task, _yaml, _starter in snapshots:
        if task.standard_item not in items:
            errors.append(f"{_rel(tasks_dir / task.id, root)}: field 'standard_item': "
                          f"{task.standard_item} is not an item of any standard")
        if task.kind not in CONTENT_TYPES:
            errors.append(f"{_rel(tasks_dir / task.id, root)}: field 'kind': expected docx, xlsx or pptx")
        if task.difficulty not in DIFFICULTY_WORDS:
            errors.append(f"{_rel(tasks_dir / task.id, root)}: field 'difficulty': expected 1, 2 or 3")
    if errors:
        raise ContentError(errors)
    source = _rel(tasks_dir, root)
    for task, task_yaml, starter in snapshots:
        fingerprint = fingerprint_of(task_yaml, starter)
        spec = {"task_id": task.id, "kind": task.kind, "fingerprint": fingerprint,
                "pass_fraction": float(task.pass_fraction), "title_en": task.title_en or "",
                "instructions_en": task.instructions_en or ""}
        key = f"task:{task.id}"
        question = db.session.execute(select(Question).where(Question.key == key)).scalar_one_or_none()
        identity = {"name": task.title, "category": "tasks", "standard_item_id": items[task.standard_item],
                    "difficulty": DIFFICULTY_WORDS[task.difficulty], "qtype": PRACTICAL, "source": source,
                    "active": True}
        if question is None:
            question = Question(key=key, tags=[f"kind:{task.kind}"], **identity)
            db.session.add(question)
            db.session.flush()
            report.created("question", key)
            current = None
        else:
            current = question.current_version
            identity_changed = any(getattr(question, k) != v for k, v in identity.items())
            for k, v in identity.items():
                setattr(question, k, v)
            if current is not None and current.content_hash == fingerprint:
                if _store_task_files(current.id, task, task_yaml, starter) or identity_changed:
                    report.updated("question", key)
                else:
                    report.unchanged("question")
                continue
            report.updated("question", key)
        version = QuestionVersion(question_id=question.id, version=(current.version + 1) if current else 1,
                                  qtype=PRACTICAL, stem=_task_stem(task), stem_format="markdown", spec=spec,
                                  general_feedback=_task_feedback(task), content_hash=fingerprint)
        db.session.add(version)
        db.session.flush()
        _store_task_files(version.id, task, task_yaml, starter)
        question.current_version_id = version.id
    keep = {f"task:{t.id}" for t, _y, _s in snapshots}
    for question in db.session.execute(select(Question).where(Question.qtype == PRACTICAL,
                                                              Question.active.is_(True))).scalars():
        if question.key not in keep:
            question.active = False
            report.retired("question", question.key)
    db.session.flush()
    return len(snapshots)


def _store_task_files(version_id: int, task, task_yaml: bytes, starter: bytes) -> bool:
    """Give question version ``version_id`` its task.yaml and starter rows unless it has them already
    (a version's files never change). Returns True if rows were added. Flushes."""
    have = db.session.execute(select(func.count(PracticalTaskFile.id))
                              .where(PracticalTaskFile.question_version_id == version_id)).scalar_one()
    if have:
        return False
    for role, name, data in ((TASK_FILE_YAML, "task.yaml", task_yaml),
                             (TASK_FILE_STARTER, Path(task.starter_file).name, starter)):
        db.session.add(PracticalTaskFile(question_version_id=version_id, role=role, name=name, size=len(data),
                                         sha256=hashlib.sha256(data).hexdigest(), content=data))
    db.session.flush()
    return True


def _rel(path: Path, root: Path | None) -> str:
    return str(path.relative_to(root)) if root is not None and path.is_relative_to(root) else str(path)


def _version_file(version_id: int, role: str) -> PracticalTaskFile:
    """The question version's stored file of ``role`` with its bytes; DomainError 404 (logged) when the
    version has none (made before task files were kept and not synced since)."""
    row = db.session.execute(select(PracticalTaskFile).where(PracticalTaskFile.question_version_id == version_id,
                                                             PracticalTaskFile.role == role)
                             .options(undefer(PracticalTaskFile.content))).scalar_one_or_none()
    if row is None:
        log.error("practical question version %s has no stored %s file (run flask content sync)", version_id, role)
        raise DomainError(_("The page you asked for does not exist."), code="not_found", status=404)
    return row


def task_for_version(version: QuestionVersion):
    """The :class:`app.practical.tasks.Task` a practical question version was made from, rebuilt from
    its stored task.yaml (:class:`PracticalTaskFile`), never from the task folder: the rules an
    attempt is graded by are those of the version it showed. ``starter_file`` / ``reference_file``
    are bare names there. Raises DomainError 404 when the version has no stored files or they do not
    load (both logged)."""
    from app.practical.tasks import TaskFileError, task_from_snapshot

    row = _version_file(version.id, TASK_FILE_YAML)
    try:
        return task_from_snapshot(row.content, version.spec["task_id"], f"question_version {version.id}/task.yaml")
    except TaskFileError as exc:
        log.error("practical question version %s: stored task.yaml does not load: %s", version.id, exc)
        raise DomainError(_("The page you asked for does not exist."), code="not_found", status=404) from exc


# --- the candidate's upload ----------------------------------------------------------------------

@dataclass
class UploadResult:
    """A stored upload: ``revision`` (the item's revision now; send it with the next upload),
    ``filename``, ``size`` (bytes), ``sha256``, ``uploaded_at`` (UTC) and ``remaining_seconds``."""

    revision: int
    filename: str
    size: int
    sha256: str
    uploaded_at: dt.datetime
    remaining_seconds: int

    def as_json(self) -> dict:
        """The JSON the upload API answers with (``status`` is always ``saved``)."""
        return {"status": "saved", "revision": self.revision, "filename": self.filename, "size": self.size,
                "sha256": self.sha256, "saved_at": self.uploaded_at.isoformat(),
                "remaining_seconds": self.remaining_seconds}


_ITEM_LOOKUP = (
    select(AttemptItem.id, AttemptItem.revision, AttemptItem.response, QuestionVersion.qtype, QuestionVersion.spec,
           Attempt.deadline_at, Attempt.grace_period_seconds, Exam.navigation, Exam.questions_per_page)
    .join(Attempt, Attempt.id == AttemptItem.attempt_id)
    .join(Exam, Exam.id == Attempt.exam_id)
    .join(QuestionVersion, QuestionVersion.id == AttemptItem.question_version_id)
)


def clean_filename(filename: str | None, kind: str) -> str:
    """The uploaded file's name as shown back to the candidate: path parts, control characters and
    surrounding spaces removed, at most 255 characters, ``answer.<kind>`` when nothing is left."""
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip()
    return name[-FILENAME_MAX:] or f"answer.{kind}"


def store_upload(attempt_id: int, user_id: int, position, filename: str | None, data: bytes, revision) -> UploadResult:
    """Store (or replace) the candidate's file for the practical item at ``position`` of their attempt.

    Checks in this order, changing nothing on any refusal: the item exists in the owner's attempt
    (404) and is a practical task (400); ``data`` is at most :func:`max_upload_bytes` (413
    ``too_large``) and passes :func:`app.practical.safety.inspect_upload` for the task's kind (400
    with the refusal's translated reason); the attempt is open — state in progress and ``now <=
    deadline + grace`` — and, for sequential navigation, the item is on the page reached (one
    conditional UPDATE on the attempt row, as autosave: 409 ``time_up`` / ``sequential``); ONE
    conditional UPDATE on the item where ``revision`` still matches writes the response
    ``{"upload": {filename, size, sha256}}`` and ``revision + 1`` (otherwise 409 ``conflict``,
    unless the stored upload has the same SHA-256: a retry whose answer was lost counts as stored).
    Then the bytes are written to the item's :class:`PracticalUpload` row (inserted or replaced).
    Flushes; the caller commits.
    """
    from app.exams.services import MAX_POSITION, MAX_REVISION, SaveConflict, _whole_number, open_for_write
    from app.practical.safety import UploadRefused, inspect_upload

    position = _whole_number(position, "position", 1, MAX_POSITION)
    revision = _whole_number(revision, "revision", 0, MAX_REVISION)
    row = db.session.execute(_ITEM_LOOKUP.where(AttemptItem.attempt_id == attempt_id, Attempt.user_id == user_id,
                                                AttemptItem.position == position)).first()
    if row is None:
        raise DomainError(_("The page you asked for does not exist."), code="not_found", status=404)
    item_id, _stored_revision, stored_response, qtype, spec, deadline_at, grace, navigation, per_page = row
    if qtype != PRACTICAL:
        raise DomainError(_("This question does not take a file."), code="bad_request", status=400)
    limit = max_upload_bytes()
    if len(data) > limit:
        raise DomainError(_("The file is too large: at most %(size)s MB.", size=round(limit / 1024 / 1024, 1)),
                          code="too_large", status=413)
    kind = spec["kind"]
    name = clean_filename(filename, kind)
    try:
        inspect_upload(data, name, kind)
    except UploadRefused as exc:
        raise DomainError(str(getattr(exc, "message", None) or exc), code=getattr(exc, "code", "refused"),
                          status=400) from exc
    now = utcnow()
    open_for_write(attempt_id, user_id, position, navigation, per_page, grace, now)
    digest = hashlib.sha256(data).hexdigest()
    response = {"upload": {"filename": name, "size": len(data), "sha256": digest}}
    written = db.session.execute(
        update(AttemptItem).where(AttemptItem.id == item_id, AttemptItem.revision == revision)
        .values(response=response, revision=AttemptItem.revision + 1, answered_at=now)
        .execution_options(synchronize_session=False)).rowcount
    remaining = max(0, int((deadline_at - now).total_seconds()))
    if written != 1:
        current_response, current_revision = db.session.execute(
            select(AttemptItem.response, AttemptItem.revision).where(AttemptItem.id == item_id)).one()
        if ((current_response or {}).get("upload") or {}).get("sha256") == digest:
            upload = ((current_response or {}).get("upload") or {})
            return UploadResult(current_revision, upload.get("filename", name), len(data), digest, now, remaining)
        raise SaveConflict(current_revision, current_response, [])
    values = {"filename": name, "size": len(data), "sha256": digest, "content": data,
              "content_type": CONTENT_TYPES[kind], "uploaded_at": now, "revision": revision + 1,
              "state": UPLOAD_STORED, "claimed_at": None, "tries": 0, "graded_at": None, "fraction": None,
              "result": None, "error": None}
    replaced = db.session.execute(update(PracticalUpload).where(PracticalUpload.attempt_item_id == item_id)
                                  .values(**values).execution_options(synchronize_session=False)).rowcount
    if replaced == 0:
        db.session.add(PracticalUpload(attempt_item_id=item_id, **values))
    db.session.flush()
    return UploadResult(revision + 1, name, len(data), digest, now, remaining)


def practical_item(attempt: Attempt, position: int) -> AttemptItem:
    """The attempt's practical item at ``position``; DomainError 404 if there is none."""
    item = next((i for i in attempt.items if i.position == position), None)
    if item is None or item.question_version.qtype != PRACTICAL:
        raise DomainError(_("The page you asked for does not exist."), code="not_found", status=404)
    return item


def starter_download(attempt: Attempt, position: int) -> tuple[bytes, str, str]:
    """``(bytes, download name, content type)`` of the starter file of the practical item at
    ``position``: the copy kept with the item's question version (not the task folder). Only while the attempt is open (in progress, within deadline + grace): otherwise
    DomainError 404, as for an item that is not a practical task."""
    if attempt.state != IN_PROGRESS or attempt.is_overdue:
        raise DomainError(_("The page you asked for does not exist."), code="not_found", status=404)
    item = practical_item(attempt, position)
    version = item.question_version
    starter = _version_file(version.id, TASK_FILE_STARTER)
    kind = version.spec["kind"]
    return starter.content, f"{version.spec['task_id']}.{kind}", CONTENT_TYPES[kind]


def uploaded_file(item: AttemptItem) -> PracticalUpload | None:
    """The item's stored upload (content loaded), or None."""
    return db.session.execute(select(PracticalUpload).where(PracticalUpload.attempt_item_id == item.id)
                              .options(undefer(PracticalUpload.content))).scalar_one_or_none()


def upload_status(item_ids: list[int]) -> dict[int, PracticalUpload]:
    """Uploads (without their bytes) of the given attempt items, by item id."""
    if not item_ids:
        return {}
    return {u.attempt_item_id: u for u in db.session.execute(
        select(PracticalUpload).where(PracticalUpload.attempt_item_id.in_(item_ids))).scalars()}


# --- after submit: the checking job --------------------------------------------------------------

def checking_count(attempt_id: int) -> int:
    """Uploads of the attempt still waiting for (or under) a check: the attempt is "being graded"."""
    return db.session.execute(
        select(func.count(PracticalUpload.id)).join(AttemptItem, AttemptItem.id == PracticalUpload.attempt_item_id)
        .where(AttemptItem.attempt_id == attempt_id,
               PracticalUpload.state.in_((UPLOAD_PENDING, UPLOAD_CHECKING)))).scalar_one()


def mark_pending(attempt_id: int) -> int:
    """At submit/finalise: the attempt's stored uploads become ``pending`` (waiting for the checking
    job). One UPDATE; returns how many rows changed. Flushes nothing else."""
    item_ids = select(AttemptItem.id).where(AttemptItem.attempt_id == attempt_id)
    return db.session.execute(
        update(PracticalUpload).where(PracticalUpload.attempt_item_id.in_(item_ids),
                                      PracticalUpload.state == UPLOAD_STORED)
        .values(state=UPLOAD_PENDING).execution_options(synchronize_session=False)).rowcount


def _claimable(now: dt.datetime, stale_seconds: int):
    return or_(PracticalUpload.state == UPLOAD_PENDING,
               (PracticalUpload.state == UPLOAD_CHECKING)
               & (PracticalUpload.claimed_at < now - dt.timedelta(seconds=stale_seconds)))


def claim_upload(upload_id: int, stale_seconds: int) -> dt.datetime | None:
    """Claim one upload for checking with ONE conditional UPDATE (``pending → checking``, or a
    ``checking`` claim older than ``stale_seconds``; ``tries + 1``). Returns the claim's
    ``claimed_at`` (UTC, the token the result is written with) or None if someone else has it."""
    now = utcnow()
    claimed = db.session.execute(
        update(PracticalUpload).where(PracticalUpload.id == upload_id, _claimable(now, stale_seconds))
        .values(state=UPLOAD_CHECKING, claimed_at=now, tries=PracticalUpload.tries + 1)
        .execution_options(synchronize_session=False)).rowcount
    return now if claimed == 1 else None


#: ``CheckResult.refused_code`` values meaning the checker itself gave up (the upload is ``failed``, 0 points).
CHECKER_FAILURES = ("timeout", "crashed")


def record_check(upload_id: int, claimed_at: dt.datetime, fraction: float, result: dict | None,
                 error: str | None) -> bool:
    """Write a check's outcome if the claim (``claimed_at``) is still this caller's, then give the
    attempt item its fraction 0–1 and points (``WHERE graded_at IS NULL AND awarded IS NULL``, so a
    mark is written once) and finalise the attempt if nothing else is pending. Returns True if this
    call wrote the outcome. Flushes."""
    from app.exams.grading import finalise_if_complete

    now = utcnow()
    fraction = max(0.0, min(1.0, float(fraction)))
    written = db.session.execute(
        update(PracticalUpload).where(PracticalUpload.id == upload_id, PracticalUpload.state == UPLOAD_CHECKING,
                                      PracticalUpload.claimed_at == claimed_at)
        .values(state=UPLOAD_FAILED if error else UPLOAD_GRADED, graded_at=now,
                fraction=Decimal(str(round(fraction, 5))), result=result, error=error)
        .execution_options(synchronize_session=False)).rowcount
    if written != 1:
        return False
    item_id, points, attempt_id = db.session.execute(
        select(AttemptItem.id, AttemptItem.points, AttemptItem.attempt_id)
        .join(PracticalUpload, PracticalUpload.attempt_item_id == AttemptItem.id)
        .where(PracticalUpload.id == upload_id)).one()
    fraction_d = Decimal(str(round(fraction, 5)))
    awarded = (Decimal(points) * fraction_d).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    db.session.execute(
        update(AttemptItem).where(AttemptItem.id == item_id, AttemptItem.graded_at.is_(None),
                                  AttemptItem.awarded.is_(None))
        .values(fraction=fraction_d, awarded=awarded, graded_at=now)
        .execution_options(synchronize_session=False))
    db.session.expire_all()
    finalise_if_complete(attempt_id)
    return True


def check_pending_uploads(limit: int = 50, *, stale_seconds: int | None = None, max_tries: int | None = None,
                          timeout_s: float | None = None, memory_mb: int | None = None) -> int:
    """Scheduler job (and ``flask exams grade-tasks``): check pending uploads of submitted attempts.

    For each claimable upload (oldest first, at most ``limit``): claim it (:func:`claim_upload`) and
    COMMIT (so the claim is visible and no lock is held while checking), check it with
    :meth:`app.practical.checking.CheckerServer.check` — one checker server for the whole run, each
    file in a fresh child process of it limited to ``timeout_s`` seconds and ``memory_mb`` MiB
    (``PRACTICAL_CHECK_TIMEOUT_SECONDS`` default 20, ``PRACTICAL_CHECK_MEMORY_MB`` default 512);
    the server starts at the run's first check and stops at its end — then :func:`record_check` and
    commit. A check that raises is retried on a later run until the
    upload has been tried ``max_tries`` times (``PRACTICAL_CHECK_MAX_TRIES``, default 3); it is then
    ``failed`` and scores 0 with the reason kept. Claims older than ``stale_seconds`` (default
    ``PRACTICAL_CHECK_STALE_SECONDS``, 300) are taken again (a worker that died). Safe to run twice
    or concurrently: each row is claimed by one caller, each item marked once, each attempt finalised
    once. Returns how many uploads this call recorded.
    """
    from app.practical.checking import CheckerServer

    config = current_app.config
    stale_seconds = stale_seconds if stale_seconds is not None else int(config.get("PRACTICAL_CHECK_STALE_SECONDS", 300))
    max_tries = max_tries if max_tries is not None else int(config.get("PRACTICAL_CHECK_MAX_TRIES", 3))
    timeout_s = timeout_s if timeout_s is not None else float(config.get("PRACTICAL_CHECK_TIMEOUT_SECONDS", 20))
    memory_mb = memory_mb if memory_mb is not None else int(config.get("PRACTICAL_CHECK_MEMORY_MB", 512))
    now = utcnow()
    rows = db.session.execute(
        select(PracticalUpload.id).join(AttemptItem, AttemptItem.id == PracticalUpload.attempt_item_id)
        .join(Attempt, Attempt.id == AttemptItem.attempt_id)
        .where(Attempt.state == AWAITING_GRADING, _claimable(now, stale_seconds))
        .order_by(PracticalUpload.uploaded_at, PracticalUpload.id).limit(limit)).scalars().all()
    with CheckerServer() as checker:
        return _check_uploads(rows, checker, stale_seconds, max_tries, timeout_s, memory_mb)


def _check_uploads(rows: list[int], checker, stale_seconds: int, max_tries: int, timeout_s: float,
                   memory_mb: int) -> int:
    """The loop of :func:`check_pending_uploads` over the upload ids ``rows`` with one ``checker``."""
    done = 0
    for upload_id in rows:
        claimed_at = claim_upload(upload_id, stale_seconds)
        db.session.commit()
        if claimed_at is None:
            continue
        upload = db.session.execute(select(PracticalUpload).where(PracticalUpload.id == upload_id)
                                    .options(undefer(PracticalUpload.content))).scalar_one()
        version = upload.attempt_item.question_version
        data, tries = upload.content, upload.tries
        try:
            task = task_for_version(version)
            result = checker.check(task, data, timeout_s, memory_mb, filename=upload.filename)
            fraction, outcome = float(result.fraction), result.to_dict()
            error = result.refused_code if result.refused_code in CHECKER_FAILURES else None
            if error and tries < max_tries:  # time/memory/crash may be the machine's fault: try again later
                raise RuntimeError(f"checker gave up: {error}")
        except Exception as exc:  # noqa: BLE001 - the checker gave up, or the task could not be loaded
            db.session.rollback()
            log.warning("practical upload %s: check failed (try %s of %s): %s", upload_id, tries, max_tries, exc)
            if tries < max_tries:
                db.session.execute(update(PracticalUpload).where(
                    PracticalUpload.id == upload_id, PracticalUpload.claimed_at == claimed_at)
                    .values(state=UPLOAD_PENDING, claimed_at=None, error=str(exc)[:2000])
                    .execution_options(synchronize_session=False))
                db.session.commit()
                continue
            fraction, outcome, error = 0.0, None, str(exc)[:2000] or type(exc).__name__
        try:
            if record_check(upload_id, claimed_at, fraction, outcome, error):
                done += 1
            db.session.commit()
        except Exception:
            db.session.rollback()
            raise
    return done


def review_rules(upload: PracticalUpload | None, locale: str) -> dict:
    """What the review shows for a practical item: ``{"state": UPLOAD_STATES member or "none",
    "filename", "rules": [{"text", "detail", "passed", "points", "awarded"}]}`` with texts in the
    user's language (``zh...`` → Chinese, otherwise English)."""
    if upload is None:
        return {"state": "none", "filename": "", "rules": []}
    zh = (locale or "").startswith("zh")
    rules = []
    for rule in (upload.result or {}).get("rules", []):
        rules.append({"text": rule["description_zh"] if zh else rule["description_en"],
                      "detail": rule.get("detail_zh" if zh else "detail_en", ""), "passed": rule["passed"],
                      "points": rule["points"], "awarded": rule["awarded"]})
    return {"state": upload.state, "filename": upload.filename, "rules": rules}
