"""``content sync``: load standards, questions, courses (with exams) and certifications from files.

All-or-nothing: every file is checked first and any error aborts the whole sync (the caller
rolls back). Idempotent: unchanged files change nothing and the report says so.
"""
from __future__ import annotations

from pathlib import Path

from app.certification.services import sync_certifications_file
from app.content.report import ContentError, SyncReport
from app.exams.practical import sync_tasks
from app.exams.services import sync_course_exam
from app.learning.services import read_course_dir, store_course
from app.questions.services import prepare_gift, retire_missing, store_questions
from app.standards.services import sync_standard_file


def sync_content(courses_dir: Path, bank_dir: Path, *, root: Path | None = None) -> SyncReport:
    """Sync everything under ``bank_dir`` (standards/*.yaml, questions/*.gift, tasks/<id>/ practical tasks)
    and ``courses_dir``.

    Question sources are recorded relative to ``root`` (default: the parent of ``bank_dir``).
    Flushes; the caller commits. Raises ContentError listing every problem found.
    """
    report = SyncReport()
    root = root or bank_dir.parent
    errors: list[str] = []
    for path in sorted((bank_dir / "standards").glob("*.yaml")):
        try:
            sync_standard_file(path, report)
        except ContentError as exc:
            errors.extend(exc.errors)
    if errors:
        raise ContentError(errors)

    prepared_files = []
    for path in sorted((bank_dir / "questions").glob("*.gift")):
        source = str(path.relative_to(root)) if path.is_relative_to(root) else str(path)
        result = prepare_gift(path.read_text(encoding="utf-8"), source)
        errors.extend(result.errors)
        prepared_files.append((source, result))
    if errors:
        raise ContentError(errors)
    for source, result in prepared_files:
        store_questions(result.questions, source, report)
        retire_missing(source, {q.key for q in result.questions}, report)
    sync_tasks(bank_dir / "tasks", report, root=root)

    course_dirs = [p for p in sorted(courses_dir.iterdir()) if p.is_dir() and (p / "course.yaml").exists()] \
        if courses_dir.exists() else []
    for path in course_dirs:
        try:
            data = read_course_dir(path)
            course = store_course(data, report)
            sync_course_exam(course, data["exam"], data["source"], report)
            for extra in data.get("extra_exams", []):
                sync_course_exam(course, extra, data["source"], report, code=extra["code"])
        except ContentError as exc:
            errors.extend(exc.errors)
    if errors:
        raise ContentError(errors)
    sync_certifications_file(courses_dir / "certifications.yaml", report)
    return report
