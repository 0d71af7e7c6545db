"""Rollout figures as of a past date use the department held then and count leavers until they left
(issue 8: "figures count a person in the new department from the transfer date").

The tree of conftest.py, plus: u2 (certified 10-17, in A-OFF) moves to B-OFF on Nov 10 at 12:00 local;
u3 (certified 10-05, in B-OFF) is deactivated on Nov 10 at 12:00 local. Hand-worked, eligible from
Oct 25: u1 u2 (A-OFF), u3 u5 (B-OFF).

    Nov 5   A: u1 u2 (2 eligible, 2 certified)   B: u3 u5 (2, 1)   CITY 4, 3
    Nov 15  A: u1    (1, 1)                      B: u2 u5 (2, 1)   CITY 3, 2   (u3 gone)
"""
from __future__ import annotations

import datetime as dt

import time_machine
from sqlalchemy import select

from app.auth.models import User
from app.core.time import local_date_end_utc
from app.org.imports import import_staff
from app.org.models import StaffTransfer
from app.org.services import set_user_active
from app.rollout.services import department_figures, drill_down, eligible_users, flatten
from app.rollout.skills import best_attempts
from tests.rollout.conftest import local

NOV5, NOV15 = dt.date(2026, 11, 5), dt.date(2026, 11, 15)


def _move_and_leave(tree, db):
    u = tree["users"]
    u[2].department_id = tree["b_off"].id  # today's department: the new one
    db.session.add(StaffTransfer(user_id=u[2].id, from_department_id=tree["a_off"].id,
                                 to_department_id=tree["b_off"].id, effective_at=local(11, 10), source="admin"))
    db.session.commit()
    with time_machine.travel(local(11, 10), tick=False):
        assert set_user_active(u[3], False, actor=tree["admin"])
    db.session.commit()


def _figures(viewer, plan, day):
    return {f.department.code: (f.eligible, f.certified) for f in flatten(department_figures(plan, viewer, day))}


def test_a_mover_counts_in_the_old_department_before_the_transfer_and_the_new_one_after(tree, db):
    _move_and_leave(tree, db)
    figures = _figures(tree["admin"], tree["plan"], NOV5)
    assert (figures["A"], figures["A-OFF"], figures["B-OFF"], figures["CITY"]) == ((2, 2), (2, 2), (2, 1), (4, 3))
    figures = _figures(tree["admin"], tree["plan"], NOV15)
    assert (figures["A"], figures["A-OFF"], figures["B-OFF"], figures["CITY"]) == ((1, 1), (1, 1), (2, 1), (3, 2))


def test_a_leaver_counts_until_deactivated(tree, db):
    _move_and_leave(tree, db)
    u3 = db.session.get(User, tree["users"][3].id)
    assert u3.deactivated_at == local(11, 10)
    day_of = _figures(tree["admin"], tree["plan"], dt.date(2026, 11, 9))
    assert day_of["B"] == (2, 1)  # u3 and u5, u3 certified
    assert _figures(tree["admin"], tree["plan"], NOV15)["B"] == (2, 1)  # u2 (moved in, certified) and u5
    ids = {r.user_id for r in db.session.execute(eligible_users(tree["plan"], local_date_end_utc(NOV15)))}
    assert u3.id not in ids
    ids = {r.user_id for r in db.session.execute(eligible_users(tree["plan"], local_date_end_utc(NOV5)))}
    assert u3.id in ids


def test_officer_figures_use_the_department_held_then(tree, db):
    """OFF-A (officer of A, correlated form): the mover counts for Nov 5, not for Nov 15."""
    _move_and_leave(tree, db)
    assert _figures(tree["officer"], tree["plan"], NOV5) == {"A": (2, 2), "A-OFF": (2, 2)}
    assert _figures(tree["officer"], tree["plan"], NOV15) == {"A": (1, 1), "A-OFF": (1, 1)}


