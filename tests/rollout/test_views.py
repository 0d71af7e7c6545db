"""Dashboard, drill-down and person pages over HTTP (the tree in conftest.py)."""
from __future__ import annotations

import pytest


@pytest.mark.parametrize("path", ["/dashboard/", "/dashboard/departments/{a}"])
@pytest.mark.parametrize("query", ["as_of=garbage", "as_of=0001-01-01", "as_of=9999-12-31", "as_of=2026-02-30",
                                   "as_of=2024-01-01", "as_of=2040-01-01"])
def test_bad_as_of_is_a_clear_400(tree, client, login_as, path, query):
    login_as(tree["admin"])
    response = client.get(path.format(a=tree["a"].id) + f"?plan={tree['plan'].id}&{query}")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "YYYY-MM-DD" in html or "日期须在" in html or "must be between" in html


@pytest.mark.parametrize("page", ["x", "0", "-3", "99999999999999999999", "1e3"])
def test_bad_page_number_is_a_clear_400(tree, client, login_as, page):
    login_as(tree["admin"])
    response = client.get(f"/dashboard/departments/{tree['a'].id}?plan={tree['plan'].id}&page={page}")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert f"页码“{page}”无效" in html or f"page number “{page}”" in html


def test_good_as_of_inside_the_range(tree, client, login_as):
    login_as(tree["admin"])
    assert client.get(f"/dashboard/?plan={tree['plan'].id}&as_of=2026-10-15").status_code == 200


def test_dashboard_shows_each_figure_with_its_definition(tree, client, login_as):
    login_as(tree["admin"])
    html = client.get(f"/dashboard/?plan={tree['plan'].id}&as_of=2026-10-15&lang=zh_CN").get_data(as_text=True)
    for figure in ("参学率", "完成率", "考试合格率", "学时达标率"):
        assert html.count(figure) >= 2, figure  # the column or figure and its definition beside it
    assert "50" in html.split("学时达标率")[-1]  # the quota named in the definition


@pytest.mark.parametrize("lang, says, never", [
    ("zh_CN", "每人按当日所在单位统计", "系统不保存调动和离职日期"),
    ("en", "a transfer counts from its effective date", "transfers and leaving dates are not kept"),
])
def test_the_as_of_definition_says_how_transfers_and_leavers_count(tree, client, login_as, lang, says, never):
    """Past figures count each person in the department held then and leavers until they left
    (services.department_at / active_at): the definition beside them must say so, not the opposite."""
    login_as(tree["admin"])
    html = client.get(f"/dashboard/?plan={tree['plan'].id}&as_of=2026-10-15&lang={lang}").get_data(as_text=True)
    assert says in html and never not in html
