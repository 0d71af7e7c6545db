"""Exam results for examiners, admins and (within their scope) training officers, and the CSV / XLSX
writers shared with the item analysis.

Scope: examiners and admins see every candidate; any other viewer sees only candidates whose
department is in :func:`app.org.services.visible_department_ids` (an officer's subtrees; nothing for
anyone else). Every function takes the viewer and applies the scope in its query.
"""
from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass
from types import SimpleNamespace

from sqlalchemy import select

from app.auth.models import User
from app.exams.kept import kept_grade, method_of, reached_pass_mark
from app.exams.models import FINISHED, Attempt, AttemptItem, Exam
from app.extensions import db
from app.org.services import visible_department_ids
from app.questions.types import REGISTRY
from app.rollout.services import department_paths

# Characters that make a spreadsheet read a cell as a formula (OWASP "CSV injection"); tab and CR too.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def sees_everyone(viewer: User) -> bool:
    """True for admins and examiners (every candidate); officers see their subtrees only."""
    return bool(viewer.is_admin or viewer.is_examiner)


def can_view_results(viewer: User) -> bool:
    """Admins, examiners and officers (with a scope) may open the results pages."""
    return sees_everyone(viewer) or bool(viewer.is_officer)


def scoped_user_ids(viewer: User):
    """SELECT of the user ids ``viewer`` may see results of (None: everyone)."""
    if sees_everyone(viewer):
        return None
    return select(User.id).where(User.department_id.in_(visible_department_ids(viewer)))


def can_view_attempt(viewer: User, attempt: Attempt) -> bool:
    """True if ``viewer`` may review ``attempt`` with its answers: admins and examiners, or an officer
    whose scope holds the candidate's department. (The candidate's own review is the result page.)"""
    if sees_everyone(viewer):
        return True
    if not viewer.is_officer:
        return False
    return db.session.execute(
        select(User.id).where(User.id == attempt.user_id, User.department_id.in_(visible_department_ids(viewer)))
    ).first() is not None


@dataclass
class CandidateResult:
    """One candidate's results on an exam. Scores are percent 0–100 (None: not graded yet)."""

    user_id: int
    name: str
    staff_number: str
    department_id: int | None
    path: str
    attempts: int
    best: float | None
    last: float | None
    last_attempt_id: int
    passed: bool
    finished_at: object
    kept: float | None = None


def candidate_results(exam_id: int, viewer: User) -> list[CandidateResult]:
    """Candidates with finished attempts, in the viewer's scope, by department path then staff number:
    attempt count, best and last score (percent), ``kept``: the grade kept by the exam's grade method
    (:func:`app.exams.kept.kept_grade`, percent), ``passed``: the kept grade reached the pass mark
    (:func:`app.exams.kept.reached_pass_mark`, the certification rule), the department path.
    One query (plus the exam)."""
    exam = db.session.get(Exam, exam_id)
    method = method_of(exam) if exam is not None else "highest"
    pass_mark = exam.pass_mark if exam is not None else 0
    attempts: dict[int, list[SimpleNamespace]] = defaultdict(list)
    paths = department_paths().alias("paths")
    query = (
        select(Attempt.id, Attempt.user_id, Attempt.number, Attempt.score, Attempt.passed, Attempt.finished_at,
               User.name, User.staff_number, User.department_id, paths.c.path)
        .join(User, User.id == Attempt.user_id)
        .outerjoin(paths, paths.c.id == User.department_id)
        .where(Attempt.exam_id == exam_id, Attempt.state == FINISHED)
        .order_by(Attempt.user_id, Attempt.number)
    )
    scope = scoped_user_ids(viewer)
    if scope is not None:
        query = query.where(Attempt.user_id.in_(scope))
    by_user: dict[int, CandidateResult] = {}
    for attempt_id, user_id, _number, score, passed, finished_at, name, staff, dept, path in db.session.execute(query):
        value = None if score is None else float(score)
        result = by_user.get(user_id)
        if result is None:
            result = by_user[user_id] = CandidateResult(user_id, name, staff, dept, path or "", 0, None, None,
                                                        attempt_id, False, None)
        result.attempts += 1
        result.last, result.last_attempt_id, result.finished_at = value, attempt_id, finished_at
        if value is not None and (result.best is None or value > result.best):
            result.best = value
        attempts[user_id].append(SimpleNamespace(number=_number, state=FINISHED, score=score))
    for user_id, result in by_user.items():
        kept = kept_grade(attempts[user_id], method)
        result.kept = None if kept is None else float(kept)
        result.passed = reached_pass_mark(attempts[user_id], method, pass_mark)
    return sorted(by_user.values(), key=lambda r: (r.path, r.staff_number))


