"""Review of a finished attempt and what the candidate should do next.

Review options follow Moodle's quiz review options (mod/quiz "Review options"), a matrix: for each WHAT
(``marks``, ``correctness`` right/partly/wrong, the candidate's ``response``, the ``correct_answer``,
``feedback``) its own WHEN (``immediately`` after the attempt, ``after_close`` of the last window, ``never``),
decided at the moment of viewing. The key and feedback are read from the question version only when the
rules allow them now.

Also here: whether a candidate may start an attempt beyond time and attempts (a passed exam is not
offered again unless ``allow_retake_after_pass``; ``require_lessons``), and the result page's guidance
(attempts left, weak standard items with the lessons that teach them, certificates).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import func, select

from app.core.errors import DomainError
from app.core.markup import render_text
from app.core.time import utcnow
from app.exams.models import (
    FINISHED, REVIEW_AFTER_CLOSE, REVIEW_IMMEDIATELY, REVIEW_NEVER, REVIEW_SHOW, Attempt, Exam, ExamOverride,
    full_review_rules,
)
from app.exams.kept import user_reached_pass_mark
from app.exams.services import attempts_used, breakdown_by_item, candidate_settings
from app.extensions import db
from app.questions.types import REGISTRY


# --- may the candidate start? -----------------------------------------------------------------

def has_passed(exam: Exam, user_id: int) -> bool:
    """True if the user's kept grade at the exam reached its pass mark (the certification rule,
    :func:`app.exams.kept.reached_pass_mark`; with ``highest`` or ``last``: some attempt passed)."""
    return user_reached_pass_mark(exam, user_id)


def start_refusal(user, exam: Exam) -> DomainError | None:
    """Why ``user`` may not start a NEW attempt beyond window and attempt count, or None.

    ``passed`` (409): the exam was passed and ``allow_retake_after_pass`` is off.
    ``lessons`` (409): ``require_lessons`` is on and some active lesson of the course is not done.
    """
    if not exam.allow_retake_after_pass and has_passed(exam, user.id):
        return DomainError(_("You have passed this exam. It cannot be taken again to improve the grade."),
                           code="passed", status=409)
    if exam.require_lessons and exam.course_id is not None:
        from app.learning.services import lessons_done

        done, total = lessons_done(user.id, exam.course_id)
        if done < total:
            return DomainError(_("Finish every lesson of the course before starting this exam "
                                 "(%(done)s of %(total)s done).", done=done, total=total),
                               code="lessons", status=409)
    return None


def check_may_start(user, exam: Exam) -> None:
    """Raise :func:`start_refusal`'s DomainError if there is one (called by ``start_attempt``)."""
    refusal = start_refusal(user, exam)
    if refusal is not None:
        raise refusal


# --- review options ------------------------------------------------------------------------

def review_rules(exam: Exam) -> dict[str, str]:
    """The exam's ``{what: when}`` for every name of REVIEW_SHOW (:func:`app.exams.models.full_review_rules`)."""
    return full_review_rules(exam.review_rules)


def after_close_at(exam: Exam) -> dt.datetime | None:
    """When ``after_close`` things open (UTC): the LAST close anyone has, i.e. the latest of the exam's
    ``closes_at`` and every override's ``closes_at`` (person or department), so that no candidate whose
    window is still open can read a key someone else's review shows. None when the exam has no close
    (the editor and content sync refuse ``after_close`` then; a row that still has it never opens).
    One query."""
    if exam.closes_at is None:
        return None
    latest = db.session.execute(select(func.max(ExamOverride.closes_at)).where(
        ExamOverride.exam_id == exam.id)).scalar_one()
    return max(exam.closes_at, latest) if latest is not None else exam.closes_at


