"""Item analysis of an exam with Moodle's quiz statistics formulas.

Source of every formula: Moodle developer documentation "Quiz statistics calculations"
(https://docs.moodle.org/dev/Quiz_statistics_calculations) and its implementation
``mod/quiz/report/statistics/classes/calculator.php`` (test statistics) and
``question/classes/statistics/questions/calculator.php`` (item statistics).

Notation (Moodle's): ``x_i`` is a candidate's mark on item i, ``T`` the test total, ``X_i = T - x_i`` the
rest-of-test mark, ``S`` the number of attempts analysed, ``P`` the number of items (slots), ``V`` the
sample variance (divisor S - 1) and ``C`` the sample covariance (divisor S - 1).

The maths (this module's top half) are pure functions over plain lists of floats. :func:`load_rows` is
the one query that feeds them; :func:`analyse_exam` ties both together.
"""
from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from dataclasses import dataclass, field

# Flag thresholds (facility and discrimination in percent 0–100). Moodle's documentation reads a
# facility index above 90 as "very easy", below 20 as "difficult" or worse, a discrimination index
# below 20 as "very weak" and a negative one as "probably invalid".
TOO_EASY_ABOVE = 90.0
TOO_HARD_BELOW = 20.0
LOW_DISCRIMINATION_BELOW = 20.0

FIRST = "first"
ALL = "all"
WHICH_ATTEMPTS = (FIRST, ALL)


# --------------------------------------------------------------------------- pure maths
def mean(values: list[float]) -> float | None:
    """Arithmetic mean; None for an empty list."""
    return sum(values) / len(values) if values else None


def median(values: list[float]) -> float | None:
    """Middle value (mean of the two middle values for an even count), as Moodle's ``median()``; None if empty."""
    if not values:
        return None
    ordered = sorted(values)
    half = len(ordered) // 2
    return ordered[half] if len(ordered) % 2 else (ordered[half - 1] + ordered[half]) / 2


def variance(values: list[float]) -> float | None:
    """Sample variance V(x) = Σ(x - x̄)² / (S - 1); None with fewer than two values."""
    if len(values) < 2:
        return None
    m = sum(values) / len(values)
    return sum((v - m) ** 2 for v in values) / (len(values) - 1)


def covariance(xs: list[float], ys: list[float]) -> float | None:
    """Sample covariance C(x, y) = Σ(x - x̄)(y - ȳ) / (S - 1) of two equally long lists; None if S < 2.

    Raises ValueError if the lists differ in length."""
    if len(xs) != len(ys):
        raise ValueError("covariance needs two lists of the same length")
    if len(xs) < 2:
        return None
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / (len(xs) - 1)


@dataclass
class TestStats:
    """Statistics of the test totals (Moodle's "Quiz information" table).

    ``mean``, ``median``, ``sd`` and ``standard_error`` are in the unit of the totals given (this app:
    percent 0–100 of the maximum). ``skewness`` and ``kurtosis`` are unitless (Moodle's sample-corrected
    k-statistics; kurtosis is the excess, 0 for a normal distribution). ``alpha`` is Cronbach's alpha as a
    fraction 0–1 (Moodle shows it ×100 as the "coefficient of internal consistency"; for items scored
    0/1 it equals KR-20). ``error_ratio`` is percent 0–100. Any value is None when too few attempts
    (or items) make it undefined.
    """

    attempts: int
    items: int
    mean: float | None = None
    median: float | None = None
    sd: float | None = None
    skewness: float | None = None
    kurtosis: float | None = None
    alpha: float | None = None
    error_ratio: float | None = None
    standard_error: float | None = None


