"""Issue 7: the scope-wide trend, forecast and PDF summary follow a wave's own milestones when the
viewer's whole scope is inside that wave; a scope over several waves (or the city) keeps the plan's and
says so. Also: the PDF summary of a courses-only plan says "Completed", not "Certified".

Worked by hand on the tree of tests/rollout/conftest.py (see its docstring):

Wave "第一批" = 市财政局 (A), 10-01 … 11-30, its own milestone 11-15 → 50 %.
    Target of A on 10-16 (day 15 of 45 from the wave's start): 50 × 15 / 45 = 16.7 %
    (the plan's that day: 0 % on 09-01 → 100 % on 12-31, day 45 of 121 → 37.2 %).
    Target line of the wave: 10-01 at 0 %, 11-15 at 50 %, held to the plan's end 12-31.
The officer OFF-A sees 市财政局: eligible u1 u2 u4 (u4 is exempted only on 10-20) = 3.
    Snapshots 10-01 … 10-15: 0 certified (0 %); live 10-16: u1 certified → 1 of 3 = 33.3 %.
    Forecast as of 10-16 over 10-01 … 10-16 (x = −15 … 0, 16 days, y = 0 except 33.3 at x = 0):
    x̄ = −7.5, ȳ = 33.3 / 16 = 2.08125, Σ(x − x̄)² = 340, Σ(x − x̄)(y − ȳ) = 7.5 × 33.3 = 249.75,
    slope = 0.734559 points a day, line at 10-16 = 2.08125 + 7.5 × 0.734559 = 7.5904;
    at the wave's milestone 11-15 (x = 30): 7.5904 + 30 × 0.734559 = 29.63 → 29.6 % < 50 %: short.
    (Against the plan's next milestone 12-31 → 100 % it would say 63.4 % of 100 %.)
"""
from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest
import time_machine
from pypdf import PdfReader

from app.rollout.chart import target_line
from app.rollout.editing import WaveInput, plan_input_of, save_plan
from app.rollout.services import scope_targets
from app.rollout.trend import backfill
from tests.factories import make_user, utc
from tests.rollout.test_plan_requirements import _courses_only_plan

OCT16, NOV15 = dt.date(2026, 10, 16), dt.date(2026, 11, 15)
NOTE_EN = "Target line: the plan's milestones; waves have their own: see each department."
NOTE_ZH = "目标线按计划的里程碑绘制；各批次另有自身的里程碑，请查看各部门。"


def _waves(db, tree, *, second: bool = False):
    """Wave 第一批 (市财政局, 11-15 → 50 %) and, with ``second``, wave 第二批 (市交通局, 10-31 → 100 %)."""
    data = plan_input_of(tree["plan"])
    data.waves = [WaveInput("第一批", dt.date(2026, 10, 1), dt.date(2026, 11, 30), [tree["a"].id], [(NOV15, "50")])]
    if second:
        data.waves.append(WaveInput("第二批", dt.date(2026, 10, 1), dt.date(2026, 10, 31), [tree["b"].id],
                                    [(dt.date(2026, 10, 31), "100")]))
    save_plan(tree["admin"], data, tree["plan"])
    db.session.commit()


def _snapshots(db):
    with time_machine.travel(utc(2026, 12, 1, 4), tick=False):
        backfill(dt.date(2026, 10, 1), dt.date(2026, 10, 15))
    db.session.commit()


def _pdf_text(client, plan_id: int, lang: str) -> str:
    response = client.get(f"/dashboard/summary.pdf?plan={plan_id}&as_of=2026-10-16&lang={lang}")
    assert response.status_code == 200
    return PdfReader(io.BytesIO(response.data)).pages[0].extract_text()


def _page(client, plan_id: int, lang: str) -> str:
    response = client.get(f"/dashboard/?plan={plan_id}&as_of=2026-10-16&lang={lang}")
    assert response.status_code == 200
    return response.get_data(as_text=True).replace("\xa0", " ")


def test_scope_targets_one_wave_several_or_none(db, tree):
    plan = tree["plan"]
    assert scope_targets(plan, [tree["a"].id], [tree["a"].id]) == scope_targets(plan, [], [])  # no waves: the plan's
    _waves(db, tree)
    inside = scope_targets(plan, [tree["a"].id], [tree["a"].id, tree["a_off"].id])
    assert inside.wave.name == "第一批" and not inside.mixed
    assert [(m.due_on, m.target_percent) for m in inside.milestones] == [(NOV15, Decimal(50))]
    assert inside.target(OCT16) == Decimal("16.7")
    assert scope_targets(plan, [tree["a_off"].id], [tree["a_off"].id]).wave.name == "第一批"  # below the wave
    city = scope_targets(plan, [tree["city"].id], [tree["city"].id, tree["a"].id, tree["b"].id])
    assert city.wave is None and city.mixed and city.target(OCT16) == Decimal("37.2")
    assert [m.due_on for m in city.milestones] == [dt.date(2026, 12, 31)]
    outside = scope_targets(plan, [tree["b"].id], [tree["b"].id, tree["b_off"].id])  # no wave in its scope
    assert outside.wave is None and not outside.mixed
    assert scope_targets(plan, [tree["a"].id, tree["b"].id], [tree["a"].id, tree["b"].id]).mixed
    # the wave's target line as the chart draws it
    assert target_line(plan, inside.wave) == [(dt.date(2026, 10, 1), Decimal(0)), (NOV15, Decimal(50)),
                                              (dt.date(2026, 12, 31), Decimal(50))]


