"""Question bank in the browser: filtered listing, preview, edit (a new version), retire, upload, export.

Plain arguments, no ``request``: the views in :mod:`app.questions.views` are thin. Edits and uploads
go through the same import path as content sync (:func:`app.questions.services.store_questions`), so
a question edited in the browser and the same question in a file get the same content hash and the
same versioning rules: changed content adds version n+1 and makes it current; attempts keep theirs.

Every change is recorded in the audit log (``audit_event``, via :func:`app.audit.services.record`)
by :func:`audit`, in the same transaction as the change.
"""
from __future__ import annotations

import datetime as dt
import io
import json
import logging
import math
import secrets
from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy import String, cast, delete, func, select, update

from app.content.report import SyncReport
from app.core.time import utcnow
from app.extensions import db
from app.questions.formats import FORMAT_NAMES
from app.questions.models import DIFFICULTIES, STAGED_UPLOAD_SECONDS, Question, QuestionVersion, StagedUpload
from app.questions.services import ImportResult, PreparedQuestion, export_questions, import_file, item_codes, \
    limit, store_questions
from app.questions.types import REGISTRY, SpecError, TEXT_FORMATS, _
from app.standards.models import StandardArea, StandardItem

log = logging.getLogger(__name__)

STATUSES = ("active", "retired", "all")
PER_PAGE = 25
#: File name extension of each export format.
EXTENSIONS = {"gift": "gift", "aiken": "txt", "xml": "xml"}


def audit(action: str, user_id: int | None, **details) -> None:
    """Record one bank change as audit event ``bank.<action>`` by ``user_id``; the target is the
    question (``question:<key or id>``), else the uploaded file (``file:<name>``), else ``bank``.
    ``details`` are JSON-safe facts. Flushes; the caller commits."""
    from app.audit.services import record

    if "question" in details:
        target = f"question:{details['question']}"
    elif "question_id" in details:
        target = f"question:{details['question_id']}"
    elif "source" in details:
        target = f"file:{details['source']}"
    else:
        target = "bank"
    record(user_id, f"bank.{action}", target, details)


@dataclass
class BankFilter:
    """The list's filters; empty strings mean "any". ``status``: active, retired or all."""

    item: str = ""
    area: str = ""
    qtype: str = ""
    difficulty: str = ""
    status: str = "active"
    tag: str = ""
    text: str = ""

    def problems(self) -> dict[str, str]:
        """Field -> message for values that are not allowed (unknown type, difficulty or status; too long)."""
        out = {}
        if self.qtype and self.qtype not in REGISTRY:
            out["qtype"] = _("Unknown question type.")
        if self.difficulty and self.difficulty not in DIFFICULTIES:
            out["difficulty"] = _("Unknown difficulty.")
        if self.status not in STATUSES:
            out["status"] = _("Unknown status.")
        for name in ("item", "area", "tag", "text"):
            if len(getattr(self, name)) > 200:
                out[name] = _("At most %(n)s characters.", n=200)
        return out


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def filter_conditions(f: BankFilter) -> list:
    """SQL conditions (on Question, StandardItem, StandardArea, QuestionVersion joined as in
    :func:`list_questions`) for the filter; the same on SQLite and PostgreSQL."""
    conditions = []
    if f.status == "active":
        conditions.append(Question.active.is_(True))
    elif f.status == "retired":
        conditions.append(Question.active.is_(False))
    if f.item:
        conditions.append(StandardItem.code == f.item)
    if f.area:
        conditions.append(StandardItem.area_id.in_(select(StandardArea.id).where(StandardArea.code == f.area)))
    if f.qtype:
        conditions.append(Question.qtype == f.qtype)
    if f.difficulty:
        conditions.append(Question.difficulty == f.difficulty)
    if f.tag:
        # tags are a JSON list stored as text by json.dumps on both engines: look for the quoted tag
        needle = _escape_like(json.dumps(f.tag.strip()))
        conditions.append(cast(Question.tags, String).like(f"%{needle}%", escape="\\"))
    if f.text:
        text = f.text.strip()
        conditions.append(Question.name.icontains(text, autoescape=True)
                          | Question.key.icontains(text, autoescape=True)
                          | QuestionVersion.stem.icontains(text, autoescape=True))
    return conditions


