"""Tests for app.questions.gift: the GIFT parser, writer and command line."""

from __future__ import annotations

import ast
import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest

from app.questions import gift
from app.questions.gift import GiftError, GiftOption, GiftQuestion, dump_gift, parse_gift

REPO = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "moodle"
GIFT_FIXTURE = FIXTURES / "questions.gift.txt"
CATEGORY_FIXTURE = FIXTURES / "questions_in_category.gift.txt"


# --------------------------------------------------------------------------- helpers


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def parse_ok(text: str) -> list[GiftQuestion]:
    """Parse text that must have no errors."""
    questions, errors = parse_gift(text)
    assert errors == []
    return questions


def only_error(text: str) -> GiftError:
    """Parse text that must give no question and exactly one error."""
    questions, errors = parse_gift(text)
    assert questions == []
    assert len(errors) == 1, errors
    return errors[0]


def comparable(questions: list[GiftQuestion]) -> list[GiftQuestion]:
    """Questions with the fields a round trip cannot keep (line, raw) blanked."""
    return [dataclasses.replace(q, line=0, raw="") for q in questions]


def assert_round_trip(text: str) -> None:
    first = parse_ok(text)
    written = dump_gift(first)
    again, errors = parse_gift(written)
    assert errors == [], written
    assert comparable(again) == comparable(first), written


def opt(text, fraction, feedback="", match_text=None) -> GiftOption:
    return GiftOption(text, fraction, feedback, match_text)


def test_fixture_directory_is_beside_the_repository():
    assert GIFT_FIXTURE.is_file()
    assert CATEGORY_FIXTURE.is_file()


# --------------------------------------------------------------------------- Moodle fixture 1


@pytest.fixture(scope="module")
def moodle_questions() -> list[GiftQuestion]:
    questions, errors = parse_gift(read(GIFT_FIXTURE))
    assert errors == []
    return questions


def test_fixture_has_nine_questions_of_the_right_types(moodle_questions):
    # Moodle's own Behat test says "Importing 9 questions from file".
    assert [(q.line, q.name, q.qtype) for q in moodle_questions] == [
        (2, "Q8", "essay"),
        (5, "Moodle activities", "matching"),
        (14, "Q2", "single_choice"),
        (22, "colours", "multiple_choice"),
        (31, "Q5", "numerical"),
        (34, "Shortanswer", "short_answer"),
        (41, "Q1", "true_false"),
        (46, "2-08 TSL", "true_false"),
        (49, "2-08 TSL", "true_false"),
    ]
    for q in moodle_questions:
        assert q.category is None
        assert q.idnumber is None
        assert q.tags == []


def test_essay(moodle_questions):
    q = moodle_questions[0]
    assert q.stem == "How are you?"
    assert q.stem_format == "moodle"
    assert q.options == []
    assert q.general_feedback == ""
    assert q.raw == "::Q8:: How are you? {}"


def test_matching_strips_answer_format_tags_and_keeps_unmatched_answer(moodle_questions):
    q = moodle_questions[1]
    assert q.stem == "Match the <b>activity</b> to the description."
    assert q.stem_format == "html"
    assert q.options == [
        opt("An activity supporting asynchronous discussions.", 1.0, "", "Forum"),
        opt("A teacher asks a question and specifies a choice of multiple responses.", 1.0,
            "", "Choice"),
        opt("A bank of record entries which participants can add to.", 1.0, "", "Database"),
        opt("A collection of web pages that anyone can add to or edit.", 1.0, "", "Wiki"),
        opt("", 0.0, "", "Chat"),
    ]


def test_single_choice_with_feedback(moodle_questions):
    q = moodle_questions[2]
    assert q.stem == "What's between orange and green in the spectrum?"
    assert q.options == [
        opt("yellow", 1.0, "right; good!"),
        opt("red", 0.0, "wrong, it's yellow"),  # "[html]" removed from the feedback
        opt("blue", 0.0, "wrong, it's yellow"),  # "[plain]" removed from the answer
    ]
    assert q.tf_answer is None


