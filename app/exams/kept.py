"""Which grade of several attempts is kept, and whether it reached the pass mark.

The exam's ``grade_method`` (Moodle's quiz "grading method": highest grade, average grade, first
attempt, last attempt) decides one grade per candidate from their FINISHED attempts that have a
score (in progress and awaiting-grading attempts do not count):

* ``highest``: the highest score;
* ``last`` / ``first``: the score of the attempt with the highest / lowest attempt number;
* ``average``: the arithmetic mean of the scores, rounded half up to 2 places.

Certification (see docs/architecture.md, "Grade kept"): a candidate *reached the pass mark* when,
after some finished attempt, the kept grade over the attempts up to and including it was at least
the pass mark (:func:`reached_pass_mark`). For ``highest`` and ``last`` that is "some attempt
passed"; for ``first`` "the first attempt passed"; for ``average`` "the running mean reached it at
some point" (50 then 90 with pass mark 60: mean 70, reached). A later, worse attempt does not undo
it: a certificate once issued is not revoked by a later attempt (only a regrade of the attempts
themselves can take it back, see :mod:`app.exams.regrade`).
"""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Iterable, Protocol

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import aliased

from app.exams.models import FINISHED, GRADE_HIGHEST, GRADE_METHODS, Attempt, Exam
from app.extensions import db

TWO = Decimal("0.01")


class AttemptLike(Protocol):
    """What :func:`kept_grade` reads of an attempt (an :class:`Attempt` or a query row)."""

    number: int
    state: str
    score: Decimal | None


def _scored(attempts: Iterable[AttemptLike]) -> list[Decimal]:
    """Scores (Decimal percent) of the finished, scored attempts, by attempt number."""
    done = [a for a in attempts if a.state == FINISHED and a.score is not None]
    return [Decimal(a.score) for a in sorted(done, key=lambda a: a.number)]


def _keep(scores: list[Decimal], method: str) -> Decimal | None:
    if not scores:
        return None
    if method == "last":
        return scores[-1]
    if method == "first":
        return scores[0]
    if method == "average":
        return (sum(scores, Decimal(0)) / len(scores)).quantize(TWO, rounding=ROUND_HALF_UP)
    return max(scores)


def kept_grade(attempts: Iterable[AttemptLike], method: str) -> Decimal | None:
    """The kept grade, percent 0–100 (Decimal, as stored: 2 places), of one candidate's attempts at
    one exam by ``method`` (``highest`` | ``last`` | ``first`` | ``average``; Moodle's quiz grading
    methods; average = mean of the finished attempts' percentages, half up to 2 places).

    ``attempts``: objects with ``number``, ``state`` and ``score``; only ``finished`` ones with a score
    count. None when there is none. Raises ValueError for an unknown method.
    """
    if method not in GRADE_METHODS:
        raise ValueError(f"unknown grade method {method!r}")
    return _keep(_scored(attempts), method)


def reached_pass_mark(attempts: Iterable[AttemptLike], method: str, pass_mark) -> bool:
    """True if, after some finished attempt (by number), the kept grade of the attempts up to it was
    ≥ ``pass_mark`` (percent): the certification rule. Raises ValueError for an unknown method."""
    if method not in GRADE_METHODS:
        raise ValueError(f"unknown grade method {method!r}")
    scores, mark = _scored(attempts), Decimal(pass_mark)
    return any(_keep(scores[:k], method) >= mark for k in range(1, len(scores) + 1))


def method_of(exam: Exam) -> str:
    """The exam's grade method (``highest`` for a missing value)."""
    return exam.grade_method if exam.grade_method in GRADE_METHODS else GRADE_HIGHEST


def attempts_of(exam_ids: list[int], user_id: int) -> list:
    """``(exam_id, number, state, score)`` rows of the user's finished attempts at these exams (one query)."""
    if not exam_ids:
        return []
    return list(db.session.execute(
        select(Attempt.exam_id, Attempt.number, Attempt.state, Attempt.score)
        .where(Attempt.exam_id.in_(exam_ids), Attempt.user_id == user_id, Attempt.state == FINISHED)))


