"""Learning services: course sync from files, enrolment, lesson progress, course completion, credit hours."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import re
from decimal import Decimal, InvalidOperation
from pathlib import Path

import yaml
from flask_babel import gettext as _
from sqlalchemy import func, select, update

from app.content.report import ContentError, SyncReport, load_yaml
from app.core.errors import DomainError
from app.core.markup import render_markdown
from app.core.time import utcnow
from app.extensions import db
from app.learning.models import Course, Enrolment, Lesson, LessonProgress
from app.standards.models import Standard, StandardItem

SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")


def _bi(data: dict, field: str, where: str, errors: list[str]) -> tuple[str, str]:
    value = data.get(field)
    if not isinstance(value, dict) or not str(value.get("zh") or "").strip() or not str(value.get("en") or "").strip():
        errors.append(f"{where}: field '{field}' needs both zh and en text")
        return "", ""
    return str(value["zh"]).strip(), str(value["en"]).strip()


def read_lesson_file(course_dir: Path, name: str) -> tuple[str, str | None]:
    """Read lesson file ``name`` (as written after ``file:`` in course.yaml) of ``course_dir``.

    The path is resolved (``..`` and symbolic links followed) and must stay inside the resolved
    course folder, so a course cannot publish another file of the server. The file must be UTF-8
    text without NUL bytes. Returns ``(text, None)``, or ``("", problem)`` with a message for the
    author (outside the folder, missing, binary, not UTF-8).
    """
    folder = course_dir.resolve()
    target = (course_dir / name).resolve()
    if not target.is_relative_to(folder):
        return "", f"file {name} is outside the course folder {course_dir} (lesson files must be inside it)"
    if not target.is_file():
        return "", f"file {course_dir / name} does not exist"
    try:
        raw = target.read_bytes()
    except OSError as exc:
        return "", f"file {name} cannot be read ({exc.strerror})"
    if b"\x00" in raw:
        return "", f"file {name} is a binary file (it has NUL bytes), not Markdown text"
    try:
        return raw.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        return "", f"file {name} is not UTF-8 text (byte {exc.start}); save it as UTF-8"


def _lesson_file_lines(course_yaml: Path) -> dict[int, int]:
    """Line number (1-based) of each ``lessons[i].file`` value in course.yaml, by lesson index
    (empty when the layout is not a mapping with a ``lessons`` list; load_yaml reports syntax errors)."""
    try:
        root = yaml.compose(course_yaml.read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return {}
    lines: dict[int, int] = {}
    if not isinstance(root, yaml.MappingNode):
        return lines
    for key, value in root.value:
        if key.value == "lessons" and isinstance(value, yaml.SequenceNode):
            for index, item in enumerate(value.value):
                if isinstance(item, yaml.MappingNode):
                    for k, v in item.value:
                        if k.value == "file":
                            lines[index] = v.start_mark.line + 1
    return lines


def read_course_dir(path: Path) -> dict:
    """Read and check ``courses/<slug>/``: course.yaml and its lesson files.

    Returns a plain dict (slug, titles, lessons with Markdown bodies and their optional ``items`` tags
    — each a code among the course's ``items`` — items, exam).
    Raises ContentError listing every problem as ``file: field: message``.
    """
    slug = path.name
    where = str(path / "course.yaml")
    errors: list[str] = []
    if not SLUG_RE.match(slug):
        errors.append(f"{path}: folder name must be a slug (lower-case letters, digits, hyphens)")
    data = load_yaml(path / "course.yaml")
    if not isinstance(data, dict):
        raise ContentError([f"{where}: expected a mapping at the top level"])
    title = _bi(data, "title", where, errors)
    summary = _bi(data, "summary", where, errors)
    try:
        credit_hours = Decimal(str(data.get("credit_hours")))
        if credit_hours < 0:
            raise InvalidOperation
    except (InvalidOperation, ValueError):
        errors.append(f"{where}: field 'credit_hours' must be a number of 学时 (0 or more)")
        credit_hours = Decimal(0)
    items = data.get("items") or []
    if not isinstance(items, list) or not items:
        errors.append(f"{where}: field 'items' must list the standard items the course teaches")
        items = []
    lessons = []
    keys = set()
    file_lines = _lesson_file_lines(path / "course.yaml")
    for index, lesson in enumerate(data.get("lessons") or []):
        l_where = f"{where}: lessons[{index}]"
        if not isinstance(lesson, dict) or not lesson.get("file"):
            errors.append(f"{l_where}: needs a 'file'")
            continue
        key = Path(str(lesson["file"])).stem
        if key in keys:
            errors.append(f"{l_where}: file {lesson['file']} is listed twice")
        keys.add(key)
        body, problem = read_lesson_file(path, str(lesson["file"]))
        if problem:
            line = file_lines.get(index)
            errors.append(f"{where}:{line}: lessons[{index}]: {problem}" if line else f"{l_where}: {problem}")
            continue
        minutes = lesson.get("minutes", 0)
        if not isinstance(minutes, int) or minutes < 0:
            errors.append(f"{l_where}: field 'minutes' must be a whole number")
            minutes = 0
        lesson_items = lesson.get("items")
        if lesson_items is None:
            lesson_items = []
        elif not isinstance(lesson_items, list) or not all(isinstance(c, str) and c for c in lesson_items):
            errors.append(f"{l_where}: field 'items' must be a list of standard item codes")
            lesson_items = []
        else:
            course_codes = {str(i) for i in items}
            for code in lesson_items:
                if code not in course_codes:
                    errors.append(f"{l_where}: field 'items': '{code}' is not one of the course's items "
                                  f"({', '.join(str(i) for i in items)})")
            if len(set(lesson_items)) != len(lesson_items):
                errors.append(f"{l_where}: field 'items' lists an item twice")
        lessons.append({"key": key, "title": _bi(lesson, "title", l_where, errors), "minutes": minutes, "body": body,
                        "items": [str(c) for c in lesson_items]})
    if not lessons:
        errors.append(f"{where}: field 'lessons' must list at least one lesson")
    exam = data.get("exam")
    if exam is not None and not isinstance(exam, dict):
        errors.append(f"{where}: field 'exam' must be a mapping")
        exam = None
    if exam is not None:
        exam = dict(exam)
        exam["title"] = _bi(exam, "title", f"{where}: exam", errors)
    extra_exams = []
    raw_extra = data.get("extra_exams") or []
    if not isinstance(raw_extra, list):
        errors.append(f"{where}: field 'extra_exams' must be a list of exams")
        raw_extra = []
    for index, extra in enumerate(raw_extra):
        e_where = f"{where}: extra_exams[{index}]"
        code = extra.get("code") if isinstance(extra, dict) else None
        if not isinstance(code, str) or not code.startswith(slug + "-") or not SLUG_RE.fullmatch(code):
            errors.append(f"{e_where}: field 'code' must be the course slug, a hyphen and more letters, "
                          f"digits or hyphens (e.g. {slug}-practical)")
            continue
        if code in {e["code"] for e in extra_exams}:
            errors.append(f"{e_where}: field 'code': {code} is listed twice")
            continue
        extra = dict(extra)
        extra["title"] = _bi(extra, "title", e_where, errors)
        extra_exams.append(extra)
    if errors:
        raise ContentError(errors)
    return {
        "slug": slug, "title": title, "summary": summary, "credit_hours": credit_hours,
        "standard": data.get("standard"), "items": [str(i) for i in items], "lessons": lessons, "exam": exam,
        "extra_exams": extra_exams, "source": where,
    }


def _hash(value) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()


def store_course(data: dict, report: SyncReport) -> Course:
    """Create or update a course and its lessons from :func:`read_course_dir` output. Flushes.

    Lessons are matched by file name stem; a lesson whose file is gone is retired, never deleted,
    so learners' progress stays. Raises ContentError for an unknown standard or item.
    """
    standard = None
    if data["standard"]:
        standard = db.session.execute(select(Standard).where(Standard.code == data["standard"])).scalar_one_or_none()
        if standard is None:
            raise ContentError([f"{data['source']}: field 'standard': unknown standard '{data['standard']}'"])
    items = []
    for code in data["items"]:
        query = select(StandardItem).where(StandardItem.code == code)
        if standard is not None:
            query = query.where(StandardItem.standard_id == standard.id)
        item = db.session.execute(query).scalar_one_or_none()
        if item is None:
            raise ContentError([f"{data['source']}: field 'items': unknown standard item '{code}'"])
        items.append(item)

    course = db.session.execute(select(Course).where(Course.slug == data["slug"])).scalar_one_or_none()
    head = {k: data[k] for k in ("title", "summary", "credit_hours", "standard", "items")}
    head_hash = _hash(head)
    if course is None:
        course = Course(slug=data["slug"])
        db.session.add(course)
        report.created("course", data["slug"])
    elif course.content_hash != head_hash or not course.active:
        report.updated("course", data["slug"])
    else:
        report.unchanged("course")
    if course.content_hash != head_hash or not course.active:
        course.title_zh, course.title_en = data["title"]
        course.summary_zh, course.summary_en = data["summary"]
        course.credit_hours = data["credit_hours"]
        course.standard = standard
        course.items = items
        course.content_hash = head_hash
        course.active = True
    db.session.flush()

    # Read from the database, not the (possibly stale) ``course.lessons`` collection.
    existing = {lesson.key: lesson for lesson in db.session.execute(
        select(Lesson).where(Lesson.course_id == course.id)).scalars()}
    for position, lesson_data in enumerate(data["lessons"]):
        # Tags join the digest only when present, so untagged lessons keep the digest they had before tags.
        digest = _hash([lesson_data["title"], lesson_data["minutes"], lesson_data["body"], position]
                       + ([lesson_data["items"]] if lesson_data.get("items") else []))
        lesson = existing.pop(lesson_data["key"], None)
        if lesson is not None and lesson.content_hash == digest and lesson.active:
            report.unchanged("lesson")
            continue
        if lesson is None:
            lesson = Lesson(course_id=course.id, key=lesson_data["key"])
            db.session.add(lesson)
            report.created("lesson", f"{course.slug}/{lesson_data['key']}")
        else:
            report.updated("lesson", f"{course.slug}/{lesson_data['key']}")
        lesson.title_zh, lesson.title_en = lesson_data["title"]
        lesson.minutes = lesson_data["minutes"]
        lesson.body_md = lesson_data["body"]
        lesson.body_html = render_markdown(lesson_data["body"])
        lesson.position = position
        lesson.items = list(lesson_data.get("items") or []) or None
        lesson.content_hash = digest
        lesson.active = True
    for lesson in existing.values():
        if lesson.active:
            lesson.active = False
            report.retired("lesson", f"{course.slug}/{lesson.key}")
    db.session.flush()
    db.session.expire(course, ["lessons"])
    return course


def enrol(user, course: Course, *, source: str = "self", due_on=None) -> Enrolment:
    """Enrol ``user`` in ``course`` (idempotent). A plan's due date replaces a later or missing one. Flushes."""
    enrolment = db.session.execute(
        select(Enrolment).where(Enrolment.user_id == user.id, Enrolment.course_id == course.id)
    ).scalar_one_or_none()
    if enrolment is None:
        enrolment = Enrolment(user_id=user.id, course_id=course.id, source=source, due_on=due_on)
        db.session.add(enrolment)
    elif due_on is not None and (enrolment.due_on is None or due_on < enrolment.due_on):
        enrolment.due_on = due_on
        if source == "plan":
            enrolment.source = "plan"
    db.session.flush()
    return enrolment


def seconds_until_completable(progress: LessonProgress, min_seconds: int, now: dt.datetime | None = None) -> int:
    """Whole seconds (0 or more) before the lesson may be marked done: opened (``started_at``, UTC)
    + ``min_seconds`` − now. 0 when already done or when there is no minimum."""
    if progress.completed_at is not None or not min_seconds:
        return 0
    now = now or utcnow()
    left = (progress.started_at + dt.timedelta(seconds=min_seconds) - now).total_seconds()
    return max(0, math.ceil(left))


def complete_lesson(user, lesson: Lesson, *, min_seconds: int = 0, now: dt.datetime | None = None) -> LessonProgress:
    """Mark ``lesson`` done for ``user`` (idempotent), then check course completion. Flushes.

    ``min_seconds`` (the LESSON_MIN_SECONDS setting, seconds): completing sooner than the lesson was
    opened + ``min_seconds`` raises DomainError(code ``too_soon``, status 409) and changes nothing.
    The write is one conditional UPDATE (``completed_at IS NULL`` and opened early enough), so two
    concurrent requests complete it once.
    """
    progress = open_lesson(user, lesson)
    now = now or utcnow()
    if progress.completed_at is not None:
        return progress
    result = db.session.execute(
        update(LessonProgress)
        .where(LessonProgress.id == progress.id, LessonProgress.completed_at.is_(None),
               LessonProgress.started_at <= now - dt.timedelta(seconds=min_seconds))
        .values(completed_at=now)
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(progress)
    if result.rowcount == 1:
        check_course_completion(user, lesson.course)
    elif progress.completed_at is None:
        raise DomainError(_("Please read the whole lesson first: it can be marked as done at least %(minimum)s "
                            "seconds after you opened it (%(left)s seconds to go).", minimum=min_seconds,
                            left=seconds_until_completable(progress, min_seconds, now)),
                          code="too_soon", status=409)
    return progress


def open_lesson(user, lesson: Lesson) -> LessonProgress:
    """Record that ``user`` opened ``lesson`` (idempotent); enrols them if needed. Flushes."""
    enrolment = enrol(user, lesson.course)
    if enrolment.started_at is None:
        enrolment.started_at = utcnow()
    progress = db.session.execute(
        select(LessonProgress).where(LessonProgress.user_id == user.id, LessonProgress.lesson_id == lesson.id)
    ).scalar_one_or_none()
    if progress is None:
        progress = LessonProgress(user_id=user.id, lesson_id=lesson.id, started_at=utcnow())
        db.session.add(progress)
        db.session.flush()
    return progress


def lessons_done(user_id: int, course_id: int) -> tuple[int, int]:
    """(completed active lessons, active lessons) for the user in the course."""
    total = db.session.execute(
        select(func.count(Lesson.id)).where(Lesson.course_id == course_id, Lesson.active.is_(True))
    ).scalar_one()
    done = db.session.execute(
        select(func.count(LessonProgress.id))
        .join(Lesson, Lesson.id == LessonProgress.lesson_id)
        .where(Lesson.course_id == course_id, Lesson.active.is_(True), LessonProgress.user_id == user_id,
               LessonProgress.completed_at.is_not(None))
    ).scalar_one()
    return done, total


def check_course_completion(user, course: Course, attempt=None) -> bool:
    """Complete the course if every active lesson is done and its exam (if any) is passed.

    On completion: sets ``completed_at``, credits the course's 学时, and lets certification check
    whether a certificate is now due. Returns True if the course is (now or already) complete.
    """
    from app.certification.services import issue_due_certificates
    from app.exams.services import has_passed_course_exam

    enrolment = enrol(user, course)
    if enrolment.completed_at is not None:
        if attempt is not None and attempt.passed:
            # A pass at an already completed course: recertification when a certificate of a
            # certification containing it is inside its renewal window (else nothing is issued).
            issue_due_certificates(user, attempt=attempt)
        return True
    done, total = lessons_done(user.id, course.id)
    if done < total or not has_passed_course_exam(user.id, course.id):
        return False
    enrolment.completed_at = utcnow()
    enrolment.credit_hours_awarded = course.credit_hours
    db.session.flush()
    issue_due_certificates(user, attempt=attempt)
    return True


def credit_hours_this_year(user_id: int, year_start, year_end) -> Decimal:
    """Sum of 学时 credited to the user for courses completed in [year_start, year_end) (UTC datetimes)."""
    value = db.session.execute(
        select(func.coalesce(func.sum(Enrolment.credit_hours_awarded), 0)).where(
            Enrolment.user_id == user_id, Enrolment.completed_at >= year_start, Enrolment.completed_at < year_end
        )
    ).scalar_one()
    return Decimal(str(value))