def test_statistics(totals: list[float], item_marks: list[list[float]] | None = None) -> TestStats:
    """Mean, median, SD, skewness, kurtosis, Cronbach's alpha, error ratio and standard error.

    ``totals``: one test total per attempt. ``item_marks``: one list per attempt of its marks on each of
    the P items (same order and length for every attempt), in the same unit as ``totals`` (the totals
    must be the sums of the rows, or a constant multiple of them: alpha is then unchanged).

    Formulas (Moodle, "Quiz statistics calculations", Standard deviation / Skewness and Kurtosis /
    Coefficient of internal consistency / Error ratio / Standard error):
    SD = sqrt(Σ(T - T̄)² / (S - 1)); with m_k = Σ(T - T̄)^k / S: k2 = S m2 / (S - 1),
    k3 = S² m3 / ((S - 1)(S - 2)), k4 = S² ((S + 1) m4 - 3 (S - 1) m2²) / ((S - 1)(S - 2)(S - 3)),
    skewness = k3 / k2^(3/2) (S > 2), kurtosis = k4 / k2² (S > 3);
    alpha = P / (P - 1) × (1 - Σ V(x_i) / V(T)); error ratio = 100 × sqrt(1 - alpha);
    standard error = SD × sqrt(1 - alpha).

    Raises ValueError if ``item_marks`` does not have one row per total or rows differ in length.
    """
    s = len(totals)
    result = TestStats(attempts=s, items=len(item_marks[0]) if item_marks else 0)
    if not s:
        return result
    result.mean = sum(totals) / s
    result.median = median(totals)
    if s < 2:
        return result
    deviations = [t - result.mean for t in totals]
    m2 = sum(d ** 2 for d in deviations) / s
    m3 = sum(d ** 3 for d in deviations) / s
    m4 = sum(d ** 4 for d in deviations) / s
    k2 = s * m2 / (s - 1)
    result.sd = math.sqrt(k2)
    if k2 == 0:
        return result
    if s > 2:
        k3 = s * s * m3 / ((s - 1) * (s - 2))
        result.skewness = k3 / k2 ** 1.5
    if s > 3:
        k4 = s * s * ((s + 1) * m4 - 3 * (s - 1) * m2 * m2) / ((s - 1) * (s - 2) * (s - 3))
        result.kurtosis = k4 / (k2 * k2)
    if item_marks:
        if len(item_marks) != s or len({len(row) for row in item_marks}) != 1:
            raise ValueError("item_marks needs one row per total, every row the same length")
        p = len(item_marks[0])
        if p > 1:
            item_variance = sum(variance([row[i] for row in item_marks]) for i in range(p))
            alpha = p / (p - 1) * (1 - item_variance / k2)
            result.alpha = alpha
            if alpha <= 1:
                root = math.sqrt(max(0.0, 1 - alpha))
                result.error_ratio = 100 * root
                result.standard_error = result.sd * root
    return result


@dataclass
class ItemStats:
    """Statistics of one item (Moodle's "Quiz structure analysis" row). Percentages 0–100 except the
    discrimination index, which is a correlation ×100 (−100..100). None when undefined (fewer than two
    attempts, or no spread)."""

    attempts: int
    facility: float | None = None
    sd: float | None = None
    discrimination: float | None = None
    efficiency: float | None = None
    flags: list[str] = field(default_factory=list)


def item_statistics(marks: list[float], max_mark: float, rest: list[float]) -> ItemStats:
    """Facility index, SD, discrimination index and discriminative efficiency of one item.

    ``marks``: the item mark x_i of each attempt (0..``max_mark``); ``rest``: that attempt's rest-of-test
    mark X_i = T - x_i, same order. Formulas (Moodle, "Quiz statistics calculations"):
    facility F = 100 × x̄ / max_mark (the mean fraction × 100);
    SD = 100 × sqrt(V(x)) / max_mark;
    discrimination index D = 100 × C(x, X) / sqrt(V(x) V(X)) (Pearson r of item and rest of test);
    discriminative efficiency DE = 100 × C(x, X) / C_max(x, X), where C_max pairs the marks and the
    rest-of-test marks each sorted in the same order (the largest covariance these values allow).

    Raises ValueError if ``marks`` and ``rest`` differ in length or ``max_mark`` is not positive.
    """
    if len(marks) != len(rest):
        raise ValueError("marks and rest need the same length")
    if max_mark <= 0:
        raise ValueError("max_mark must be positive")
    result = ItemStats(attempts=len(marks))
    if not marks:
        return result
    result.facility = 100 * (sum(marks) / len(marks)) / max_mark
    if len(marks) >= 2:
        var_x, var_rest = variance(marks), variance(rest)
        result.sd = 100 * math.sqrt(var_x) / max_mark
        cov = covariance(marks, rest)
        if var_x > 0 and var_rest > 0:
            result.discrimination = 100 * cov / math.sqrt(var_x * var_rest)
        cov_max = covariance(sorted(marks), sorted(rest))
        if cov_max:
            result.efficiency = 100 * cov / cov_max
    result.flags = item_flags(result)
    return result


