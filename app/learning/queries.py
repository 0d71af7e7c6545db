"""Read models for learner pages (aggregated in SQL, one query per list).

Status words are the officer's (``app.rollout.services.plan_conditions``), so the learner and the
officer's drill-down never disagree about the same person:

    not_started  no lesson of the course opened and its exam never started
    started      opened a lesson of the course or started its exam (参学), not yet complete
    completed    every active lesson done and the exam passed (the course's 学时 credited)

and, per rollout plan the learner is in, ``not_started`` / ``started`` / ``certified`` computed by
``plan_conditions`` itself (certified = holds a certificate of the plan's certification that is
neither revoked nor expired).
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import exists, func, or_, select

from app.auth.models import User
from app.certification.models import Certificate
from app.core.time import utcnow
from app.exams.models import FINISHED, Attempt, Exam
from app.exams.kept import kept_grade, method_of, reached_pass_mark
from app.exams.services import attempts_used, candidate_settings, in_progress_attempt
from app.extensions import db
from app.learning.models import Course, Enrolment, Lesson, LessonProgress
from app.rollout.models import RolloutPlan
from app.rollout.services import plan_conditions, required_course_ids

NOT_STARTED, STARTED, COMPLETED, CERTIFIED = "not_started", "started", "completed", "certified"


def course_started_condition(user_id, course_id, as_of_end: dt.datetime | None = None):
    """SQL condition: the user opened a lesson of the course (active or retired) or started an
    attempt at one of its exams before ``as_of_end`` (UTC; default now).

    The per-course form of ``plan_conditions(...).started`` (same tables, same tests), so a learner
    who is "started" on any required course is "started" for the officer.
    """
    as_of_end = as_of_end or utcnow()
    # Joins inside EXISTS (not nested IN subqueries), so that a ``course_id`` column correlates to
    # the enclosing query's course row.
    return or_(
        exists().where(LessonProgress.user_id == user_id, LessonProgress.started_at < as_of_end,
                       LessonProgress.lesson_id == Lesson.id, Lesson.course_id == course_id),
        exists().where(Attempt.user_id == user_id, Attempt.started_at < as_of_end,
                       Attempt.exam_id == Exam.id, Exam.course_id == course_id),
    )


def course_status(enrolment: Enrolment | None, started: bool) -> str:
    """``completed`` (enrolment completed), ``started`` or ``not_started`` (see the module docstring)."""
    if enrolment is not None and enrolment.completed_at is not None:
        return COMPLETED
    return STARTED if started else NOT_STARTED


def my_course_rows(user) -> list[dict]:
    """The user's enrolments, due first: ``[{"course", "enrolment", "done", "total", "percent" (0–100),
    "started": bool, "status": str}]`` (status as in :func:`course_status`)."""
    done_sq = (select(func.count(LessonProgress.id)).join(Lesson, Lesson.id == LessonProgress.lesson_id)
               .where(LessonProgress.user_id == user.id, Lesson.course_id == Course.id, Lesson.active.is_(True),
                      LessonProgress.completed_at.is_not(None)).scalar_subquery())
    total_sq = (select(func.count(Lesson.id)).where(Lesson.course_id == Course.id, Lesson.active.is_(True))
                .scalar_subquery())
    started = course_started_condition(user.id, Course.id)
    rows = db.session.execute(
        select(Course, Enrolment, done_sq, total_sq, started)
        .join(Enrolment, Enrolment.course_id == Course.id)
        .where(Enrolment.user_id == user.id, Course.active.is_(True))
        .order_by(Enrolment.completed_at.is_not(None), Enrolment.due_on.is_(None), Enrolment.due_on, Course.slug)
    ).all()
    return [{"course": c, "enrolment": e, "done": d, "total": t, "percent": round(100 * d / t) if t else 0,
             "started": bool(s), "status": course_status(e, bool(s))}
            for c, e, d, t, s in rows]


def exam_state(user, course: Course) -> dict | None:
    """The course's active exam as the learner stands with it, or None when the course has no exam.

    ``{"exam", "settings" (CandidateSettings), "current" (Attempt in progress or None),
    "seconds_left" (int seconds or None), "finished" [Attempt], "used", "left" (attempts left),
    "passed": bool (the kept grade reached the pass mark, :mod:`app.exams.kept`), "best" (Decimal score
    0–100 or None), "kept" (the grade kept by "grade_method", Decimal or None)}``. An attempt whose time ran out is
    finalised here first (the caller commits).
    """
    exam = db.session.execute(select(Exam).where(Exam.course_id == course.id, Exam.active.is_(True))
                              .order_by(Exam.code != course.slug, Exam.id)).scalars().first()  # the course's own exam first
    if exam is None:
        return None
    settings = candidate_settings(exam, user.id)
    current = in_progress_attempt(exam.id, user.id)
    finished = list(db.session.execute(
        select(Attempt).where(Attempt.exam_id == exam.id, Attempt.user_id == user.id, Attempt.state == FINISHED)
        .order_by(Attempt.number)).scalars())
    used = attempts_used(exam.id, user.id)
    seconds_left = None
    if current is not None:
        seconds_left = max(0, int((current.deadline_at - utcnow()).total_seconds()))
    scores = [a.score for a in finished if a.score is not None]
    method = method_of(exam)
    return {
        "exam": exam, "settings": settings, "current": current, "finished": finished, "used": used,
        "left": max(0, settings.attempts_allowed - used), "seconds_left": seconds_left,
        "passed": reached_pass_mark(finished, method, exam.pass_mark), "best": max(scores) if scores else None,
        "kept": kept_grade(finished, method), "grade_method": method,
    }


def next_step(row: dict, lessons: list[Lesson], done_ids: set[int], exam: dict | None) -> dict:
    """What the learner should do next in one course: ``{"kind", "lesson"?}`` where kind is one of
    ``done``, ``lesson`` (the first active lesson not done), ``exam_in_progress``, ``exam``
    (ready to sit), ``no_attempts`` (exam failed with no attempts left: ask the training officer)."""
    if row["status"] == COMPLETED:
        return {"kind": "done"}
    if exam and exam["current"] is not None:
        return {"kind": "exam_in_progress"}
    pending = [lesson for lesson in lessons if lesson.id not in done_ids]
    if pending:
        return {"kind": "lesson", "lesson": pending[0], "remaining": len(pending)}
    if exam and not exam["passed"]:
        return {"kind": "exam"} if exam["left"] > 0 else {"kind": "no_attempts"}
    return {"kind": "done"}


def continue_cards(user) -> list[dict]:
    """One card per enrolment that is not complete, due first: the :func:`my_course_rows` row plus
    ``"exam"`` (:func:`exam_state`), ``"next"`` (:func:`next_step`) and ``"lessons"``."""
    rows = [row for row in my_course_rows(user) if row["status"] != COMPLETED]
    if not rows:
        return []
    done_ids = set(db.session.execute(
        select(LessonProgress.lesson_id).where(LessonProgress.user_id == user.id,
                                               LessonProgress.completed_at.is_not(None))).scalars())
    cards = []
    for row in rows:
        lessons = row["course"].active_lessons
        exam = exam_state(user, row["course"])
        cards.append({**row, "exam": exam, "lessons": lessons, "next": next_step(row, lessons, done_ids, exam)})
    return cards


def plan_statuses(user, as_of_end: dt.datetime | None = None) -> list[dict]:
    """The active rollout plans the user is eligible for, with the officer's status of this person.

    Each: ``{"plan", "status" ("not_started" | "started" | "certified"), "due_on" (earliest due
    date of the user's enrolments in the plan's courses, or the plan's end), "certificate" (the
    latest unrevoked one when certified, else None), "courses_completed", "courses_total"
    (the plan's required courses: its certification's and its extra ones, and how many of them the
    user has completed)}``.
    Computed by ``rollout.services.plan_conditions`` (the same SQL the dashboard counts with).
    """
    as_of_end = as_of_end or utcnow()
    out = []
    for plan in db.session.execute(select(RolloutPlan).where(RolloutPlan.active.is_(True))
                                   .order_by(RolloutPlan.ends_on, RolloutPlan.id)).scalars():
        c = plan_conditions(plan, as_of_end)
        flags = db.session.execute(select(c.started, c.certified).where(User.id == user.id, *c.eligible)).first()
        if flags is None:
            continue
        started, certified = bool(flags[0]), bool(flags[1])
        courses = required_course_ids(plan)
        due, completed = db.session.execute(select(
            func.min(Enrolment.due_on), func.count(Enrolment.completed_at)).where(
            Enrolment.user_id == user.id, Enrolment.course_id.in_(courses))).one()
        total = db.session.execute(select(func.count()).select_from(courses.subquery())).scalar_one()
        certificate = None
        if certified:
            certificate = db.session.execute(
                select(Certificate).where(Certificate.user_id == user.id,
                                          Certificate.certification_id == plan.certification_id,
                                          Certificate.revoked_at.is_(None))
                .order_by(Certificate.issued_at.desc())).scalars().first()
        out.append({"plan": plan, "status": CERTIFIED if certified else (STARTED if started else NOT_STARTED),
                    "due_on": due or plan.ends_on, "certificate": certificate,
                    "courses_completed": int(completed or 0), "courses_total": int(total)})
    return out


def my_certificates(user) -> list[Certificate]:
    """The user's certificates, newest first (any status)."""
    return list(db.session.execute(
        select(Certificate).where(Certificate.user_id == user.id).order_by(Certificate.issued_at.desc())).scalars())


def course_overview(user, course: Course) -> dict:
    """Template context for the course page: lessons with done flags, exam state, enrolment, and
    ``status`` (:func:`course_status`) and ``next`` (:func:`next_step`)."""
    done_ids = set(db.session.execute(
        select(LessonProgress.lesson_id).join(Lesson, Lesson.id == LessonProgress.lesson_id)
        .where(LessonProgress.user_id == user.id, Lesson.course_id == course.id,
               LessonProgress.completed_at.is_not(None))).scalars())
    lessons = course.active_lessons
    enrolment = db.session.execute(
        select(Enrolment).where(Enrolment.user_id == user.id, Enrolment.course_id == course.id)).scalar_one_or_none()
    state = exam_state(user, course)
    db.session.commit()  # a lazily finalised attempt is kept
    started = db.session.execute(select(course_started_condition(user.id, course.id))).scalar()
    status = course_status(enrolment, bool(started))
    return {
        "course": course, "lessons": lessons, "done_ids": done_ids, "enrolment": enrolment,
        "lessons_complete": all(lesson.id in done_ids for lesson in lessons), "exam_state": state,
        "status": status, "next": next_step({"status": status}, lessons, done_ids, state),
    }
