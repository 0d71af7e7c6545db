"""Question bank services: GIFT import (all-or-nothing), versioning, selection for blueprints."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

from sqlalchemy import select

from app.content.report import ContentError, SyncReport
from app.extensions import db
from app.questions.gift import GiftQuestion, parse_gift
from app.questions.models import DIFFICULTIES, Question, QuestionVersion
from app.questions.types import REGISTRY, SpecError
from app.standards.models import StandardItem

UNSUPPORTED_LABELS = {
    "short_answer": "short-answer", "numerical": "numerical", "matching": "matching",
    "essay": "essay", "description": "description (no answer)",
}


@dataclass
class PreparedQuestion:
    """A parsed question ready to store: its key, metadata and version content."""

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
    """Outcome of an import: prepared questions, errors (``file:line: message``) and skipped lines."""

    questions: list[PreparedQuestion] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def _tag_value(tags: list[str], name: str) -> str | None:
    for tag in tags:
        if tag.startswith(name + ":"):
            return tag.split(":", 1)[1].strip()
    return None


def prepare_gift(text: str, source: str, *, skip_unsupported: bool = False,
                 items: dict[str, int] | None = None) -> ImportResult:
    """Parse and check GIFT text without writing anything.

    ``items`` maps standard item codes to ids (default: every item in the database). Unsupported
    types are errors (or, with ``skip_unsupported``, listed in ``skipped``); so are unknown item
    codes, bad difficulties and duplicate ``[id:...]`` keys.
    """
    if items is None:
        items = dict(db.session.execute(select(StandardItem.code, StandardItem.id)).all())
    parsed, gift_errors = parse_gift(text)
    result = ImportResult(errors=[f"{source}:{e.line}: {e.message}" for e in gift_errors])
    seen: dict[str, int] = {}
    for q in parsed:
        where = f"{source}:{q.line}"
        qtype_impl = REGISTRY.get(q.qtype)
        label = q.name or q.idnumber or "(unnamed)"
        if qtype_impl is None:
            message = (f"{where}: question '{label}' is a {UNSUPPORTED_LABELS.get(q.qtype, q.qtype)} question; "
                       f"this type is not supported yet (supported: single choice, multiple response, true/false)")
            (result.skipped if skip_unsupported else result.errors).append(message)
            continue
        try:
            spec = qtype_impl.from_gift(q)
            qtype_impl.validate(spec)
        except SpecError as exc:
            result.errors.append(f"{where}: question '{label}': {exc}")
            continue
        item_code = _tag_value(q.tags, "item")
        if item_code is not None and item_code not in items:
            result.errors.append(f"{where}: question '{label}': unknown standard item '{item_code}' in [tag:item:...]")
            continue
        difficulty = _tag_value(q.tags, "difficulty")
        if difficulty is not None and difficulty not in DIFFICULTIES:
            result.errors.append(f"{where}: question '{label}': difficulty must be one of {', '.join(DIFFICULTIES)}")
            continue
        prepared = PreparedQuestion(
            line=q.line, key="", name=q.name, category=q.category or "", qtype=q.qtype, item_code=item_code,
            difficulty=difficulty, tags=[t for t in q.tags if not t.startswith(("item:", "difficulty:"))],
            stem=q.stem, stem_format=q.stem_format, spec=spec, general_feedback=q.general_feedback,
        )
        prepared.key = q.idnumber or f"sha1:{prepared.content_hash[:40]}"
        if prepared.key in seen:
            if q.idnumber:
                result.errors.append(f"{where}: id '{q.idnumber}' is already used at line {seen[prepared.key]}")
            else:
                result.skipped.append(f"{where}: question '{label}' is identical to the question at line "
                                      f"{seen[prepared.key]}; imported once")
            continue
        seen[prepared.key] = q.line
        result.questions.append(prepared)
    return result


def store_questions(prepared: list[PreparedQuestion], source: str, report: SyncReport,
                    items: dict[str, int] | None = None) -> list[Question]:
    """Insert new questions, add a version where content changed, leave the rest. Flushes.

    A changed question gets version n+1 and becomes current; attempts keep the version they showed.
    """
    if items is None:
        items = dict(db.session.execute(select(StandardItem.code, StandardItem.id)).all())
    keys = [p.key for p in prepared]
    existing = {q.key: q for q in db.session.execute(select(Question).where(Question.key.in_(keys))).scalars()} if keys else {}
    stored = []
    for p in prepared:
        question = existing.get(p.key)
        item_id = items.get(p.item_code) if p.item_code else None
        if question is None:
            question = Question(key=p.key)
            db.session.add(question)
            report.created("question", p.key)
            latest = None
        else:
            latest = question.current_version
            meta_same = (question.standard_item_id, question.difficulty, question.name, question.category,
                         question.active, question.tags) == (item_id, p.difficulty, p.name, p.category, True, p.tags)
            if latest is not None and latest.content_hash == p.content_hash and meta_same:
                report.unchanged("question")
                stored.append(question)
                continue
            report.updated("question", p.key)
        question.name, question.category = p.name, p.category
        question.standard_item_id, question.difficulty = item_id, p.difficulty
        question.qtype, question.source, question.active, question.tags = p.qtype, source, True, p.tags
        db.session.flush()
        if latest is None or latest.content_hash != p.content_hash:
            version = QuestionVersion(
                question_id=question.id, version=(latest.version + 1) if latest else 1, qtype=p.qtype,
                stem=p.stem, stem_format=p.stem_format, spec=p.spec, general_feedback=p.general_feedback,
                content_hash=p.content_hash,
            )
            db.session.add(version)
            db.session.flush()
            question.current_version = version
        stored.append(question)
    db.session.flush()
    return stored


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


def question_to_gift(question: Question) -> GiftQuestion:
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