def test_multiple_response_weights(moodle_questions):
    q = moodle_questions[3]
    assert q.stem == "What's between orange and green in the spectrum?"
    assert q.options == [
        opt("yellow", 0.5, "right; good!"),
        opt("red", -1.0, "wrong"),
        opt("off-beige", 0.5, "right; good!"),
        opt("blue", -1.0, "wrong"),
    ]


def test_numerical_with_tolerance_and_wrong_answer_feedback(moodle_questions):
    q = moodle_questions[4]
    # The line ends in '}";' as in Moodle's fixture: the punctuation is tolerated and dropped,
    # it does not turn the question into a missing-word one.
    assert q.stem == "What is a number from 1 to 5?"
    assert q.options == [opt("3:2", 1.0), opt("*", 0.0, "Completely wrong")]


def test_short_answer_weights_and_wildcard(moodle_questions):
    q = moodle_questions[5]
    assert q.stem == "Which is the best animal?"
    assert q.options == [
        opt("Frog", 1.0, "Good!"),
        opt("Cat", 0.5, "What is it with Moodlers and cats?"),
        opt("*", 0.0, "Completely wrong"),
    ]


def test_true_false_with_feedback_and_general_feedback(moodle_questions):
    q = moodle_questions[6]
    assert q.stem == "42 is the Absolute Answer to everything."
    assert q.tf_answer is False
    assert q.tf_feedback_wrong == "42 is the Ultimate Answer."
    assert q.tf_feedback_right == "You gave the right answer."
    assert q.general_feedback == (
        "This is, of course, a Hitchiker's Guide to the Galaxy reference.")
    assert q.options == []
    assert q.raw.splitlines()[-1].endswith('reference.}";')


@pytest.mark.parametrize("index", [7, 8])
def test_true_short_and_long_forms(moodle_questions, index):
    q = moodle_questions[index]
    assert q.stem == "TSL is blablabla."
    assert q.tf_answer is True
    assert (q.tf_feedback_wrong, q.tf_feedback_right, q.general_feedback) == ("", "", "")


# --------------------------------------------------------------------------- Moodle fixture 2


@pytest.fixture(scope="module")
def category_questions() -> list[GiftQuestion]:
    questions, errors = parse_gift(read(CATEGORY_FIXTURE))
    assert errors == []
    return questions


def test_category_applies_to_every_question(category_questions):
    assert [(q.line, q.name, q.qtype) for q in category_questions] == [
        (5, "Moodle activities", "matching"),
        (14, "Greeting", "single_choice"),
        (22, "Moodle user", "short_answer"),
        (27, "Moodle acronym", "true_false"),
    ]
    assert {q.category for q in category_questions} == {"$course$/Default for New Features"}
    assert {q.stem_format for q in category_questions} == {"html"}


def test_escaped_equals_and_colon_are_unescaped(category_questions):
    greeting = category_questions[1]
    assert greeting.stem == (
        '<a href="http://demo.moodle.net/file.php/5/media/bonjour.mp3">Listen to this '
        "greeting:</a><br /><br />What language is being spoken?")
    assert greeting.options == [
        opt("English", 0.0, "Sorry, listen again."),
        opt("French", 1.0, "Yes, well done!"),
        opt("German", 0.0, "Sorry, listen again."),
        opt("Spanish", 0.0, "Sorry, listen again."),
    ]
    acronym = category_questions[3]
    assert acronym.stem == (
        'Moodle is an acronym for <span style="font-style: italic;">Modular Object-Oriented '
        "Dynamic Learning Environment</span>.")
    assert acronym.tf_answer is True
    assert "\\" not in greeting.stem + acronym.stem


def test_only_equals_answers_make_short_answer(category_questions):
    q = category_questions[2]  # {=%100%Moodler#}
    assert q.stem == "Anyone who uses Moodle is a ..."
    assert q.options == [opt("Moodler", 1.0, "")]


