"""Results and item-analysis pages: officer scope, attempt review access, CSV and XLSX exports."""
import csv
import io

import pytest
from openpyxl import load_workbook

from app.exams.results import safe_cell, to_csv
from app.exams.services import finish_attempt, save_answer, start_attempt
from tests.factories import make_department, make_exam_world, make_user, right_response, wrong_response


@pytest.fixture()
def world(db):
    """Two bureaus with one candidate each (one passes, one fails); an officer of each bureau, an examiner."""
    city = make_department("滨江市")
    finance = make_department("市财政局", city)
    education = make_department("市教育局", city)
    _course, exam = make_exam_world(attempts_allowed=3)
    hacker = make_user(finance, name='=HYPERLINK("http://evil.example","点我")')
    teacher = make_user(education, name="王老师")
    attempts = {}
    for user, respond in ((hacker, right_response), (teacher, wrong_response)):
        attempt = start_attempt(user, exam)
        for item in attempt.items:
            save_answer(attempt, item.position, respond(item), 0)
        finish_attempt(attempt, by="candidate")
        attempts[user.name] = attempt
    people = {
        "finance_officer": make_user(education.parent, officer_of=[finance]),
        "education_officer": make_user(city, officer_of=[education]),
        "examiner": make_user(city, is_examiner=True),
        "learner": make_user(finance),
    }
    db.session.commit()
    return exam, attempts, people, hacker, teacher


def test_officer_sees_only_candidates_in_scope(client, login_as, world):
    exam, attempts, people, hacker, teacher = world
    login_as(people["education_officer"])
    page = client.get(f"/reports/exams/{exam.code}/results").get_data(as_text=True)
    assert "王老师" in page and hacker.staff_number not in page
    assert "市教育局" in page                                # department path column
    exported = client.get(f"/reports/exams/{exam.code}/results.csv").get_data(as_text=True)
    assert teacher.staff_number in exported and hacker.staff_number not in exported
    # Reviewing the other bureau's attempt is a 404; the own bureau's works and shows the answers.
    assert client.get(f"/reports/attempts/{attempts[hacker.name].id}").status_code == 404
    review = client.get(f"/reports/attempts/{attempts['王老师'].id}")
    assert review.status_code == 200 and "王老师" in review.get_data(as_text=True)
    for view in ("departments", "items"):
        assert client.get(f"/reports/exams/{exam.code}/results?view={view}").status_code == 200
    # Item analysis is for examiners and admins only.
    assert client.get(f"/reports/exams/{exam.code}/statistics").status_code == 403


def test_learner_cannot_review_an_attempt(client, login_as, world):
    exam, attempts, people, hacker, _teacher = world
    login_as(people["learner"])
    assert client.get(f"/reports/attempts/{attempts[hacker.name].id}").status_code == 404
    assert client.get(f"/reports/exams/{exam.code}/results").status_code == 403


def test_csv_escapes_formula_names(client, login_as, world):
    exam, _attempts, people, hacker, _teacher = world
    login_as(people["examiner"])
    response = client.get(f"/reports/exams/{exam.code}/results.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    names = [row[1] for row in rows[1:]]
    assert "'" + hacker.name in names
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)


def test_safe_cell_and_csv_helpers():
    assert safe_cell("=1+1") == "'=1+1" and safe_cell("+86 10") == "'+86 10"
    assert safe_cell("-5") == "'-5" and safe_cell("@SUM(A1)") == "'@SUM(A1)"
    assert safe_cell("王老师") == "王老师" and safe_cell(-5) == -5
    assert to_csv(["a"], [["=x"]]).decode("utf-8-sig").splitlines() == ["a", "'=x"]


def test_results_xlsx_has_sheets_frozen_header_and_text_names(client, login_as, world):
    exam, _attempts, people, hacker, teacher = world
    login_as(people["examiner"])
    response = client.get(f"/reports/exams/{exam.code}/results.xlsx?lang=en")
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.data))
    assert book.sheetnames == ["Candidates", "Departments", "Standard items", "Definitions"]
    sheet = book["Candidates"]
    assert sheet.freeze_panes == "A2"
    rows = {row[0]: row for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert rows[hacker.staff_number][1] == hacker.name          # stored as text, not a formula
    assert sheet.cell(row=2, column=2).data_type == "s"
    assert rows[hacker.staff_number][4] == 100 and rows[hacker.staff_number][6] == 100 and rows[hacker.staff_number][7] == "Yes"  # best, kept, passed
    assert rows[teacher.staff_number][4] == 0 and rows[teacher.staff_number][6] == 0 and rows[teacher.staff_number][7] == "No"
    departments = {row[0]: row for row in book["Departments"].iter_rows(min_row=2, values_only=True)}
    assert departments["市财政局"][1:3] == (1, 1)


def test_statistics_page_and_xlsx(client, login_as, world):
    exam, _attempts, people, _hacker, _teacher = world
    login_as(people["examiner"])
    page = client.get(f"/reports/exams/{exam.code}/statistics?lang=en")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Cronbach" in text and "Facility index" in text
    bad = client.get(f"/reports/exams/{exam.code}/statistics?from=2026-13-01&lang=en").get_data(as_text=True)
    assert "is not a date" in bad
    book = load_workbook(io.BytesIO(client.get(f"/reports/exams/{exam.code}/statistics.xlsx?lang=en").data))
    assert book.sheetnames == ["Test", "Questions", "Distractors", "Standard items", "Definitions"]
    test = {row[0]: row[1] for row in book["Test"].iter_rows(min_row=2, values_only=True)}
    assert test["Attempts"] == 2 and test["Mean score"] == 50
    questions = list(book["Questions"].iter_rows(min_row=2, values_only=True))
    assert len(questions) == 3 and all(q[4] == 50 for q in questions)   # one right, one wrong: facility 50
    assert book["Questions"].freeze_panes == "A2"
    # A sitting in the past has no attempts.
    empty = client.get(f"/reports/exams/{exam.code}/statistics?from=2020-01-01&to=2020-01-02&lang=en")
    assert "No graded attempts" in empty.get_data(as_text=True)
    assert client.get(f"/reports/exams/{exam.code}/statistics.pdf").status_code == 404


def test_statistics_name_question_types_in_the_reader_s_language(client, login_as, world):
    """The type column says 单选题 / "single choice", never the registry's internal name."""
    exam, _attempts, people, _hacker, _teacher = world
    login_as(people["examiner"])
    for lang, wanted in (("zh_CN", "单选"), ("en", "single choice")):
        page = client.get(f"/reports/exams/{exam.code}/statistics?lang={lang}").get_data(as_text=True)
        assert wanted in page and "single_choice" not in page
        book = load_workbook(io.BytesIO(client.get(f"/reports/exams/{exam.code}/statistics.xlsx?lang={lang}").data))
        sheet = book[book.sheetnames[1]]   # the questions sheet, named in the reader's language
        types = {row[1] for row in sheet.iter_rows(min_row=2, values_only=True)}
        assert "single_choice" not in types and any(wanted in t for t in types), types
