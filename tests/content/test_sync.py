"""The shipped content loads, is idempotent, and meets the content norms."""
import re
from collections import Counter

from sqlalchemy import func, select

from app.content.services import sync_content
from app.exams.models import Exam
from app.learning.models import Course, Lesson
from app.questions.models import Question
from app.standards.models import StandardItem
from tests.conftest import ROOT

CJK = re.compile(r"[\u4e00-\u9fff]")


def test_second_sync_reports_no_changes(content, db):
    assert content.changed
    again = sync_content(ROOT / "courses", ROOT / "question_bank")
    db.session.commit()
    assert not again.changed, again.changes


def test_editing_a_lesson_updates_it_and_keeps_progress(content, db, tmp_path):
    import shutil

    from app.learning.models import LessonProgress
    from app.learning.services import complete_lesson
    from tests.factories import make_user

    courses = tmp_path / "courses"
    shutil.copytree(ROOT / "courses", courses)
    user = make_user()
    lesson = db.session.execute(select(Lesson).order_by(Lesson.id)).scalars().first()
    complete_lesson(user, lesson)
    db.session.commit()
    course_dir = courses / lesson.course.slug
    lesson_file = course_dir / f"{lesson.key}.md"
    lesson_file.write_text(lesson_file.read_text(encoding="utf-8") + "\n\n补充说明：本节内容已更新。\n", encoding="utf-8")
    report = sync_content(courses, ROOT / "question_bank")
    db.session.commit()
    assert report.changes == [f"updated lesson {lesson.course.slug}/{lesson.key}"]
    db.session.refresh(lesson)
    assert "本节内容已更新" in lesson.body_html
    assert db.session.execute(select(func.count(LessonProgress.id))).scalar_one() == 1


def test_content_counts_and_norms(content, db):
    courses = list(db.session.execute(select(Course)).scalars())
    assert len(courses) >= 4
    areas = {item.area.code for course in courses for item in course.items}
    assert len(areas) >= 4
    for course in courses:
        lessons = course.active_lessons
        assert len(lessons) >= 5, course.slug
        for lesson in lessons:
            assert len(CJK.findall(lesson.body_md)) >= 600, f"{course.slug}/{lesson.key} is too short"
            assert "学习目标" in lesson.body_md and "示例" in lesson.body_md, lesson.key
        assert course.title_en and course.summary_en
        exams = list(db.session.execute(select(Exam).where(Exam.course_id == course.id)).scalars())
        assert [e.code for e in exams if e.code == course.slug] == [course.slug]  # its own exam, maybe extra ones
        for exam in exams:
            assert sum(row.count * row.points for row in exam.blueprint) == 100
            assert {row.standard_item_id for row in exam.blueprint} <= {item.id for item in course.items}

    questions = list(db.session.execute(select(Question).where(Question.active.is_(True))).scalars())
    assert len(questions) >= 200
    per_item = Counter(q.standard_item_id for q in questions)
    covered = {item.id for course in courses for item in course.items}
    for item_id in covered:
        assert per_item[item_id] >= 8, db.session.get(StandardItem, item_id).code
    for q in questions:
        version = q.current_version
        assert q.standard_item_id and q.difficulty in ("easy", "medium", "hard"), q.key
        assert version.general_feedback.strip(), f"{q.key} has no explanation"
        if q.qtype in ("single_choice", "multiple_choice"):
            assert len(version.spec["options"]) == 4, q.key
        if q.qtype == "single_choice":
            assert sum(1 for o in version.spec["options"] if o["fraction"] == 1.0) == 1, q.key


def test_standard_has_29_items_with_digcomp(content, db):
    items = list(db.session.execute(select(StandardItem)).scalars())
    assert len(items) == 29
    assert all(item.digcomp and item.title_en for item in items)


def _copy_courses(tmp_path):
    import shutil

    courses = tmp_path / "courses"
    shutil.copytree(ROOT / "courses", courses)
    return courses


def _table_counts(db):
    from app.certification.models import Certification

    return tuple(db.session.execute(select(func.count()).select_from(m)).scalar_one()
                 for m in (Course, Lesson, Question, Certification))


def test_malformed_certifications_file_names_each_entry_and_changes_nothing(db, tmp_path):
    import pytest

    from app.content.report import ContentError

    courses = _copy_courses(tmp_path)
    (courses / "certifications.yaml").write_text(
        "- code: X1\n  title: 计算机基础\n  courses: [computer-basics]\n"
        "- code: X2\n  title: {zh: 表格, en: Sheets}\n  courses: spreadsheets\n"
        "- code: X3\n  title: {zh: 未知, en: Unknown}\n  courses: [no-such-course]\n",
        encoding="utf-8")
    with pytest.raises(ContentError) as caught:
        sync_content(courses, ROOT / "question_bank")
    db.session.rollback()
    errors = caught.value.errors
    assert any("[0]" in e and "field 'title' needs zh and en" in e for e in errors), errors
    assert any("[1]" in e and "field 'courses' must be a list" in e for e in errors), errors
    assert any("[2]" in e and "unknown course 'no-such-course'" in e for e in errors), errors
    assert _table_counts(db) == (0, 0, 0, 0)


def test_impossible_date_in_course_file_is_a_located_error(db, tmp_path):
    import pytest

    from app.content.report import ContentError

    courses = _copy_courses(tmp_path)
    course_file = courses / "computer-basics" / "course.yaml"
    lines = course_file.read_text(encoding="utf-8").splitlines()
    lines.insert(1, "retired_on: 2026-02-30")
    course_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(ContentError) as caught:
        sync_content(courses, ROOT / "question_bank")
    db.session.rollback()
    assert caught.value.errors == [
        f"{course_file}:2: invalid date '2026-02-30' (day is out of range for month)"]
    assert _table_counts(db) == (0, 0, 0, 0)
