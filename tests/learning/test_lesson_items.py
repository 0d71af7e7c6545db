"""Per-lesson standard items (course.yaml ``lessons[].items``): stored by content sync, checked against the
course's items, used by the result page's weak items and the skills map, and linted for coverage."""
from __future__ import annotations

import textwrap

import pytest
import time_machine
from sqlalchemy import select

from app.content.lint import lint_content, untaught_items
from app.content.report import ContentError, SyncReport
from app.exams.review import weak_items
from app.exams.services import finish_attempt, save_answer, start_attempt
from app.extensions import db as _db
from app.learning.models import Lesson
from app.learning.services import read_course_dir, store_course
from app.rollout.skills import item_lessons
from app.standards.models import StandardItem
from tests.conftest import ROOT
from tests.factories import make_department, make_exam_world, make_user, utc, wrong_response


def _course_dir(tmp_path, lessons: list[tuple[str, str | None]], items: str = "[X1, X2]"):
    """courses/test-course/ with lessons ``[(key, items yaml or None)]`` on the TEST standard."""
    folder = tmp_path / "courses" / "test-course"
    folder.mkdir(parents=True, exist_ok=True)
    entries = []
    for key, tags in lessons:
        (folder / f"{key}.md").write_text(f"## 学习目标\n\n{key} 的内容。\n", encoding="utf-8")
        entries.append(f"  - file: {key}.md\n" + (f"    items: {tags}\n" if tags is not None else "")
                       + f"    title: {{zh: {key}, en: {key}}}\n    minutes: 10\n")
    (folder / "course.yaml").write_text(textwrap.dedent(f"""\
        title: {{zh: 测试课程, en: Test course}}
        summary: {{zh: 摘要, en: Summary}}
        credit_hours: 2
        standard: TEST
        items: {items}
        lessons:
        """) + "".join(entries), encoding="utf-8")
    return folder


def _world_with_two_items(db):
    """make_exam_world (item X1, exam on X1) plus a second item X2 of the TEST standard."""
    course, exam = make_exam_world()
    x1 = db.session.execute(select(StandardItem).where(StandardItem.code == "X1")).scalar_one()
    db.session.add(StandardItem(standard_id=x1.standard_id, area_id=x1.area_id, code="X2", title_zh="文件",
                                title_en="Files", level="basic", digcomp=["1.3"], position=1))
    db.session.flush()
    return course, exam


def _sync(folder):
    data = read_course_dir(folder)
    report = SyncReport()
    course = store_course(data, report)
    _db.session.flush()
    return course, report


def _tags(course):
    return {lesson.key: lesson.items for lesson in _db.session.execute(
        select(Lesson).where(Lesson.course_id == course.id).order_by(Lesson.position)).scalars()}


def test_sync_stores_lesson_items_idempotently_and_updates_them(db, tmp_path):
    _world_with_two_items(db)
    folder = _course_dir(tmp_path, [("01-intro", "[X2]"), ("02-lock", "[X1, X2]"), ("03-extra", None)])
    course, _ = _sync(folder)
    db.session.commit()
    assert _tags(course) == {"01-intro": ["X2"], "02-lock": ["X1", "X2"], "03-extra": None}

    _course, again = _sync(folder)
    assert not again.changed, again.changes

    folder = _course_dir(tmp_path, [("01-intro", "[X1]"), ("02-lock", "[X1, X2]"), ("03-extra", None)])
    course, report = _sync(folder)
    assert report.changes == ["updated lesson test-course/01-intro"]
    assert _tags(course)["01-intro"] == ["X1"]


