"""The exam editor's services: one validated :class:`ExamSpec` → :func:`save_exam`, shared with
``content sync`` (:func:`app.exams.services.sync_course_exam` builds the same spec from course.yaml and
saves it with the same function), the blueprint pool check and the admission settings.

Who owns an exam (``Exam.managed_by``):

* ``file``: defined in ``courses/<slug>/course.yaml`` and written by ``content sync``. The browser
  editor shows its definition read-only (edit the file, then sync) and edits only the admission
  settings (allowed networks, access code, sittings), which course.yaml does not have and sync never
  touches. So files and database never disagree about a field.
* ``browser``: created at /admin/exams/new. ``content sync`` refuses (a content error, nothing
  written) a course.yaml whose exam would take over a browser exam's code.

Saving never changes attempts in progress: their deadline, grace period, questions, points and option
order were fixed at start. Paging and navigation are read live by the attempt pages, so they cannot
change while attempts are in progress (a field error says so).
"""
from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from flask_babel import gettext as _
from sqlalchemy import func, or_, select

from app.content.lint import POOL_FACTOR
from app.core.security import hash_password
from app.core.time import local_zone
from app.exams.models import (
    FINISHED, GRADE_METHODS, IN_PROGRESS, MANAGED_BY_BROWSER, NAVIGATIONS, REVIEW_AFTER_CLOSE, REVIEW_SHOW,
    REVIEW_WHEN, SEQUENTIAL, Attempt, BlueprintRow, Exam, ExamSitting, default_review_rules, full_review_rules,
)
from app.extensions import db
from app.questions.models import DIFFICULTIES, Question
from app.questions.types import REGISTRY
from app.standards.models import StandardItem

TWO = Decimal("0.01")
CODE_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{1,79}$")
MAX_ROWS = 60
MAX_SITTINGS = 50
LIMITS = {  # field -> (low, high) for whole numbers typed in the editor
    "time_limit_minutes": (1, 1440), "attempts_allowed": (1, 100), "grace_period_seconds": (0, 3600),
    "questions_per_page": (0, 500), "count": (1, 500), "capacity": (1, 10000),
}


@dataclass
class RowSpec:
    """One blueprint row: a standard item OR an area (ids), a difficulty (None: any), how many
    questions it draws and the points of each (2 decimals); ``qtype`` a question type the row draws
    only (None: any type but the deferred ones such as practical tasks, see
    :func:`app.exams.services.row_type_matches`)."""

    item_id: int | None
    area_id: int | None
    difficulty: str | None
    count: int
    points: Decimal
    qtype: str | None = None

    def key(self) -> tuple:
        """The row as stored: ``(item id, area id, difficulty, qtype, count, points)``."""
        return (self.item_id, self.area_id, self.difficulty, self.qtype, self.count,
                Decimal(self.points).quantize(TWO))


@dataclass
class ExamSpec:
    """A validated exam definition (what course.yaml's ``exam:`` block or the editor's form says).

    Times in seconds; ``opens_at`` / ``closes_at`` aware UTC or None; ``pass_mark`` percent 0–100;
    ``review_rules`` ``{what: when}`` for every REVIEW_SHOW name (in its order); ``managed_by`` ``file`` or ``browser``.
    """

    code: str
    title_zh: str
    title_en: str
    course_id: int | None
    time_limit_seconds: int
    pass_mark: Decimal
    attempts_allowed: int
    rows: list[RowSpec]
    grace_period_seconds: int = 0
    opens_at: dt.datetime | None = None
    closes_at: dt.datetime | None = None
    questions_per_page: int = 0
    navigation: str = "free"
    review_rules: dict[str, str] = field(default_factory=default_review_rules)
    allow_retake_after_pass: bool = False
    require_lessons: bool = False
    shuffle_questions: bool = True
    shuffle_options: bool = True
    grade_method: str = "highest"
    managed_by: str = "file"

    def fields(self) -> dict:
        """The Exam column values this spec sets (everything but code and rows)."""
        return {
            "title_zh": self.title_zh, "title_en": self.title_en, "course_id": self.course_id,
            "time_limit_seconds": self.time_limit_seconds, "pass_mark": Decimal(self.pass_mark).quantize(TWO),
            "attempts_allowed": self.attempts_allowed, "grace_period_seconds": self.grace_period_seconds,
            "active": True, "opens_at": self.opens_at, "closes_at": self.closes_at,
            "questions_per_page": self.questions_per_page, "navigation": self.navigation,
            "review_rules": full_review_rules(self.review_rules),
            "allow_retake_after_pass": self.allow_retake_after_pass, "require_lessons": self.require_lessons,
            "shuffle_questions": self.shuffle_questions, "shuffle_options": self.shuffle_options,
            "grade_method": self.grade_method, "managed_by": self.managed_by,
        }