def test_set_based_and_correlated_forms_agree_on_movers_and_leavers(tree, db):
    _move_and_leave(tree, db)
    for day in (dt.date(2026, 10, 31), NOV5, dt.date(2026, 11, 10), NOV15, dt.date(2026, 12, 31)):
        end = local_date_end_utc(day)
        rows = {form: sorted(tuple(r) for r in db.session.execute(eligible_users(tree["plan"], end, set_based=form)))
                for form in (False, True)}
        assert rows[False] == rows[True] and rows[False], day
    by_user = {r.user_id: r.department_id for r in db.session.execute(
        eligible_users(tree["plan"], local_date_end_utc(NOV5), set_based=True))}
    assert by_user[tree["users"][2].id] == tree["a_off"].id


def test_drill_down_lists_the_mover_under_the_old_department(tree, db):
    _move_and_leave(tree, db)
    u2 = tree["users"][2]
    for viewer in (tree["admin"], tree["officer"]):
        page = drill_down(tree["plan"], viewer, tree["a"].id, NOV5, status="all")
        assert [r["user"].id for r in page.rows if r["user"].id == u2.id] == [u2.id]
        assert next(r["path"] for r in page.rows if r["user"].id == u2.id) == "市财政局 › 办公室"
        assert page.counts["eligible"] == 2
        page = drill_down(tree["plan"], viewer, tree["a"].id, NOV15, status="all")
        assert u2.id not in {r["user"].id for r in page.rows} and page.counts["eligible"] == 1
    page = drill_down(tree["plan"], tree["admin"], tree["b"].id, NOV5, status="all")
    assert {r["user"].id for r in page.rows} == {tree["users"][3].id, tree["users"][5].id}


def test_skills_map_attempts_carry_the_department_held_then(tree, db):
    _move_and_leave(tree, db)
    u2 = tree["users"][2]
    for day, dept in ((NOV5, tree["a_off"].id), (NOV15, tree["b_off"].id)):
        best = best_attempts(tree["plan"], day)
        assert dict(db.session.execute(select(best.c.user_id, best.c.department_id)).all())[u2.id] == dept
    best = best_attempts(tree["plan"], NOV15, viewer=tree["officer"])
    assert u2.id not in {row.user_id for row in db.session.execute(select(best.c.user_id))}


def test_admin_deactivation_sets_and_reactivation_clears_deactivated_at(tree, db):
    u1 = tree["users"][1]
    with time_machine.travel(local(11, 20), tick=False):
        assert set_user_active(u1, False, actor=tree["admin"])
    db.session.commit()
    assert db.session.get(User, u1.id).deactivated_at == local(11, 20)
    assert set_user_active(u1, True, actor=tree["admin"])
    db.session.commit()
    assert db.session.get(User, u1.id).deactivated_at is None


def test_import_deactivation_sets_and_reactivation_clears_deactivated_at(tree, db, tmp_path):
    u = tree["users"]
    rows = "staff_number,name,department_code,active\nU1,学员1,A-OFF,否\nU6,学员6,B-OFF,是\n"
    path = tmp_path / "hr.csv"
    path.write_text(rows + "".join(f"U{i},学员{i},{code},\n" for i, code in ((3, "B-OFF"), (4, "A-OFF"))),
                    encoding="utf-8")
    with time_machine.travel(local(11, 20), tick=False):
        summary = import_staff(path, deactivate_missing=True)
    db.session.commit()
    db.session.expire_all()
    assert summary.deactivated == 1 and summary.deactivated_missing == 3  # U1 by the file; U2, U5, OFF-A missing
    got = {n: db.session.get(User, u[n].id).deactivated_at for n in (1, 2, 3, 5, 6)}
    assert got == {1: local(11, 20), 2: local(11, 20), 3: None, 5: local(11, 20), 6: None}
    path.write_text("staff_number,name,department_code,active\nU1,学员1,A-OFF,是\n", encoding="utf-8")
    import_staff(path)
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(User, u[1].id).active and db.session.get(User, u[1].id).deactivated_at is None