def _joined(query):
    return (query.outerjoin(QuestionVersion, QuestionVersion.id == Question.current_version_id)
            .outerjoin(StandardItem, StandardItem.id == Question.standard_item_id))


@dataclass
class BankPage:
    """One page of the list: ``rows`` (Row: id, key, name, qtype, difficulty, active, tags, item_code,
    version, stem), ``total`` matching questions, ``page`` (1-based) and ``pages``."""

    rows: list
    total: int
    page: int
    pages: int


def list_questions(f: BankFilter, page: int = 1, per_page: int = PER_PAGE) -> BankPage:
    """Questions matching ``f``, by key, one page: two queries (count, page), never one per row."""
    conditions = filter_conditions(f)
    total = db.session.execute(_joined(select(func.count(Question.id)).select_from(Question))
                               .where(*conditions)).scalar_one()
    pages = max(1, math.ceil(total / per_page))
    page = min(max(1, page), pages)
    rows = db.session.execute(
        _joined(select(Question.id, Question.key, Question.name, Question.qtype, Question.difficulty,
                       Question.active, Question.tags, StandardItem.code.label("item_code"),
                       QuestionVersion.version, QuestionVersion.stem))
        .where(*conditions).order_by(Question.key).limit(per_page).offset((page - 1) * per_page)).all()
    return BankPage(rows=rows, total=total, page=page, pages=pages)


def filter_choices() -> tuple[list, list]:
    """(areas, items) for the filter menus: rows (code, title_zh, title_en), by code."""
    areas = db.session.execute(select(StandardArea.code, StandardArea.title_zh, StandardArea.title_en)
                               .distinct().order_by(StandardArea.code)).all()
    items = db.session.execute(select(StandardItem.code, StandardItem.title_zh, StandardItem.title_en)
                               .order_by(StandardItem.code)).all()
    return areas, items


def candidate_preview(version: QuestionVersion) -> dict:
    """What a candidate sees for ``version`` (options in source order): the type's
    ``render_for_candidate`` dict, which never holds the key, with the fields the exam page's partials
    read for an unanswered question (``position`` 1, ``selected`` [], ``echo`` of no response,
    ``answered`` False, ``revision`` 0, ``flagged`` False)."""
    qtype = REGISTRY[version.qtype]
    rendered = qtype.render_for_candidate(version.stem, version.stem_format, version.spec,
                                          qtype.option_ids(version.spec))
    rendered.update(position=1, selected=[], echo=qtype.response_echo(version.spec, None), answered=False,
                    revision=0, flagged=False)
    return rendered


def examiner_view(version: QuestionVersion) -> dict:
    """The key and feedback for examiners: ``{"key": [display texts], "feedback": general feedback,
    "options": [{"text", "fraction", "feedback"}] (choice types, else [])}``."""
    qtype = REGISTRY[version.qtype]
    options = [{"text": o.get("text", ""), "fraction": o.get("fraction"), "feedback": o.get("feedback", "")}
               for o in version.spec.get("options", []) if isinstance(o, dict)]
    return {"key": qtype.correct_answer_text(version.spec), "feedback": version.general_feedback,
            "options": options}


class EditError(ValueError):
    """The edit is refused; ``errors`` maps form field names to translated messages."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


@dataclass
class EditData:
    """The editable fields of a question. ``spec``: the type's spec as JSON text; ``tags``: comma-separated."""

    name: str
    item: str
    difficulty: str
    tags: str
    stem_format: str
    stem: str
    general_feedback: str
    spec: str


def edit_data(question: Question) -> EditData:
    """The current values of ``question`` as form data."""
    version = question.current_version
    return EditData(name=question.name, item=question.standard_item.code if question.standard_item else "",
                    difficulty=question.difficulty or "", tags=", ".join(question.tags or []),
                    stem_format=version.stem_format, stem=version.stem, general_feedback=version.general_feedback,
                    spec=json.dumps(version.spec, ensure_ascii=False, indent=2))


