"""Question bank services: import (GIFT, Aiken, Moodle XML; all-or-nothing, batched), versioning, export.

Import runs in two steps that never hold a whole large file's questions in memory:

1. ``prepare``: each question read from the file is checked (type spec through the registry,
   standard item, difficulty, size, duplicate id) and becomes a :class:`PreparedQuestion` or an
   error ``file:line: question 'name': field: message``.
2. ``store_questions``: prepared questions are written in batches (``QUESTION_IMPORT_BATCH``, default
   1,000): one SELECT of the batch's keys, then executemany INSERTs/UPDATEs (SQLAlchemy's
   "insertmanyvalues" pages the rows, so no statement passes PostgreSQL's 65,535 or SQLite's 32,766
   parameters). A new question gets version 1; changed content gets version n+1 and becomes current;
   attempts keep the version they showed.

Everything happens in the caller's transaction: the caller (CLI, content sync) commits once, or
rolls back when there was any error (unless skipping invalid questions) or on a dry run.

Limits (Flask config, defaults in :data:`DEFAULT_LIMITS`): ``QUESTION_IMPORT_MAX_BYTES`` for a file
(default 128 MiB: 100,000 questions of Moodle XML are about 75 MB), ``QUESTION_MAX_CHARS`` for one question's stem + spec + feedback (default 100,000
characters), ``QUESTION_IMPORT_BATCH`` rows per flush (default 1,000, at most 10,000).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import BinaryIO, Iterable, Iterator

from flask import current_app, has_app_context
from sqlalchemy import func, insert, select, update

from app.content.report import ContentError, SyncReport
from app.extensions import db
from app.questions.formats import HostileXML, read, write, write_problem
from app.questions.models import Question, QuestionVersion
from app.questions.portable import FormatError, ParsedQuestion, normalise_difficulty
from app.questions.types import REGISTRY, SpecError
from app.standards.models import StandardItem

DEFAULT_LIMITS = {"QUESTION_IMPORT_MAX_BYTES": 128 * 1024 * 1024, "QUESTION_MAX_CHARS": 100_000,
                  "QUESTION_IMPORT_BATCH": 1000}


def limit(name: str) -> int:
    """The configured value of a size limit (see :data:`DEFAULT_LIMITS`)."""
    value = int(current_app.config.get(name, DEFAULT_LIMITS[name])) if has_app_context() else DEFAULT_LIMITS[name]
    if name == "QUESTION_IMPORT_BATCH":
        # a batch's keys go into one IN (...) list: stay far below SQLite's 32,766 parameters
        return max(1, min(value, 10_000))
    return value


@dataclass
class PreparedQuestion:
    """A checked question ready to store: its key, metadata and version content."""

    line: int
    key: str
    name: str
    category: str
    qtype: str
    item_code: str | None
    difficulty: str | None
    tags: list[str]
    stem: str
    stem_format: str
    spec: dict
    general_feedback: str

    @property
    def content_hash(self) -> str:
        """SHA-256 hex of the version content (type, stem, format, spec, feedback): equal hash, same version."""
        payload = [self.qtype, self.stem, self.stem_format, self.spec, self.general_feedback]
        return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


@dataclass
class ImportResult:
    """Outcome of reading one file.

    ``questions``: the prepared questions (only when collected, see :func:`prepare_gift`); ``read``:
    how many were valid; ``errors`` and ``skipped``: lines ``file:line: ...``.
    """

    questions: list[PreparedQuestion] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    read: int = 0


def _tag_value(tags: list[str], name: str) -> str | None:
    for tag in tags:
        if tag.startswith(name + ":"):
            return tag.split(":", 1)[1].strip()
    return None


def item_codes() -> dict[str, int]:
    """Standard item code -> id, for every item in the database."""
    return dict(db.session.execute(select(StandardItem.code, StandardItem.id)).all())


class _Preparer:
    """Checks parsed questions of one file one at a time (keeps only the keys seen)."""

    def __init__(self, source: str, items: dict[str, int]):
        self.source, self.items = source, items
        self.seen: dict[str, int] = {}
        self.max_chars = limit("QUESTION_MAX_CHARS")

    def error(self, e: FormatError) -> str:
        return f"{self.source}:{e.line}: {e}"

    def prepare(self, q: ParsedQuestion) -> PreparedQuestion | str | tuple[str]:
        """A PreparedQuestion, an error line, or a 1-tuple holding a note (duplicate content, imported once)."""
        label = q.name or q.idnumber or "(unnamed)"

        def err(field_: str, message: str) -> str:
            return self.error(FormatError(q.line, message, field_, label))

        qtype = REGISTRY.get(q.qtype)
        if qtype is None:
            return err("type", f"unknown question type {q.qtype!r}")
        if q.stem_format not in ("markdown", "html", "plain", "moodle"):
            return err("format", f"unknown text format {q.stem_format!r}")
        if not q.stem.strip():
            return err("questiontext", "question text is empty")
        try:
            qtype.validate(q.spec)
        except SpecError as exc:
            return err("spec", str(exc))
        size = len(q.stem) + len(q.general_feedback) + len(json.dumps(q.spec, ensure_ascii=False))
        if size > self.max_chars:
            return err("size", f"the question is {size:,} characters long, more than the limit of "
                               f"{self.max_chars:,} (QUESTION_MAX_CHARS)")
        item_code = _tag_value(q.tags, "item")
        if item_code is not None and item_code not in self.items:
            return err("tag item", f"unknown standard item '{item_code}'")
        difficulty = _tag_value(q.tags, "difficulty")
        if difficulty is not None:
            normalised = normalise_difficulty(difficulty)
            if normalised is None:
                return err("tag difficulty", f"difficulty '{difficulty}' is not one of easy/medium/hard, 1/2/3 "
                                             f"or 易/中/难")
            difficulty = normalised
        if q.idnumber is not None and len(q.idnumber) > 100:
            return err("idnumber", "id is longer than 100 characters")
        prepared = PreparedQuestion(
            line=q.line, key="", name=q.name[:255], category=q.category[:255], qtype=q.qtype, item_code=item_code,
            difficulty=difficulty, tags=[t for t in q.tags if not t.startswith(("item:", "difficulty:"))],
            stem=q.stem, stem_format=q.stem_format, spec=q.spec, general_feedback=q.general_feedback,
        )
        prepared.key = q.idnumber or f"sha1:{prepared.content_hash[:40]}"
        if prepared.key in self.seen:
            if q.idnumber:
                return err("idnumber", f"id '{q.idnumber}' is already used at line {self.seen[prepared.key]}")
            return (f"{self.source}:{q.line}: question '{label}' is identical to the question at line "
                    f"{self.seen[prepared.key]}; imported once",)
        self.seen[prepared.key] = q.line
        return prepared


def iter_prepared(fmt: str, data: bytes | BinaryIO, source: str, result: ImportResult, *,
                  skip_invalid: bool = False, items: dict[str, int] | None = None) -> Iterator[PreparedQuestion]:
    """Read and check a file (bytes, or an open binary file whose size the caller checked): yields valid
    questions; appends errors (or, with ``skip_invalid``, skipped lines) to ``result``. A refused XML
    file (DTD, entities) and an over-large file are errors."""
    max_bytes = limit("QUESTION_IMPORT_MAX_BYTES")
    if isinstance(data, bytes) and len(data) > max_bytes:
        result.errors.append(f"{source}:0: the file is {len(data):,} bytes, more than the limit of "
                             f"{max_bytes:,} (QUESTION_IMPORT_MAX_BYTES); split it into smaller files")
        return
    preparer = _Preparer(source, item_codes() if items is None else items)
    try:
        for item in read(fmt, data):
            if isinstance(item, FormatError):
                (result.skipped if skip_invalid else result.errors).append(preparer.error(item))
                continue
            prepared = preparer.prepare(item)
            if isinstance(prepared, str):
                (result.skipped if skip_invalid else result.errors).append(prepared)
            elif isinstance(prepared, tuple):
                result.skipped.append(prepared[0])
            else:
                result.read += 1
                yield prepared
    except HostileXML as exc:
        result.errors.append(f"{source}:0: {exc}")


def prepare_gift(text: str, source: str, *, skip_unsupported: bool = False,
                 items: dict[str, int] | None = None) -> ImportResult:
    """Parse and check GIFT text without writing anything; ``result.questions`` holds every valid question.

    ``items`` maps standard item codes to ids (default: every item in the database). With
    ``skip_unsupported`` invalid questions are listed in ``skipped`` instead of ``errors``.
    """
    result = ImportResult()
    result.questions = list(iter_prepared("gift", text.encode("utf-8"), source, result,
                                          skip_invalid=skip_unsupported, items=items))
    return result


def _batches(prepared: Iterable[PreparedQuestion], size: int) -> Iterator[list[PreparedQuestion]]:
    batch: list[PreparedQuestion] = []
    for p in prepared:
        batch.append(p)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _store_batch(batch: list[PreparedQuestion], source: str, report: SyncReport, items: dict[str, int]) -> None:
    existing = {row.key: row for row in db.session.execute(
        select(Question.id, Question.key, Question.standard_item_id, Question.difficulty, Question.name,
               Question.category, Question.active, Question.tags, Question.qtype, Question.source,
               QuestionVersion.content_hash, QuestionVersion.version)
        .outerjoin(QuestionVersion, QuestionVersion.id == Question.current_version_id)
        .where(Question.key.in_([p.key for p in batch])))}
    new_rows, meta_updates, versions = [], [], []  # versions: (prepared, question id or None, version number)
    for p in batch:
        item_id = items.get(p.item_code) if p.item_code else None
        meta = {"name": p.name, "category": p.category, "standard_item_id": item_id, "difficulty": p.difficulty,
                "qtype": p.qtype, "source": source, "active": True, "tags": p.tags}
        row = existing.get(p.key)
        if row is None:
            new_rows.append({"key": p.key, **meta})
            versions.append((p, None, 1))
            report.created("question", p.key)
            continue
        same_meta = (row.standard_item_id, row.difficulty, row.name, row.category, row.active, row.tags,
                     row.qtype, row.source) == (item_id, p.difficulty, p.name, p.category, True, p.tags, p.qtype, source)
        same_content = row.content_hash == p.content_hash
        if same_meta and same_content:
            report.unchanged("question")
            continue
        report.updated("question", p.key)
        meta_updates.append({"id": row.id, **meta})
        if not same_content:
            versions.append((p, row.id, (row.version or 0) + 1))
    # Plain executemany (no RETURNING), then one SELECT for the new ids: on PostgreSQL psycopg pipelines
    # the single-row statement, about 5 times faster than multi-row VALUES with RETURNING, whose long
    # statements psycopg re-parses page by page; on SQLite it is sqlite3's executemany.
    if new_rows:
        db.session.execute(insert(Question.__table__), new_rows)
        new_ids = dict(db.session.execute(select(Question.key, Question.id).where(
            Question.key.in_([r["key"] for r in new_rows]))).all())
        versions = [(p, qid if qid is not None else new_ids[p.key], n) for p, qid, n in versions]
    if meta_updates:
        db.session.execute(update(Question), meta_updates)
    if versions:
        db.session.execute(insert(QuestionVersion.__table__), [
            {"question_id": qid, "version": n, "qtype": p.qtype, "stem": p.stem, "stem_format": p.stem_format,
             "spec": p.spec, "general_feedback": p.general_feedback, "content_hash": p.content_hash}
            for p, qid, n in versions])
        newest = db.session.execute(
            select(QuestionVersion.question_id, func.max(QuestionVersion.id))
            .where(QuestionVersion.question_id.in_([qid for _, qid, _ in versions]))
            .group_by(QuestionVersion.question_id)).all()
        db.session.execute(update(Question), [{"id": qid, "current_version_id": vid} for qid, vid in newest])


def store_questions(prepared: Iterable[PreparedQuestion], source: str, report: SyncReport,
                    items: dict[str, int] | None = None, batch_size: int | None = None) -> int:
    """Insert new questions, add a version where content changed, leave the rest; in batches. Returns
    how many questions were stored or found unchanged. Objects already in the session are expired."""
    items = item_codes() if items is None else items
    count = 0
    for batch in _batches(prepared, batch_size or limit("QUESTION_IMPORT_BATCH")):
        _store_batch(batch, source, report, items)
        count += len(batch)
    db.session.expire_all()
    return count


def import_file(fmt: str, data: bytes | BinaryIO, source: str, report: SyncReport, *, skip_invalid: bool = False,
                items: dict[str, int] | None = None, batch_size: int | None = None) -> ImportResult:
    """Read, check and store one file in batches, in the caller's transaction.

    Returns the result (errors, skipped, read). The caller must roll back if ``result.errors`` is not
    empty: questions before the first error may already be flushed.
    """
    items = item_codes() if items is None else items
    result = ImportResult()
    store_questions(iter_prepared(fmt, data, source, result, skip_invalid=skip_invalid, items=items),
                    source, report, items, batch_size)
    return result


def import_gift(text: str, source: str, report: SyncReport, *, skip_unsupported: bool = False) -> ImportResult:
    """Check then store GIFT text. Raises ContentError (nothing stored) if any question has an error."""
    result = prepare_gift(text, source, skip_unsupported=skip_unsupported)
    if result.errors:
        raise ContentError(result.errors)
    store_questions(result.questions, source, report)
    return result


def retire_missing(source: str, keep_keys: set[str], report: SyncReport) -> None:
    """Deactivate questions from ``source`` whose keys are no longer in the file. Flushes."""
    for question in db.session.execute(
        select(Question).where(Question.source == source, Question.active.is_(True))
    ).scalars():
        if question.key not in keep_keys:
            question.active = False
            report.retired("question", question.key)
    db.session.flush()


# --------------------------------------------------------------------------- export


def iter_export(*, item_code: str | None = None, category: str | None = None,
                chunk: int = 1000, conditions: list | None = None) -> Iterator[ParsedQuestion]:
    """Active questions (current versions) as ParsedQuestions, by category then key, read ``chunk`` rows
    at a time. ``item_code``: only that standard item's questions; ``category``: that category and
    its subcategories. ``conditions``: SQL conditions on Question/StandardItem (see
    :func:`app.questions.bank.filter_conditions`) that replace the "active only" rule."""
    query = (select(Question.key, Question.name, Question.category, Question.tags, Question.difficulty,
                    StandardItem.code, QuestionVersion.qtype, QuestionVersion.stem, QuestionVersion.stem_format,
                    QuestionVersion.spec, QuestionVersion.general_feedback)
             .join(QuestionVersion, QuestionVersion.id == Question.current_version_id)
             .outerjoin(StandardItem, StandardItem.id == Question.standard_item_id)
             .where(*(conditions if conditions is not None else [Question.active.is_(True)]))
             .order_by(Question.category, Question.key))
    if item_code:
        query = query.where(StandardItem.code == item_code)
    if category:
        query = query.where((Question.category == category) | Question.category.startswith(category + "/"))
    for row in db.session.execute(query.execution_options(yield_per=chunk)):
        tags = ([f"item:{row.code}"] if row.code else []) + (
            [f"difficulty:{row.difficulty}"] if row.difficulty else []) + list(row.tags or [])
        yield ParsedQuestion(line=0, name=row.name or row.key, qtype=row.qtype, stem=row.stem,
                             stem_format=row.stem_format, spec=row.spec, general_feedback=row.general_feedback,
                             idnumber=None if row.key.startswith("sha1:") else row.key, category=row.category or "",
                             tags=tags)


def export_questions(fmt: str, out, *, item_code: str | None = None, category: str | None = None,
                     skip_invalid: bool = False, conditions: list | None = None) -> tuple[int, list[str]]:
    """Write the selected questions to the text stream ``out`` in format ``fmt``.

    Returns (questions written, problems). A question the format cannot hold is a problem; without
    ``skip_invalid`` the caller should discard ``out`` when there are problems (they are all listed).
    """
    problems: list[str] = []
    written = 0

    def writable() -> Iterator[ParsedQuestion]:
        nonlocal written
        for q in iter_export(item_code=item_code, category=category, conditions=conditions):
            problem = write_problem(fmt, q)
            if problem:
                problems.append(f"question '{q.name}' ({q.qtype}): {problem}")
                continue
            written += 1
            yield q

    for piece in write(fmt, writable()):
        out.write(piece)
    return written, problems


def question_to_gift(question: Question):
    """Export the current version of ``question`` as a GIFT question (with id and tags)."""
    version = question.current_version
    gift = REGISTRY[version.qtype].to_gift(version.stem, version.stem_format, version.spec, version.general_feedback)
    gift.name = question.name or question.key
    gift.idnumber = None if question.key.startswith("sha1:") else question.key
    tags = []
    if question.standard_item is not None:
        tags.append(f"item:{question.standard_item.code}")
    if question.difficulty:
        tags.append(f"difficulty:{question.difficulty}")
    gift.tags = tags + list(question.tags or [])
    gift.category = question.category or None
    return gift