def test_an_officer_inside_one_wave_sees_its_target_line_and_forecast(db, tree, client, login_as):
    _waves(db, tree)
    _snapshots(db)
    login_as(tree["officer"])
    en = _page(client, tree["plan"].id, "en")
    assert "Milestones (wave 第一批): <span class=\"milestone\">2026-11-15 → 50 %</span>" in en
    assert "2026-12-31 → 100 %" not in en and "Target today: 16.7 %" in en
    # the chart's table: the target of each day is the wave's (10-01 … 10-15 rising, 16.7 % on 10-16)
    assert '<td>2026-10-16</td><td class="num">3</td><td class="num">1</td><td class="num">33.3 %</td>' \
           '<td class="num">16.7 %</td>' in en
    assert '<td>2026-10-01</td><td class="num">3</td><td class="num">0</td><td class="num">0.0 %</td>' \
           '<td class="num">0.0 %</td>' in en
    assert "Projected at 2026-11-15: 29.6 %, short of the milestone's 50 %." in en
    assert NOTE_EN not in en
    zh = _page(client, tree["plan"].id, "zh_CN")
    assert "节点目标（批次“第一批”）： <span class=\"milestone\">2026-11-15 → 50 %</span>" in zh
    assert "今日目标：16.7 %" in zh and NOTE_ZH not in zh


@pytest.mark.parametrize("lang, milestones, projected", [
    ("en", "Milestones (wave 第一批): 2026-11-15 → 50 %", "Projected at 2026-11-15: 29.6 % (target 50 %)."),
    ("zh_CN", "节点（批次“第一批”）：2026-11-15 → 50 %", "预计 2026-11-15 达到 29.6 %（目标 50 %）。"),
])
def test_the_pdf_of_an_officer_inside_one_wave_uses_its_milestones(db, tree, client, login_as, lang, milestones,
                                                                    projected):
    _waves(db, tree)
    _snapshots(db)
    login_as(tree["officer"])
    text = _pdf_text(client, tree["plan"].id, lang)
    assert milestones in text and projected in text, text
    assert "2026-12-31 → 100 %" not in text
    assert "16.7 %" in text and "37.2 %" not in text  # the wave's target today, not the plan's
    assert "Nov 15" in text or "11月15日" in text  # the chart's milestone date
    assert NOTE_EN not in text and NOTE_ZH not in text


@pytest.mark.parametrize("lang, note, milestones", [("en", NOTE_EN, "Milestones: 2026-12-31 → 100 %"),
                                                    ("zh_CN", NOTE_ZH, "节点：2026-12-31 → 100 %")])
def test_a_scope_over_several_waves_keeps_the_plan_milestones_and_says_so(db, tree, client, login_as, lang, note,
                                                                         milestones):
    _waves(db, tree, second=True)
    _snapshots(db)
    both = make_user(tree["officer"].department, name="两局专员", staff_number="OFF-AB", officer_of=[tree["a"], tree["b"]])
    db.session.commit()
    login_as(both)
    html = _page(client, tree["plan"].id, lang)
    assert note in html and "2026-12-31 → 100 %" in html and "2026-11-15 → 50 %" not in html
    assert "37.2 %" in html  # the plan's target today
    text = _pdf_text(client, tree["plan"].id, lang)
    assert milestones in text and "37.2 %" in text
    assert note.replace(" ", "") in text.replace(" ", "").replace("\n", "")


@pytest.mark.parametrize("lang", ["en", "zh_CN"])
def test_the_city_keeps_the_plan_milestones_with_the_note(db, tree, client, login_as, lang):
    _waves(db, tree)
    _snapshots(db)
    login_as(tree["admin"])
    note = NOTE_EN if lang == "en" else NOTE_ZH
    html = _page(client, tree["plan"].id, lang)
    assert note in html and "2026-12-31 → 100 %" in html and "2026-11-15 → 50 %" not in html
    text = _pdf_text(client, tree["plan"].id, lang)
    assert note.replace(" ", "") in text.replace(" ", "").replace("\n", "") and "2026-12-31 → 100 %" in text


def test_no_note_without_wave_milestones(db, tree, client, login_as):
    login_as(tree["admin"])
    assert NOTE_EN not in _page(client, tree["plan"].id, "en")
    assert NOTE_EN not in _pdf_text(client, tree["plan"].id, "en")


# --- the PDF summary's figure of a courses-only plan is "Completed" ----------------------------

@pytest.mark.parametrize("lang, done, certified", [("en", "Completed", "Certified"), ("zh_CN", "已完成", "已取证")])
def test_the_pdf_of_a_courses_only_plan_says_completed(db, tree, client, login_as, lang, done, certified):
    plan = _courses_only_plan(db, tree)
    login_as(tree["admin"])
    text = _pdf_text(client, plan.id, lang)
    assert f"\n{done}\n2\n" in text and certified not in text  # 2 of 5 completed on 10-16 (u1, u3)
    assert f"\n{certified}\n" in _pdf_text(client, tree["plan"].id, lang)  # a plan with a certification keeps it