def edit_question(question: Question, data: EditData, user_id: int | None) -> bool:
    """Check ``data`` and store it through the import path (same key, source and hash rules as content
    sync). Returns True if a new version was made (content changed), False if only metadata changed or
    nothing did. A retired question stays retired. Raises EditError (nothing written) with a message per field."""
    errors: dict[str, str] = {}
    items = item_codes()
    qtype = REGISTRY.get(question.qtype)
    if not data.name.strip():
        errors["name"] = _("Enter a name.")
    elif len(data.name) > 255:
        errors["name"] = _("At most %(n)s characters.", n=255)
    if data.item and data.item not in items:
        errors["item"] = _("Unknown standard item “%(code)s”.", code=data.item[:40])
    if data.difficulty and data.difficulty not in DIFFICULTIES:
        errors["difficulty"] = _("Unknown difficulty.")
    if data.stem_format not in TEXT_FORMATS:
        errors["stem_format"] = _("Unknown text format.")
    if not data.stem.strip():
        errors["stem"] = _("Enter the question text.")
    tags = [t.strip() for t in data.tags.replace("，", ",").split(",") if t.strip()]
    if any(t.startswith(("item:", "difficulty:")) for t in tags):
        errors["tags"] = _("Set the standard item and difficulty with their own fields, not as tags.")
    elif any(len(t) > 100 for t in tags):
        errors["tags"] = _("A tag has at most %(n)s characters.", n=100)
    try:
        spec = json.loads(data.spec)
        if not isinstance(spec, dict):
            raise ValueError
    except ValueError:
        spec = None
        errors["spec"] = _("The answers must be a JSON object, as shown when the page opened.")
    if spec is not None and qtype is not None:
        try:
            qtype.validate(spec)
        except SpecError as exc:
            errors["spec"] = _("The answers are not valid: %(problem)s", problem=str(exc))
        except (TypeError, KeyError, AttributeError, ValueError) as exc:
            errors["spec"] = _("The answers are not valid: %(problem)s", problem=type(exc).__name__)
    if not errors:
        size = len(data.stem) + len(data.general_feedback) + len(json.dumps(spec, ensure_ascii=False))
        if size > limit("QUESTION_MAX_CHARS"):
            errors["stem"] = _("The question is %(size)s characters long, more than the limit of %(n)s.",
                               size=f"{size:,}", n=f"{limit('QUESTION_MAX_CHARS'):,}")
    if errors:
        raise EditError(errors)
    was_active = question.active
    old_version = question.current_version.version if question.current_version else 0
    prepared = PreparedQuestion(
        line=0, key=question.key, name=data.name.strip(), category=question.category, qtype=question.qtype,
        item_code=data.item or None, difficulty=data.difficulty or None, tags=tags, stem=data.stem,
        stem_format=data.stem_format, spec=spec, general_feedback=data.general_feedback)
    question_id, key, source = question.id, question.key, question.source
    store_questions([prepared], source, SyncReport(), items)
    if not was_active:
        db.session.execute(update(Question).where(Question.id == question_id).values(active=False))
    new_version = db.session.execute(
        select(QuestionVersion.version).join(Question, Question.current_version_id == QuestionVersion.id)
        .where(Question.id == question_id)).scalar_one()
    audit("edit", user_id, question=key, version=new_version)
    return new_version != old_version


def set_active(question_id: int, active: bool, user_id: int | None) -> bool:
    """Retire (``active=False``) or reactivate a question: one conditional UPDATE. Returns False if it
    was already in that state (or does not exist). Retired questions are never drawn into new forms."""
    changed = db.session.execute(update(Question).where(Question.id == question_id, Question.active.is_(not active))
                                 .values(active=active)).rowcount == 1
    if changed:
        audit("reactivate" if active else "retire", user_id, question_id=question_id)
    return changed


