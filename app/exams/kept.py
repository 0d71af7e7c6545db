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

from sqlalchemy import select

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


def percent_text(value: Decimal | None) -> str | None:
    """A kept grade as shown: ``Decimal('70.00')`` → ``'70'``, ``66.67`` → ``'66.67'``; None → None."""
    if value is None:
        return None
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text