@dataclass
class ReviewState:
    """What a finished attempt's review shows its candidate now, and what it will show later.

    ``rules`` the exam's ``{what: when}``; ``show`` the things shown now, in REVIEW_SHOW order;
    ``open`` True when ``show`` is not empty; ``later`` the ``after_close`` things not shown yet and
    ``opens_at`` (UTC) when they open (None: nothing more to come, or no close); ``when`` a summary for
    the pages: ``never`` (nothing is ever shown), ``after_close`` (nothing before the close) or
    ``immediately``.
    """

    rules: dict[str, str]
    open: bool
    opens_at: dt.datetime | None
    show: list[str] = field(default_factory=list)
    later: list[str] = field(default_factory=list)

    @property
    def when(self) -> str:
        """The earliest timing any thing has: ``immediately``, else ``after_close``, else ``never``
        (the pages' one-line summary of the per-thing rules)."""
        values = set(self.rules.values())
        if REVIEW_IMMEDIATELY in values:
            return REVIEW_IMMEDIATELY
        return REVIEW_AFTER_CLOSE if REVIEW_AFTER_CLOSE in values else REVIEW_NEVER


def review_state(attempt: Attempt, now: dt.datetime | None = None) -> ReviewState:
    """Review rules applied to ``attempt`` for its candidate at ``now`` (UTC, default the clock), per thing.

    Nothing while the attempt is not finished. ``immediately``: shown once finished. ``after_close``:
    shown from :func:`after_close_at` inclusive (an exam without a close: never). ``never``: never.
    """
    exam = attempt.exam
    now = now or utcnow()
    rules = review_rules(exam)
    if attempt.state != FINISHED:
        return ReviewState(rules=rules, open=False, opens_at=None)
    show = [what for what in REVIEW_SHOW if rules[what] == REVIEW_IMMEDIATELY]
    pending = [what for what in REVIEW_SHOW if rules[what] == REVIEW_AFTER_CLOSE]
    opens_at = after_close_at(exam) if pending else None
    later = []
    if pending and opens_at is not None and now >= opens_at:
        show = [what for what in REVIEW_SHOW if what in show or what in pending]
        opens_at = None
    elif pending and opens_at is not None:
        later = pending
    return ReviewState(rules=rules, open=bool(show), opens_at=opens_at, show=show, later=later)


def _correctness(fraction) -> str:
    """``right`` (1), ``partial`` (between) or ``wrong`` (0 or ungraded) for a fraction 0–1."""
    if fraction is None:
        return "wrong"
    value = Decimal(fraction)
    return "right" if value >= 1 else ("partial" if value > 0 else "wrong")


def review_questions(attempt: Attempt, show: list[str]) -> list[dict]:
    """The attempt's questions as the candidate saw them (same option order), with only what ``show`` allows.

    Each: ``{"position", "stem_html", "multiple", "options": [{"id", "html", "chosen" (bool, only
    with "response")}], "answer_text": str (the echo of a non-choice response, "response" only),
    "awarded", "points" (Decimal, "marks" only), "correctness" ("right" | "partial" | "wrong",
    "correctness" only), "correct_answer": [str] ("correct_answer" only), "feedback_html": [safe
    HTML] ("feedback" only)}``. Keys for things not shown are absent, never empty placeholders.

    A practical task adds ``"practical": {"state", "filename" ("response" only), "rules": [{"text",
    "detail", "passed", "points", "awarded" (the last two "marks" only)}] ("correctness" only)}``:
    each checking rule passed or failed in plain words, in the user's language.
    """
    from flask_babel import get_locale

    from app.exams.practical import review_rules, upload_status

    uploads = upload_status([i.id for i in attempt.items if REGISTRY[i.question_version.qtype].deferred])
    locale = str(get_locale() or "zh_CN")
    out = []
    for item in attempt.items:
        version = item.question_version
        qtype = REGISTRY[version.qtype]
        rendered = qtype.render_for_candidate(version.stem, version.stem_format, version.spec, item.option_order)
        entry = {"position": item.position, "stem_html": rendered["stem_html"], "multiple": rendered["multiple"],
                 "options": [{"id": o["id"], "html": o["html"]} for o in rendered["options"]]}
        if "response" in show:
            chosen = set(qtype.selected(version.spec, item.response))
            for option in entry["options"]:
                option["chosen"] = option["id"] in chosen
            echo = qtype.response_echo(version.spec, item.response)
            entry["answer_text"] = "" if entry["options"] else " ".join(
                str(v) for k, v in echo.items() if k != "selected" and v not in (None, "", [], {}))
        if "marks" in show:
            entry["awarded"], entry["points"] = Decimal(item.awarded or 0), Decimal(item.points)
        if "correctness" in show:
            entry["correctness"] = _correctness(item.fraction)
        if "correct_answer" in show:
            entry["correct_answer"] = [str(text) for text in qtype.correct_answer_text(version.spec)]
        if "feedback" in show:
            chosen = set(qtype.selected(version.spec, item.response))
            texts = [(o.get("feedback") or "", o.get("format", "plain")) for o in version.spec.get("options", [])
                     if o.get("id") in chosen]
            texts.append((version.general_feedback or "", version.stem_format))
            entry["feedback_html"] = [render_text(text, fmt) for text, fmt in texts if text.strip()]
        if qtype.deferred:
            rules = review_rules(uploads.get(item.id), locale)
            practical = {"state": rules["state"]}
            if "response" in show:
                practical["filename"] = rules["filename"]
                entry.pop("answer_text", None)
            if "correctness" in show:
                practical["rules"] = [
                    {k: v for k, v in rule.items() if "marks" in show or k not in ("points", "awarded")}
                    for rule in rules["rules"]]
            entry["practical"] = practical
        out.append(entry)
    return out