def user_kept_grade(exam: Exam, user_id: int) -> Decimal | None:
    """:func:`kept_grade` of the user's attempts at ``exam`` by its method (one query)."""
    return kept_grade(attempts_of([exam.id], user_id), method_of(exam))


def user_reached_pass_mark(exam: Exam, user_id: int) -> bool:
    """:func:`reached_pass_mark` of the user's attempts at ``exam`` by its method and pass mark."""
    return reached_pass_mark(attempts_of([exam.id], user_id), method_of(exam), exam.pass_mark)


def reached_pass_mark_clause(attempt, exams: Iterable[tuple[int, str, Decimal]], before=None) -> ColumnElement[bool]:
    """SQL form of :func:`reached_pass_mark`: a condition on ``attempt`` (the :class:`Attempt` entity or
    an alias, FINISHED and already restricted by the caller to the user, the exams and the time) that
    holds when, after this attempt, the grade kept over the candidate's attempts up to and including
    it reached the pass mark. ``EXISTS`` of such an attempt = the candidate reached the pass mark.

    ``exams``: ``(exam_id, grade_method, pass_mark percent)`` of every exam the attempt may belong to.
    ``before``: UTC instant; only attempts finished before it count (the as-of date), or None.
    By method (Moodle's quiz grading methods, the rule of :mod:`app.exams.kept`):

    * ``highest`` / ``last`` (and an unknown method, read as highest): the attempt passed;
    * ``first``: the attempt passed and no earlier-numbered finished, scored attempt exists;
    * ``average``: the mean score of the finished, scored attempts numbered up to it, rounded to
      2 places, is ≥ the exam's pass mark (one correlated aggregate).

    When every exam keeps the highest or last grade this is exactly ``attempt.passed IS TRUE``."""
    simple, first, average = [], [], []
    for exam_id, method, pass_mark in exams:
        {"first": first, "average": average}.get(method, simple).append((exam_id, pass_mark))
    if not first and not average:
        return attempt.passed.is_(True)
    earlier = aliased(Attempt)
    same = [earlier.user_id == attempt.user_id, earlier.exam_id == attempt.exam_id, earlier.state == FINISHED,
            earlier.score.is_not(None)]
    if before is not None:
        same.append(earlier.finished_at < before)
    clauses = []
    if simple:
        clauses.append(and_(attempt.exam_id.in_([e for e, _ in simple]), attempt.passed.is_(True)))
    if first:
        clauses.append(and_(attempt.exam_id.in_([e for e, _ in first]), attempt.passed.is_(True),
                            ~select(earlier.id).where(*same, earlier.number < attempt.number).exists()))
    for exam_id, pass_mark in average:
        mean = (select(func.round(func.avg(earlier.score), 2)).where(*same, earlier.number <= attempt.number)
                .scalar_subquery())
        clauses.append(and_(attempt.exam_id == exam_id, attempt.score.is_not(None), mean >= Decimal(pass_mark)))
    return or_(*clauses)


def exam_rules(exam_ids) -> list[tuple[int, str, Decimal]]:
    """``(exam_id, grade_method, pass_mark)`` of the exams whose ids ``exam_ids`` gives (a list or a
    SELECT of ids), for :func:`reached_pass_mark_clause`. One query."""
    return [(i, m if m in GRADE_METHODS else GRADE_HIGHEST, Decimal(p)) for i, m, p in db.session.execute(
        select(Exam.id, Exam.grade_method, Exam.pass_mark).where(Exam.id.in_(exam_ids)))]


def percent_text(value: Decimal | None) -> str | None:
    """A kept grade as shown: ``Decimal('70.00')`` → ``'70'``, ``66.67`` → ``'66.67'``; None → None."""
    if value is None:
        return None
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text
