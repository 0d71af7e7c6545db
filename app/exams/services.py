"""Exam services: exam sync from course files, starting attempts (blueprint draw), autosave,
finishing exactly once (by the candidate, lazily at the deadline, or by the scheduler), grading.

Time rules: ``deadline_at`` is fixed at start as ``min(start + time limit, window close)``,
with a candidate's override taking precedence over the exam's settings. An answer is accepted
while ``now <= deadline_at + grace_period_seconds`` (grace is 0 unless the exam sets it).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import sys
from array import array
from bisect import bisect_left
import random
import secrets
from collections import OrderedDict
from typing import NamedTuple
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal

from flask_babel import gettext as _
from sqlalchemy import bindparam, exists, func, or_, select, update
from psycopg.types.json import Json
from sqlalchemy.exc import IntegrityError

from app.audit.services import record
from app.content.report import ContentError, SyncReport
from app.core.errors import DomainError
from app.core.time import local_zone, utcnow
from app.exams.models import FINISHED, IN_PROGRESS, NAVIGATIONS, SEQUENTIAL, Attempt, AttemptItem, BlueprintRow, Exam, ExamOverride
from app.exams.models import REVIEW_AFTER_CLOSE, REVIEW_IMMEDIATELY, REVIEW_NEVER, REVIEW_SHOW, REVIEW_WHEN, default_review_rules
from app.exams.models import GRADE_HIGHEST, GRADE_METHODS, MANAGED_BY_BROWSER, MANAGED_BY_FILE
from app.exams.editor import ExamSpec, RowSpec, save_exam
from app.exams.kept import attempts_of, method_of, reached_pass_mark, user_reached_pass_mark
from app.extensions import db
from app.questions.models import DIFFICULTIES, Question, QuestionVersion
from app.questions.types import REGISTRY, ResponseError
from app.standards.models import StandardItem

TWO = Decimal("0.01")


# --- sync from course.yaml -------------------------------------------------------------------

def _local_datetime(value, field: str, where: str, errors: list[str]) -> dt.datetime | None:
    """A course.yaml date-time (local zone, e.g. 2026-12-01 09:00) as aware UTC; None if absent."""
    if value in (None, ""):
        return None
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        value = dt.datetime.combine(value, dt.time(0))
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            errors.append(f"{where}: field '{field}' must be a date-time like 2026-12-01 09:00")
            return None
    if not isinstance(value, dt.datetime):
        errors.append(f"{where}: field '{field}' must be a date-time like 2026-12-01 09:00")
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=local_zone())
    return value.astimezone(dt.timezone.utc)


def parse_review_options(value, where: str, errors: list[str]) -> dict[str, str]:
    """The review rules ``{what: when}`` (every REVIEW_SHOW name, in its order) from course.yaml's ``review``.

    Two forms are accepted:

    * per thing (Moodle's matrix): ``review: {marks: immediately, correctness: immediately,
      correct_answer: after_close, feedback: after_close}``; a name not listed is ``never``;
    * the older single form: ``review: {when: after_close, show: [marks, feedback]}``: every name in
      ``show`` gets ``when`` (default immediately), the others ``never``.

    Absent: :data:`~app.exams.models.DEFAULT_REVIEW_RULES` (marks immediately). Mixing the two forms, an
    unknown name or a value not in REVIEW_WHEN is an error appended to ``errors`` as
    ``<where>.review: ...``, and the defaults are returned.
    """
    defaults = default_review_rules()
    if value is None:
        return defaults
    if not isinstance(value, dict):
        errors.append(f"{where}: field 'review' must be a mapping: each of {', '.join(REVIEW_SHOW)} "
                      f"to one of {', '.join(REVIEW_WHEN)}")
        return defaults
    keys = set(map(str, value))
    if keys and keys <= {"when", "show"}:
        when = value.get("when", REVIEW_IMMEDIATELY)
        if when not in REVIEW_WHEN:
            errors.append(f"{where}.review: field 'when' must be one of {', '.join(REVIEW_WHEN)}")
            return defaults
        wanted = value.get("show", ["marks"])
        if not isinstance(wanted, list) or not all(isinstance(v, str) for v in wanted):
            errors.append(f"{where}.review: field 'show' must be a list of {', '.join(REVIEW_SHOW)}")
            return defaults
        bad = [v for v in wanted if v not in REVIEW_SHOW]
        if bad:
            errors.append(f"{where}.review: field 'show': {', '.join(bad)} is not one of {', '.join(REVIEW_SHOW)}")
            return defaults
        return {what: (when if what in wanted else REVIEW_NEVER) for what in REVIEW_SHOW}
    unknown = sorted(keys - set(REVIEW_SHOW))
    if unknown:
        errors.append(f"{where}.review: unknown field(s) {', '.join(unknown)} (expected any of "
                      f"{', '.join(REVIEW_SHOW)}, or the older 'when' and 'show')")
        return defaults
    rules = {}
    for what in REVIEW_SHOW:
        when = value.get(what, REVIEW_NEVER)
        if when not in REVIEW_WHEN:
            errors.append(f"{where}.review: field '{what}' must be one of {', '.join(REVIEW_WHEN)}")
            return defaults
        rules[what] = when
    return rules


def _flag(data: dict, field: str, where: str, errors: list[str]) -> bool:
    """A true/false exam setting (absent: False); a non-boolean is an error naming the field."""
    value = data.get(field, False)
    if not isinstance(value, bool):
        errors.append(f"{where}: field '{field}' must be true or false")
        return False
    return value


def sync_course_exam(course, exam_data: dict | None, source: str, report: SyncReport,
                     code: str | None = None) -> Exam | None:
    """Create or update the exam of ``course`` from the ``exam:`` block of course.yaml. Flushes.

    The exam code is ``code`` (default: the course slug; an ``extra_exams`` entry names its own).
    A row may name ``type`` (a question type, e.g. ``practical``): it then draws only that type; a
    row without one draws any type that is not ``deferred`` (never a practical task). Each blueprint row names either a standard ``item`` of the
    course or an ``area`` holding at least one of them, plus ``difficulty`` (or any), ``count`` and
    ``points``; the points add up to 100. Optional ``opens_at`` / ``closes_at`` are local date-times;
    optional ``questions_per_page`` (0 = all on one page, the default) and ``navigation`` (``free``,
    the default, or ``sequential``: forward only, enforced by the server); optional ``review``
    (:func:`parse_review_options`), ``allow_retake_after_pass`` and ``require_lessons`` (booleans, default false),
    ``shuffle_questions`` and ``shuffle_options`` (booleans, default true), ``grade_method`` (highest, the
    default, last, first or average).
    Raises ContentError naming the file and field; warns (in ``report``) where the bank holds fewer
    than twice the questions a row draws (forms would repeat). The spec is saved by
    :func:`app.exams.editor.save_exam`, the browser editor's save; an exam created in the browser
    (``managed_by = browser``) with the same code is a content error, never overwritten.
    """
    if exam_data is None:
        return None
    errors = []
    code = code or course.slug
    where = f"{source}: exam" if code == course.slug else f"{source}: extra_exams[{code}]"

    def number(field, default, minimum=0):
        value = exam_data.get(field, default)
        if not isinstance(value, (int, float)) or value < minimum:
            errors.append(f"{where}: field '{field}' must be a number >= {minimum}")
            return default
        return value

    time_limit = number("time_limit_minutes", 30, 1)
    pass_mark = number("pass_mark", 60, 0)
    attempts_allowed = number("attempts_allowed", 3, 1)
    grace = number("grace_period_seconds", 0, 0)
    per_page = exam_data.get("questions_per_page", 0)
    if isinstance(per_page, bool) or not isinstance(per_page, int) or per_page < 0:
        errors.append(f"{where}: field 'questions_per_page' must be a whole number >= 0 (0 = all on one page)")
        per_page = 0
    navigation = exam_data.get("navigation", "free")
    if navigation not in NAVIGATIONS:
        errors.append(f"{where}: field 'navigation' must be one of {', '.join(NAVIGATIONS)}")
        navigation = "free"
    if navigation == SEQUENTIAL and per_page == 0:
        errors.append(f"{where}: field 'navigation': sequential needs 'questions_per_page' of 1 or more")
    review_rules = parse_review_options(exam_data.get("review"), where, errors)
    allow_retake = _flag(exam_data, "allow_retake_after_pass", where, errors)
    require_lessons = _flag(exam_data, "require_lessons", where, errors)
    shuffle_questions = exam_data.get("shuffle_questions", True)
    shuffle_options = exam_data.get("shuffle_options", True)
    for name, value in (("shuffle_questions", shuffle_questions), ("shuffle_options", shuffle_options)):
        if not isinstance(value, bool):
            errors.append(f"{where}: field '{name}' must be true or false")
    grade_method = exam_data.get("grade_method", GRADE_HIGHEST)
    if grade_method not in GRADE_METHODS:
        errors.append(f"{where}: field 'grade_method' must be one of {', '.join(GRADE_METHODS)}")
    opens_at = _local_datetime(exam_data.get("opens_at"), "opens_at", where, errors)
    closes_at = _local_datetime(exam_data.get("closes_at"), "closes_at", where, errors)
    if pass_mark > 100:
        errors.append(f"{where}: field 'pass_mark' must be at most 100")
    late = [what for what in REVIEW_SHOW if review_rules[what] == REVIEW_AFTER_CLOSE]
    if late and closes_at is None:
        errors.append(f"{where}.review: after_close needs the exam's 'closes_at' (for {', '.join(late)})")
    if opens_at and closes_at and closes_at <= opens_at:
        errors.append(f"{where}: field 'closes_at' must be after 'opens_at'")
    course_items = {item.code: item for item in course.items}
    course_areas = {item.area.code: item.area for item in course.items}
    rows = []  # (item or None, area or None, label, difficulty, count, points)
    for index, row in enumerate(exam_data.get("blueprint") or []):
        r_where = f"{where}.blueprint[{index}]"
        if not isinstance(row, dict):
            errors.append(f"{r_where}: must be a mapping")
            continue
        item = area = None
        if ("item" in row) == ("area" in row):
            errors.append(f"{r_where}: give either 'item' or 'area'")
            continue
        if "item" in row:
            item = course_items.get(str(row["item"]))
            if item is None:
                errors.append(f"{r_where}: field 'item': {row['item']} is not one of the course's items")
                continue
        else:
            area = course_areas.get(str(row["area"]))
            if area is None:
                errors.append(f"{r_where}: field 'area': {row['area']} holds none of the course's items")
                continue
        difficulty = row.get("difficulty")
        if difficulty in ("any", None):
            difficulty = None
        elif difficulty not in DIFFICULTIES:
            errors.append(f"{r_where}: field 'difficulty' must be easy, medium, hard or any")
            continue
        qtype = row.get("type")
        if qtype is not None and qtype not in REGISTRY:
            errors.append(f"{r_where}: field 'type' must be one of {', '.join(REGISTRY)}")
            continue
        count, points = row.get("count"), row.get("points")
        if not isinstance(count, int) or count < 1:
            errors.append(f"{r_where}: field 'count' must be a whole number >= 1")
            continue
        if not isinstance(points, (int, float)) or points <= 0:
            errors.append(f"{r_where}: field 'points' must be a number > 0")
            continue
        label = f"{item.code if item else 'area ' + area.code}/{difficulty or 'any'}" + (f"/{qtype}" if qtype else "")
        rows.append((item, area, label, difficulty, qtype, count, Decimal(str(points)).quantize(TWO)))
    if not rows:
        errors.append(f"{where}: field 'blueprint' must have at least one row")
    total = sum((points * count for *_, count, points in rows), Decimal(0))
    if rows and total != 100:
        errors.append(f"{where}: blueprint points add up to {total}, expected 100")
    for item, area, label, difficulty, qtype, count, _points in rows:
        available = count_available(item.id if item else None, area.id if area else None, difficulty, qtype)
        if available < count:
            errors.append(f"{where}: blueprint row {label} draws {count} questions but the bank has {available}")
        elif available < 2 * count:
            report.warnings.append(f"{where}: blueprint row {label} draws {count} of only {available} questions; "
                                   f"forms will repeat")
    if errors:
        raise ContentError(errors)

    exam = db.session.execute(select(Exam).where(Exam.code == code)).scalar_one_or_none()
    if exam is not None and exam.managed_by == MANAGED_BY_BROWSER:
        raise ContentError([f"{where}: exam '{code}' was created in the browser editor (/admin/exams/); "
                            f"content sync does not overwrite it: remove the exam block from this file, or give "
                            f"the browser exam another code"])
    spec = ExamSpec(
        code=code, title_zh=exam_data["title"][0], title_en=exam_data["title"][1], course_id=course.id,
        time_limit_seconds=int(time_limit * 60), pass_mark=Decimal(str(pass_mark)).quantize(TWO),
        attempts_allowed=int(attempts_allowed), grace_period_seconds=int(grace), opens_at=opens_at,
        closes_at=closes_at, questions_per_page=per_page, navigation=navigation,
        review_rules=review_rules, allow_retake_after_pass=allow_retake, require_lessons=require_lessons,
        shuffle_questions=shuffle_questions, grade_method=grade_method, managed_by=MANAGED_BY_FILE,
        shuffle_options=shuffle_options,
        rows=[RowSpec(item.id if item else None, area.id if area else None, difficulty, count, points, qtype)
              for item, area, _label, difficulty, qtype, count, points in rows])
    exam, outcome = save_exam(spec, exam)
    if outcome == "created":
        report.created("exam", code)
    elif outcome == "updated":
        report.updated("exam", code)
    else:
        report.unchanged("exam")
    return exam


def _drawable():
    """Conditions for a question a form may draw: active, with a version, of a supported type."""
    return (Question.active.is_(True), Question.current_version_id.is_not(None), Question.qtype.in_(list(REGISTRY)))


#: Types a blueprint row without a ``type`` draws (every type that is not checked later, see QuestionType.deferred).
UNTYPED_ROW_TYPES = tuple(name for name, t in REGISTRY.items() if not t.deferred)


def row_type_matches(row_qtype: str | None, question_qtype: str) -> bool:
    """True if a blueprint row with ``row_qtype`` (None: any type but deferred ones) may draw a question of
    ``question_qtype``."""
    return question_qtype == row_qtype if row_qtype else question_qtype in UNTYPED_ROW_TYPES


def count_available(item_id: int | None, area_id: int | None, difficulty: str | None, qtype: str | None = None) -> int:
    """Drawable questions of a standard item, or of any item of an area (and of a difficulty, if given),
    of type ``qtype`` (None: any type that is not deferred, see :func:`row_type_matches`)."""
    query = select(func.count(Question.id)).join(StandardItem, StandardItem.id == Question.standard_item_id).where(*_drawable())
    query = query.where(Question.standard_item_id == item_id) if item_id else query.where(StandardItem.area_id == area_id)
    if difficulty:
        query = query.where(Question.difficulty == difficulty)
    query = query.where(Question.qtype == qtype) if qtype else query.where(Question.qtype.in_(UNTYPED_ROW_TYPES))
    return db.session.execute(query).scalar_one()


# --- settings for a candidate ----------------------------------------------------------------

@dataclass(frozen=True)
class CandidateSettings:
    """An exam's effective rules for one candidate after overrides and accommodation.

    ``time_limit_seconds``: the limit the candidate gets (accommodation included), whole seconds;
    ``closes_at``: the effective window close (UTC) or None; ``attempts_allowed``: total attempts.
    ``base_time_limit_seconds``: the limit before the accommodation; ``extra_percent`` (percent
    0–300) and ``extra_minutes``: the accommodation applied (0 when none); ``overridden``: the
    fields an override changed, e.g. ``("closes_at",)``.
    """

    time_limit_seconds: int
    closes_at: dt.datetime | None
    attempts_allowed: int
    base_time_limit_seconds: int | None = None
    extra_percent: int = 0
    extra_minutes: int = 0
    overridden: tuple[str, ...] = ()

    @property
    def accommodated(self) -> bool:
        """True when an accommodation lengthened the time limit."""
        return bool(self.extra_percent or self.extra_minutes)


def accommodated_seconds(base_seconds: int, extra_percent: int, extra_minutes: int) -> int:
    """``base × (1 + extra_percent / 100) + extra_minutes × 60`` in whole seconds, rounded up
    (so 30 min at +25 % is 2250 s = 37.5 min). ``extra_percent`` is a percentage (25 = +25 %)."""
    hundredths = base_seconds * (100 + extra_percent)
    return -(-hundredths // 100) + extra_minutes * 60


def _most_generous(field: str, values: list):
    """The most generous of several department overrides' values for ``field`` (None ignored)."""
    present = [v for v in values if v is not None]
    if not present:
        return None
    return max(present)  # longer time, later close, more attempts: max is the most generous for all three