@dataclass
class DepartmentResult:
    """Candidates of one department (the candidate's own department, not its subtree): how many sat,
    how many passed, pass rate (percent 0–100) and the mean of their best scores (percent)."""

    department_id: int | None
    path: str
    candidates: int
    passed: int
    pass_rate: float
    mean_best: float | None


def department_results(candidates: list[CandidateResult]) -> list[DepartmentResult]:
    """Group :func:`candidate_results` by department (already scoped), by path."""
    groups: dict[int | None, list[CandidateResult]] = defaultdict(list)
    for c in candidates:
        groups[c.department_id].append(c)
    rows = []
    for dept, group in groups.items():
        bests = [c.best for c in group if c.best is not None]
        passed = sum(1 for c in group if c.passed)
        rows.append(DepartmentResult(dept, group[0].path, len(group), passed, 100 * passed / len(group),
                                     sum(bests) / len(bests) if bests else None))
    return sorted(rows, key=lambda r: r.path)


@dataclass
class StandardItemResult:
    """One standard item over the candidates' last attempts: answers, mean score (fraction × 100,
    percent 0–100) and candidates below the exam's pass mark on it."""

    standard_item_id: int | None
    code: str
    title: str
    answers: int
    mean: float | None
    below_pass: int


def standard_item_results(exam_id: int, viewer: User, pass_mark: float) -> list[StandardItemResult]:
    """Per standard item, over each in-scope candidate's last finished attempt. One query for the
    answers, one for the item names."""
    from app.exams.statistics import load_rows
    from app.standards.models import StandardItem

    rows = load_rows(exam_id, user_ids=scoped_user_ids(viewer))
    last: dict[int, int] = {}
    for r in rows:
        last[r.user_id] = max(last.get(r.user_id, 0), r.number)
    rows = [r for r in rows if r.number == last[r.user_id] and r.fraction is not None]
    fractions: dict[int | None, list[float]] = defaultdict(list)
    per_candidate: dict[tuple, list[float]] = defaultdict(list)
    for r in rows:
        fractions[r.standard_item_id].append(r.fraction)
        per_candidate[(r.standard_item_id, r.user_id)].append(r.fraction)
    names = {i.id: i for i in db.session.execute(
        select(StandardItem).where(StandardItem.id.in_([k for k in fractions if k is not None]))).scalars()}
    result = []
    for item_id, values in fractions.items():
        below = sum(1 for (k, _u), v in per_candidate.items() if k == item_id and 100 * sum(v) / len(v) < pass_mark)
        item = names.get(item_id)
        result.append(StandardItemResult(item_id, item.code if item else "", item.tr("title") if item else "",
                                         len(values), 100 * sum(values) / len(values), below))
    return sorted(result, key=lambda r: r.code)


def attempt_answers(attempt: Attempt) -> list[dict]:
    """The attempt's slots for review: ``{"position", "stem_html" (sanitised), "qtype", "answer" (list of
    display texts the candidate gave), "correct" (key texts), "fraction" (0–1 or None), "awarded",
    "points"}``."""
    from markupsafe import Markup

    from app.core.markup import render_text
    from app.questions.types import get_type

    items = db.session.execute(
        select(AttemptItem).where(AttemptItem.attempt_id == attempt.id).order_by(AttemptItem.position)
    ).scalars()
    out = []
    for item in items:
        version = item.question_version
        qtype = get_type(version.qtype)
        out.append({
            "position": item.position, "stem_html": Markup(render_text(version.stem, version.stem_format)),  # nosec B704 - render_text sanitises (nh3) or escapes
            "qtype": version.qtype, "answer": response_texts(version.qtype, version.spec, item.response),
            "correct": qtype.correct_answer_text(version.spec),
            "fraction": None if item.fraction is None else float(item.fraction),
            "awarded": item.awarded, "points": item.points,
        })
    return out


