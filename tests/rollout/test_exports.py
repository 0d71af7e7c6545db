"""XLSX, CSV and PDF exports of the dashboard (trees in conftest.py and test_skills.py)."""
from __future__ import annotations

import csv
import io

import openpyxl
import pytest
from pypdf import PdfReader

from tests.rollout.test_skills import skills_world  # noqa: F401  (fixture)


def _book(response):
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return openpyxl.load_workbook(io.BytesIO(response.data))


def _sheet(book, title):
    sheet = book[title]
    rows = list(sheet.iter_rows(values_only=True))
    return sheet, rows[0], rows[1:]


def test_xlsx_has_a_sheet_per_level_with_the_figures(tree, client, login_as):
    login_as(tree["admin"])
    book = _book(client.get(f"/dashboard/export.xlsx?plan={tree['plan'].id}&as_of=2026-10-15&lang=en"))
    assert book.sheetnames == ["City", "Bureaus", "Divisions", "Skills map", "Definitions"]
    sheet, header, rows = _sheet(book, "City")
    assert sheet.freeze_panes == "A2"
    assert header[:14] == ("Code", "Department", "Path", "Eligible", "Started", "Certified", "Completion (%)",
                           "Participation (%)", "Pass rate (%)", "Credit hours met (%)", "Target today (%)", "Gap",
                           "Status", "Not finished")
    # 10-15 (test_as_of): CITY 4 eligible, 2 started, 1 certified: 25 %, participation 50 %, pass rate 1/2;
    # target 44/121 = 36.4 %, gap −11.4 (10 or more points below: at risk), 3 not finished
    assert rows == [("CITY", "滨江市", "滨江市", 4, 2, 1, 25.0, 50.0, 50.0, 0.0, 36.4, -11.4, "At risk", 3)]
    _, _, bureaus = _sheet(book, "Bureaus")
    assert [(r[0], r[3], r[5], r[6]) for r in bureaus] == [("A", 3, 0, 0.0), ("B", 1, 1, 100.0)]
    _, _, divisions = _sheet(book, "Divisions")
    assert [(r[0], r[2]) for r in divisions] == [("A-OFF", "市财政局 › 办公室"), ("B-OFF", "市交通局 › 办公室")]
    _, header, definitions = _sheet(book, "Definitions")
    terms = [r[0] for r in definitions]
    assert terms[:2] == ["Plan", "As of"] and definitions[0][1] == "Test plan" and definitions[1][1] == "2026-10-15"
    assert {"Eligible", "Certified", "Pass rate", "Gap", "Skills map", "Forecast"} <= set(terms)
    assert any("least squares" in (r[1] or "") for r in definitions)


def test_xlsx_of_an_officer_holds_only_their_subtree(tree, client, login_as):
    login_as(tree["officer"])  # officer of 市财政局
    book = _book(client.get(f"/dashboard/export.xlsx?plan={tree['plan'].id}&as_of=2026-10-31&lang=en"))
    assert book.sheetnames == ["Bureaus", "Divisions", "Skills map", "Definitions"]
    assert [r[0] for r in _sheet(book, "Bureaus")[2]] == ["A"]
    assert [r[0] for r in _sheet(book, "Divisions")[2]] == ["A-OFF"]


def test_xlsx_skills_map_sheet_hides_small_cells(skills_world, client, login_as):  # noqa: F811
    w = skills_world
    login_as(w["admin"])
    book = _book(client.get(f"/dashboard/export.xlsx?plan={w['plan'].id}&as_of=2026-10-31&lang=en"))
    _, header, rows = _sheet(book, "Skills map")
    assert header == ("Code", "Department", "Item code", "Standard item", "Number of people", "Points earned",
                      "Points possible", "Share (%)", "Note")
    cells = {(r[0], r[2]): r[4:8] for r in rows}
    # values of test_skills.test_skills_map_later_uses_the_best_attempt_and_drops_the_exempted
    assert cells[("CITY", "X1")] == (8, 390.0, 480.0, 81.3)
    assert cells[("A1", "X2")] == (5, 130.0, 200.0, 65.0)
    assert cells[("A2", "X1")] == (2, None, None, None)  # two people: hidden, earned points not given away
    assert any(r[0] == "A2" and "fewer than 5" in r[8] for r in rows)


def test_csv_escapes_formulas_and_follows_the_filters(tree, client, login_as, db):
    u = tree["users"]
    u[2].name = '=HYPERLINK("http://evil.example","点我")'
    u[1].position = "@SUM(A1)"
    u[4].position = "\tx"
    db.session.commit()
    login_as(tree["admin"])
    response = client.get(f"/dashboard/departments/{tree['a'].id}/people.csv?plan={tree['plan'].id}"
                          f"&as_of=2026-10-15&status=all&sort=staff_number&lang=en")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert rows[0][:3] == ["Staff number", "Name", "Department"]
    by_number = {r[0]: r for r in rows[1:]}
    assert set(by_number) == {"U1", "U2", "U4"}  # 10-15: u4 not yet exempted
    assert by_number["U2"][1] == "'=HYPERLINK(\"http://evil.example\",\"点我\")"
    assert by_number["U1"][3] == "'@SUM(A1)" and by_number["U4"][3] == "'\tx"
    assert by_number["U1"][4] == "Started" and by_number["U1"][6] == "2" and by_number["U1"][7] == "40.0"
    certified = client.get(f"/dashboard/departments/{tree['a'].id}/people.csv?plan={tree['plan'].id}"
                           f"&as_of=2026-10-31&status=certified")
    assert sorted(r[0] for r in list(csv.reader(io.StringIO(certified.data.decode("utf-8-sig"))))[1:]) == ["U1", "U2"]


def test_csv_outside_scope_is_404_and_bad_choice_400(tree, client, login_as):
    login_as(tree["officer"])
    assert client.get(f"/dashboard/departments/{tree['b'].id}/people.csv?plan={tree['plan'].id}").status_code == 404
    assert client.get(f"/dashboard/departments/{tree['a'].id}/people.csv?plan={tree['plan'].id}&status=x").status_code == 400


@pytest.mark.parametrize("lang, words", [("en", ["Rollout summary", "Test plan", "Departments behind target"]),
                                         ("zh_CN", ["测试计划", "滨江市"])])
def test_pdf_summary_is_one_page_with_extractable_text(tree, client, login_as, lang, words):
    login_as(tree["admin"])
    response = client.get(f"/dashboard/summary.pdf?plan={tree['plan'].id}&as_of=2026-10-15&lang={lang}")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    reader = PdfReader(io.BytesIO(response.data))
    assert len(reader.pages) == 1
    text = reader.pages[0].extract_text()
    for word in words:
        assert word in text, (word, text[:500])
    assert "25.0 %" in text  # the city's completion on 10-15
    assert "市财政局" in text  # behind target on 10-15 (0 % against 36.4 %)


def test_pdf_of_an_officer_names_no_department_outside_scope(tree, client, login_as):
    login_as(tree["officer"])
    response = client.get(f"/dashboard/summary.pdf?plan={tree['plan'].id}&as_of=2026-10-15&lang=en")
    text = PdfReader(io.BytesIO(response.data)).pages[0].extract_text()
    assert "市财政局" in text and "市交通局" not in text and "滨江市" not in text
