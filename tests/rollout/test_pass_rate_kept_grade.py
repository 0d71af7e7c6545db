"""考试合格率 (pass rate) and "all attempts used" follow each exam's grade kept (the certification
rule, app.exams.kept.reached_pass_mark), not "some attempt passed" (the tree in conftest.py).

By hand, at 2026-10-31: u1 sat 40 then 90, u2 80, u3 75 (pass mark 60). U7 (added below, 市财政局 ›
办公室) sits 40 then 70, both attempts the exam allows.

* highest (default): passed u1 u2 u3 U7 → 4 of 4 sat in the city, 3 of 3 in 市财政局 (u1 u2 U7).
* first: u1's first attempt (40) is kept, U7's (40) too → passed u2 u3: 2 of 4; 市财政局 1 of 3.
* average: u1 mean (40 + 90) / 2 = 65 → passed; U7 means 40, then 55 → not: 3 of 4; 市财政局 2 of 3;
  and U7 has used every attempt without reaching the pass mark ("attempts exhausted").
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from app.exams.models import FINISHED, Attempt
from app.rollout.services import department_figures, drill_down, flatten
from tests.factories import make_user
from tests.rollout.conftest import local

OCT31 = dt.date(2026, 10, 31)


@pytest.fixture()
def u7(db, tree):
    person = make_user(tree["a_off"], name="学员7", staff_number="U7")
    person.created_at = local(8, 1)
    for number, day, score in ((1, 20, 40), (2, 21, 70)):
        db.session.add(Attempt(exam_id=tree["exam"].id, user_id=person.id, number=number, state=FINISHED, seed=1,
                               started_at=local(10, day), deadline_at=local(10, day, 13),
                               finished_at=local(10, day, 12, 30), finished_by="candidate", max_points=Decimal(100),
                               points=Decimal(score), score=Decimal(score), passed=score >= 60))
    db.session.commit()
    return person


def _sat_passed(tree, viewer):
    return {f.department.code: (f.sat, f.passed) for f in flatten(department_figures(tree["plan"], viewer, OCT31))}


def _exhausted(tree):
    result = drill_down(tree["plan"], tree["admin"], tree["city"].id, OCT31, status="all", exhausted=True)
    return sorted(r["user"].staff_number for r in result.rows)


@pytest.mark.parametrize("method, city, a, exhausted", [
    ("highest", (4, 4), (3, 3), []),
    ("last", (4, 4), (3, 3), []),
    ("first", (4, 2), (3, 1), ["U1", "U7"]),  # u1 too: both attempts used, the first (kept) failed
    ("average", (4, 3), (3, 2), ["U7"]),
])
def test_pass_rate_and_exhausted_follow_the_grade_kept(db, tree, u7, method, city, a, exhausted):
    tree["exam"].grade_method = method
    db.session.commit()
    # the admin's whole-city count (set-based flags) and an officer's subtree (correlated flags) agree
    assert {k: v for k, v in _sat_passed(tree, tree["admin"]).items() if k in ("CITY", "A")} == {"CITY": city, "A": a}
    assert _sat_passed(tree, tree["officer"])["A"] == a
    assert _exhausted(tree) == exhausted


def test_average_pass_rate_on_a_past_date_ignores_later_attempts(db, tree, u7):
    """At the end of 10-20 U7 had sat once (40, mean 40: not passed; the 70 came on 10-21); u1's
    second attempt (90) was before it (mean 65: passed); u2 passed on 10-17 (80)."""
    tree["exam"].grade_method = "average"
    db.session.commit()
    figures = {f.department.code: (f.sat, f.passed)
               for f in flatten(department_figures(tree["plan"], tree["admin"], dt.date(2026, 10, 20)))}
    assert figures["A"] == (3, 2)
