"""Read models for learner pages (aggregated in SQL, one query per list)."""
from __future__ import annotations

from sqlalchemy import func, select

from app.exams.models import FINISHED, Attempt, Exam
from app.exams.services import attempts_used, candidate_settings, in_progress_attempt
from app.extensions import db
from app.learning.models import Course, Enrolment, Lesson, LessonProgress


def my_course_rows(user) -> list[dict]:
    """The user's enrolments: ``[{"course", "enrolment", "done", "total", "percent" (0–100)}]``, due first."""
    done_sq = (select(func.count(LessonProgress.id)).join(Lesson, Lesson.id == LessonProgress.lesson_id)
               .where(LessonProgress.user_id == user.id, Lesson.course_id == Course.id, Lesson.active.is_(True),
                      LessonProgress.completed_at.is_not(None)).scalar_subquery())
    total_sq = (select(func.count(Lesson.id)).where(Lesson.course_id == Course.id, Lesson.active.is_(True))
                .scalar_subquery())
    rows = db.session.execute(
        select(Course, Enrolment, done_sq, total_sq)
        .join(Enrolment, Enrolment.course_id == Course.id)
        .where(Enrolment.user_id == user.id, Course.active.is_(True))
        .order_by(Enrolment.completed_at.is_not(None), Enrolment.due_on.is_(None), Enrolment.due_on, Course.slug)
    ).all()
    return [{"course": c, "enrolment": e, "done": d, "total": t, "percent": round(100 * d / t) if t else 0}
            for c, e, d, t in rows]


def course_overview(user, course: Course) -> dict:
    """Template context for the course page: lessons with done flags, exam state, enrolment."""
    done_ids = set(db.session.execute(
        select(LessonProgress.lesson_id).join(Lesson, Lesson.id == LessonProgress.lesson_id)
        .where(LessonProgress.user_id == user.id, Lesson.course_id == course.id,
               LessonProgress.completed_at.is_not(None))).scalars())
    lessons = course.active_lessons
    enrolment = db.session.execute(
        select(Enrolment).where(Enrolment.user_id == user.id, Enrolment.course_id == course.id)).scalar_one_or_none()
    exam = db.session.execute(select(Exam).where(Exam.course_id == course.id, Exam.active.is_(True))).scalars().first()
    exam_state = None
    if exam is not None:
        settings = candidate_settings(exam, user.id)
        current = in_progress_attempt(exam.id, user.id)
        db.session.commit()  # a lazily finalised attempt is kept
        finished = list(db.session.execute(
            select(Attempt).where(Attempt.exam_id == exam.id, Attempt.user_id == user.id, Attempt.state == FINISHED)
            .order_by(Attempt.number)).scalars())
        exam_state = {
            "exam": exam, "settings": settings, "current": current, "finished": finished,
            "used": attempts_used(exam.id, user.id),
            "passed": any(a.passed for a in finished),
        }
    return {
        "course": course, "lessons": lessons, "done_ids": done_ids, "enrolment": enrolment,
        "lessons_complete": all(lesson.id in done_ids for lesson in lessons), "exam_state": exam_state,
    }