def candidate_settings(exam: Exam, user_id: int) -> CandidateSettings:
    """The effective rules of ``exam`` for ``user_id``: the one function start, the exam page and
    the course page use.

    Precedence, field by field (time limit, close, attempts allowed), None meaning "not set":

    1. The person's own override for this exam, if it sets the field. A person override beats any
       department override even when it is less generous: it is a decision about this one person
       (e.g. an officer correcting a department-wide extension for someone who already sat).
    2. Otherwise the overrides of the departments whose subtree holds the person's department (the
       department itself and its ancestors): the MOST GENEROUS value among them (longest time,
       latest close, most attempts). Department overrides only ever relax a rule for a group, and
       two grants (say by the city and by a bureau) should add up rather than depend on which
       level granted last or on tree depth, so the result does not depend on the order of grants.
    3. Otherwise the exam's own value.

    Then the person's accommodation (:class:`app.exams.models.Accommodation`) lengthens the time
    limit found above: see :func:`accommodated_seconds`. The window close is never moved by an
    accommodation; :func:`deadline_for` cuts the time limit short at the close. Times in seconds, UTC.
    """
    from app.auth.models import User
    from app.exams.models import Accommodation
    from app.org.models import DepartmentClosure

    department_ids = (select(DepartmentClosure.ancestor_id)
                      .join(User, User.department_id == DepartmentClosure.descendant_id)
                      .where(User.id == user_id))
    rows = list(db.session.execute(
        select(ExamOverride).where(ExamOverride.exam_id == exam.id, or_(
            ExamOverride.user_id == user_id, ExamOverride.department_id.in_(department_ids)))).scalars())
    person = next((r for r in rows if r.user_id == user_id), None)
    departments = [r for r in rows if r.user_id is None]
    effective, overridden = {}, []
    for field in ("time_limit_seconds", "closes_at", "attempts_allowed"):
        value = getattr(person, field) if person is not None else None
        if value is None:
            value = _most_generous(field, [getattr(r, field) for r in departments])
        if value is None:
            value = getattr(exam, field)
        else:
            overridden.append(field)
        effective[field] = value
    accommodation = db.session.execute(
        select(Accommodation).where(Accommodation.user_id == user_id)).scalar_one_or_none()
    percent = accommodation.extra_percent if accommodation else 0
    minutes = accommodation.extra_minutes if accommodation else 0
    base = effective["time_limit_seconds"]
    return CandidateSettings(
        time_limit_seconds=accommodated_seconds(base, percent, minutes),
        closes_at=effective["closes_at"], attempts_allowed=effective["attempts_allowed"],
        base_time_limit_seconds=base, extra_percent=percent, extra_minutes=minutes, overridden=tuple(overridden))


