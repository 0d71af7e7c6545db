"""The trend chart, forecast and milestone target on the dashboard and department page, frozen clock.

The tree and events are in tests/rollout/conftest.py; snapshots are rebuilt by the backfill command.
"""
from __future__ import annotations

import re

import time_machine

from tests.factories import utc

NOV1_NOON = utc(2026, 11, 1, 4)  # 12:00 on 2026-11-01 in Asia/Shanghai


def _backfill(app):
    result = app.test_cli_runner().invoke(args=["rollout", "backfill", "--from", "2026-10-01", "--to", "2026-10-31"])
    assert result.exit_code == 0, result.output


def test_dashboard_trend_forecast_and_target_on_a_frozen_day(app, tree, client, login_as):
    with time_machine.travel(NOV1_NOON, tick=False):
        _backfill(app)
        login_as(tree["admin"])
        html = client.get(f"/dashboard/?plan={tree['plan'].id}&lang=en").get_data(as_text=True)
    # Target on 11-01: 0 % on 09-01 rising to 100 % on 12-31 (121 days); day 61: 61/121 = 50.41 → 50.4 %.
    assert "Target today: 50.4 %" in html
    # The chart: an SVG with a title and description, and the same figures as a table.
    start = html.index('<svg class="trend-chart"')   # the chart (the header's bell is an svg icon too)
    svg = html[start:html.index("</svg>", start)]
    assert 'role="img"' in svg and "<title id=\"trend-title\">Completion over time: 滨江市</title>" in svg
    assert "<desc" in svg and "<polyline" in svg
    table = html[html.index("trend-data"):]
    assert re.search(r"2026-10-20</td><td class=\"num\">3</td><td class=\"num\">3</td><td class=\"num\">100.0 %", table)
    # Forecast over 10-05 … 11-01 (28 days, x = −27 … 0): rates 25 % × 11 days (u3 certified), 50 % on 10-16,
    # 75 % × 3, 100 % × 5 (u4 exempted 10-20), 75 % × 8 (u5 joined 10-25). Σy = 1650, ȳ = 58.93, x̄ = −13.5,
    # Sxx = 28 (28² − 1)/12 = 1827, Sxy = 5175: slope 5175/1827 = 2.8325 points a day (+19.8 a week).
    # 100 % at x = x̄ + (100 − ȳ)/slope = −13.5 + 14.5 = 1 → 2026-11-02.
    assert "Pace over the last 28 days: +19.8 percentage points a week." in html
    assert "Projected to reach 100 % on 2026-11-02." in html
    # 市交通局: 100 % × 20 days then 50 % × 8 (u5 joined): slope −4000/1827 = −2.19 a day, far below 100 % at
    # 12-31 (clamped 0 %): projected to miss. 市财政局 rises to 100 % and does not.
    missing = html[html.index("Departments projected to miss"):]
    missing = missing[:missing.index("</table>")]
    assert "市交通局" in missing and "市财政局" not in missing
    assert "0.0 %" in missing and "100" in missing


def test_department_page_has_its_own_trend(app, tree, client, login_as):
    with time_machine.travel(NOV1_NOON, tick=False):
        _backfill(app)
        login_as(tree["officer"])
        html = client.get(f"/dashboard/departments/{tree['a'].id}?plan={tree['plan'].id}&lang=en").get_data(as_text=True)
        assert "Completion over time: 市财政局" in html
        # 市财政局 on 10-20 … 11-01: u1 and u2 certified, u4 exempted: 2 of 2
        assert re.search(r"2026-10-20</td><td class=\"num\">2</td><td class=\"num\">2</td>", html)
        # the officer of 市财政局 cannot read 市交通局's trend
        assert client.get(f"/dashboard/departments/{tree['b'].id}?plan={tree['plan'].id}").status_code == 404


def test_without_snapshots_the_page_says_there_is_no_forecast_yet(tree, client, login_as):
    with time_machine.travel(NOV1_NOON, tick=False):
        login_as(tree["admin"])
        html = client.get(f"/dashboard/?plan={tree['plan'].id}&lang=en").get_data(as_text=True)
    assert "Not enough daily figures for a forecast yet" in html
    assert "<svg" in html  # the chart still draws the target line and today's point


def test_officer_with_two_subtrees_sees_their_sum_and_nothing_else(app, db, tree, client, login_as):
    from tests.factories import make_user

    officer = make_user(tree["city"], name="两处专员", staff_number="OFF-2", officer_of=[tree["a_off"], tree["b_off"]])
    officer.created_at = utc(2026, 8, 1)
    db.session.commit()
    with time_machine.travel(NOV1_NOON, tick=False):
        _backfill(app)
        login_as(officer)
        html = client.get(f"/dashboard/?plan={tree['plan'].id}&as_of=2026-10-16&lang=en").get_data(as_text=True)
    # The two 办公室 together on 10-15: A-OFF 3 eligible, 0 certified; B-OFF 1 eligible, 1 certified → 1 of 4, 25 %.
    assert re.search(r"2026-10-15</td><td class=\"num\">4</td><td class=\"num\">1</td><td class=\"num\">25.0 %", html)
    # … and on 10-16 (live): u1 certified too: 2 of 4
    assert re.search(r"2026-10-16</td><td class=\"num\">4</td><td class=\"num\">2</td><td class=\"num\">50.0 %", html)
    assert "Completion over time: 办公室、办公室" in html
    assert "市财政局" not in html and "市交通局" not in html and "滨江市" not in html
