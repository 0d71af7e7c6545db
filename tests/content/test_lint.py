"""Content lint (``flask content sync --check``) and ``flask content stats``.

Each check is shown failing and passing on small fixture banks; then the shipped bank is linted
per file and as a whole (``test_SHIPPED_BANK_*``).
"""
from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from app.content.lint import (BANK_MAX_ALL_KEYS_SHARE, BANK_MAX_LONGEST_SHARE, FILE_MAX_ALL_KEYS_SHARE,
                              FILE_MAX_LONGEST_SHARE, MIN_ITEM_QUESTIONS, POOL_FACTOR, display_length, lint_content)
from tests.conftest import ROOT

STANDARD = ROOT / "question_bank" / "standards" / "CSDS.yaml"


def sc(qid: str, key: str, distractors: list[str], difficulty: str = "easy") -> str:
    """A single-choice GIFT question for item ``qid[:2]``."""
    item = qid.split("-")[0]
    options = [f"={key}#right."] + [f"~{d}#wrong." for d in distractors]
    return (f"// [id:{qid}] [tag:item:{item}] [tag:difficulty:{difficulty}]\n"
            f"::{qid}::[markdown]问题 {qid}？{{\n" + "\n".join(options) + "\n####解析。\n}\n")


def mr(qid: str, keys: int, difficulty: str = "medium") -> str:
    """A multiple-response question with ``keys`` right options out of four (weights add to 100)."""
    item = qid.split("-")[0]
    weights = {2: ["50", "50"], 3: ["33.33333", "33.33333", "33.33334"], 4: ["25"] * 4}[keys]
    options = [f"~%{w}%对{i}#right." for i, w in enumerate(weights)] + \
              [f"~%-100%错{i}#wrong." for i in range(4 - keys)]
    return (f"// [id:{qid}] [tag:item:{item}] [tag:difficulty:{difficulty}]\n"
            f"::{qid}::[markdown]多选 {qid}（多选）{{\n" + "\n".join(options) + "\n####解析。\n}\n")


def tf(qid: str, difficulty: str = "easy") -> str:
    item = qid.split("-")[0]
    return f"// [id:{qid}] [tag:item:{item}] [tag:difficulty:{difficulty}]\n::{qid}::[markdown]判断 {qid}。{{T\n####解析。\n}}\n"


def make_bank(tmp_path: Path, files: dict[str, list[str]], blueprint: list[str] | None = None,
              items: str = "[A1, A2]") -> tuple[Path, Path]:
    """Write question_bank/ (the real standard + ``files``) and courses/ (one course with ``blueprint``)."""
    bank, courses = tmp_path / "question_bank", tmp_path / "courses"
    (bank / "standards").mkdir(parents=True)
    (bank / "questions").mkdir()
    shutil.copy(STANDARD, bank / "standards" / "CSDS.yaml")
    for name, questions in files.items():
        (bank / "questions" / name).write_text("$CATEGORY: T\n\n" + "\n".join(questions), encoding="utf-8")
    course = courses / "basics"
    course.mkdir(parents=True)
    (course / "01-one.md").write_text("## 学习目标\n\n示例。\n", encoding="utf-8")
    rows = "\n".join(f"    - {row}" for row in (blueprint or ["{item: A1, difficulty: easy, count: 1, points: 100}"]))
    (course / "course.yaml").write_text(textwrap.dedent(f"""\
        title: {{zh: 基础, en: Basics}}
        summary: {{zh: 基础, en: Basics}}
        credit_hours: 1
        standard: CSDS
        items: {items}
        lessons:
          - file: 01-one.md
            title: {{zh: 一, en: One}}
            minutes: 5
        exam:
          title: {{zh: 考试, en: Exam}}
          time_limit_minutes: 10
          pass_mark: 60
          attempts_allowed: 3
          blueprint:
        """) + rows + "\n", encoding="utf-8")
    return courses, bank


# --- displayed length ------------------------------------------------------------------------------

def test_display_length_strips_markdown_and_counts_characters():
    assert display_length("**统信 UOS**") == len("统信 UOS")
    assert display_length("`Win+L`") == 5
    assert display_length("[政务网](https://www.example.gov.cn)") == 3
    assert display_length("  打印  预览 ") == len("打印 预览")


# --- longest-key share ------------------------------------------------------------------------------