def save_exam(spec: ExamSpec, exam: Exam | None = None) -> tuple[Exam, str]:
    """Create or update the exam ``spec.code`` from a validated spec. Flushes; the caller commits.

    Returns ``(exam, outcome)`` with outcome ``created``, ``updated`` or ``unchanged``. Blueprint rows
    are replaced only when they differ. Attempts already started keep their questions and deadline
    (attempt items point at question versions; a replaced row leaves ``blueprint_row_id`` NULL).
    """
    if exam is None:
        exam = db.session.execute(select(Exam).where(Exam.code == spec.code)).scalar_one_or_none()
    wanted = spec.fields()
    wanted_rows = [row.key() for row in spec.rows]

    def current_rows():
        return [(r.standard_item_id, r.standard_area_id, r.difficulty, r.qtype, r.count,
                 Decimal(r.points).quantize(TWO)) for r in exam.blueprint]

    if exam is None:
        exam = Exam(code=spec.code)
        db.session.add(exam)
        outcome = "created"
    elif any(getattr(exam, k) != v for k, v in wanted.items()) or current_rows() != wanted_rows:
        outcome = "updated"
    else:
        return exam, "unchanged"
    for key, value in wanted.items():
        setattr(exam, key, value)
    if outcome == "created" or current_rows() != wanted_rows:
        exam.blueprint.clear()
        db.session.flush()
        for position, (item_id, area_id, difficulty, qtype, count, points) in enumerate(wanted_rows):
            exam.blueprint.append(BlueprintRow(position=position, standard_item_id=item_id, standard_area_id=area_id,
                                               difficulty=difficulty, qtype=qtype, count=count, points=points))
    db.session.flush()
    return exam, outcome


# --- pool sizes ------------------------------------------------------------------------------

def pool_sizes(rows: list[tuple[int | None, int | None, str | None]]) -> list[int]:
    """Drawable questions (active, with a version, of a registered type that an untyped row draws:
    practical tasks and other deferred types only come from rows that name their type) for each
    ``(item_id, area_id, difficulty)`` row (difficulty None: any), in ONE grouped query
    (``GROUP BY item, area, difficulty``) whatever the number of rows."""
    item_ids = {i for i, _a, _d in rows if i}
    area_ids = {a for _i, a, _d in rows if a}
    if not item_ids and not area_ids:
        return [0 for _ in rows]
    counts = db.session.execute(
        select(Question.standard_item_id, StandardItem.area_id, Question.difficulty, func.count(Question.id))
        .join(StandardItem, StandardItem.id == Question.standard_item_id)
        .where(Question.active.is_(True), Question.current_version_id.is_not(None),
               Question.qtype.in_([name for name, t in REGISTRY.items() if not t.deferred]),
               or_(Question.standard_item_id.in_(item_ids), StandardItem.area_id.in_(area_ids)))
        .group_by(Question.standard_item_id, StandardItem.area_id, Question.difficulty)
    ).all()
    sizes = []
    for item_id, area_id, difficulty in rows:
        sizes.append(sum(n for i, a, d, n in counts
                         if (i == item_id if item_id else a == area_id) and (difficulty is None or d == difficulty)))
    return sizes


