"""Item-writing norms of the official-documents and spreadsheets banks (issue 9, items 6 and 7).

Checked on the synced database, so the figures are those candidates meet: per standard item at
least 20 active questions each with an explanation; every blueprint row of the course's exam draws
from at least three times its count; in each file the key of under 30 % of single-choice questions
is strictly the longest option (length in characters after removing Markdown code/emphasis marks);
multiple-response questions use 2, 3 and 4 right options.
"""
import re
from collections import Counter

import pytest
from sqlalchemy import select

from app.exams.models import Exam
from app.learning.models import Course
from app.questions.models import Question

FILES = {
    "official-documents": "question_bank/questions/official-documents.gift",
    "spreadsheets": "question_bank/questions/spreadsheets.gift",
}
MARKUP = re.compile(r"[`*_\\]")


def _questions(db, source):
    return list(db.session.execute(
        select(Question).where(Question.active.is_(True), Question.source == source)).scalars())


def _plain(text):
    return MARKUP.sub("", text).strip()


@pytest.mark.parametrize("slug", sorted(FILES))
def test_every_item_has_20_explained_questions_and_rows_draw_from_3x(content, db, slug):
    course = db.session.execute(select(Course).where(Course.slug == slug)).scalar_one()
    questions = _questions(db, FILES[slug])
    per_item = Counter(q.standard_item_id for q in questions)
    for item in course.items:
        assert per_item[item.id] >= 20, f"{item.code}: {per_item[item.id]} questions"
    for q in questions:
        assert q.current_version.general_feedback.strip(), f"{q.key} has no explanation"
    exam = db.session.execute(select(Exam).where(Exam.code == slug)).scalar_one()  # the course's own exam
    pool = Counter((q.standard_item_id, q.difficulty) for q in questions)
    for row in exam.blueprint:
        available = pool[(row.standard_item_id, row.difficulty)]
        assert available >= 3 * row.count, (
            f"{row.standard_item.code}/{row.difficulty}: {available} questions for {row.count} drawn")


@pytest.mark.parametrize("slug", sorted(FILES))
def test_key_is_not_systematically_the_longest_option(content, db, slug):
    single = [q for q in _questions(db, FILES[slug]) if q.qtype == "single_choice"]
    assert single
    longest = []
    for q in single:
        options = q.current_version.spec["options"]
        key = [len(_plain(o["text"])) for o in options if o["fraction"] == 1.0]
        others = [len(_plain(o["text"])) for o in options if o["fraction"] != 1.0]
        if key[0] > max(others):
            longest.append(q.key)
    assert len(longest) / len(single) < 0.30, f"{len(longest)}/{len(single)}: {longest}"


@pytest.mark.parametrize("slug", sorted(FILES))
def test_multiple_response_items_have_2_3_and_4_keys(content, db, slug):
    spread = Counter()
    for q in _questions(db, FILES[slug]):
        if q.qtype != "multiple_choice":
            continue
        options = q.current_version.spec["options"]
        right = [o["fraction"] for o in options if o["fraction"] > 0]
        assert abs(sum(right) - 1.0) < 0.005, q.key
        assert all(o["fraction"] == -1.0 for o in options if o["fraction"] <= 0), q.key
        assert "（多选）" in q.current_version.stem, q.key
        spread[len(right)] += 1
    assert set(spread) == {2, 3, 4}, dict(spread)