def test_file_over_45_percent_longest_key_fails_and_a_balanced_file_passes(tmp_path):
    # cue.gift: 2 of 3 keys strictly longest (66.7 %); fair.gift: 1 of 3 (33.3 %), one tie (not strictly).
    courses, bank = make_bank(tmp_path, {
        "cue.gift": [sc("A1-001", "长长长的正确答案", ["短", "短短", "短短短"]),
                     sc("A1-002", "也是最长的正确答案", ["短", "短", "短"]),
                     sc("A1-003", "短", ["较长的错误选项", "短短", "短短"]),
                     sc("A1-004", "甲", ["乙", "丙", "丁"]), sc("A1-005", "甲", ["乙", "丙", "丁"])],
        "fair.gift": [sc("A2-001", "长长长长", ["短", "短", "短"]),
                      sc("A2-002", "一样长", ["一样长", "短", "短"]),
                      sc("A2-003", "短", ["长长长长", "短", "短"])],
    })
    report = lint_content(courses, bank)
    cue, fair = report.file("question_bank/questions/cue.gift"), report.file("question_bank/questions/fair.gift")
    assert (cue.single_choice, cue.longest_key) == (5, 2)
    assert cue.longest_share == pytest.approx(40.0)
    assert (fair.single_choice, fair.longest_key) == (3, 1)
    assert cue.failures == [] and fair.failures == []

    courses, bank = make_bank(tmp_path / "b", {"cue.gift": [
        sc("A1-001", "长长长的正确答案", ["短", "短短", "短短短"]),
        sc("A1-002", "也是最长的正确答案", ["短", "短", "短"]),
        sc("A1-003", "短", ["较长的错误选项", "短短", "短短"])]})
    report = lint_content(courses, bank)
    cue = report.file("question_bank/questions/cue.gift")
    assert cue.longest_share == pytest.approx(200 / 3)
    assert any(f"over {FILE_MAX_LONGEST_SHARE:g} %" in f for f in cue.failures), cue.failures
    assert not report.passed


def test_markdown_is_stripped_before_comparing_lengths(tmp_path):
    courses, bank = make_bank(tmp_path, {"md.gift": [sc("A1-001", "**加粗答案**", ["错误选项甲", "错误选项乙", "错"])]})
    report = lint_content(courses, bank)
    assert report.file("question_bank/questions/md.gift").longest_key == 0


def test_whole_bank_share_at_or_over_35_percent_fails_although_each_file_is_under_45(tmp_path):
    long_key = [sc(f"A1-00{i}", "长长长长长", ["短", "短", "短"]) for i in range(1, 5)]
    short_key = [sc(f"A1-01{i}", "短", ["长长长长长", "短", "短"]) for i in range(0, 6)]
    # each file 4/10 = 40 %: under the file threshold, over the bank threshold
    long_b = [sc(f"A2-00{i}", "长长长长长", ["短", "短", "短"]) for i in range(1, 5)]
    short_b = [sc(f"A2-01{i}", "短", ["长长长长长", "短", "短"]) for i in range(0, 6)]
    courses, bank = make_bank(tmp_path, {"a.gift": long_key + short_key, "b.gift": long_b + short_b})
    report = lint_content(courses, bank)
    assert all(f.failures == [] for f in report.files)
    assert report.bank_longest_share == pytest.approx(40.0)
    assert any(f"bank" in f and f"{BANK_MAX_LONGEST_SHARE:g} %" in f for f in report.failures), report.failures

    short_more = short_key + [sc(f"A1-02{i}", "短", ["长长长长长", "短", "短"]) for i in range(0, 4)]
    courses, bank = make_bank(tmp_path / "b", {"a.gift": long_key + short_more})  # 4/14 = 28.6 %
    report = lint_content(courses, bank)
    assert report.bank_longest_share == pytest.approx(400 / 14)
    assert report.failures == [] and report.passed


# --- multiple-response key spread ------------------------------------------------------------------------

def test_multiple_response_key_counts_are_reported_and_a_uniform_file_is_warned(tmp_path):
    courses, bank = make_bank(tmp_path, {
        "same.gift": [mr("A1-001", 2), mr("A1-002", 2), mr("A1-003", 2)],
        "mixed.gift": [mr("A2-001", 2), mr("A2-002", 3), mr("A2-003", 4), mr("A2-004", 3)],
    })
    report = lint_content(courses, bank)
    same, mixed = report.file("question_bank/questions/same.gift"), report.file("question_bank/questions/mixed.gift")
    assert dict(same.key_counts) == {2: 3}
    assert dict(mixed.key_counts) == {2: 1, 3: 2, 4: 1}
    assert any("same.gift" in w and "all 3 multiple-response" in w for w in report.warnings), report.warnings
    assert not any("mixed.gift" in w for w in report.warnings)
    assert "keys 2/3/4: 1/2/1" in "\n".join(report.lines())


