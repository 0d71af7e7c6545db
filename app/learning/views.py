"""Learner pages: my courses, a course, a lesson, marking a lesson done."""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import _
from flask_login import current_user, login_required
from sqlalchemy import select

from app.core.errors import DomainError
from app.core.time import local_date_start_utc, local_today
from app.extensions import db
from app.learning import services
from app.learning.models import Course, Lesson
from app.learning.queries import continue_cards, course_overview, my_certificates, my_course_rows, plan_statuses

bp = Blueprint("learning", __name__, url_prefix="/courses")

TEXT_SIZES = ("normal", "large")


def text_size() -> str:
    """The reader's text size, ``normal`` or ``large``: ``?text=`` switches it (on any page, as
    ``?lang=`` does) and the session remembers it; templates put ``text-large`` on <html>."""
    wanted = request.args.get("text")
    if wanted in TEXT_SIZES:
        session["text_size"] = wanted
        return wanted
    return session.get("text_size") if session.get("text_size") in TEXT_SIZES else "normal"


@bp.app_context_processor
def _text_size_helper() -> dict:
    return {"text_size": text_size}


@bp.route("/")
@login_required
def my_courses():
    """The learner's home: required training (the officer's status of this person), what to do next
    in each course and by when, certificates, completed courses, then other available courses."""
    rows = my_course_rows(current_user)
    cards = continue_cards(current_user)
    db.session.commit()  # an exam attempt finalised on the way (deadline passed) is kept
    enrolled_ids = {row["course"].id for row in rows}
    others = [c for c in db.session.execute(
        select(Course).where(Course.active.is_(True)).order_by(Course.slug)).scalars() if c.id not in enrolled_ids]
    year = local_today().year
    earned = services.credit_hours_this_year(current_user.id, local_date_start_utc(dt.date(year, 1, 1)),
                                             local_date_start_utc(dt.date(year + 1, 1, 1)))
    return render_template("learning/my_courses.html", rows=rows, cards=cards, others=others, year=year,
                           earned=earned, today=local_today(), plans=plan_statuses(current_user),
                           certificates=my_certificates(current_user),
                           quota=current_app.config["ANNUAL_CREDIT_HOUR_QUOTA"])


def _min_seconds() -> int:
    """LESSON_MIN_SECONDS (seconds a lesson must be open before it can be marked done; default 60)."""
    return max(0, int(current_app.config.get("LESSON_MIN_SECONDS", 60)))


def _course_or_404(slug: str) -> Course:
    course = db.session.execute(select(Course).where(Course.slug == slug, Course.active.is_(True))).scalar_one_or_none()
    if course is None:
        abort(404)
    return course


@bp.route("/<slug>")
@login_required
def course(slug: str):
    """A course: lessons with done marks, the exam and its state, completion and credit hours."""
    course = _course_or_404(slug)
    from app.exams.models import Exam

    # further exams of the course (course.yaml ``extra_exams``, e.g. a practical exam): passing one also counts
    other_exams = list(db.session.execute(select(Exam).where(Exam.course_id == course.id, Exam.active.is_(True),
                                                             Exam.code != course.slug).order_by(Exam.code)).scalars())
    return render_template("learning/course.html", today=local_today(), other_exams=other_exams,
                           **course_overview(current_user, course))


@bp.route("/<slug>/lessons/<key>")
@login_required
def lesson(slug: str, key: str):
    """A lesson page; opening it records progress (and enrols the learner)."""
    course = _course_or_404(slug)
    lesson = db.session.execute(
        select(Lesson).where(Lesson.course_id == course.id, Lesson.key == key, Lesson.active.is_(True))
    ).scalar_one_or_none()
    if lesson is None:
        abort(404)
    progress = services.open_lesson(current_user, lesson)
    db.session.commit()
    lessons = course.active_lessons
    index = lessons.index(lesson)
    return render_template(
        "learning/lesson.html", course=course, lesson=lesson, progress=progress,
        wait=services.seconds_until_completable(progress, _min_seconds()),
        previous=lessons[index - 1] if index > 0 else None,
        next=lessons[index + 1] if index + 1 < len(lessons) else None, number=index + 1, total=len(lessons),
    )


@bp.route("/<slug>/lessons/<key>/complete", methods=["POST"])
@login_required
def complete_lesson(slug: str, key: str):
    """Mark a lesson done and go to the next one (or back to the course)."""
    course = _course_or_404(slug)
    lesson = db.session.execute(
        select(Lesson).where(Lesson.course_id == course.id, Lesson.key == key, Lesson.active.is_(True))
    ).scalar_one_or_none()
    if lesson is None:
        abort(404)
    try:
        services.complete_lesson(current_user, lesson, min_seconds=_min_seconds())
    except DomainError as error:
        db.session.commit()  # opening the lesson (if this is the first visit) is kept
        flash(error.message, "error")
        return redirect(url_for("learning.lesson", slug=slug, key=key))
    db.session.commit()
    flash(_("Lesson marked as done."), "success")
    lessons = course.active_lessons
    index = lessons.index(lesson)
    if index + 1 < len(lessons):
        return redirect(url_for("learning.lesson", slug=slug, key=lessons[index + 1].key))
    return redirect(url_for("learning.course", slug=slug))
