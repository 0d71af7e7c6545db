"""Aiken: Moodle's own fixtures read as Moodle's tests expect; writing and reading back."""
from app.questions.aiken import aiken_problem, dump_aiken, parse_aiken
from app.questions.portable import ParsedQuestion
from tests.conftest import FIXTURES


def test_aiken_errors_fixture_as_moodles_unit_test_expects():
    # question/format/aiken/tests/aikenformat_test.php: these errors, on these lines, and the good questions.
    questions, errors = parse_aiken((FIXTURES / "aiken_errors.txt").read_text(encoding="utf-8"))
    assert [(e.line, e.question) for e in errors] == [
        (3, "A question with too few answers"), (5, ""), (7, ""), (18, "A question started but not finished")]
    assert "question must have at least 2 answers on line 3" in str(errors[0])
    assert "question not started on line 5" in str(errors[1])
    assert "question not started on line 7" in str(errors[2])
    assert "before the next question start on line 18" in str(errors[3])
    assert [q.name for q in questions] == ["A good question", "A second good question"]
    first, second = (q.spec["options"] for q in questions)
    assert [(o["text"], o["fraction"]) for o in first] == [("Correct", 1.0), ("Incorrect", 0.0)]
    # "A)Text" without a space is a choice; the last line has no newline
    assert [(o["text"], o["fraction"]) for o in second] == [("Incorrect (No space)", 0.0), ("Correct (No space)", 1.0)]


def test_questions_fixture_as_moodles_behat_test_expects():
    # aiken_import.feature: "Importing 2 questions from file"
    questions, errors = parse_aiken((FIXTURES / "questions.aiken.txt").read_text(encoding="utf-8"))
    assert errors == []
    assert [q.qtype for q in questions] == ["single_choice", "single_choice"]
    assert questions[0].stem == "The Moodle project was started by:"
    assert [o["text"] for o in questions[0].spec["options"] if o["fraction"] == 1.0] == ["Martin Dougiamas"]
    assert questions[1].stem_format == "plain" and "<html class=\"cool\"> & images" in questions[1].stem


def test_answer_letter_without_choice_and_unfinished_last_question():
    questions, errors = parse_aiken("问题一\nA. 甲\nB. 乙\nANSWER: C\n\n问题二\nA) 甲\nB) 乙\n")
    assert questions == []
    assert [(e.line, e.field) for e in errors] == [(4, "ANSWER"), (8, "ANSWER")]
    assert "names no choice (choices A to B)" in str(errors[0]) and "end of the file" in str(errors[1])


def test_round_trip():
    text = (FIXTURES / "questions.aiken.txt").read_text(encoding="utf-8")
    first, _ = parse_aiken(text)
    again, errors = parse_aiken(dump_aiken(first))
    assert errors == []
    assert [(q.name, q.stem, q.spec) for q in again] == [(q.name, q.stem, q.spec) for q in first]


def test_what_aiken_cannot_hold():
    q = ParsedQuestion(line=0, name="n", qtype="single_choice", stem="题干", stem_format="plain", spec={
        "options": [{"id": "a", "text": "对", "fraction": 1.0, "feedback": "好"}, {"id": "b", "text": "错", "fraction": 0.0}]})
    assert aiken_problem(q) == "Aiken holds no feedback"
    q.spec["options"][0]["feedback"] = ""
    assert aiken_problem(q) is None
    q.stem = "A) 看起来像选项"
    assert "choice or answer line" in aiken_problem(q)
    q.qtype = "true_false"
    assert aiken_problem(q) == "Aiken holds only single-choice questions"