def test_file_where_over_20_percent_of_multiple_response_items_are_all_keys_fails(tmp_path):
    # tickall.gift: 2 of 4 have every option a key (50 %); edge.gift: 1 of 5 (20 %, at the limit: passes).
    courses, bank = make_bank(tmp_path, {
        "tickall.gift": [mr("A1-001", 4), mr("A1-002", 4), mr("A1-003", 2), mr("A1-004", 3)],
        "edge.gift": [mr("A2-001", 4), mr("A2-002", 2), mr("A2-003", 3), mr("A2-004", 2), mr("A2-005", 3)],
    }, ["{item: A1, difficulty: medium, count: 1, points: 100}"])
    report = lint_content(courses, bank)
    tickall = report.file("question_bank/questions/tickall.gift")
    edge = report.file("question_bank/questions/edge.gift")
    assert (tickall.all_keys, tickall.multiple_response, tickall.all_keys_share) == (2, 4, pytest.approx(50.0))
    assert (edge.all_keys, edge.multiple_response, edge.all_keys_share) == (1, 5, pytest.approx(20.0))
    assert any("every option is a key in 2 of 4" in f and f"over {FILE_MAX_ALL_KEYS_SHARE:g} %" in f
               for f in tickall.failures), tickall.failures
    assert edge.failures == []
    assert "all keys 2 = 50.0 %" in "\n".join(report.lines())
    assert not report.passed


def test_whole_bank_over_10_percent_all_key_items_fails_although_no_file_is_over_20(tmp_path):
    def five(item):
        return [mr(f"{item}-001", 4)] + [mr(f"{item}-00{i}", 2 + i % 2) for i in range(2, 6)]

    # two files, each 1 of 5 all keys (20 %): bank 2 of 10 = 20 %, over 10 %
    courses, bank = make_bank(tmp_path, {"a.gift": five("A1"), "b.gift": five("A2")},
                              ["{item: A1, difficulty: medium, count: 1, points: 100}"])
    report = lint_content(courses, bank)
    assert all(f.failures == [] for f in report.files)
    assert report.bank_all_keys_share == pytest.approx(20.0)
    assert any("whole bank" in f and "every option is a key" in f and f"{BANK_MAX_ALL_KEYS_SHARE:g} %" in f
               for f in report.failures), report.failures

    # the second file's all-key item given a wrong option: 1 of 10 = 10 %, at the limit: passes
    courses, bank = make_bank(tmp_path / "b", {"a.gift": five("A1"), "b.gift": [mr("A2-001", 3)] + five("A2")[1:]},
                              ["{item: A1, difficulty: medium, count: 1, points: 100}"])
    report = lint_content(courses, bank)
    assert report.bank_all_keys_share == pytest.approx(10.0)
    assert report.failures == [] and report.passed


# --- blueprint pools ----------------------------------------------------------------------------------------

def test_row_with_pool_below_three_times_its_count_fails_and_passes_at_three_times(tmp_path):
    two = [sc("A1-001", "甲", ["乙", "丙", "丁"]), tf("A1-002")]
    courses, bank = make_bank(tmp_path, {"a.gift": two})
    report = lint_content(courses, bank)
    assert [(r.label, r.difficulty, r.count, r.pool) for r in report.rows] == [("A1", "easy", 1, 2)]
    assert report.failures == ["courses/basics/course.yaml: exam.blueprint[0]: field 'count': row A1 easy draws 1, "
                               f"but its pool 2 is below {POOL_FACTOR}× the count (3)"], report.failures
    assert report.file("question_bank/questions/a.gift").failures  # the row is charged to the file holding A1

    courses, bank = make_bank(tmp_path / "b", {"a.gift": two + [sc("A1-003", "甲", ["乙", "丙", "丁"]),
                                                                sc("A1-004", "甲", ["乙", "丙", "丁"], "hard")]})
    report = lint_content(courses, bank)
    assert report.rows[0].pool == 3 and report.rows[0].ok
    assert report.failures == []


def test_area_rows_draw_from_every_item_of_the_area(tmp_path):
    questions = [sc("A1-001", "甲", ["乙", "丙", "丁"], "medium"), sc("A2-001", "甲", ["乙", "丙", "丁"], "medium"),
                 sc("A2-002", "甲", ["乙", "丙", "丁"], "easy"), sc("A3-001", "甲", ["乙", "丙", "丁"], "medium")]
    courses, bank = make_bank(tmp_path, {"a.gift": questions},
                              ["{area: A, difficulty: medium, count: 1, points: 50}",
                               "{area: A, difficulty: any, count: 1, points: 50}"])
    report = lint_content(courses, bank)
    assert [(r.label, r.difficulty, r.pool) for r in report.rows] == [("area A", "medium", 3), ("area A", "any", 4)]