def test_matching_with_tab_indented_answers(category_questions):
    q = category_questions[0]
    assert [(o.text, o.match_text) for o in q.options] == [
        ("An activity supporting asynchronous discussions.", "Forum"),
        ("A teacher asks a question and specifies a choice of multiple responses.", "Choice"),
        ("A bank of record entries which participants can add to.", "Database"),
        ("A collection of web pages that anyone can add to or edit.", "Wiki"),
        ("", "Chat"),
    ]


# --------------------------------------------------------------------------- CivicSkills conventions

CIVIC = """\
$CATEGORY: CSDS/A

// [id:A1-001] [tag:item:A1] [tag:difficulty:easy]
::A1-001::[markdown]下列哪一项属于国产操作系统？{
=统信 UOS#正确。统信 UOS 是国产桌面操作系统。
~Windows 11#Windows 11 是微软的产品。
~macOS#macOS 是苹果的产品。
~Android 14#Android 主要用于手机。
####统信 UOS 和麒麟（Kylin）是常见的国产操作系统。
}

// [id:A3-004] [tag:item:A3] [tag:difficulty:medium]
::A3-004::[markdown]以下哪些做法有助于保护账号安全？{
~%50%启用双因素认证#正确。
~%50%使用足够长的口令#正确。
~%-100%在多个网站使用同一口令#错误。
~%-100%把口令写在显示器旁#错误。
####多因素认证和强口令都能降低账号被盗的风险。
}

// [id:A5-002] [tag:item:A5] [tag:difficulty:easy]
::A5-002::[markdown]在 WPS 表格中输入 \\=SUM(A1\\:A10) 可以求和。{T#应为 \\=SUM。#正确。####求和函数是 SUM。}
"""


def test_id_tags_and_category_from_comments():
    q1, q2, q3 = parse_ok(CIVIC)
    assert (q1.idnumber, q1.tags) == ("A1-001", ["item:A1", "difficulty:easy"])
    assert (q2.idnumber, q2.tags) == ("A3-004", ["item:A3", "difficulty:medium"])
    assert (q3.idnumber, q3.tags) == ("A5-002", ["item:A5", "difficulty:easy"])
    # The question starts at its [id:] comment line.
    assert [q.line for q in (q1, q2, q3)] == [3, 12, 21]
    assert q1.raw.startswith("// [id:A1-001]") and q1.raw.endswith("}")
    assert {q.category for q in (q1, q2, q3)} == {"CSDS/A"}


def test_civicskills_question_types():
    q1, q2, q3 = parse_ok(CIVIC)
    assert (q1.qtype, q1.stem, q1.stem_format) == (
        "single_choice", "下列哪一项属于国产操作系统？", "markdown")
    assert [o.fraction for o in q1.options] == [1.0, 0.0, 0.0, 0.0]
    assert q1.options[0] == opt("统信 UOS", 1.0, "正确。统信 UOS 是国产桌面操作系统。")
    assert q1.general_feedback == "统信 UOS 和麒麟（Kylin）是常见的国产操作系统。"
    assert q2.qtype == "multiple_choice"
    assert [o.fraction for o in q2.options] == [0.5, 0.5, -1.0, -1.0]
    assert q3.qtype == "true_false"
    assert q3.stem == "在 WPS 表格中输入 =SUM(A1:A10) 可以求和。"
    assert (q3.tf_answer, q3.tf_feedback_wrong, q3.tf_feedback_right) == (
        True, "应为 =SUM。", "正确。")
    assert q3.general_feedback == "求和函数是 SUM。"


def test_id_comment_after_other_comments_and_escaped_bracket():
    (q,) = parse_ok("// exported 2026\n// [id:X\\]1] [tag:a] [tag:b\\]c]\n::N::Q{F}\n")
    assert (q.line, q.idnumber, q.tags) == (2, "X]1", ["a", "b]c"])
    (q,) = parse_ok("// just a comment\n\n::N::Q{F}\n")
    assert (q.line, q.idnumber, q.tags) == (3, None, [])


def test_second_id_for_one_question_is_an_error():
    err = only_error("// [id:A]\n// [id:B]\n::N::Q{T}\n")
    assert err.line == 2 and "[id:B]" in err.message


# --------------------------------------------------------------------------- more syntax


