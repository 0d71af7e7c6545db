"""A lesson's ``file:`` is confined to its course folder and must be UTF-8 text; anything else is a
content error naming course.yaml and the line of that ``file:``, and nothing is written."""
from __future__ import annotations

import os

import pytest
from sqlalchemy import func, select

from app.content.report import ContentError
from app.content.services import sync_content
from app.learning.models import Course, Lesson
from tests.conftest import ROOT
from tests.content.test_sync import _copy_courses

SECRET = "TOP-SECRET-SERVER-FILE"


def _point_first_lesson_at(course_file, target: str) -> int:
    """Rewrite the first lesson's ``file:`` to ``target``; return that line's number (1-based)."""
    lines = course_file.read_text(encoding="utf-8").splitlines()
    number = next(i for i, line in enumerate(lines) if line.strip().startswith("- file:"))
    lines[number] = lines[number].split("- file:")[0] + f"- file: {target}"
    course_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return number + 1


def _sync_fails(db, courses) -> list[str]:
    with pytest.raises(ContentError) as caught:
        sync_content(courses, ROOT / "question_bank")
    db.session.rollback()
    counts = [db.session.execute(select(func.count()).select_from(m)).scalar_one() for m in (Course, Lesson)]
    assert counts == [0, 0]
    return caught.value.errors


@pytest.fixture()
def courses(tmp_path):
    (tmp_path / "secret.md").write_text(f"# {SECRET}\n", encoding="utf-8")
    return _copy_courses(tmp_path)


@pytest.mark.parametrize("target", ["../../secret.md", "../computer-basics/../../secret.md", "ABSOLUTE"])
def test_a_lesson_file_outside_the_course_folder_is_refused(db, courses, target):
    course_file = courses / "computer-basics" / "course.yaml"
    if target == "ABSOLUTE":
        target = str(courses.parent / "secret.md")
    line = _point_first_lesson_at(course_file, target)
    errors = _sync_fails(db, courses)
    assert any(e.startswith(f"{course_file}:{line}: ") and "outside the course folder" in e for e in errors), errors


def test_a_symlink_out_of_the_course_folder_is_refused(db, courses):
    folder = courses / "computer-basics"
    os.symlink(courses.parent / "secret.md", folder / "link.md")
    line = _point_first_lesson_at(folder / "course.yaml", "link.md")
    errors = _sync_fails(db, courses)
    assert any(e.startswith(f"{folder / 'course.yaml'}:{line}: ") and "outside the course folder" in e
               for e in errors), errors


def test_a_symlink_inside_the_course_folder_is_fine(db, courses):
    folder = courses / "computer-basics"
    os.symlink(folder / "01-computer-components.md", folder / "intro.md")
    _point_first_lesson_at(folder / "course.yaml", "intro.md")
    sync_content(courses, ROOT / "question_bank")
    assert db.session.execute(select(func.count()).select_from(Lesson)).scalar_one() > 0


@pytest.mark.parametrize("content, message", [
    (b"# Title\n\x00\x01\x02binary", "binary"),
    ("# 标题\n内容".encode("gb18030"), "not UTF-8"),
])
def test_binary_or_non_utf8_lesson_file_is_a_located_error(db, courses, content, message):
    folder = courses / "computer-basics"
    (folder / "bad.md").write_bytes(content)
    line = _point_first_lesson_at(folder / "course.yaml", "bad.md")
    errors = _sync_fails(db, courses)
    assert any(e.startswith(f"{folder / 'course.yaml'}:{line}: ") and message in e for e in errors), errors