def item_flags(stats: ItemStats) -> list[str]:
    """Flags for a reviewer: ``too_easy`` (facility > 90), ``too_hard`` (facility < 20),
    ``negative_discrimination`` (D < 0), ``low_discrimination`` (0 ≤ D < 20). Thresholds from Moodle's
    documentation's reading of the facility and discrimination indices."""
    flags = []
    if stats.facility is not None and stats.facility > TOO_EASY_ABOVE:
        flags.append("too_easy")
    if stats.facility is not None and stats.facility < TOO_HARD_BELOW:
        flags.append("too_hard")
    if stats.discrimination is not None:
        if stats.discrimination < 0:
            flags.append("negative_discrimination")
        elif stats.discrimination < LOW_DISCRIMINATION_BELOW:
            flags.append("low_discrimination")
    return flags


# --------------------------------------------------------------------------- loading and assembling
@dataclass
class Row:
    """One answered slot of one finished attempt, as :func:`load_rows` returns it. ``fraction`` is 0–1
    (None: awaiting manual grading), ``awarded`` and ``points`` are marks, ``score`` the attempt's percent."""

    attempt_id: int
    user_id: int
    number: int
    started_at: dt.datetime
    score: float | None
    position: int
    question_version_id: int
    standard_item_id: int | None
    points: float
    fraction: float | None
    awarded: float | None
    response: dict | None


def select_attempts(rows: list[Row], which: str = FIRST) -> list[Row]:
    """Keep the rows of graded attempts (every slot graded, a score) and, for ``first`` (Moodle's default
    "first attempt"), only each candidate's lowest-numbered such attempt; ``all`` keeps every attempt.

    Raises ValueError for another ``which``."""
    if which not in WHICH_ATTEMPTS:
        raise ValueError(f"which must be one of {WHICH_ATTEMPTS}")
    ungraded = {r.attempt_id for r in rows if r.fraction is None or r.score is None}
    kept = [r for r in rows if r.attempt_id not in ungraded]
    if which == ALL:
        return kept
    first: dict[int, int] = {}
    for r in kept:
        if r.user_id not in first or r.number < first[r.user_id]:
            first[r.user_id] = r.number
    return [r for r in kept if r.number == first[r.user_id]]


@dataclass
class QuestionRow:
    """Item statistics of one question version, with its identity for display."""

    question_version_id: int
    label: str
    qtype: str
    standard_item_id: int | None
    max_mark: float
    stats: ItemStats
    distractors: list[dict] = field(default_factory=list)


@dataclass
class StandardItemRow:
    """Aggregate per standard item: answers analysed, distinct questions, facility (mean fraction × 100)
    and the mean discrimination index of its questions (None if none defined)."""

    standard_item_id: int | None
    answers: int
    questions: int
    facility: float | None
    discrimination: float | None
    flags: list[str] = field(default_factory=list)


@dataclass
class Analysis:
    """Everything the statistics page and its exports show."""

    which: str
    test: TestStats
    slots: list[tuple[int, ItemStats]]
    questions: list[QuestionRow]
    standard_items: list[StandardItemRow]


