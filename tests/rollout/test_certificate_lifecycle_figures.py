"""Rollout figures after a certificate expires or is revoked (the tree in conftest.py).

Hand-worked: from Oct 31 the eligible staff are u1 u2 u3 (A-OFF: u1 u2; B-OFF: u3 … and u5, who
joined 10-25 and did nothing), and u1 u2 u3 hold certificates (3 of 4 = 75.0 %). Here u1's
certificate expires on Nov 10 at 12:00 local and u3's is revoked on Nov 20 at 12:00 local.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import time_machine
from sqlalchemy import select

from app.certification.models import Certificate
from app.certification.services import reinstate, revoke
from app.rollout.services import department_figures, flatten
from tests.rollout.conftest import local


def _certified(tree, day):
    forest = department_figures(tree["plan"], tree["admin"], day)
    by_code = {f.department.code: f for f in flatten(forest)}
    return by_code["CITY"].certified, by_code["CITY"].completion, by_code["A"].certified, by_code["B"].certified


def _certificate(db, user):
    return db.session.execute(select(Certificate).where(Certificate.user_id == user.id)).scalar_one()


def test_expired_and_revoked_certificates_stop_counting_after_the_event(tree, db):
    u = tree["users"]
    _certificate(db, u[1]).expires_at = local(11, 10, 12)
    db.session.commit()
    with time_machine.travel(local(11, 20, 12), tick=False):
        assert revoke(_certificate(db, u[3]), "exam taken by someone else", actor=tree["admin"])
    db.session.commit()

    assert _certified(tree, dt.date(2026, 11, 9)) == (3, Decimal("75.0"), 2, 1)   # before either event
    assert _certified(tree, dt.date(2026, 11, 10)) == (2, Decimal("50.0"), 1, 1)   # u1 expired at noon
    assert _certified(tree, dt.date(2026, 11, 19)) == (2, Decimal("50.0"), 1, 1)
    assert _certified(tree, dt.date(2026, 11, 20)) == (1, Decimal("25.0"), 1, 0)   # u3 revoked at noon
    assert _certified(tree, dt.date(2026, 10, 31)) == (3, Decimal("75.0"), 2, 1)   # history unchanged

    # Reinstating clears the revocation: u3 counts again on every date (the audit log keeps both).
    assert reinstate(_certificate(db, u[3]), "identity confirmed", actor=tree["admin"])
    db.session.commit()
    assert _certified(tree, dt.date(2026, 11, 20)) == (2, Decimal("50.0"), 1, 1)


def test_set_based_and_correlated_flags_count_the_same(tree, db):
    """The admin's dashboard uses the set-based form (IN), officers the EXISTS form: same figures."""

    from app.core.time import local_date_end_utc
    from app.rollout.services import eligible_users

    u = tree["users"]
    _certificate(db, u[1]).expires_at = local(11, 10, 12)
    db.session.commit()
    for day in (dt.date(2026, 10, 15), dt.date(2026, 10, 31), dt.date(2026, 11, 10), dt.date(2026, 12, 31)):
        end = local_date_end_utc(day)
        rows = {form: sorted(tuple(r) for r in db.session.execute(eligible_users(tree["plan"], end, set_based=form)))
                for form in (False, True)}
        assert rows[False] == rows[True] and rows[False], day