@dataclass
class UploadOutcome:
    """An import's result: ``errors`` (lines ``file:line: question 'name': field: message``), ``created``
    and ``updated`` keys, ``unchanged`` count and ``read`` (valid questions). Nothing is stored if
    ``errors`` is not empty or on a dry run."""

    errors: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: int = 0
    read: int = 0


def upload(fmt: str, data: bytes, source: str, *, dry_run: bool, user_id: int | None) -> UploadOutcome:
    """Import ``data`` (format gift, aiken or xml) all-or-nothing. On a dry run, or when there is any
    error, the session is rolled back (so call this before anything else in the transaction); else
    the caller commits. Raises ValueError for an unknown format."""
    if fmt not in FORMAT_NAMES:
        raise ValueError(f"unknown format {fmt!r}")
    report = SyncReport()
    result: ImportResult = import_file(fmt, data, source, report)
    outcome = UploadOutcome(errors=result.errors, skipped=result.skipped, read=result.read,
                            unchanged=report.counts[("question", "unchanged")])
    for change in report.changes:
        verb, _kind, key = change.split(" ", 2)
        (outcome.created if verb == "created" else outcome.updated).append(key)
    if dry_run or outcome.errors:
        db.session.rollback()
    else:
        audit("import", user_id, source=source, created=len(outcome.created), updated=len(outcome.updated))
    return outcome


def max_upload_bytes() -> int:
    """Largest file accepted in the browser, bytes: QUESTION_BANK_UPLOAD_MAX_BYTES (default 10 MiB),
    never above QUESTION_IMPORT_MAX_BYTES nor the request limit MAX_CONTENT_LENGTH less 64 KiB for
    the rest of the form (a larger request is refused with 413 before the view runs)."""
    values = [int(current_app.config.get("QUESTION_BANK_UPLOAD_MAX_BYTES", 10 * 1024 * 1024)),
              limit("QUESTION_IMPORT_MAX_BYTES")]
    if current_app.config.get("MAX_CONTENT_LENGTH"):
        values.append(int(current_app.config["MAX_CONTENT_LENGTH"]) - 64 * 1024)
    return max(1, min(values))


def export_selection(f: BankFilter, fmt: str) -> tuple[str, int, list[str]]:
    """The filtered questions in format ``fmt`` as text: (text, questions written, problems). Questions
    the format cannot hold are left out and listed in problems."""
    out = io.StringIO()
    conditions = filter_conditions(f)
    written, problems = export_questions(fmt, out, conditions=conditions, skip_invalid=True)
    return out.getvalue(), written, problems


def stage_upload(user_id: int, fmt: str, filename: str, data: bytes) -> str:
    """Keep a file that passed its dry run until the examiner confirms it; returns its token (32 hex).

    Deletes staged files older than ``STAGED_UPLOAD_SECONDS`` first. Flushes; the caller commits."""
    db.session.execute(delete(StagedUpload).where(
        StagedUpload.created_at < utcnow() - dt.timedelta(seconds=STAGED_UPLOAD_SECONDS)))
    token = secrets.token_hex(16)
    db.session.add(StagedUpload(token=token, user_id=user_id, fmt=fmt, filename=filename[:200], data=data))
    db.session.flush()
    return token


def take_staged_upload(user_id: int, token: str) -> StagedUpload | None:
    """The staged file ``token`` of ``user_id`` (another user's token finds nothing), removed from the
    staging table in the same transaction, or None if it is gone (confirmed already, or expired).

    The removal is one DELETE whose row count decides: of two concurrent confirmations only one gets
    the file."""
    staged = db.session.get(StagedUpload, token)
    if staged is None or staged.user_id != user_id or \
            staged.created_at < utcnow() - dt.timedelta(seconds=STAGED_UPLOAD_SECONDS):
        return None
    found = db.session.execute(delete(StagedUpload).where(StagedUpload.token == token,
                                                          StagedUpload.user_id == user_id))
    return staged if found.rowcount == 1 else None
