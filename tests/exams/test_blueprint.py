"""Blueprints: per item or per area, by difficulty; every candidate's form differs but is equivalent."""
from collections import Counter

import pytest
from sqlalchemy import select

from app.content.report import ContentError, SyncReport
from app.exams.models import Exam
from app.exams.services import draw_form, start_attempt, sync_course_exam
from app.learning.models import Course
from app.questions.models import Question
from tests.factories import make_user


def _exam_data(blueprint, **extra):
    data = {"title": ("考试", "Exam"), "time_limit_minutes": 30, "pass_mark": 60, "attempts_allowed": 3,
            "blueprint": blueprint}
    data.update(extra)
    return data


def test_forms_follow_the_blueprint_and_differ_between_candidates(content, db):
    exam = db.session.execute(select(Exam).where(Exam.code == "computer-basics")).scalar_one()
    wanted = Counter()
    for row in exam.blueprint:
        wanted[(row.standard_item.code, row.difficulty)] += row.count
    forms = []
    for seed in range(1, 6):
        form = draw_form(exam, seed)
        questions = [db.session.execute(select(Question).where(Question.current_version_id == d.version_id)).scalar_one()
                     for d in form]
        assert len({q.id for q in questions}) == len(questions) == 20
        assert Counter((q.standard_item.code, q.difficulty) for q in questions) == wanted
        forms.append(frozenset(q.id for q in questions))
    assert len(set(forms)) == 5


def test_area_rows_draw_from_any_item_of_the_area(content, db):
    course = db.session.execute(select(Course).where(Course.slug == "security-and-confidentiality")).scalar_one()
    exam = sync_course_exam(course, _exam_data([{"area": "E", "difficulty": "any", "count": 25, "points": 4}]),
                            "test", SyncReport())
    form = draw_form(exam, 42)
    codes = {db.session.execute(select(Question).where(Question.current_version_id == d.version_id)).scalar_one()
             .standard_item.code for d in form}
    assert len(form) == 25 and codes <= {"E1", "E2", "E3", "E4", "E5"} and len(codes) >= 3
    attempt = start_attempt(make_user(), exam)
    # each slot records the question's own item (the row names only the area), so results break down by item
    assert all(i.standard_item is not None and i.standard_item.area.code == "E" for i in attempt.items)


@pytest.mark.parametrize("blueprint, message", [
    ([{"item": "A1", "count": 20, "points": 5}], "not one of the course's items"),
    ([{"area": "A", "count": 20, "points": 5}], "holds none of the course's items"),
    ([{"item": "E1", "count": 10, "points": 5}], "add up to 50.00, expected 100"),
    ([{"item": "E1", "difficulty": "hard", "count": 20, "points": 5}], "but the bank has"),
    ([{"item": "E1", "difficulty": "tricky", "count": 20, "points": 5}], "difficulty"),
])
def test_bad_blueprints_are_refused_with_the_field(content, db, blueprint, message):
    course = db.session.execute(select(Course).where(Course.slug == "security-and-confidentiality")).scalar_one()
    with pytest.raises(ContentError) as error:
        sync_course_exam(course, _exam_data(blueprint), "courses/x/course.yaml", SyncReport())
    assert any(message in line and line.startswith("courses/x/course.yaml: exam") for line in error.value.errors)


def test_exam_window_from_course_file_is_local_time(content, db):
    course = db.session.execute(select(Course).where(Course.slug == "security-and-confidentiality")).scalar_one()
    exam = sync_course_exam(course, _exam_data([{"item": "E1", "count": 4, "points": 25}],
                                               opens_at="2026-12-01 09:00", closes_at="2026-12-01 17:00"),
                            "test", SyncReport())
    assert exam.opens_at.isoformat() == "2026-12-01T01:00:00+00:00"  # 09:00 Asia/Shanghai
    assert exam.closes_at.isoformat() == "2026-12-01T09:00:00+00:00"