def attempts_used(exam_id: int, user_id: int) -> int:
    """Number of attempts the candidate has started on the exam."""
    return db.session.execute(
        select(func.count(Attempt.id)).where(Attempt.exam_id == exam_id, Attempt.user_id == user_id)
    ).scalar_one()


def in_progress_attempt(exam_id: int, user_id: int) -> Attempt | None:
    """The candidate's unfinished attempt, finalising it first if its deadline has passed."""
    attempt = db.session.execute(
        select(Attempt).where(Attempt.exam_id == exam_id, Attempt.user_id == user_id, Attempt.state == IN_PROGRESS)
    ).scalar_one_or_none()
    if attempt is not None and attempt.is_overdue:
        finish_attempt(attempt, by="deadline")
        return None
    return attempt


# --- start -----------------------------------------------------------------------------------

class PoolRow(NamedTuple):
    """A drawable question: ids of the question, its current version, its item and area; its difficulty
    and type (None: counts as a type every row without ``type`` draws, for callers building pools by hand)."""

    question_id: int
    version_id: int
    item_id: int
    area_id: int
    difficulty: str | None
    qtype: str | None = None


class Draw(NamedTuple):
    """One slot of a drawn form: the blueprint row, the question version and its standard item."""

    row: BlueprintRow
    version_id: int
    item_id: int


def load_pool(exam: Exam) -> list[PoolRow]:
    """Drawable questions for the exam's blueprint items and areas, ordered by question id (one query)."""
    item_ids = {row.standard_item_id for row in exam.blueprint if row.standard_item_id}
    area_ids = {row.standard_area_id for row in exam.blueprint if row.standard_area_id}
    return [PoolRow(*row) for row in db.session.execute(
        select(Question.id, Question.current_version_id, Question.standard_item_id, StandardItem.area_id,
               Question.difficulty, Question.qtype)
        .join(StandardItem, StandardItem.id == Question.standard_item_id)
        .where(*_drawable(), or_(Question.standard_item_id.in_(item_ids), StandardItem.area_id.in_(area_ids)))
        .order_by(Question.id)
    ).all()]