def choice_counts(qtype: str, spec: dict, responses: list[dict | None]) -> list[dict]:
    """Distractor analysis of a choice question: for each option (spec order) ``{"id", "text", "fraction",
    "count"}``, plus a final row with id ``None`` counting blank responses. [] for non-choice types.

    Single choice counts ``choice``, multiple response each of ``choices``, true/false ``answer``."""
    if qtype in ("single_choice", "multiple_choice"):
        options = [{"id": o["id"], "text": o.get("text", ""), "fraction": float(o.get("fraction", 0)), "count": 0}
                   for o in spec.get("options", [])]
    elif qtype == "true_false":
        options = [{"id": "true", "text": "true", "fraction": 1.0 if spec.get("answer") else 0.0, "count": 0},
                   {"id": "false", "text": "false", "fraction": 0.0 if spec.get("answer") else 1.0, "count": 0}]
    else:
        return []
    by_id = {o["id"]: o for o in options}
    blank = 0
    for response in responses:
        chosen: list[str] = []
        if response:
            if qtype == "single_choice" and response.get("choice"):
                chosen = [response["choice"]]
            elif qtype == "multiple_choice":
                chosen = list(response.get("choices") or [])
            elif qtype == "true_false" and isinstance(response.get("answer"), bool):
                chosen = ["true" if response["answer"] else "false"]
        if not chosen:
            blank += 1
        for option_id in chosen:
            if option_id in by_id:
                by_id[option_id]["count"] += 1
    return options + [{"id": None, "text": "", "fraction": 0.0, "count": blank}]


def analyse(rows: list[Row], versions: dict[int, dict], which: str = FIRST) -> Analysis:
    """Analyse ``rows`` (from :func:`load_rows`). ``versions``: question_version_id -> ``{"label", "qtype",
    "spec"}``. Test totals are the attempts' scores (percent 0–100); alpha uses the slot marks (points)
    against the slot-mark totals; item statistics use marks and rest-of-test marks in points, as Moodle."""
    rows = select_attempts(rows, which)
    by_attempt: dict[int, list[Row]] = defaultdict(list)
    for r in rows:
        by_attempt[r.attempt_id].append(r)
    attempt_ids = sorted(by_attempt)
    totals_points = {a: sum(r.awarded for r in by_attempt[a]) for a in attempt_ids}
    scores = [by_attempt[a][0].score for a in attempt_ids]
    positions = sorted({r.position for r in rows})
    complete = [a for a in attempt_ids if len(by_attempt[a]) == len(positions)]
    matrix = [[r.awarded for r in sorted(by_attempt[a], key=lambda r: r.position)] for a in complete]
    test = test_statistics(scores)
    if matrix and len(positions) > 1:
        alpha_stats = test_statistics([sum(row) for row in matrix], matrix)
        test.alpha, test.items = alpha_stats.alpha, alpha_stats.items
        if alpha_stats.alpha is not None and alpha_stats.alpha <= 1 and test.sd is not None:
            root = math.sqrt(max(0.0, 1 - alpha_stats.alpha))
            test.error_ratio, test.standard_error = 100 * root, test.sd * root
    else:
        test.items = len(positions)

    def stats_for(group: list[Row]) -> ItemStats:
        max_mark = max(r.points for r in group) or 1.0
        marks = [r.fraction * max_mark for r in group]
        rest = [totals_points[r.attempt_id] - r.awarded for r in group]
        return item_statistics(marks, max_mark, rest)

    by_slot: dict[int, list[Row]] = defaultdict(list)
    by_version: dict[int, list[Row]] = defaultdict(list)
    for r in rows:
        by_slot[r.position].append(r)
        by_version[r.question_version_id].append(r)
    slots = [(p, stats_for(by_slot[p])) for p in positions]
    questions = []
    for version_id, group in by_version.items():
        info = versions.get(version_id, {})
        questions.append(QuestionRow(
            question_version_id=version_id, label=info.get("label", str(version_id)), qtype=info.get("qtype", ""),
            standard_item_id=group[0].standard_item_id, max_mark=max(r.points for r in group),
            stats=stats_for(group),
            distractors=choice_counts(info.get("qtype", ""), info.get("spec") or {}, [r.response for r in group]),
        ))
    questions.sort(key=lambda q: (q.standard_item_id or 0, q.label))
    by_standard: dict[int | None, list[QuestionRow]] = defaultdict(list)
    answers: dict[int | None, list[float]] = defaultdict(list)
    for q in questions:
        by_standard[q.standard_item_id].append(q)
    for r in rows:
        answers[r.standard_item_id].append(r.fraction)
    standard_items = []
    for item_id, group in by_standard.items():
        discriminations = [q.stats.discrimination for q in group if q.stats.discrimination is not None]
        aggregate = ItemStats(attempts=len(answers[item_id]), facility=100 * mean(answers[item_id]),
                              discrimination=mean(discriminations))
        standard_items.append(StandardItemRow(item_id, len(answers[item_id]), len(group), aggregate.facility,
                                              aggregate.discrimination, item_flags(aggregate)))
    return Analysis(which=which, test=test, slots=slots, questions=questions, standard_items=standard_items)