def test_single_choice_on_one_line_and_one_hundred_percent_key():
    (q,) = parse_ok("Who is buried in Grant's tomb?{~Grant ~Jefferson =no one}\n")
    assert q.qtype == "single_choice"
    assert q.options == [opt("Grant", 0.0), opt("Jefferson", 0.0), opt("no one", 1.0)]
    assert q.name == ""
    (q,) = parse_ok("Q{~%100%right ~wrong#no}\n")
    assert q.qtype == "single_choice"
    assert q.options == [opt("right", 1.0), opt("wrong", 0.0, "no")]


def test_decimal_weights_within_half_a_percent():
    (q,) = parse_ok("Q{~%33.33333%a ~%33.33333%b ~%33.33333%c ~%-100%d}\n")
    assert q.qtype == "multiple_choice"
    assert [o.fraction for o in q.options] == [0.3333333, 0.3333333, 0.3333333, -1.0]


def test_missing_word_keeps_answer_type():
    (q,) = parse_ok("Grant is {~buried =entombed ~living} in Grant's tomb.\n")
    assert q.qtype == "single_choice"
    assert q.stem == "Grant is _____ in Grant's tomb."
    (q,) = parse_ok("{=Paris ~Lyon} is the capital of France.\n")
    assert q.stem == "_____ is the capital of France."


def test_trailing_text_on_next_line_is_missing_word_not_tolerated():
    (q,) = parse_ok("Q is {T}\n;\n")
    assert q.stem == "Q is _____ ;"


def test_escapes_and_newline():
    (q,) = parse_ok("::A\\:1::a \\{b\\} c\\=d \\#e \\~f \\\\g\\nh{=x\\=1#ok\\#1 ~y}\n")
    assert q.name == "A:1"
    assert q.stem == "a {b} c=d #e ~f \\g\nh"
    assert q.options == [opt("x=1", 1.0, "ok#1"), opt("y", 0.0)]


def test_multi_line_stem_and_comment_inside_answers():
    (q,) = parse_ok("::N::First line\nsecond line{\n=a\n// a comment between answers\n~b\n}\n")
    assert q.stem == "First line\nsecond line"
    assert q.options == [opt("a", 1.0), opt("b", 0.0)]


def test_numerical_forms():
    (q,) = parse_ok("When?{#\n=1822:0#exact\n=%50%1822:2#close\n}\n")
    assert q.qtype == "numerical"
    assert q.options == [opt("1822:0", 1.0, "exact"), opt("1822:2", 0.5, "close")]
    (q,) = parse_ok("Range?{#1..5####between}\n")
    assert q.options == [opt("1..5", 1.0)]
    assert q.general_feedback == "between"


def test_true_false_right_feedback_only_and_essay_general_feedback():
    (q,) = parse_ok("Q{T##right only}\n")
    assert (q.tf_feedback_wrong, q.tf_feedback_right) == ("", "right only")
    (q,) = parse_ok("Discuss.{####think first}\n")
    assert (q.qtype, q.general_feedback) == ("essay", "think first")


def test_description_has_no_answer_block():
    (q,) = parse_ok("::Intro::[html]<p>Read the case below.</p>\n")
    assert (q.qtype, q.stem, q.stem_format, q.options) == (
        "description", "<p>Read the case below.</p>", "html", [])


def test_category_changes_and_carries_over():
    qs = parse_ok("$CATEGORY: A\n\nQ1{T}\n\nQ2{F}\n\n$CATEGORY: B\n\nQ3{T}\n")
    assert [q.category for q in qs] == ["A", "A", "B"]


def test_crlf_and_byte_order_mark():
    (q,) = parse_ok("\ufeff// [id:W1]\r\n::N::Q{\r\n=a\r\n~b\r\n}\r\n")
    assert (q.line, q.idnumber, q.options) == (1, "W1", [opt("a", 1.0), opt("b", 0.0)])


# --------------------------------------------------------------------------- errors