def draw_form(exam: Exam, seed: int, pool: list[PoolRow] | None = None) -> list[Draw]:
    """Pick question versions by the blueprint, row by row, then shuffle the form.

    ``pool`` is :func:`load_pool`'s result (loaded here if None; pass it to draw many forms). The
    draw is deterministic for ``seed`` and never picks a question twice in one form.
    Raises DomainError if the bank cannot fill a row.
    """
    rng = random.Random(seed)
    pool = load_pool(exam) if pool is None else pool
    used: set[int] = set()
    picked: list[Draw] = []
    for row in exam.blueprint:
        candidates = [q for q in pool if q.question_id not in used
                      and (q.item_id == row.standard_item_id if row.standard_item_id else q.area_id == row.standard_area_id)
                      and (row.difficulty is None or q.difficulty == row.difficulty)
                      and row_type_matches(row.qtype, q.qtype or UNTYPED_ROW_TYPES[0])]
        if len(candidates) < row.count:
            raise DomainError(_("This exam cannot be started: the question bank has too few questions. "
                                "Please tell the administrator."), code="bank_too_small", status=409)
        for q in rng.sample(candidates, row.count):
            used.add(q.question_id)
            picked.append(Draw(row, q.version_id, q.item_id))
    if exam.shuffle_questions is not False:  # off: the blueprint's order
        rng.shuffle(picked)
    return picked


def form_items(exam: Exam, seed: int, form: list[Draw], versions: dict[int, QuestionVersion | tuple]) -> list[dict]:
    """Attempt-item rows for a drawn form: position, version, row, item, points and option order.

    ``versions`` maps version id to a QuestionVersion or a ``(qtype, spec)`` tuple. Options are
    shuffled per item with ``seed + position`` when the exam shuffles.
    """
    items = []
    for position, draw in enumerate(form, start=1):
        version = versions[draw.version_id]
        qtype_name, spec = (version.qtype, version.spec) if isinstance(version, QuestionVersion) else version[:2]
        qtype = REGISTRY[qtype_name]
        if exam.shuffle_options:
            order = qtype.shuffled_order(spec, seed + position)
        else:
            order = qtype.option_ids(spec) or qtype.shuffled_order(spec, 0)
        items.append({"position": position, "question_version_id": draw.version_id, "blueprint_row_id": draw.row.id,
                      "standard_item_id": draw.item_id, "points": Decimal(draw.row.points), "option_order": order})
    return items


def deadline_for(start: dt.datetime, settings: "CandidateSettings") -> dt.datetime:
    """``min(start + time limit, window close)`` (UTC) for a candidate's effective settings: the
    window close cuts a time limit (accommodation included) short. The grace period is added on
    top of this deadline when answers are checked, not here."""
    deadline = start + dt.timedelta(seconds=settings.time_limit_seconds)
    return min(deadline, settings.closes_at) if settings.closes_at is not None else deadline


def start_attempt(user, exam: Exam, admission=None) -> Attempt:
    """Start (or resume) the candidate's attempt. Flushes; the caller commits.

    Returns the in-progress attempt if there is one. Raises DomainError if the exam is closed, no
    attempts are left, it was passed and does not allow a retake (``passed``), or it requires the
    course's lessons and some are not done (``lessons``): see :func:`app.exams.review.check_may_start`;
    or if admission fails (network, access code, sitting: :func:`app.exams.admission.admit`, with
    ``admission`` an :class:`app.exams.admission.Admission`). A sitting's seat is taken in the same
    savepoint as the attempt row (not for a candidate assigned to the sitting: theirs was taken when
    assigned) and its end cuts the deadline.
    """
    current = in_progress_attempt(exam.id, user.id)
    if current is not None:
        return current
    settings = candidate_settings(exam, user.id)
    now = utcnow()
    window_open = exam.active and (exam.opens_at is None or exam.opens_at <= now) and (
        settings.closes_at is None or now < settings.closes_at)
    if not window_open:
        raise DomainError(_("This exam is not open now."), code="closed", status=409)
    used = attempts_used(exam.id, user.id)
    if used >= settings.attempts_allowed:
        raise DomainError(_("You have used all your attempts at this exam."), code="no_attempts", status=409)
    from app.exams.review import check_may_start

    check_may_start(user, exam)
    from app.exams import admission as admission_rules

    sitting, needs_seat = admission_rules.admit(exam, admission, now, user.id)
    if sitting is not None:
        settings = replace(settings, closes_at=min(sitting.ends_at, settings.closes_at or sitting.ends_at))
    seed = secrets.randbelow(2**31 - 1)
    form = draw_form(exam, seed)
    versions = {vid: (qtype, spec) for vid, qtype, spec in db.session.execute(  # only what form_items reads
        select(QuestionVersion.id, QuestionVersion.qtype, QuestionVersion.spec)
        .where(QuestionVersion.id.in_([d.version_id for d in form])))}
    items = form_items(exam, seed, form, versions)
    attempt = Attempt(exam_id=exam.id, user_id=user.id, number=used + 1, state=IN_PROGRESS, seed=seed,
                      started_at=now, deadline_at=deadline_for(now, settings),
                      grace_period_seconds=exam.grace_period_seconds,
                      max_points=sum((i["points"] for i in items), Decimal(0)),
                      items=[AttemptItem(**item) for item in items], sitting_id=sitting.id if sitting else None)
    savepoint = db.session.begin_nested()
    try:
        if sitting is not None and needs_seat and not admission_rules.take_seat(sitting.id, exam.id, now):
            savepoint.rollback()
            raise admission_rules.sitting_full()
        db.session.add(attempt)
        db.session.flush()
        savepoint.commit()
    except IntegrityError:
        savepoint.rollback()  # a concurrent request started the same attempt number
        current = in_progress_attempt(exam.id, user.id)
        if current is None:
            raise DomainError(_("Please try again."), code="conflict", status=409)
        return current
    record(user.id, "attempt.start", f"attempt:{attempt.id}",
           {"exam": exam.code, "number": attempt.number, "deadline_at": attempt.deadline_at})
    return attempt


# --- answering -------------------------------------------------------------------------------

MAX_POSITION = 10_000            # no form has more questions; larger positions are refused as malformed
MAX_REVISION = 2**31 - 1         # the column is a 32-bit integer


@dataclass
class SaveResult:
    """Outcome of an autosave that stored the answer (or found it already stored).

    ``revision`` is the item's revision now (the page sends it with its next save of that question);
    ``saved_at`` is UTC; ``remaining_seconds`` whole seconds until the deadline.
    """

    status: str
    revision: int
    saved_at: dt.datetime
    remaining_seconds: int