def response_texts(qtype: str, spec: dict, response: dict | None) -> list[str]:
    """A stored response as display texts: chosen option texts for choice types, the typed text or value,
    the matches or order for the other types; [] for no answer."""
    if not response:
        return []
    if qtype in ("single_choice", "multiple_choice"):
        chosen = [response["choice"]] if response.get("choice") else list(response.get("choices") or [])
        texts = {o["id"]: o.get("text", o["id"]) for o in spec.get("options", [])}
        return [texts.get(c, c) for c in chosen]
    if qtype == "true_false":
        from flask_babel import gettext
        return [gettext("True") if response.get("answer") else gettext("False")] if "answer" in response else []
    if "text" in response:
        return [str(response["text"])]
    if "value" in response:
        return [str(response["value"])]
    if "matches" in response:
        return [f"{k} → {v}" for k, v in (response.get("matches") or {}).items()]
    if "order" in response:
        texts = {i["id"]: i.get("text", i["id"]) for i in spec.get("items", [])}
        return [texts.get(i, i) for i in response.get("order") or []]
    if "upload" in response:  # a practical task: the uploaded file's name
        return [str((response.get("upload") or {}).get("filename", ""))]
    return [str(response)]


# --------------------------------------------------------------------------- exports
def safe_cell(value):
    """``value`` made safe for a spreadsheet: a string starting with = + - @ (or tab / CR) gets a leading
    apostrophe so it is shown as text, never run as a formula (OWASP CSV injection). Other values pass."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def to_csv(headers: list[str], rows: list[list]) -> bytes:
    """CSV bytes in UTF-8 with a byte-order mark (so spreadsheet programs read Chinese), every cell
    passed through :func:`safe_cell`; None becomes an empty cell."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([safe_cell(h) for h in headers])
    for row in rows:
        writer.writerow(["" if v is None else safe_cell(v) for v in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def to_xlsx(sheets: list[tuple[str, list[str], list[list]]]) -> bytes:
    """An XLSX workbook (openpyxl): one sheet per ``(title, headers, rows)`` with a bold, frozen header
    row; the last sheet is meant for definitions (its second column wraps). Strings are stored as text
    (never formulas, even when they start with =)."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    book = Workbook()
    book.remove(book.active)
    for index, (title, headers, rows) in enumerate(sheets):
        sheet = book.create_sheet(title=title[:31])
        sheet.append(headers)
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in rows:
            sheet.append([None if v is None else v for v in row])
        for row in sheet.iter_rows(min_row=1):
            for cell in row:
                if isinstance(cell.value, str) and cell.value.startswith("="):
                    cell.data_type = "s"
        sheet.freeze_panes = "A2"
        for column in sheet.columns:
            width = max((len(str(c.value)) if c.value is not None else 0) for c in column)
            sheet.column_dimensions[column[0].column_letter].width = min(60, max(10, width + 2))
        if index == len(sheets) - 1:
            for cell in sheet["B"]:
                cell.alignment = Alignment(wrap_text=True, vertical="top")
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


# --------------------------------------------------------------------------- page and export helpers
def statistics_form(args) -> dict:
    """Read the statistics page's query (``attempts`` first|all, ``from`` / ``to`` local dates
    YYYY-MM-DD, inclusive) into ``{"attempts", "from", "to", "started_from", "started_before" (UTC),
    "error"}``. A malformed date is ignored and named in ``error``."""
    import datetime as dt

    from flask_babel import gettext

    from app.core.time import local_date_start_utc, local_date_end_utc
    from app.exams.statistics import FIRST, WHICH_ATTEMPTS

    attempts = args.get("attempts", FIRST)
    form = {"attempts": attempts if attempts in WHICH_ATTEMPTS else FIRST, "from": "", "to": "",
            "started_from": None, "started_before": None, "error": None}
    for name, key, convert in (("from", "started_from", local_date_start_utc), ("to", "started_before", local_date_end_utc)):
        raw = (args.get(name) or "").strip()
        if not raw:
            continue
        try:
            day = dt.date.fromisoformat(raw)
        except ValueError:
            form["error"] = gettext("“%(value)s” is not a date (YYYY-MM-DD); the filter was not applied.", value=raw[:20])
            continue
        form[name], form[key] = day.isoformat(), convert(day)
    return form


def flag_labels() -> dict[str, str]:
    """Flag code -> translated label."""
    from flask_babel import gettext

    return {"too_easy": gettext("Too easy"), "too_hard": gettext("Too hard"),
            "negative_discrimination": gettext("Negative discrimination"),
            "low_discrimination": gettext("Low discrimination")}


def statistics_definitions() -> list[tuple[str, str]]:
    """(term, definition) pairs shown beside the statistics tables and in the XLSX definitions sheet."""
    from flask_babel import gettext

    return [
        (gettext("Facility index"), gettext("Mean fraction of the marks earned on the question, × 100. "
                                            "Above 90: too easy; below 20: too hard.")),
        (gettext("Standard deviation"), gettext("Spread of the question's marks (sample SD) as a percentage of its maximum mark.")),
        (gettext("Discrimination index"), gettext("Correlation (Pearson, × 100) between the question's mark and the rest of the "
                                                  "test. Below 20 is weak; negative means stronger candidates did worse.")),
        (gettext("Discriminative efficiency"), gettext("The covariance of question and rest of test as a percentage of the "
                                                       "largest covariance these marks allow.")),
        (gettext("Cronbach's alpha"), gettext("Internal consistency of the test, 0–1 (equals KR-20 when every question is "
                                              "right or wrong). Above 0.7 is usually acceptable.")),
        (gettext("Error ratio"), gettext("√(1 − alpha) × 100: the share of the score spread that is random error.")),
        (gettext("Standard error"), gettext("SD × √(1 − alpha): how far a candidate's score may be from their true score.")),
        (gettext("Skewness"), gettext("Asymmetry of the score distribution: negative when most scores are high.")),
        (gettext("Kurtosis"), gettext("Peakedness of the score distribution compared with a normal one (0).")),
        (gettext("Source"), "Moodle, Quiz statistics calculations: https://docs.moodle.org/dev/Quiz_statistics_calculations"),
    ]


def standard_item_names(analysis) -> dict:
    """standard_item_id -> StandardItem for the items an analysis names (one query)."""
    from app.standards.models import StandardItem

    ids = {s.standard_item_id for s in analysis.standard_items if s.standard_item_id is not None}
    if not ids:
        return {}
    return {i.id: i for i in db.session.execute(select(StandardItem).where(StandardItem.id.in_(ids))).scalars()}


def _r(value, digits: int = 2):
    return None if value is None else round(value, digits)


def statistics_export(exam, analysis, fmt: str) -> bytes:
    """The analysis as CSV (the questions table) or XLSX (sheets Test, Questions, Distractors,
    Standard items, Definitions). Raises ValueError for another ``fmt``."""
    from flask_babel import gettext

    labels = flag_labels()
    names = standard_item_names(analysis)
    q_headers = [gettext("Question"), gettext("Type"), gettext("Standard item"), gettext("Attempts"),
                 gettext("Facility index"), gettext("Standard deviation"), gettext("Discrimination index"),
                 gettext("Discriminative efficiency"), gettext("Flags")]
    q_rows = [[q.label, _type_label(q.qtype), names[q.standard_item_id].code if q.standard_item_id in names else "",
               q.stats.attempts, _r(q.stats.facility), _r(q.stats.sd), _r(q.stats.discrimination),
               _r(q.stats.efficiency), ", ".join(labels[f] for f in q.stats.flags)] for q in analysis.questions]
    if fmt == "csv":
        return to_csv(q_headers, q_rows)
    if fmt != "xlsx":
        raise ValueError(f"unknown export format {fmt!r}")
    t = analysis.test
    test_rows = [[gettext("Attempts"), t.attempts], [gettext("Questions per attempt"), t.items],
                 [gettext("Mean score"), _r(t.mean)], [gettext("Median score"), _r(t.median)],
                 [gettext("Standard deviation"), _r(t.sd)], [gettext("Skewness"), _r(t.skewness, 4)],
                 [gettext("Kurtosis"), _r(t.kurtosis, 4)], [gettext("Cronbach's alpha"), _r(t.alpha, 4)],
                 [gettext("Error ratio"), _r(t.error_ratio)], [gettext("Standard error"), _r(t.standard_error)]]
    d_rows = [[q.label, d["id"] or gettext("(no answer)"), d["text"], d["fraction"], d["count"]]
              for q in analysis.questions for d in q.distractors]
    s_rows = [[names[s.standard_item_id].code if s.standard_item_id in names else "", s.answers, s.questions,
               _r(s.facility), _r(s.discrimination), ", ".join(labels[f] for f in s.flags)]
              for s in analysis.standard_items]
    return to_xlsx([
        (gettext("Test"), [gettext("Statistic"), gettext("Value")], test_rows),
        (gettext("Questions"), q_headers, q_rows),
        (gettext("Distractors"), [gettext("Question"), gettext("Option"), gettext("Text"), gettext("Fraction"),
                                  gettext("Count")], d_rows),
        (gettext("Standard items"), [gettext("Standard item"), gettext("Answers"), gettext("Questions"),
                                     gettext("Facility index"), gettext("Discrimination index"), gettext("Flags")], s_rows),
        (gettext("Definitions"), [gettext("Term"), gettext("Definition")], [list(d) for d in statistics_definitions()]),
    ])


def results_export(exam, candidates, departments, items, fmt: str) -> bytes:
    """Results as CSV (the candidates) or XLSX (sheets Candidates, Departments, Standard items,
    Definitions). Scores in percent 0–100. Raises ValueError for another ``fmt``."""
    from flask_babel import gettext

    from app.exams.forms import GRADE_LABELS

    c_headers = [gettext("Staff number"), gettext("Name"), gettext("Department"), gettext("Attempts"),
                 gettext("Best score"), gettext("Last score"), gettext("Grade kept"), gettext("Passed")]
    c_rows = [[c.staff_number, c.name, c.path, c.attempts, _r(c.best), _r(c.last), _r(c.kept),
               gettext("Yes") if c.passed else gettext("No")] for c in candidates]
    if fmt == "csv":
        return to_csv(c_headers, c_rows)
    if fmt != "xlsx":
        raise ValueError(f"unknown export format {fmt!r}")
    return to_xlsx([
        (gettext("Candidates"), c_headers, c_rows),
        (gettext("Departments"), [gettext("Department"), gettext("Candidates"), gettext("Passed"),
                                  gettext("Pass rate"), gettext("Mean best score")],
         [[d.path, d.candidates, d.passed, _r(d.pass_rate), _r(d.mean_best)] for d in departments]),
        (gettext("Standard items"), [gettext("Standard item"), gettext("Title"), gettext("Answers"),
                                     gettext("Mean score"), gettext("Candidates below the pass mark")],
         [[i.code, i.title, i.answers, _r(i.mean), i.below_pass] for i in items]),
        (gettext("Definitions"), [gettext("Term"), gettext("Definition")], [
            [gettext("Best score"), gettext("Highest score of the candidate's finished attempts, percent 0–100.")],
            [gettext("Last score"), gettext("Score of the candidate's latest finished attempt, percent 0–100.")],
            [gettext("Grade kept"), gettext("The grade this exam keeps of the candidate's finished attempts (%(method)s), "
                                            "percent 0–100.", method=GRADE_LABELS.get(exam.grade_method, exam.grade_method))],
            [gettext("Passed"), gettext("Yes if, after some attempt, the grade kept reached the pass mark (%(mark)s); "
                                        "a later, worse attempt does not undo it.", mark=exam.pass_mark)],
            [gettext("Standard items"), gettext("Mean score on each standard item over each candidate's last attempt.")],
        ]),
    ])


def _type_label(qtype: str) -> str:
    """The question type's name in the current language (the registry name if unknown)."""
    from_registry = REGISTRY.get(qtype)
    return str(from_registry.label) if from_registry else qtype