@dataclass
class PoolCheck:
    """One row's pool check: ``pool`` drawable questions for ``count`` drawn; ``needed`` =
    POOL_FACTOR × count (the content lint's rule, :data:`app.content.lint.POOL_FACTOR`); ``ok`` when
    pool ≥ needed. The editor refuses rows that are not ok."""

    pool: int
    count: int

    @property
    def needed(self) -> int:
        """POOL_FACTOR × count."""
        return POOL_FACTOR * self.count

    @property
    def ok(self) -> bool:
        """True if the pool holds at least POOL_FACTOR × count questions."""
        return self.pool >= self.needed

    def message(self) -> str:
        """A translated sentence for the row (shown beside it and by the live check)."""
        if self.ok:
            return _("%(pool)s questions in the bank for %(count)s drawn (at least %(needed)s needed).",
                     pool=self.pool, count=self.count, needed=self.needed)
        return _("Only %(pool)s questions in the bank for %(count)s drawn: at least %(factor)s × %(count)s = "
                 "%(needed)s are needed, so that candidates with several attempts do not see most of them.",
                 pool=self.pool, count=self.count, factor=POOL_FACTOR, needed=self.needed)


def item_by_code(code: str) -> StandardItem | None:
    """The standard item with this code (None if unknown)."""
    return db.session.execute(select(StandardItem).where(StandardItem.code == code)).scalars().first()


def check_pool(item_code: str, difficulty: str, count) -> tuple[PoolCheck | None, str | None]:
    """The live check behind ``GET /admin/exams/pool``: ``(check, None)`` or ``(None, problem)`` for an
    unknown item, difficulty or a count that is not a whole number 1–500."""
    item = item_by_code((item_code or "")[:40])
    if item is None:
        return None, _("Unknown standard item.")
    if difficulty not in ("any", "") and difficulty not in DIFFICULTIES:
        return None, _("Unknown difficulty.")
    low, high = LIMITS["count"]
    number = _whole(count, low, high)
    if number is None:
        return None, _("A whole number from %(low)s to %(high)s.", low=low, high=high)
    size = pool_sizes([(item.id, None, None if difficulty in ("any", "") else difficulty)])[0]
    return PoolCheck(size, number), None


# --- how many distinct forms ------------------------------------------------------------------

#: Below this many distinct forms the editor warns: candidates with several attempts, or neighbours in
#: one room, would often be given the same paper.
MIN_FORMS = 20
#: Counts below this are shown exactly; larger ones as "more than 10^k".
EXACT_BELOW = 1_000_000
SUPERSCRIPT = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


@dataclass
class FormCount:
    """How many distinct forms (sets of questions) a blueprint can draw.

    ``forms`` = ∏ over rows of C(pool_i, count_i) (binomial coefficient, ``math.comb``; 0 when a
    row's pool is smaller than its count): each row picks ``count_i`` of its ``pool_i`` drawable
    questions, and two forms differ when any row's set differs. The order of questions and options
    (shuffled per attempt) is not counted. ``overlap`` is True when two rows can draw the same
    question (same item with difficulties that meet, e.g. ``any`` and ``easy``; an area row and an
    item of that area; two rows of one area): the draw never repeats a question in a form, so the
    product then over-counts and is an UPPER bound ("at most"). Without overlap it is exact.
    """

    forms: int
    overlap: bool = False

    @property
    def few(self) -> bool:
        """True when fewer than MIN_FORMS distinct forms exist (the editor warns)."""
        return self.forms < MIN_FORMS

    def readable(self) -> str:
        """The count for people: exact with thousands separators below EXACT_BELOW (``"12,650"``),
        otherwise ``"more than 10¹²"`` / ``"超过 10¹² 种"`` with k the largest power of ten below it."""
        if self.forms < EXACT_BELOW:
            return f"{self.forms:,}"
        k = len(str(self.forms - 1)) - 1  # 10^k < forms
        return _("more than 10%(k)s", k=str(k).translate(SUPERSCRIPT))

    def message(self) -> str:
        """A translated sentence: the count, "at most" when rows overlap, and the warning when few."""
        if self.forms == 0:
            return _("No form can be drawn: a row asks for more questions than the bank holds.")
        if self.overlap:
            text = _("Distinct forms this blueprint can draw: at most %(n)s (some rows draw from the same "
                     "questions, so the true number is lower).", n=self.readable())
        else:
            text = _("Distinct forms this blueprint can draw: %(n)s.", n=self.readable())
        if self.few:
            text += " " + _("Fewer than %(min)s: candidates would often see the same paper again. Add questions "
                            "to the bank or draw fewer per row.", min=MIN_FORMS)
        return text