class SaveConflict(DomainError):
    """The page's revision is not the stored one and the stored answer differs (HTTP 409, code ``conflict``).

    ``revision`` is the stored revision (send it to overwrite: "keep mine"), ``saved_response`` the
    stored response (the type's JSON) and ``selected`` its option ids as the page shows them.
    """

    def __init__(self, revision: int, saved_response: dict | None, selected: list[str]):
        super().__init__(_("This answer was changed in another window."), code="conflict", status=409)
        self.revision = revision
        self.saved_response = saved_response
        self.selected = selected


def _whole_number(value, field: str, minimum: int, maximum: int) -> int:
    """``value`` if it is an int (not a bool) within [minimum, maximum]; else DomainError 400 naming ``field``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise DomainError(_("Field '%(field)s' must be a whole number.", field=field), code="bad_request", status=400)
    if not minimum <= value <= maximum:
        raise DomainError(_("Field '%(field)s' must be between %(low)s and %(high)s.", field=field, low=minimum,
                            high=maximum), code="bad_request", status=400)
    return value


def page_of(position: int, per_page: int) -> int:
    """1-based page number holding ``position`` (1-based) when ``per_page`` questions fit a page (0: all on page 1)."""
    return 1 if per_page <= 0 else (position - 1) // per_page + 1


def page_bounds(page: int, per_page: int, count: int) -> tuple[int, int]:
    """(first, last) positions of ``page`` (1-based) for ``count`` questions, ``per_page`` a page (0: all)."""
    if per_page <= 0:
        return 1, count
    first = (page - 1) * per_page + 1
    return first, min(count, first + per_page - 1)


def page_count(per_page: int, count: int) -> int:
    """Number of pages for ``count`` questions at ``per_page`` a page (0: one page)."""
    return 1 if per_page <= 0 or count == 0 else -(-count // per_page)


def open_for_write(attempt_id: int, user_id: int, position: int, navigation: str, per_page: int,
                   grace_seconds: int | None, now: dt.datetime) -> None:
    """Take the attempt's row for writing an answer at ``position``: one conditional UPDATE that checks
    owner, state, deadline plus ``grace_seconds`` (seconds) at ``now`` (UTC) and, for sequential
    navigation, that the position is on the current page. Raises DomainError (409 ``sequential``, or
    the refusal of :func:`_refuse_closed`) when it matches nothing. Used by autosave and uploads."""
    sequential = navigation == SEQUENTIAL and per_page > 0
    first, last = page_bounds(page_of(position, per_page), per_page, MAX_POSITION) if sequential else (1, MAX_POSITION)
    opened = db.session.execute(_SAVE_OPEN_ATTEMPT, {
        "b_attempt": attempt_id, "b_user": user_id, "cutoff": now - dt.timedelta(seconds=grace_seconds or 0),
        "first": first, "last": last, "now_": now}).rowcount
    if opened != 1:
        attempt = db.session.get(Attempt, attempt_id)
        if sequential:
            db.session.refresh(attempt)
            if attempt.state == IN_PROGRESS and not attempt.is_overdue:
                raise DomainError(_("This exam goes forward only: this question can no longer be changed."),
                                  code="sequential", status=409)
        _refuse_closed(attempt)


def _refuse_closed(attempt: Attempt) -> None:
    """After a conditional attempt UPDATE matched nothing: finalise if overdue and raise time_up."""
    db.session.rollback()
    db.session.refresh(attempt)
    if attempt.state == IN_PROGRESS and attempt.is_overdue:
        finish_attempt(attempt, by="deadline")
    record(attempt.user_id, "attempt.late_answer_refused", f"attempt:{attempt.id}",
           {"state": attempt.state, "deadline_at": attempt.deadline_at})
    db.session.commit()
    raise DomainError(_("Time is up: this attempt has been submitted. Your saved answers were kept."),
                      code="time_up", status=409)


# Statements of the save path, built once (not per request); values are bound at execution.
_SAVE_LOOKUP = (
    select(AttemptItem.id, AttemptItem.question_version_id, QuestionVersion.content_hash,
           Attempt.deadline_at, Attempt.grace_period_seconds, Exam.navigation, Exam.questions_per_page)
    .join(Attempt, Attempt.id == AttemptItem.attempt_id)
    .join(Exam, Exam.id == Attempt.exam_id)
    .join(QuestionVersion, QuestionVersion.id == AttemptItem.question_version_id)
    .where(AttemptItem.attempt_id == bindparam("b_attempt"), Attempt.user_id == bindparam("b_user"),
           AttemptItem.position == bindparam("position"))
)
_SAVE_OPEN_ATTEMPT = (
    update(Attempt)
    .where(Attempt.id == bindparam("b_attempt"), Attempt.user_id == bindparam("b_user"),
           Attempt.state == IN_PROGRESS, Attempt.deadline_at >= bindparam("cutoff"),
           Attempt.furthest_position.between(bindparam("first"), bindparam("last")))
    .values(last_saved_at=bindparam("now_"))
    .execution_options(synchronize_session=False)
)
_SAVE_WRITE_ITEM = (
    update(AttemptItem)
    .where(AttemptItem.id == bindparam("item_id"), AttemptItem.revision == bindparam("base"))
    .values(response=bindparam("response_"), revision=AttemptItem.revision + 1, answered_at=bindparam("now_"))
    .execution_options(synchronize_session=False)
)
_SAVE_CURRENT = select(AttemptItem.response, AttemptItem.revision).where(AttemptItem.id == bindparam("item_id"))
_SPEC_CACHE: "OrderedDict[tuple[int, str], tuple[str, dict]]" = OrderedDict()
_SPEC_CACHE_SIZE = 4096


def version_spec(version_id: int, content_hash: str) -> tuple[str, dict]:
    """``(qtype, spec)`` of a question version from an in-process LRU cache (4,096 entries).

    Versions are immutable (an edit makes a new version), and the key includes the SHA-256
    ``content_hash`` of the version's content, so a cached entry can never be stale even where
    ids are reused (e.g. a database emptied between tests). The spec is shared: do not mutate it.
    """
    key = (version_id, content_hash)
    cached = _SPEC_CACHE.get(key)
    if cached is not None:
        _SPEC_CACHE.move_to_end(key)
        return cached
    qtype, spec = db.session.execute(
        select(QuestionVersion.qtype, QuestionVersion.spec).where(QuestionVersion.id == version_id)).one()
    _SPEC_CACHE[key] = (qtype, spec)
    if len(_SPEC_CACHE) > _SPEC_CACHE_SIZE:
        _SPEC_CACHE.popitem(last=False)
    return qtype, spec


def save_answer(attempt: Attempt, position, response, revision) -> SaveResult:
    """:func:`save_answer_for` for a loaded attempt (its id and owner)."""
    return save_answer_for(attempt.id, attempt.user_id, position, response, revision)


def save_answer_for(attempt_id: int, user_id: int, position, response, revision) -> SaveResult:
    """Store the candidate's response for one question if the page saw the stored revision.

    ``position`` (1-based) and ``revision`` (the item revision the page last saw, 0 before any save)
    must be ints, not bools. One SELECT finds the item of the owner's attempt (with the attempt's
    deadline and the exam's navigation); the response is validated against the question version
    from an in-process cache (:func:`version_spec`). The attempt row is then updated with a
    condition on owner, state, deadline + grace and (sequential navigation) the page reached — a
    row lock on PostgreSQL, the write lock on SQLite — so a concurrent finish either sees this answer
    or this save is refused. Then ONE conditional UPDATE writes the response and ``revision + 1``
    where the revision still matches. If it does not and the stored response equals this one (a
    retry whose acknowledgement was lost), the save counts as stored. Flushes; the caller commits.

    Raises:
        SaveConflict (409, code ``conflict``): another page stored a different answer since.
        DomainError(409, code ``time_up``): past deadline + grace, or already finished (the
            attempt is finalised lazily if still open); nothing is stored.
        DomainError(409, code ``sequential``): sequential navigation and the question is not on
            the page the candidate has reached.
        DomainError(404, code ``not_found``): no such attempt of this user.
        DomainError(400): malformed position, revision or response, or unknown position.
    """
    position = _whole_number(position, "position", 1, MAX_POSITION)
    revision = _whole_number(revision, "revision", 0, MAX_REVISION)
    now = utcnow()
    row = db.session.execute(_SAVE_LOOKUP, {"b_attempt": attempt_id, "b_user": user_id,
                                            "position": position}).first()
    if row is None:
        owned = db.session.execute(select(Attempt.id).where(Attempt.id == attempt_id, Attempt.user_id == user_id)).first()
        if owned is None:
            raise DomainError(_("The page you asked for does not exist."), code="not_found", status=404)
        raise DomainError(_("Unknown question."), code="unknown_question", status=400)
    item_id, version_id, content_hash, deadline_at, grace_seconds, navigation, per_page = row
    qtype, spec = version_spec(version_id, content_hash)
    try:
        normalised = REGISTRY[qtype].check_response(spec, response)
    except ResponseError as exc:
        raise DomainError(str(exc), code="bad_response", status=400) from exc
    open_for_write(attempt_id, user_id, position, navigation, per_page, grace_seconds, now)
    written = db.session.execute(_SAVE_WRITE_ITEM, {"item_id": item_id, "base": revision, "response_": normalised,
                                                    "now_": now}).rowcount
    remaining = max(0, int((deadline_at - now).total_seconds()))
    if written == 1:
        return SaveResult(status="saved", revision=revision + 1, saved_at=now, remaining_seconds=remaining)
    stored, current = db.session.execute(_SAVE_CURRENT, {"item_id": item_id}).one()
    if stored == normalised:
        return SaveResult(status="saved", revision=current, saved_at=now, remaining_seconds=remaining)
    raise SaveConflict(current, stored, REGISTRY[qtype].selected(spec, stored))


# --- the PostgreSQL fast path of autosave (issue 6, item 12) ---------------------------------------
#
# One statement does what the general path does in three (login session, attempt row, item row): it
# checks the login session, opens the attempt for writing (owner, state, deadline + grace, sequential
# page) and writes the item where the page's revision still matches. Any outcome other than "stored"
# writes nothing here and is answered by the general path (save_answer_for), so refusals, conflicts
# and retries have one implementation.

_ITEM_MAPS: "OrderedDict[int, tuple[array, array, array]]" = OrderedDict()  # attempt → positions, items, versions
_ITEM_MAPS_SIZE = 4096
_VERSION_HASHES: dict[int, str] = {}  # question version id → content hash (interned)
_VERSION_HASHES_SIZE = 50_000

_PG_SESSION_USER = """SELECT s.user_id FROM user_session s JOIN "user" u ON u.id = s.user_id
    WHERE s.token_hash = %(token)s AND s.revoked_at IS NULL AND s.expires_at > %(now)s AND u.active
      AND NOT u.must_change_password"""
# The two statements below are composed of constant fragments only; every value is a bound
# parameter (psycopg %(name)s), so nothing from a request reaches the SQL text.
_PG_ATTEMPT_ITEMS = f"""SELECT ai.position, ai.id, ai.question_version_id, qv.content_hash
    FROM attempt_item ai JOIN attempt a ON a.id = ai.attempt_id
    JOIN question_version qv ON qv.id = ai.question_version_id
    WHERE ai.attempt_id = %(attempt)s AND a.user_id = ({_PG_SESSION_USER})"""  # nosec B608
_PG_SAVE = f"""WITH s AS ({_PG_SESSION_USER}),
opened AS (
    UPDATE attempt a SET last_saved_at = %(now)s FROM exam e, s
    WHERE a.id = %(attempt)s AND a.user_id = s.user_id AND e.id = a.exam_id AND a.state = %(open_state)s
      AND a.deadline_at + make_interval(secs => coalesce(a.grace_period_seconds, 0)) >= %(now)s
      AND (e.navigation <> %(sequential)s OR e.questions_per_page <= 0
           OR (a.furthest_position - 1) / e.questions_per_page = (%(position)s - 1) / e.questions_per_page)
    RETURNING a.id, a.deadline_at),