def test_syntax_error_file_reports_every_error_with_its_line():
    text = (
        "// [id:OK-1]\n"                      # 1
        "::OK-1::Fine{T}\n"                   # 2
        "\n"                                  # 3
        "::Bad-1::Unclosed{\n"                # 4  unclosed {
        "=a\n"                                # 5
        "~b\n"                                # 6
        "\n"                                  # 7
        "::Bad-2::No key{\n"                  # 8
        "~a\n"                                # 9
        "~b\n"                                # 10
        "}\n"                                 # 11
        "\n"                                  # 12
        "::Bad-3::Weights{\n"                 # 13
        "~%50%a\n"                            # 14
        "~%fifty%b\n"                         # 15 bad weight syntax
        "~%150%c\n"                           # 16 weight out of range
        "}\n"                                 # 17
        "\n"                                  # 18
        "::OK-2::Also fine{=x ~y}\n"          # 19
    )
    questions, errors = parse_gift(text)
    assert [q.name for q in questions] == ["OK-1", "OK-2"]
    assert [q.line for q in questions] == [1, 19]
    assert [e.line for e in errors] == [4, 8, 15, 16]
    assert "unclosed '{'" in errors[0].message and "line 7" in errors[0].message
    assert "no correct answer" in errors[1].message
    assert "bad weight syntax" in errors[2].message and "%fifty%" in errors[2].message
    assert "outside -100..100" in errors[3].message


def test_blank_line_inside_answers_gives_both_errors():
    questions, errors = parse_gift("::N::Q{\n=a\n\n~b\n}\n")
    assert questions == []
    assert [e.line for e in errors] == [1, 5]
    assert errors[0].message.startswith("unclosed '{'")
    assert errors[1].message.startswith("'}' without a matching '{'")


@pytest.mark.parametrize("text, line, fragment", [
    ("Q =a ~b}\n", 1, "'}' without a matching '{'"),
    ("::N::Q{\n~a\n~b\n}\n", 1, "no correct answer"),
    ("::N::Q{\n=a\n~%50b\n}\n", 3, "bad weight syntax"),
    ("::N::Q{\n~%-101%a\n=b\n}\n", 2, "outside -100..100"),
    ("::N::Q{\n~%50%a\n~%40%b\n~%-100%c\n}\n", 1, "add up to 90%"),
    ("::N::Q{#}\n", 1, "empty answer block"),
    ("::N::Q{\n=a\n~\n}\n", 3, "empty answer after '~'"),
    ("::N::[rtf]Q{T}\n", 1, "unknown format tag '[rtf]'"),
    ("::N::Q{\n=[HTML]a\n~b\n}\n", 2, "unknown format tag '[HTML]' (format tags are lower-case)"),
    ("// c\n::N:Q{T}\n", 2, "question name not closed"),
    ("::N::Q{=a {~b}\n", 1, "'{' inside the answer block"),
    ("::N::Q{=a ~b} and {=c ~d}\n", 1, "a second answer block"),
    ("::N::Q{true}\n", 1, "must be upper-case"),
    ("::N::Q{abc}\n", 1, "cannot tell the question type"),
    ("::N::Q{#abc}\n", 1, "is not a number"),
    ("::N::M{=a -> b}\n", 1, "at least two '=question -> answer' pairs"),
    ("::N::M{\n=a -> b\n=c\n=d -> e\n}\n", 3, "has no '->'"),
    ("::N::Q{=%50%a =%20%b}\n", 1, "no answer worth 100%"),
    ("::N::{=a ~b}\n", 1, "question text is empty"),
    ("$CATEGORY:\n", 1, "empty $CATEGORY"),
])
def test_each_error_names_its_line(text, line, fragment):
    questions, errors = parse_gift(text)
    assert questions == []
    assert len(errors) == 1, errors
    assert errors[0].line == line
    assert fragment in errors[0].message


def test_several_errors_in_one_question_are_all_reported():
    questions, errors = parse_gift("::N::Q{\n~%x%a\n~%200%b\n=c\n}\n")
    assert questions == []
    assert [e.line for e in errors] == [2, 3]


# --------------------------------------------------------------------------- writing