def load_rows(exam_id: int, started_from: dt.datetime | None = None, started_before: dt.datetime | None = None,
              user_ids=None) -> list[Row]:
    """Every slot of the exam's finished attempts in one query, optionally only attempts started in
    [``started_from``, ``started_before``) (UTC; a sitting) and only of ``user_ids`` (ids or a SELECT)."""
    from sqlalchemy import select

    from app.exams.models import FINISHED, Attempt, AttemptItem
    from app.extensions import db

    query = (
        select(Attempt.id, Attempt.user_id, Attempt.number, Attempt.started_at, Attempt.score, AttemptItem.position,
               AttemptItem.question_version_id, AttemptItem.standard_item_id, AttemptItem.points,
               AttemptItem.fraction, AttemptItem.awarded, AttemptItem.response)
        .join(AttemptItem, AttemptItem.attempt_id == Attempt.id)
        .where(Attempt.exam_id == exam_id, Attempt.state == FINISHED)
        .order_by(Attempt.id, AttemptItem.position)
    )
    if started_from is not None:
        query = query.where(Attempt.started_at >= started_from)
    if started_before is not None:
        query = query.where(Attempt.started_at < started_before)
    if user_ids is not None:
        query = query.where(Attempt.user_id.in_(user_ids))
    return [
        Row(attempt_id=a, user_id=u, number=n, started_at=s, score=None if score is None else float(score),
            position=p, question_version_id=v, standard_item_id=si, points=float(pts),
            fraction=None if f is None else float(f), awarded=None if aw is None else float(aw), response=resp)
        for a, u, n, s, score, p, v, si, pts, f, aw, resp in db.session.execute(query)
    ]


def load_versions(version_ids) -> dict[int, dict]:
    """question_version_id -> ``{"label", "qtype", "spec", "stem"}`` for the given ids (one query)."""
    from sqlalchemy import select

    from app.extensions import db
    from app.questions.models import Question, QuestionVersion

    ids = list(version_ids)
    if not ids:
        return {}
    result = {}
    for vid, version, qtype, spec, stem, key, name in db.session.execute(
        select(QuestionVersion.id, QuestionVersion.version, QuestionVersion.qtype, QuestionVersion.spec,
               QuestionVersion.stem, Question.key, Question.name)
        .join(Question, Question.id == QuestionVersion.question_id).where(QuestionVersion.id.in_(ids))
    ):
        title = name or key
        result[vid] = {"label": f"{title} v{version}", "qtype": qtype, "spec": spec, "stem": stem}
    return result


def analyse_exam(exam_id: int, which: str = FIRST, started_from: dt.datetime | None = None,
                 started_before: dt.datetime | None = None) -> tuple[Analysis, dict[int, dict]]:
    """Load and analyse one exam (optionally one sitting's date range); returns the analysis and the
    question versions it names (see :func:`load_versions`)."""
    rows = load_rows(exam_id, started_from, started_before)
    versions = load_versions({r.question_version_id for r in rows})
    return analyse(rows, versions, which), versions