def rows_overlap(keys: list[tuple[int | None, int | None, str | None]]) -> bool:
    """True if two of the rows ``(item_id, area_id, difficulty)`` can draw the same question: their
    difficulties meet (equal, or either is None = any) and they name the same item, the same area, or
    an area and an item of it (one query for the items' areas)."""
    item_ids = {i for i, _a, _d in keys if i}
    areas = dict(db.session.execute(select(StandardItem.id, StandardItem.area_id)
                                    .where(StandardItem.id.in_(item_ids))).all()) if item_ids else {}

    def scope(item_id, area_id):
        return ("item", item_id, areas.get(item_id)) if item_id else ("area", area_id, area_id)

    for index, (item_a, area_a, diff_a) in enumerate(keys):
        for item_b, area_b, diff_b in keys[index + 1:]:
            if diff_a is not None and diff_b is not None and diff_a != diff_b:
                continue
            kind_a, id_a, in_a = scope(item_a, area_a)
            kind_b, id_b, in_b = scope(item_b, area_b)
            if (kind_a, id_a) == (kind_b, id_b) or ("area" in (kind_a, kind_b) and in_a == in_b):
                return True
    return False


def count_forms(rows: list[tuple[int | None, int | None, str | None, int]]) -> FormCount:
    """:class:`FormCount` for rows ``(item_id, area_id, difficulty or None, count)``: pools from
    :func:`pool_sizes` (one grouped query), overlap from :func:`rows_overlap`."""
    keys = [(i, a, d) for i, a, d, _c in rows]
    return FormCount(distinct_forms(list(zip(pool_sizes(keys), [c for *_k, c in rows]))), rows_overlap(keys))


def distinct_forms(pools_and_counts: list[tuple[int, int]]) -> int:
    """∏ C(pool, count) over ``(pool, count)`` pairs (``math.comb``: 0 when count > pool; 1 for no rows)."""
    return math.prod(math.comb(pool, count) for pool, count in pools_and_counts)


def check_forms(items: list[str], difficulties: list[str], counts: list[str]) -> tuple[FormCount | None, str | None]:
    """The live check behind ``GET /admin/exams/forms``: the rows as the page has them (parallel lists
    of item codes, ``any|easy|medium|hard`` and counts). ``(count, None)``, or ``(None, problem)`` when
    a row is not filled in right (unknown item or difficulty, count not 1–500, lists of unequal length,
    more than MAX_ROWS rows)."""
    if not items or len(items) != len(difficulties) or len(items) != len(counts) or len(items) > MAX_ROWS:
        return None, _("Fill in every row to see how many forms the blueprint allows.")
    rows = []
    low, high = LIMITS["count"]
    for code, difficulty, count in zip(items, difficulties, counts):
        item = item_by_code((code or "")[:40])
        number = _whole(count, low, high)
        if item is None or number is None or (difficulty not in ("any", "") and difficulty not in DIFFICULTIES):
            return None, _("Fill in every row to see how many forms the blueprint allows.")
        rows.append((item.id, None, None if difficulty in ("any", "") else difficulty, number))
    return count_forms(rows), None


# --- validating the editor's form ---------------------------------------------------------------

def _whole(value, low: int, high: int) -> int | None:
    text = str(value if value is not None else "").strip()
    if not re.fullmatch(r"-?\d{1,9}", text):
        return None
    number = int(text)
    return number if low <= number <= high else None


def parse_local_datetime(value: str | None) -> tuple[dt.datetime | None, bool]:
    """``(aware UTC datetime or None, ok)`` from a ``datetime-local`` input (``YYYY-MM-DDTHH:MM``,
    seconds optional, a space also accepted) read in the configured zone. Empty: ``(None, True)``."""
    text = (value or "").strip()
    if not text:
        return None, True
    if len(text) > 25 or not re.fullmatch(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2})?", text):
        return None, False
    try:
        naive = dt.datetime.fromisoformat(text.replace(" ", "T"))
    except ValueError:
        return None, False
    if not 2000 <= naive.year <= 2099:
        return None, False
    return naive.replace(tzinfo=local_zone()).astimezone(dt.timezone.utc), True