written AS (
    UPDATE attempt_item ai SET response = %(response)s, revision = ai.revision + 1, answered_at = %(now)s
    FROM opened, question_version qv
    WHERE ai.id = %(item)s AND ai.attempt_id = opened.id AND ai.position = %(position)s
      AND ai.revision = %(base)s AND qv.id = ai.question_version_id AND qv.id = %(version)s
      AND qv.content_hash = %(hash)s
    RETURNING ai.revision)
SELECT (SELECT deadline_at FROM opened), (SELECT revision FROM written)"""  # nosec B608


def _remember_items(attempt_id: int, rows) -> tuple[array, array, array]:
    """Cache an attempt's ``(position, item id, version id, content hash)`` rows compactly: three
    arrays sorted by position (about 0.5 KB for 20 items) and each version's hash once, interned,
    in :data:`_VERSION_HASHES`. Returns ``(positions, item ids, version ids)``."""
    positions, item_ids, version_ids = array("l"), array("q"), array("q")
    for position, item_id, version_id, content_hash in sorted(rows):
        positions.append(position)
        item_ids.append(item_id)
        version_ids.append(version_id)
        _VERSION_HASHES[version_id] = sys.intern(content_hash)
    if len(_VERSION_HASHES) > _VERSION_HASHES_SIZE:
        _VERSION_HASHES.clear()  # far more versions than a bank holds: start again
    entry = (positions, item_ids, version_ids)
    _ITEM_MAPS[attempt_id] = entry
    if len(_ITEM_MAPS) > _ITEM_MAPS_SIZE:
        _ITEM_MAPS.popitem(last=False)
    return entry


def _forget_items(attempt_id: int, version_id: int | None = None) -> None:
    """Drop an attempt's cached items (and a version's cached hash) after the statement wrote nothing."""
    _ITEM_MAPS.pop(attempt_id, None)
    if version_id is not None:
        _VERSION_HASHES.pop(version_id, None)


def _attempt_item(conn, attempt_id: int, position: int, params: dict) -> tuple[int, int, str] | None:
    """``(item id, question version id, content hash)`` at ``position`` of the attempt, from the
    in-process LRU cache of attempts' items (4,096 attempts) or one SELECT that also checks the login
    session owns the attempt. None when it does not, or there is no such position. An attempt's
    items never change once it started; the save statement re-checks every cached value, so a stale
    entry can only make it write nothing."""
    entry = _ITEM_MAPS.get(attempt_id)
    if entry is not None:
        _ITEM_MAPS.move_to_end(attempt_id)
    else:
        rows = conn.exec_driver_sql(_PG_ATTEMPT_ITEMS, params).all()
        if not rows:
            return None
        entry = _remember_items(attempt_id, rows)
    positions, item_ids, version_ids = entry
    i = bisect_left(positions, position)
    if i == len(positions) or positions[i] != position:
        return None
    content_hash = _VERSION_HASHES.get(version_ids[i])
    return None if content_hash is None else (item_ids[i], version_ids[i], content_hash)


def save_answer_fast(session_token: str, attempt_id: int, position, response, revision) -> SaveResult | None:
    """Autosave in ONE statement on PostgreSQL for the common case; None means "take the general
    path" (:func:`save_answer_for`, after loading the user), which then answers with the same rules.

    ``session_token`` is the login session's token from the signed cookie (its SHA-256 is looked up
    in ``user_session``: unrevoked, unexpired, active user, no pending password change). Position
    and revision are checked as in :func:`save_answer_for` (DomainError 400). The response is
    validated against the question version named by the cached item map, and the statement writes
    only if the item still has that version id and content hash; a response that version refuses
    goes to the general path too, which validates it against the item as stored. The statement
    (a data-modifying CTE) takes the attempt's row lock with the same conditions as
    :func:`open_for_write` — owner, in progress, ``deadline_at`` + grace ≥ now (UTC), the question on
    the reached page under sequential navigation — and writes the item only where its revision is
    the page's, then commits: three round trips (BEGIN, the statement, COMMIT), like the bare
    one-upsert app it is measured against. Returns None (nothing written, nothing committed) on
    SQLite, for an unknown session or attempt, a stale revision, a closed attempt or a refused
    page, so every refusal, conflict and lost-acknowledgement retry is decided by the general path.
    """
    if db.engine.dialect.name != "postgresql" or not session_token:
        return None
    position = _whole_number(position, "position", 1, MAX_POSITION)
    revision = _whole_number(revision, "revision", 0, MAX_REVISION)
    now = utcnow()
    params = {"token": hashlib.sha256(session_token.encode()).hexdigest(), "now": now, "attempt": attempt_id}
    with db.engine.connect() as conn:
        entry = _attempt_item(conn, attempt_id, position, params)
        if entry is None:
            return None
        item_id, version_id, content_hash = entry
        qtype, spec = version_spec(version_id, content_hash)
        try:
            normalised = REGISTRY[qtype].check_response(spec, response)
        except ResponseError:
            _forget_items(attempt_id, version_id)  # the general path decides, against the item as stored
            return None
        params.update(position=position, base=revision, item=item_id, version=version_id, hash=content_hash,
                      response=Json(normalised), open_state=IN_PROGRESS, sequential=SEQUENTIAL)
        deadline_at, stored_revision = conn.exec_driver_sql(_PG_SAVE, params).one()
        if stored_revision is None:
            conn.rollback()
            _forget_items(attempt_id, version_id)  # if the cache was stale, the next save reads it afresh
            return None
        conn.commit()
    remaining = max(0, int((deadline_at - now).total_seconds()))
    return SaveResult(status="saved", revision=stored_revision, saved_at=now, remaining_seconds=remaining)


def set_flag(attempt: Attempt, position, flagged) -> bool:
    """Flag (or unflag) a question for review while the attempt is open. Returns the stored flag.

    One conditional UPDATE on the item that also requires the attempt to be in progress and within
    deadline + grace. Raises DomainError 400 for a malformed position or flag, 409 ``time_up``.
    """
    position = _whole_number(position, "position", 1, MAX_POSITION)
    if not isinstance(flagged, bool):
        raise DomainError(_("Field '%(field)s' must be true or false.", field="flagged"), code="bad_request", status=400)
    now = utcnow()
    grace = dt.timedelta(seconds=attempt.grace_period_seconds or 0)
    open_attempt = select(Attempt.id).where(Attempt.id == attempt.id, Attempt.state == IN_PROGRESS,
                                            Attempt.deadline_at >= now - grace)
    written = db.session.execute(
        update(AttemptItem)
        .where(AttemptItem.attempt_id == attempt.id, AttemptItem.position == position,
               AttemptItem.attempt_id.in_(open_attempt.scalar_subquery()))
        .values(flagged=flagged).execution_options(synchronize_session=False)
    ).rowcount
    if written == 1:
        return flagged
    exists_item = db.session.execute(select(AttemptItem.id).where(
        AttemptItem.attempt_id == attempt.id, AttemptItem.position == position)).first()
    if exists_item is None:
        raise DomainError(_("Unknown question."), code="unknown_question", status=400)
    _refuse_closed(attempt)


def reach_page(attempt: Attempt, page: int) -> int:
    """Move the candidate to ``page`` (1-based) and return the page they may see.

    Free navigation: any existing page. Sequential: the page reached so far or the next one;
    moving on is a conditional UPDATE raising ``furthest_position`` (so two tabs cannot skip or go
    back); an earlier page is not allowed and the current page is returned instead. Flushes.
    """
    exam = attempt.exam
    count = len(attempt.items)
    pages = page_count(exam.questions_per_page, count)
    page = min(max(1, page), pages)
    if exam.navigation != SEQUENTIAL or exam.questions_per_page <= 0:
        return page
    current = page_of(attempt.furthest_position, exam.questions_per_page)
    if page != current + 1:
        return current
    first, _last = page_bounds(page, exam.questions_per_page, count)
    moved = db.session.execute(
        update(Attempt)
        .where(Attempt.id == attempt.id, Attempt.state == IN_PROGRESS, Attempt.furthest_position < first)
        .values(furthest_position=first).execution_options(synchronize_session=False)
    ).rowcount
    db.session.refresh(attempt)
    return page if moved == 1 else page_of(attempt.furthest_position, exam.questions_per_page)


# --- finishing and grading -------------------------------------------------------------------

def finish_attempt(attempt: Attempt, by: str) -> bool:
    """Finalise the attempt exactly once and grade it. Flushes; the caller commits.

    ``by``: ``candidate``, ``deadline`` or ``scheduler``. Uses a conditional UPDATE on the state,
    so of any number of concurrent callers only one grades; returns True for that one.
    A candidate's late submit (past deadline + grace) is recorded as ``deadline``.
    """
    now = utcnow()
    grace = dt.timedelta(seconds=attempt.grace_period_seconds or 0)
    if by == "candidate" and now > attempt.deadline_at + grace:
        by = "deadline"
    finished_at = min(now, attempt.deadline_at + grace) if by != "candidate" else now
    won = db.session.execute(
        update(Attempt)
        .where(Attempt.id == attempt.id, Attempt.state == IN_PROGRESS)
        .values(state=FINISHED, finished_at=finished_at, finished_by=by)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.expire(attempt)
    if won != 1:
        return False
    record(attempt.user_id if by == "candidate" else None,
           "attempt.finish" if by == "candidate" else "attempt.auto_finish", f"attempt:{attempt.id}",
           {"by": by, "finished_at": finished_at, "user_id": attempt.user_id})
    grade_attempt(attempt)
    return True


def grade_item(qtype: str, spec: dict, response: dict | None, points) -> tuple[Decimal | None, Decimal | None]:
    """(fraction 0–1 to 5 places, points awarded to 2 places, half up) for one response;
    ``(None, None)`` when a person must grade it (a manual type, e.g. a non-empty essay)."""
    fraction = REGISTRY[qtype].grade(spec, response)
    if fraction is None:
        return None, None
    return (Decimal(str(round(fraction, 5))),
            (Decimal(points) * Decimal(str(fraction))).quantize(TWO, rounding=ROUND_HALF_UP))


def score_percent(points: Decimal, maximum: Decimal) -> Decimal:
    """Score as a percentage 0–100 to 2 places (0 when the maximum is 0)."""
    return (points * 100 / maximum).quantize(TWO, rounding=ROUND_HALF_UP) if maximum else Decimal(0)


def grade_attempt(attempt: Attempt) -> None:
    """Grade every item (fraction 0–1 × points), total the score as a percentage 0–100, decide pass.

    If passed and the exam belongs to a course, checks course completion (which may issue a
    certificate). Flushes.

    Items a person has graded (``graded_at`` set) keep their mark. If any item still needs a person
    (a manual type), the auto items are graded and the attempt is held as ``awaiting_grading``
    (no score, no pass, no certificate) by :func:`app.exams.grading.hold_for_grading`.
    """
    total = Decimal(0)
    maximum = Decimal(0)
    pending = False
    for item in attempt.items:
        version = item.question_version
        if item.graded_at is None:
            item.fraction, item.awarded = grade_item(version.qtype, version.spec, item.response, item.points)
        maximum += Decimal(item.points)
        if item.awarded is None:
            pending = True
            continue
        total += item.awarded
    if pending:
        from app.exams.grading import hold_for_grading
        from app.exams.practical import mark_pending

        attempt_id = attempt.id
        if hold_for_grading(attempt):
            mark_pending(attempt_id)  # uploaded practical files now wait for the checking job
        return
    attempt.points, attempt.max_points = total, maximum
    attempt.score = score_percent(total, maximum)
    attempt.passed = attempt.score >= Decimal(attempt.exam.pass_mark)
    db.session.flush()
    # completion (and so certification) counts the exam's kept grade, not this attempt alone:
    # with 'average' a failed attempt may lift the mean over the pass mark; with 'first' a pass may not count
    if attempt.exam.course is not None and (attempt.passed or user_reached_pass_mark(attempt.exam, attempt.user_id)):
        from app.learning.services import check_course_completion

        check_course_completion(attempt.user, attempt.exam.course, attempt=attempt)


def finalise_overdue_attempts(limit: int = 500) -> int:
    """Scheduler job: finish every attempt past deadline + grace. Returns how many this call finished.

    Safe to run concurrently with requests and with itself (finish is a conditional UPDATE).
    Commits after each attempt so one failure does not hold back the rest.
    """
    ids = list(db.session.execute(
        select(Attempt.id).where(Attempt.is_overdue).order_by(Attempt.deadline_at).limit(limit)).scalars())
    finished = 0
    for attempt_id in ids:
        attempt = db.session.get(Attempt, attempt_id)
        if attempt is None or not attempt.is_overdue:
            continue
        try:
            if finish_attempt(attempt, by="scheduler"):
                finished += 1
            db.session.commit()
        except Exception:
            db.session.rollback()
            raise
    return finished


def has_passed_course_exam(user_id: int, course_id: int) -> bool:
    """True if the course has no active exam, or the user's kept grade at one of its exams reached the
    pass mark (:func:`app.exams.kept.reached_pass_mark`: after some finished attempt, the grade kept by
    the exam's ``grade_method`` over the attempts so far was ≥ the pass mark). Two queries."""
    exams = list(db.session.execute(
        select(Exam).where(Exam.course_id == course_id, Exam.active.is_(True))).scalars())
    if not exams:
        return True
    rows = attempts_of([e.id for e in exams], user_id)
    return any(reached_pass_mark([r for r in rows if r.exam_id == e.id], method_of(e), e.pass_mark) for e in exams)


# --- views of an attempt ---------------------------------------------------------------------

def candidate_payload(attempt: Attempt) -> dict:
    """Everything the exam page needs, without any key or feedback.

    Shape: ``{"attempt_id", "remaining_seconds", "deadline_at" (ISO UTC), "questions": [{"position",
    "kind", "multiple", "stem_html", "options": [{"id", "html"}], "selected": [ids], "revision", "flagged",
    "echo": the type's ``response_echo``, "answered": bool, "template": the type's partial, ...}]}``.
    """
    questions = []
    items = attempt.items
    # the versions in one query (the items' many-to-one then finds them in the identity map)
    versions = {v.id: v for v in db.session.scalars(select(QuestionVersion).where(
        QuestionVersion.id.in_({item.question_version_id for item in items})))}
    for item in items:
        version = versions[item.question_version_id]
        qtype = REGISTRY[version.qtype]
        rendered = qtype.render_for_candidate(version.stem, version.stem_format, version.spec, item.option_order)
        echo = qtype.response_echo(version.spec, item.response)
        rendered.update(position=item.position, selected=qtype.selected(version.spec, item.response),
                        revision=item.revision, flagged=item.flagged, echo=echo,
                        answered=any(bool(value) for value in echo.values()))
        questions.append(rendered)
    return {
        "attempt_id": attempt.id,
        "remaining_seconds": attempt.remaining_seconds,
        "deadline_at": attempt.deadline_at.isoformat(),
        "questions": questions,
    }


@dataclass
class ItemBreakdown:
    """Score on one standard item: points awarded / available, and percent 0–100."""

    item: StandardItem
    awarded: Decimal
    available: Decimal
    questions: int

    @property
    def percent(self) -> Decimal:
        """Awarded ÷ available × 100 (percent 0–100, 2 decimals)."""
        return (self.awarded * 100 / self.available).quantize(TWO) if self.available else Decimal(0)


def breakdown_by_item(attempt: Attempt) -> list[ItemBreakdown]:
    """Per standard item: awarded and available points of a finished attempt, in standard order."""
    rows: "OrderedDict[int, ItemBreakdown]" = OrderedDict()
    for item in sorted(attempt.items, key=lambda i: (i.standard_item.position if i.standard_item else 0)):
        if item.standard_item is None:
            continue
        entry = rows.setdefault(item.standard_item_id, ItemBreakdown(item.standard_item, Decimal(0), Decimal(0), 0))
        entry.awarded += Decimal(item.awarded or 0)
        entry.available += Decimal(item.points)
        entry.questions += 1
    return list(rows.values())


def grade_band(score: Decimal | None, passed: bool | None) -> str:
    """Band of a score 0–100 (DOMAIN.md conventions): 优秀 90+, 良好 80+, else 合格 if passed, 不合格 if not."""
    if score is None:
        return ""
    if not passed:
        return _("Fail")
    if score >= 90:
        return _("Excellent")
    if score >= 80:
        return _("Good")
    return _("Pass")