@pytest.mark.parametrize("path", [GIFT_FIXTURE, CATEGORY_FIXTURE], ids=lambda p: p.name)
def test_round_trip_of_moodle_fixtures(path):
    assert_round_trip(read(path))


def test_round_trip_of_civicskills_questions():
    assert_round_trip(CIVIC)
    written = dump_gift(parse_ok(CIVIC))
    assert written.startswith("$CATEGORY: CSDS/A\n\n// [id:A1-001] [tag:item:A1] "
                              "[tag:difficulty:easy]\n::A1-001::[markdown]")
    assert written.count("$CATEGORY:") == 1
    assert "\\=SUM(A1\\:A10)" in written


def test_round_trip_of_awkward_texts():
    text = (
        "::A\\:1::a \\{b\\} c\\=d \\#e \\~f \\\\g\\nh{=x\\=1#ok\\#1 ~y####g\\#\\#\\#\\#}\n\n"
        "Grant is {~buried =entombed ~living} in Grant's tomb.\n\n"
        "Q{=100%% sure ~%s format}\n\n"
        "::N::[plain]Plain stem{F#w\\#####g}\n\n"
        "When?{#\n=1822:0#exact\n=%50%1822:2#close\n~#no\n}\n\n"
        "::Intro::Just text\nacross lines\n"
    )
    assert_round_trip(text)


def test_dump_guards_texts_that_look_like_syntax():
    questions = [
        GiftQuestion(0, "", None, [], None, "single_choice", "//not a comment",
                     options=[opt("[x] first", 1.0, "[y] fb"), opt("%off", 0.0, "a\nb\\c")]),
        GiftQuestion(0, "n", "ID]1", ["t]x"], "C/D", "description", "[html] is not a tag"),
        GiftQuestion(0, "m", None, [], "C/D", "matching", "M",
                     options=[opt("[plain]x", 1.0, "", "r{1}"), opt("y", 1.0, "", "s#")]),
    ]
    again, errors = parse_gift(dump_gift(questions))
    assert errors == []
    assert comparable(again) == comparable(questions)


# --------------------------------------------------------------------------- command line


def test_cli_counts_types(capsys):
    assert gift.main([str(GIFT_FIXTURE), str(CATEGORY_FIXTURE)]) == 0
    out = capsys.readouterr().out
    assert f"{GIFT_FIXTURE}: 9 question(s), 0 error(s)" in out
    assert "  true_false: 3" in out
    assert f"{CATEGORY_FIXTURE}: 4 question(s), 0 error(s)" in out


def test_cli_reports_errors_and_fails(tmp_path, capsys):
    bad = tmp_path / "bad.gift"
    bad.write_text("::A::Q{T}\n\n::B::Q{\n~a\n~b\n}\n\nx}\n", encoding="utf-8")
    assert gift.main([str(bad)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"{bad}: 1 question(s), 2 error(s)"
    assert lines[1] == "  true_false: 1"
    assert lines[2].startswith(f"{bad}:3: choice question with no correct answer")
    assert lines[3].startswith(f"{bad}:8: '}}' without a matching '{{'")


def test_cli_unreadable_and_non_utf8_files(tmp_path, capsys):
    latin = tmp_path / "latin.gift"
    latin.write_bytes(b"Q{T}\n\nCaf\xe9{F}\n")
    assert gift.main([str(latin), str(tmp_path / "missing.gift")]) == 1
    out = capsys.readouterr().out
    assert f"{latin}:3: not valid UTF-8" in out
    assert f"{tmp_path / 'missing.gift'}:0: cannot read file" in out


def test_cli_runs_as_a_module():
    result = subprocess.run(
        [sys.executable, "-m", "app.questions.gift", str(GIFT_FIXTURE)],
        cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "9 question(s), 0 error(s)" in result.stdout


def test_parser_imports_only_the_standard_library():
    tree = ast.parse((REPO / "app" / "questions" / "gift.py").read_text(encoding="utf-8"))
    modules = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0
            modules.add(node.module.split(".")[0])
    assert modules <= set(sys.stdlib_module_names), modules - set(sys.stdlib_module_names)