def local_input(value: dt.datetime | None) -> str:
    """A UTC datetime as the value of a ``datetime-local`` input in the configured zone ('' for None)."""
    if value is None:
        return ""
    return value.astimezone(local_zone()).strftime("%Y-%m-%dT%H:%M")


class Errors(dict):
    """Field name (as the form names it, e.g. ``rows-1-count``) -> list of translated messages."""

    def add(self, name: str, message: str) -> None:
        """Append ``message`` to the field's list."""
        self.setdefault(name, []).append(message)


def _flag(data: dict, name: str) -> bool:
    return str(data.get(name) or "").lower() in ("y", "on", "1", "true", "yes")


def in_progress_count(exam_id: int) -> int:
    """Attempts of the exam still in progress."""
    return db.session.execute(select(func.count(Attempt.id)).where(
        Attempt.exam_id == exam_id, Attempt.state == IN_PROGRESS)).scalar_one()


def validate_exam_spec(data: dict, exam: Exam | None = None) -> tuple[ExamSpec | None, Errors]:
    """Check the editor's definition fields and build an :class:`ExamSpec` (None when any field is wrong).

    ``data``: the form's strings: ``code`` (new exams only), ``title_zh``, ``title_en``, ``course``
    (a course slug or ''), ``time_limit_minutes``, ``pass_mark``, ``attempts_allowed``, ``grade_method``,
    ``grace_period_seconds``, ``shuffle_questions``, ``shuffle_options``, ``navigation``,
    ``questions_per_page``, ``opens_at`` / ``closes_at`` (local ``YYYY-MM-DDTHH:MM``), ``review_<what>``
    (one of REVIEW_WHEN for each what of REVIEW_SHOW), ``allow_retake_after_pass``, ``require_lessons`` and ``rows``: a list of
    ``{"item": code, "difficulty": easy|medium|hard|any, "count", "points"}``.
    Rules: as content sync (points add up to 100, sequential needs a page size, any review rule
    ``after_close`` needs a close (error on that rule's field ``review_<what>``), close after open, items of the chosen course) and, stricter, every row's pool holds at
    least POOL_FACTOR × its count. Returns ``(spec, errors)``; errors keyed by form field name.
    """
    from app.learning.models import Course

    errors = Errors()

    def text(name, maximum):
        value = str(data.get(name) or "").strip()
        if not value:
            errors.add(name, _("This field is required."))
        elif len(value) > maximum:
            errors.add(name, _("At most %(n)s characters.", n=maximum))
        return value

    def whole(name):
        low, high = LIMITS[name]
        number = _whole(data.get(name), low, high)
        if number is None:
            errors.add(name, _("A whole number from %(low)s to %(high)s.", low=low, high=high))
            return low
        return number

    if exam is None:
        code = str(data.get("code") or "").strip()
        if not CODE_PATTERN.fullmatch(code):
            errors.add("code", _("2–80 characters: lower-case letters, digits and hyphens, starting with a letter or digit."))
        elif db.session.execute(select(Exam.id).where(Exam.code == code)).first() is not None:
            errors.add("code", _("An exam with this code exists already."))
        elif db.session.execute(select(Course.id).where(Course.slug == code)).first() is not None:
            errors.add("code", _("This is a course's code: that course's exam is defined in its course.yaml."))
    else:
        code = exam.code
    title_zh, title_en = text("title_zh", 200), text("title_en", 200)
    course = None
    course_slug = str(data.get("course") or "").strip()
    if course_slug:
        course = db.session.execute(select(Course).where(Course.slug == course_slug[:80])).scalar_one_or_none()
        if course is None:
            errors.add("course", _("Unknown course."))
        else:  # a course page shows one exam: the course must not have another one
            other = db.session.execute(select(Exam.code).where(
                Exam.course_id == course.id, Exam.active.is_(True), Exam.code != code)).scalars().first()
            if other is not None:
                errors.add("course", _("This course has an exam already (%(code)s).", code=other))
    minutes = whole("time_limit_minutes")
    attempts = whole("attempts_allowed")
    grace = whole("grace_period_seconds")
    per_page = whole("questions_per_page")
    try:
        pass_mark = Decimal(str(data.get("pass_mark") or "").strip())
        if not pass_mark.is_finite() or not 0 <= pass_mark <= 100:
            raise InvalidOperation
        pass_mark = pass_mark.quantize(TWO, rounding=ROUND_HALF_UP)
    except (InvalidOperation, ValueError):
        errors.add("pass_mark", _("A number from 0 to 100."))
        pass_mark = Decimal(60)
    grade_method = str(data.get("grade_method") or "")
    if grade_method not in GRADE_METHODS:
        errors.add("grade_method", _("Choose one of the listed values."))
    navigation = str(data.get("navigation") or "")
    if navigation not in NAVIGATIONS:
        errors.add("navigation", _("Choose one of the listed values."))
    elif navigation == SEQUENTIAL and per_page == 0:
        errors.add("questions_per_page", _("Forward-only navigation needs 1 or more questions per page."))
    opens_at, ok = parse_local_datetime(data.get("opens_at"))
    if not ok:
        errors.add("opens_at", _("A date and time like 2026-12-01 09:00."))
    closes_at, ok = parse_local_datetime(data.get("closes_at"))
    if not ok:
        errors.add("closes_at", _("A date and time like 2026-12-01 09:00."))
    elif opens_at and closes_at and closes_at <= opens_at:
        errors.add("closes_at", _("The close must be after the opening."))
    review_rules = {}
    for what in REVIEW_SHOW:
        when = str(data.get(f"review_{what}") or "")
        if when not in REVIEW_WHEN:
            errors.add(f"review_{what}", _("Choose one of the listed values."))
        elif when == REVIEW_AFTER_CLOSE and closes_at is None and ok:
            errors.add(f"review_{what}", _("\"After the exam closes\" needs a close date and time."))
        review_rules[what] = when

    if exam is not None and in_progress_count(exam.id):
        for name, old, new in (("navigation", exam.navigation, navigation),
                               ("questions_per_page", exam.questions_per_page, per_page)):
            if old != new:
                errors.add(name, _("%(n)s attempts are in progress: this cannot change until they finish.",
                                   n=in_progress_count(exam.id)))

    course_item_ids = {item.id for item in course.items} if course is not None else None
    rows: list[RowSpec] = []
    checks: list[tuple[int, int, int | None, str | None]] = []  # (index, count, item id, difficulty)
    raw_rows = data.get("rows") or []
    if len(raw_rows) > MAX_ROWS:
        errors.add("rows", _("At most %(n)s rows.", n=MAX_ROWS))
        raw_rows = raw_rows[:MAX_ROWS]
    seen = {}
    for index, raw in enumerate(raw_rows):
        prefix = f"rows-{index}-"
        item_code = str(raw.get("item") or "").strip()[:40]
        item = item_by_code(item_code) if item_code else None
        if item is None:
            errors.add(prefix + "item", _("Unknown standard item.") if item_code else _("This field is required."))
        elif course_item_ids is not None and item.id not in course_item_ids:
            errors.add(prefix + "item", _("Not one of the chosen course's standard items."))
        difficulty = str(raw.get("difficulty") or "any")
        if difficulty not in ("any",) + tuple(DIFFICULTIES):
            errors.add(prefix + "difficulty", _("Unknown difficulty."))
            difficulty = "any"
        low, high = LIMITS["count"]
        count = _whole(raw.get("count"), low, high)
        if count is None:
            errors.add(prefix + "count", _("A whole number from %(low)s to %(high)s.", low=low, high=high))
        try:
            points = Decimal(str(raw.get("points") or "").strip())
            if not points.is_finite() or not 0 < points <= 100 or points != points.quantize(TWO):
                raise InvalidOperation
        except (InvalidOperation, ValueError):
            errors.add(prefix + "points", _("A number above 0 and at most 100, with at most 2 decimals."))
            points = None
        if item is not None:
            key = (item.id, difficulty)
            if key in seen:
                errors.add(prefix + "item", _("The same item and difficulty as row %(n)s: merge the two rows.",
                                              n=seen[key] + 1))
            seen[key] = index
        if item is not None and count is not None and points is not None:
            rows.append(RowSpec(item.id, None, None if difficulty == "any" else difficulty, count, points))
            checks.append((index, count, item.id, None if difficulty == "any" else difficulty))
    if not raw_rows:
        errors.add("rows", _("Add at least one blueprint row."))
    elif len(rows) == len(raw_rows):
        total = sum((row.points * row.count for row in rows), Decimal(0))
        if total != 100:
            errors.add("rows", _("The rows' points add up to %(total)s (count × points); they must add up to 100.",
                                 total=total))
    for (index, count, item_id, difficulty), size in zip(checks, pool_sizes([(i, None, d) for _x, _c, i, d in checks])):
        check = PoolCheck(size, count)
        if not check.ok:
            errors.add(f"rows-{index}-count", check.message())
    if errors:
        return None, errors
    return ExamSpec(code=code, title_zh=title_zh, title_en=title_en, course_id=course.id if course else None,
                    time_limit_seconds=minutes * 60, pass_mark=pass_mark, attempts_allowed=attempts, rows=rows,
                    grace_period_seconds=grace, opens_at=opens_at, closes_at=closes_at, questions_per_page=per_page,
                    navigation=navigation, review_rules=review_rules,
                    allow_retake_after_pass=_flag(data, "allow_retake_after_pass"),
                    require_lessons=_flag(data, "require_lessons"),
                    shuffle_questions=_flag(data, "shuffle_questions"), shuffle_options=_flag(data, "shuffle_options"),
                    grade_method=grade_method, managed_by=MANAGED_BY_BROWSER), errors


