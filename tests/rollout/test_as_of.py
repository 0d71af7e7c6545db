"""Every figure and drill-down column as of the end of the chosen local day (the tree in conftest.py).

Expected values worked out by hand from the event list in tests/rollout/conftest.py.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from app.rollout.services import department_figures, flatten, unfinished_staff

OCT15, OCT31 = dt.date(2026, 10, 15), dt.date(2026, 10, 31)


def _figures(tree, as_of, viewer=None):
    forest = department_figures(tree["plan"], viewer or tree["admin"], as_of)
    return {f.department.code: (f.eligible, f.started, f.certified, f.sat, f.passed) for f in flatten(forest)}


def test_figures_on_a_past_date_ignore_later_events(tree):
    # Oct 15: eligible u1 u2 u3 u4 (u4 exempted only on 10-20, u5 joined 10-25, u6 inactive);
    # started u1 (lesson 10-01) u3 (10-03); certified u3; sat u1 (attempt 1) u3; passed u3.
    # u1's second attempt starts 23:30 on the 15th but finishes (passed) after midnight: not sat by then.
    assert _figures(tree, OCT15) == {
        "CITY": (4, 2, 1, 2, 1),
        "A": (3, 1, 0, 1, 0), "A-OFF": (3, 1, 0, 1, 0),
        "B": (1, 1, 1, 1, 1), "B-OFF": (1, 1, 1, 1, 1),
    }
    [city] = department_figures(tree["plan"], tree["admin"], OCT15)
    assert (city.participation, city.completion, city.pass_rate) == (Decimal("50.0"), Decimal("25.0"), Decimal("50.0"))


def test_figures_later_count_the_later_events(tree):
    # Oct 31: u4 exempted; u5 joined. Eligible u1 u2 u3 u5; u1 u2 u3 started, sat, passed, certified.
    assert _figures(tree, OCT31) == {
        "CITY": (4, 3, 3, 3, 3),
        "A": (2, 2, 2, 2, 2), "A-OFF": (2, 2, 2, 2, 2),
        "B": (2, 1, 1, 1, 1), "B-OFF": (2, 1, 1, 1, 1),
    }


def test_drill_down_columns_on_a_past_date(tree):
    rows = unfinished_staff(tree["plan"], tree["admin"], tree["city"].id, OCT15)
    got = {r["user"].staff_number: (r["started"], r["lessons_done"], r["attempts"], r["best_score"], r["due_on"])
           for r in rows}
    assert got == {
        # u1: two attempts started by 23:59 on the 15th, only the first (40) finished; enrolled 09-01 due 12-31
        "U1": (True, 1, 2, Decimal("40.00"), dt.date(2026, 12, 31)),
        # u2: shown not started, so no attempts, no score, and not yet enrolled (enrolled 10-20)
        "U2": (False, 0, 0, None, None),
        # u4: exempted only on 10-20, so still in the list on the 15th
        "U4": (False, 0, 0, None, None),
    }


def test_drill_down_later(tree):
    rows = unfinished_staff(tree["plan"], tree["admin"], tree["city"].id, OCT31)
    assert [(r["user"].staff_number, r["started"], r["attempts"]) for r in rows] == [("U5", False, 0)]


def test_drill_down_page_on_a_past_date_shows_no_later_scores(tree, client, login_as):
    login_as(tree["admin"])
    page = client.get(f"/dashboard/departments/{tree['a'].id}?plan={tree['plan'].id}&as_of=2026-10-15")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "90" not in html.split("<table", 1)[1]  # u1's passing score came after the 15th