# --- extra exams and practical rows ----------------------------------------------------------------------

EXTRA_EXAM = """\
extra_exams:
  - code: basics-practical
    title: {zh: 实操, en: Practical}
    time_limit_minutes: 30
    pass_mark: 60
    attempts_allowed: 3
    blueprint:
      - {item: C1, type: practical, count: 1, points: 70}
      - {item: A1, difficulty: easy, count: 2, points: 15}
"""
C1_TASKS = ("doc-gongwen-format", "doc-qingshi", "doc-tongzhi")


def _with_extra_exam(courses: Path, bank: Path, tasks: tuple[str, ...]) -> None:
    course_yaml = courses / "basics" / "course.yaml"
    course_yaml.write_text(course_yaml.read_text(encoding="utf-8").replace("items: [A1, A2]", "items: [A1, A2, C1]")
                           + EXTRA_EXAM, encoding="utf-8")
    for task in tasks:
        shutil.copytree(ROOT / "question_bank" / "tasks" / task, bank / "tasks" / task)


def test_extra_exam_rows_are_linted_and_practical_rows_draw_from_the_tasks(tmp_path):
    five = [sc(f"A1-00{i}", "甲", ["乙乙", "丙丙", "丁"]) for i in range(1, 6)]
    courses, bank = make_bank(tmp_path, {"a.gift": five})
    _with_extra_exam(courses, bank, C1_TASKS[:1])
    report = lint_content(courses, bank)
    extra = [(r.exam, r.label, r.qtype, r.count, r.pool) for r in report.rows if r.exam == "basics-practical"]
    assert extra == [("basics-practical", "C1", "practical", 1, 1), ("basics-practical", "A1", None, 2, 5)]
    where = "courses/basics/course.yaml: extra_exams[basics-practical].blueprint"
    assert [f for f in report.failures if f.startswith(where)] == [
        f"{where}[0]: field 'count': row C1 any practical draws 1, but its pool 1 is below {POOL_FACTOR}× the count (3)",
        f"{where}[1]: field 'count': row A1 easy draws 2, but its pool 5 is below {POOL_FACTOR}× the count (6)",
    ], report.failures
    # the A1 row is charged to the file holding A1; the task row to no question file
    assert len(report.file("question_bank/questions/a.gift").failures) == 1

    courses, bank = make_bank(tmp_path / "ok", {"a.gift": five + [sc("A1-006", "甲", ["乙乙", "丙丙", "丁"])]})
    _with_extra_exam(courses, bank, C1_TASKS)
    report = lint_content(courses, bank)
    assert [r.pool for r in report.rows if r.exam == "basics-practical"] == [3, 6]
    assert report.failures == [], report.failures


def test_sync_check_reports_an_extra_exam_row_with_its_file_and_field(app, db, monkeypatch, tmp_path):
    six = [sc(f"A1-00{i}", "甲", ["乙乙", "丙丙", "丁"]) for i in range(1, 7)]
    courses, bank = make_bank(tmp_path, {"a.gift": six})
    _with_extra_exam(courses, bank, C1_TASKS[:1])
    result = _run(app, monkeypatch, courses, bank, "sync", "--check")
    assert result.exit_code == 1, result.output
    assert ("FAIL: courses/basics/course.yaml: extra_exams[basics-practical].blueprint[0]: field 'count': "
            "row C1 any practical draws 1, but its pool 1 is below") in result.output


# --- items below 20 questions -------------------------------------------------------------------------------

def test_items_with_fewer_than_20_questions_are_reported(tmp_path):
    full = [sc(f"A1-{i:03d}", "甲", ["乙", "丙", "丁"]) for i in range(1, MIN_ITEM_QUESTIONS + 1)]
    courses, bank = make_bank(tmp_path, {"a.gift": full + [sc("A2-001", "甲", ["乙", "丙", "丁"])]})
    report = lint_content(courses, bank)
    small = dict(report.small_items)
    assert small["A2"] == 1 and small["B1"] == 0 and "A1" not in small
    assert any(w.startswith("items with fewer than 20 questions:") and "A2 (1)" in w for w in report.warnings)


# --- the commands ---------------------------------------------------------------------------------------------

def _run(app, monkeypatch, courses, bank, *args):
    monkeypatch.setitem(app.config, "COURSES_DIR", str(courses))
    monkeypatch.setitem(app.config, "QUESTION_BANK_DIR", str(bank))
    return app.test_cli_runner().invoke(args=["content", *args])


