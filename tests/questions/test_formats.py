"""GIFT through the registry (every type GIFT has) and the shared read/write interface."""
import dataclasses

from app.questions.formats import read, write, write_problem
from app.questions.gift import parse_gift
from app.questions.portable import FormatError, ParsedQuestion, normalise_category, normalise_difficulty
from tests.conftest import FIXTURES
from tests.questions.test_moodle_xml import every_type


def gift_types() -> list[ParsedQuestion]:
    """The every-type sample minus what GIFT cannot hold (ordering, units, case-sensitive, essay notes)."""
    out = []
    for q in every_type():
        if q.qtype == "ordering":
            continue
        if q.qtype == "numerical":
            q.spec["units"], q.spec["unit_required"] = [], False
        if q.qtype == "short_answer":
            q.spec["case_sensitive"] = False
        if q.qtype == "essay":
            q.spec = {"response_format": "plain", "min_words": 0, "max_words": 0, "grader_info": "",
                      "response_template": ""}
        if q.qtype in ("single_choice", "multiple_choice", "matching"):  # GIFT answers take the stem's format
            for option in q.spec.get("options", []) + q.spec.get("pairs", []):
                option["format"] = "plain"
        out.append(q)
    return out


def round_trip(fmt, questions):
    text = "".join(write(fmt, questions))
    again = list(read(fmt, text.encode("utf-8")))
    assert not [e for e in again if isinstance(e, FormatError)], (again, text)
    return text, [dataclasses.replace(q, line=0) for q in again]


def test_gift_round_trip_of_every_type_it_has():
    questions = gift_types()
    assert {q.qtype for q in questions} == {"single_choice", "multiple_choice", "true_false", "short_answer",
                                           "numerical", "matching", "essay"}
    text, again = round_trip("gift", questions)
    assert again == questions
    assert "$CATEGORY: CSDS/C 文档" in text and "// [id:X-single_choice] [tag:item:C3]" in text
    assert "\\{x\\}" in text  # braces escaped


def test_gift_cannot_hold_ordering_or_units_and_says_why():
    ordering = [q for q in every_type() if q.qtype == "ordering"][0]
    numerical = [q for q in every_type() if q.qtype == "numerical"][0]
    assert "GIFT has no ordering questions" in write_problem("gift", ordering)
    assert "units" in write_problem("gift", numerical)
    assert write_problem("xml", ordering) is None


def test_moodle_gift_fixture_reads_every_type_into_specs():
    items = list(read("gift", (FIXTURES / "questions.gift.txt").read_bytes()))
    assert not [i for i in items if isinstance(i, FormatError)]
    by_name = {q.name: q for q in items}
    assert by_name["Q5"].spec["answers"][0] == {"value": 3.0, "tolerance": 2.0, "fraction": 1.0, "feedback": ""}
    assert by_name["Q5"].spec["answers"][1]["value"] is None
    assert [a["text"] for a in by_name["Shortanswer"].spec["answers"]] == ["Frog", "Cat", "*"]
    matching = by_name["Moodle activities"].spec
    assert len(matching["pairs"]) == 4 and matching["distractors"] == ["Chat"]
    _, again = round_trip("gift", [q for q in items])
    assert again == [dataclasses.replace(q, line=0) for q in items]


def test_description_and_bad_bytes_are_errors_with_lines():
    [error] = list(read("gift", "::d::只是一段说明\n".encode()))
    assert (error.line, error.field, error.question) == (1, "type", "d")
    [error] = list(read("gift", b"::a::ok{T}\n\n::b::\xff{T}\n"))
    assert (error.line, error.field) == (3, "encoding")


def test_category_and_difficulty_spellings():
    assert normalise_category("$course$/top/A/B") == "A/B"
    assert normalise_category("$system$/top") == "" and normalise_category(" C/D/ ") == "C/D"
    assert [normalise_difficulty(v) for v in ("Easy", "1", "易", "2", "中", "难", "3", "HARD")] == [
        "easy", "easy", "easy", "medium", "medium", "hard", "hard", "hard"]
    assert normalise_difficulty("very hard") is None


def test_parse_gift_still_returns_all_questions_and_sorted_errors():
    questions, errors = parse_gift("::a::x{T}\n\n::b::y{\n=1\n\n::c::z{F}\n\n::d::w}\n")
    assert [q.name for q in questions] == ["a", "c"] and [e.line for e in errors] == [3, 8]