@pytest.mark.parametrize("tags, message", [
    ("[X9]", "lessons[1]: field 'items': 'X9' is not one of the course's items (X1, X2)"),
    ("X1", "lessons[1]: field 'items' must be a list of standard item codes"),
    ("[X1, X1]", "lessons[1]: field 'items' lists an item twice"),
])
def test_unknown_or_malformed_lesson_items_are_rejected_with_file_and_field(db, tmp_path, tags, message):
    _world_with_two_items(db)
    folder = _course_dir(tmp_path, [("01-intro", "[X1]"), ("02-lock", tags)])
    with pytest.raises(ContentError) as exc:
        read_course_dir(folder)
    assert any(str(folder / "course.yaml") in e and message in e for e in exc.value.errors), exc.value.errors
    assert db.session.execute(select(Lesson).where(Lesson.key == "02-lock")).first() is None


def test_weak_items_list_only_the_lessons_tagged_with_the_item(db, tmp_path):
    _course, exam = _world_with_two_items(db)
    # 01-intro teaches X2 only; 02-lock teaches X1; 03-extra has no tags (counts for every course item).
    _sync(_course_dir(tmp_path, [("01-intro", "[X2]"), ("02-lock", "[X1]"), ("03-extra", None)]))
    db.session.commit()
    user = make_user(make_department())
    with time_machine.travel(utc(2026, 11, 20, 1, 0, 0), tick=False):
        attempt = start_attempt(user, exam)
        for item in attempt.items:
            save_answer(attempt, item.position, wrong_response(item), item.revision)
        finish_attempt(attempt, by="candidate")
        db.session.commit()
    weak = weak_items(attempt)
    assert [w["item"].code for w in weak] == ["X1"]
    assert [lesson.key for _c, lesson in weak[0]["lessons"]] == ["02-lock", "03-extra"]


def test_an_untagged_course_still_lists_every_lesson(db, tmp_path):
    _world_with_two_items(db)
    course, _ = _sync(_course_dir(tmp_path, [("01-intro", None), ("02-lock", None)]))
    db.session.commit()
    x2 = db.session.execute(select(StandardItem).where(StandardItem.code == "X2")).scalar_one()
    assert [lesson.key for lesson in item_lessons([x2.id])[x2.id][0][1]] == ["01-intro", "02-lock"]


def test_item_lessons_list_only_the_lessons_tagged_with_the_item(db, tmp_path):
    _world_with_two_items(db)
    _sync(_course_dir(tmp_path, [("01-intro", "[X2]"), ("02-lock", "[X1]"), ("03-both", "[X1, X2]")]))
    db.session.commit()
    x1, x2 = (db.session.execute(select(StandardItem).where(StandardItem.code == c)).scalar_one() for c in ("X1", "X2"))
    found = item_lessons([x1.id, x2.id])
    assert [lesson.key for lesson in found[x1.id][0][1]] == ["02-lock", "03-both"]
    assert [lesson.key for lesson in found[x2.id][0][1]] == ["01-intro", "03-both"]


def test_lint_flags_a_course_item_no_lesson_teaches(tmp_path):
    folder = _course_dir(tmp_path, [("01-intro", "[X1]"), ("02-lock", "[X1]")])
    messages = untaught_items(folder.parent, tmp_path)
    assert messages == ["courses/test-course/course.yaml: field 'items': X2 is taught by no lesson "
                        "(tag a lesson with it in lessons[].items)"]
    _course_dir(tmp_path, [("01-intro", "[X1]"), ("02-lock", "[X2]")])
    assert untaught_items(folder.parent, tmp_path) == []
    _course_dir(tmp_path, [("01-intro", "[X1]"), ("02-lock", None)])   # untagged lesson: counts for X2
    assert untaught_items(folder.parent, tmp_path) == []


def test_shipped_courses_tag_every_lesson_and_teach_every_item():
    from app.content.report import load_yaml

    for path in sorted((ROOT / "courses").glob("*/course.yaml")):
        data = load_yaml(path)
        for lesson in data["lessons"]:
            assert 1 <= len(lesson.get("items") or []) <= 3, f"{path}: {lesson['file']}"
    report = lint_content(ROOT / "courses", ROOT / "question_bank")
    assert not [f for f in report.failures if "taught by no lesson" in f]