def test_sync_check_exits_1_on_a_lint_failure_and_writes_nothing(app, db, monkeypatch, tmp_path):
    from sqlalchemy import func, select

    from app.learning.models import Course
    from app.questions.models import Question

    two = [sc("A1-001", "长长长长长长", ["乙", "丙", "丁"]), sc("A1-002", "长长长长长长", ["乙", "丙", "丁"])]
    courses, bank = make_bank(tmp_path, {"a.gift": two})
    result = _run(app, monkeypatch, courses, bank, "sync", "--check")
    assert result.exit_code == 1, result.output
    assert "FAIL" in result.output and "100.0 %" in result.output
    counts = [db.session.execute(select(func.count()).select_from(m)).scalar_one() for m in (Course, Question)]
    assert counts == [0, 0]

    ok = [sc(f"A1-00{i}", "甲", ["乙乙", "丙丙", "丁"]) for i in range(1, 4)]
    courses, bank = make_bank(tmp_path / "ok", {"a.gift": ok})
    result = _run(app, monkeypatch, courses, bank, "sync", "--check")
    assert result.exit_code == 0, result.output
    assert "nothing was written" in result.output
    counts = [db.session.execute(select(func.count()).select_from(m)).scalar_one() for m in (Course, Question)]
    assert counts == [0, 0]


def test_sync_check_reports_content_errors_with_exit_1(app, db, monkeypatch, tmp_path):
    courses, bank = make_bank(tmp_path, {"a.gift": ["// [id:A1-001] [tag:item:Z9]\n::A1-001::问题？{=甲 ~乙}\n"]})
    result = _run(app, monkeypatch, courses, bank, "sync", "--check")
    assert result.exit_code == 1
    assert "unknown standard item 'Z9'" in result.output


def test_stats_lists_lessons_and_questions_by_type_and_difficulty(app, db, monkeypatch, tmp_path):
    courses, bank = make_bank(tmp_path, {"a.gift": [sc("A1-001", "甲", ["乙", "丙", "丁"]), tf("A1-002", "hard"),
                                                     mr("A1-003", 3)]})
    result = _run(app, monkeypatch, courses, bank, "stats")
    assert result.exit_code == 0, result.output
    line = next(line for line in result.output.splitlines() if line.startswith("A1 "))
    assert "lessons 1" in line and "questions 3" in line
    assert "single 1" in line and "multiple 1" in line and "true/false 1" in line
    assert "easy 1" in line and "medium 1" in line and "hard 1" in line
    b1 = next(line for line in result.output.splitlines() if line.startswith("B1 "))
    assert "lessons 0" in b1 and "questions 0" in b1


# --- the shipped bank -----------------------------------------------------------------------------------------

SHIPPED_FILES = sorted(p.name for p in (ROOT / "question_bank" / "questions").glob("*.gift"))


@pytest.fixture(scope="module")
def shipped():
    return lint_content(ROOT / "courses", ROOT / "question_bank")


@pytest.mark.parametrize("name", SHIPPED_FILES)
def test_SHIPPED_BANK_file_passes_lint(shipped, name):
    """Per file: longest-key share at most 45 % and every blueprint row drawing from it ≥ 3× its count."""
    lint = shipped.file(f"question_bank/questions/{name}")
    assert lint.failures == [], "\n".join(lint.failures)


def test_SHIPPED_BANK_multiple_response_items_are_not_all_keys(shipped):
    """"Tick all" must not pay: at most 10 % of the bank's multiple-response items (20 % of a file's) are all keys."""
    assert shipped.bank_all_keys_share <= BANK_MAX_ALL_KEYS_SHARE
    for f in shipped.files:
        assert f.all_keys_share is None or f.all_keys_share <= FILE_MAX_ALL_KEYS_SHARE, (f.path, f.all_keys)


def test_SHIPPED_BANK_whole_bank_passes_lint(shipped):
    """The whole shipped bank: longest-key share under 35 %, no file over 45 %, every row ≥ 3× its count."""
    assert shipped.failures == [], "\n".join(shipped.failures)


SHIPPED_COURSES = sorted(p.name for p in (ROOT / "courses").iterdir() if (p / "course.yaml").is_file())


@pytest.mark.parametrize("slug", SHIPPED_COURSES)
def test_SHIPPED_BANK_course_items_have_20_questions(shipped, slug):
    """Every standard item a shipped course teaches has at least 20 drawable questions."""
    from app.content.report import load_yaml

    items = load_yaml(ROOT / "courses" / slug / "course.yaml")["items"]
    small = {code: shipped.item_counts.get(code, 0) for code in items
             if shipped.item_counts.get(code, 0) < MIN_ITEM_QUESTIONS}
    assert small == {}