# --- admission settings -------------------------------------------------------------------------

@dataclass
class SittingSpec:
    """One sitting as typed: its id (None: new), start and end (aware UTC), seats and its room or
    place as candidates read it ('' if none)."""

    id: int | None
    starts_at: dt.datetime
    ends_at: dt.datetime
    capacity: int
    name: str = ""


@dataclass
class AdmissionSpec:
    """Validated admission settings: CIDR networks (empty: anywhere), the access code change
    (``new_code`` to set, ``clear_code`` to remove, neither: keep) and the sittings wanted."""

    networks: list[str]
    new_code: str | None
    clear_code: bool
    sittings: list[SittingSpec]


def validate_admission(data: dict, exam: Exam | None) -> tuple[AdmissionSpec | None, Errors]:
    """Check the admission fields: ``allowed_networks`` (text, one CIDR a line), ``access_code``
    (4–200 characters; blank keeps the current one), ``clear_access_code``, and ``sittings``: a list of
    ``{"sitting_id": existing id or '', "starts_at", "ends_at" (local), "capacity", "place"}``. A sitting with seats
    taken cannot be removed nor get fewer seats than are taken. Returns ``(spec or None, errors)``."""
    from app.exams.admission import MAX_ACCESS_CODE, parse_networks

    errors = Errors()
    networks, problems = parse_networks(str(data.get("allowed_networks") or ""))
    for problem in problems:
        errors.add("allowed_networks", problem)
    code = str(data.get("access_code") or "").strip()
    if code and not 4 <= len(code) <= MAX_ACCESS_CODE:
        errors.add("access_code", _("4 to %(n)s characters.", n=MAX_ACCESS_CODE))
    existing = {s.id: s for s in exam.sittings} if exam is not None else {}
    sittings: list[SittingSpec] = []
    raw_sittings = data.get("sittings") or []
    if len(raw_sittings) > MAX_SITTINGS:
        errors.add("sittings", _("At most %(n)s sittings.", n=MAX_SITTINGS))
        raw_sittings = raw_sittings[:MAX_SITTINGS]
    kept_ids = set()
    for index, raw in enumerate(raw_sittings):
        prefix = f"sittings-{index}-"
        sitting_id = _whole(raw.get("sitting_id"), 1, 2**31 - 1) if str(raw.get("sitting_id") or "").strip() else None
        if sitting_id is not None and sitting_id not in existing:
            sitting_id = None  # not this exam's: treated as a new sitting
        starts_at, ok_start = parse_local_datetime(raw.get("starts_at"))
        ends_at, ok_end = parse_local_datetime(raw.get("ends_at"))
        if not ok_start or starts_at is None:
            errors.add(prefix + "starts_at", _("A date and time like 2026-12-01 09:00."))
        if not ok_end or ends_at is None:
            errors.add(prefix + "ends_at", _("A date and time like 2026-12-01 09:00."))
        elif starts_at and ends_at <= starts_at:
            errors.add(prefix + "ends_at", _("The end must be after the start."))
        low, high = LIMITS["capacity"]
        capacity = _whole(raw.get("capacity"), low, high)
        if capacity is None:
            errors.add(prefix + "capacity", _("A whole number from %(low)s to %(high)s.", low=low, high=high))
        elif sitting_id is not None and capacity < existing[sitting_id].seats_taken:
            errors.add(prefix + "capacity", _("%(n)s seats are taken already (assigned candidates and starts): "
                                              "the capacity cannot be lower.", n=existing[sitting_id].seats_taken))
        name = str(raw.get("place") or "").strip()
        if len(name) > 200:
            errors.add(prefix + "place", _("At most %(n)s characters.", n=200))
        if sitting_id is not None:
            kept_ids.add(sitting_id)
        if starts_at and ends_at and capacity is not None:
            sittings.append(SittingSpec(sitting_id, starts_at, ends_at, capacity, name[:200]))
    for sitting_id, sitting in existing.items():
        if sitting_id not in kept_ids and sitting.seats_taken:
            errors.add("sittings", _("A sitting with seats taken cannot be removed (%(start)s, %(n)s taken).",
                                     start=local_input(sitting.starts_at).replace("T", " "), n=sitting.seats_taken))
    if errors:
        return None, errors
    return AdmissionSpec(networks, code or None, _flag(data, "clear_access_code") and not code, sittings), errors


