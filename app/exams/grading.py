"""Manual grading (essays): hold an attempt as "awaiting grading", the examiners' queue, one mark per
response, and finalising the attempt exactly once when its last manual item is graded.

Rules: an attempt with a manually graded item that the candidate answered is finished in the state
``awaiting_grading`` (auto items graded at once, no score, no pass, no certificate). A grader gives a
mark 0..points (2 decimals) and a rubric note, stored with who and when (UTC). When the last pending
item of the attempt is graded, the attempt is totalled, passed or failed by the exam's pass mark and,
if passed, course completion (and so certification) is checked — the same path as automatic grading
(:func:`app.exams.services.grade_attempt`).
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from flask_babel import gettext as _
from sqlalchemy import func, select, update

from app.core.errors import DomainError
from app.core.time import utcnow
from app.exams.models import AWAITING_GRADING, FINISHED, Attempt, AttemptItem, Exam
from app.extensions import db
from app.questions.types import REGISTRY

TWO = Decimal("0.01")
#: Longest rubric note kept with a mark (characters).
NOTE_MAX = 5_000


def hold_for_grading(attempt: Attempt) -> bool:
    """Mark a just-finished attempt ``awaiting_grading``: no points total, score or pass yet.

    Called by ``grade_attempt`` when an item still needs a person. A conditional UPDATE from
    ``finished`` (the state ``finish_attempt`` has just set). Returns True if it changed the state.
    Flushes.
    """
    db.session.flush()
    changed = db.session.execute(
        update(Attempt).where(Attempt.id == attempt.id, Attempt.state == FINISHED)
        .values(state=AWAITING_GRADING, points=None, score=None, passed=None)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.expire(attempt)
    return changed == 1


def _pending_query():
    """Responses waiting for a PERSON: pending items of a type that is not checked by a machine later
    (practical tasks are ``deferred``: the checking job in :mod:`app.exams.practical` marks them)."""
    from app.questions.models import QuestionVersion

    machine = [name for name, qtype in REGISTRY.items() if qtype.deferred]
    return (select(AttemptItem, Attempt, Exam)
            .join(Attempt, Attempt.id == AttemptItem.attempt_id)
            .join(Exam, Exam.id == Attempt.exam_id)
            .join(QuestionVersion, QuestionVersion.id == AttemptItem.question_version_id)
            .where(Attempt.state == AWAITING_GRADING, AttemptItem.graded_at.is_(None),
                   AttemptItem.awarded.is_(None), QuestionVersion.qtype.not_in(machine)))


@dataclass
class QueueGroup:
    """The pending responses of one exam, oldest submitted first."""

    exam: Exam
    items: list[AttemptItem]


def grading_queue() -> list[QueueGroup]:
    """Responses waiting for a person, grouped per exam (exams by code), each list oldest attempt
    first (by ``finished_at``, then position)."""
    groups: dict[int, QueueGroup] = {}
    rows = db.session.execute(_pending_query().order_by(Attempt.finished_at, Attempt.id, AttemptItem.position)).all()
    for item, _attempt, exam in rows:
        groups.setdefault(exam.id, QueueGroup(exam, [])).items.append(item)
    return sorted(groups.values(), key=lambda g: g.exam.code)


def pending_count(attempt_id: int) -> int:
    """Items of the attempt still waiting for a person."""
    return db.session.execute(select(func.count(AttemptItem.id)).where(
        AttemptItem.attempt_id == attempt_id, AttemptItem.graded_at.is_(None),
        AttemptItem.awarded.is_(None))).scalar_one()


def grader_view(item: AttemptItem) -> dict:
    """What the grading page shows: ``{"stem_html", "answer" (the candidate's text), "grader_info"
    (rubric, may be empty), "points" (Decimal), "manual" (bool)}``. Never anything but this item."""
    from app.core.markup import render_text

    version = item.question_version
    qtype = REGISTRY[version.qtype]
    echo = qtype.response_echo(version.spec, item.response)
    return {"stem_html": render_text(version.stem, version.stem_format),
            "answer": echo.get("text", ""), "grader_info": version.spec.get("grader_info", ""),
            "points": Decimal(item.points), "manual": qtype.manual}


def parse_mark(raw, points) -> Decimal:
    """A mark typed by a grader ("7", "7.5", "７.５") as a Decimal 0..points rounded half up to 2 places.

    Raises DomainError 400 (field ``mark``) when it is not a number or outside 0..points.
    """
    import unicodedata

    text = unicodedata.normalize("NFKC", str(raw if raw is not None else "")).strip()
    try:
        mark = Decimal(text)
    except InvalidOperation:
        mark = None
    if mark is None or not mark.is_finite():
        raise DomainError(_("Field '%(field)s': enter a number such as 7 or 7.5.", field="mark"),
                          code="bad_mark", status=400)
    mark = mark.quantize(TWO, rounding=ROUND_HALF_UP)
    if mark < 0 or mark > Decimal(points):
        raise DomainError(_("Field '%(field)s': the mark must be between 0 and %(max)s.", field="mark",
                            max=f"{Decimal(points):g}"), code="bad_mark", status=400)
    return mark


def grade_response(item_id: int, grader_id: int, raw_mark, note: str | None) -> bool:
    """Store a person's mark for one pending response; finalise the attempt if it was the last one.

    First a conditional UPDATE on the attempt (still ``awaiting_grading``) takes its row lock, so the
    graders of one attempt go one after the other (PostgreSQL row lock; SQLite's write lock); then
    ONE conditional UPDATE writes the mark where the item is still ungraded. Then, if nothing of the
    attempt is pending, :func:`finalise_if_complete`. Flushes; the caller commits.

    Returns True if this call finalised the attempt.
    Raises DomainError 404 (no such item), 409 ``already_graded`` (someone graded it first or the
    attempt is not awaiting grading), 400 ``bad_mark`` / ``bad_note``. Nothing changes on an error.
    """
    item = db.session.get(AttemptItem, item_id)
    if item is None:
        raise DomainError(_("The page you asked for does not exist."), code="not_found", status=404)
    mark = parse_mark(raw_mark, item.points)
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise DomainError(_("Field '%(field)s': at most %(n)s characters.", field="note", n=NOTE_MAX),
                          code="bad_note", status=400)
    attempt_id = item.attempt_id
    locked = db.session.execute(
        update(Attempt).where(Attempt.id == attempt_id, Attempt.state == AWAITING_GRADING)
        .values(state=AWAITING_GRADING).execution_options(synchronize_session=False)).rowcount
    points = Decimal(item.points)
    fraction = (mark / points).quantize(Decimal("0.00001"), rounding=ROUND_HALF_UP) if points else Decimal(0)
    written = 0
    if locked == 1:
        written = db.session.execute(
            update(AttemptItem).where(AttemptItem.id == item_id, AttemptItem.graded_at.is_(None),
                                      AttemptItem.awarded.is_(None))
            .values(awarded=mark, fraction=fraction, graded_by_id=grader_id, graded_at=utcnow(),
                    grade_note=note or None)
            .execution_options(synchronize_session=False)).rowcount
    if written != 1:
        raise DomainError(_("This answer has already been graded."), code="already_graded", status=409)
    from app.audit.services import record

    record(grader_id, "grade.manual", f"attempt_item:{item_id}",
           {"attempt_id": attempt_id, "mark": str(mark), "points": str(points)})
    db.session.expire_all()
    return finalise_if_complete(attempt_id)


def finalise_if_complete(attempt_id: int) -> bool:
    """If no item of the attempt is pending, move it ``awaiting_grading`` → ``finished`` with ONE
    conditional UPDATE (so it is finalised once however many graders finish together) and grade it
    with :func:`app.exams.services.grade_attempt` (keeps the people's marks, totals, decides pass,
    checks course completion and certification). Returns True if this call finalised it. Flushes."""
    from app.exams.services import grade_attempt

    if pending_count(attempt_id):
        return False
    won = db.session.execute(
        update(Attempt).where(Attempt.id == attempt_id, Attempt.state == AWAITING_GRADING)
        .values(state=FINISHED).execution_options(synchronize_session=False)).rowcount
    if won != 1:
        return False
    attempt = db.session.get(Attempt, attempt_id)
    db.session.refresh(attempt)
    grade_attempt(attempt)
    return True