# --- what to do next ------------------------------------------------------------------------

PAGE_LESSONS = 8  # lessons listed per weak item at most


def weak_items(attempt: Attempt) -> list[dict]:
    """Standard items of a finished attempt scored below the exam's pass mark (percent 0–100 of the
    item's points), with the lessons that teach them.

    Each: ``{"item", "percent" (Decimal 0–100), "lessons": [(course, lesson)]}``. The lessons listed are
    the active lessons tagged with the item (course.yaml ``lessons[].items``) of every active course whose
    ``items`` include it, the exam's own course first; an untagged lesson counts as teaching every item of
    its course (:meth:`app.learning.models.Lesson.teaches`). At most :data:`PAGE_LESSONS`.
    """
    from app.learning.models import Course, Lesson, course_item

    mark = Decimal(attempt.exam.pass_mark)
    out = []
    for row in breakdown_by_item(attempt):
        if row.percent >= mark:
            continue
        courses = list(db.session.execute(
            select(Course).join(course_item, course_item.c.course_id == Course.id)
            .where(course_item.c.standard_item_id == row.item.id, Course.active.is_(True))
            .order_by(Course.id)).scalars())
        courses.sort(key=lambda c: c.id != attempt.exam.course_id)
        lessons = []
        for course in courses:
            lessons += [(course, lesson) for lesson in db.session.execute(
                select(Lesson).where(Lesson.course_id == course.id, Lesson.active.is_(True))
                .order_by(Lesson.position)).scalars() if lesson.teaches(row.item.code)]
        out.append({"item": row.item, "percent": row.percent, "lessons": lessons[:PAGE_LESSONS]})
    return out


def next_steps(attempt: Attempt) -> dict:
    """Guidance for the result page of a finished attempt.

    ``{"attempts_allowed", "attempts_used", "attempts_left" (ints, after the candidate's override),
    "may_retake": bool (a new attempt could start now: window open, attempts left, not refused),
    "refusal": message or None, "weak": :func:`weak_items`, "review": :func:`review_state`}``.
    """
    exam = attempt.exam
    settings = candidate_settings(exam, attempt.user_id)
    used = attempts_used(exam.id, attempt.user_id)
    left = max(0, settings.attempts_allowed - used)
    now = utcnow()
    window_open = bool(exam.active) and (exam.opens_at is None or exam.opens_at <= now) and (
        settings.closes_at is None or now < settings.closes_at)
    refusal = start_refusal(attempt.user, exam)
    return {"attempts_allowed": settings.attempts_allowed, "attempts_used": used, "attempts_left": left,
            "may_retake": window_open and left > 0 and refusal is None,
            "refusal": refusal.message if refusal else None, "weak": weak_items(attempt),
            "review": review_state(attempt, now)}