def save_admission(exam: Exam, spec: AdmissionSpec) -> list[str]:
    """Write the admission settings; returns the names of what changed (for the audit line). Flushes.

    The access code is stored only as an argon2id hash. Sittings are matched by id: updated in place
    (``seats_taken`` kept), new ones added, ones no longer listed deleted (validation refused removing
    a sitting with seats taken)."""
    changed = []
    networks = spec.networks or None
    if (exam.allowed_networks or None) != networks:
        exam.allowed_networks = networks
        changed.append("allowed_networks")
    if spec.new_code:
        exam.access_code_hash = hash_password(spec.new_code)
        changed.append("access_code")
    elif spec.clear_code and exam.access_code_hash:
        exam.access_code_hash = None
        changed.append("access_code")
    existing = {s.id: s for s in exam.sittings}
    wanted_ids = {s.id for s in spec.sittings if s.id is not None}
    for sitting_id, sitting in existing.items():
        if sitting_id not in wanted_ids:
            exam.sittings.remove(sitting)
            changed.append("sittings")
    for wanted in spec.sittings:
        if wanted.id is None:
            exam.sittings.append(ExamSitting(starts_at=wanted.starts_at, ends_at=wanted.ends_at,
                                             capacity=wanted.capacity, seats_taken=0, name=wanted.name))
            changed.append("sittings")
            continue
        sitting = existing[wanted.id]
        now = (sitting.starts_at, sitting.ends_at, sitting.capacity, sitting.name or "")
        if now != (wanted.starts_at, wanted.ends_at, wanted.capacity, wanted.name):
            sitting.starts_at, sitting.ends_at, sitting.capacity = wanted.starts_at, wanted.ends_at, wanted.capacity
            sitting.name = wanted.name
            changed.append("sittings")
    db.session.flush()
    return sorted(set(changed))


def editor_exams() -> list[Exam]:
    """Every exam (active or not) by code, for the editor's list."""
    return list(db.session.execute(select(Exam).order_by(Exam.code)).scalars())


