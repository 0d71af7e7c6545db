"""Question import through the CLI: all-or-nothing, errors name file and line."""
from pathlib import Path

from sqlalchemy import func, select

from app.questions.models import Question
from tests.conftest import FIXTURES


def _count(db):
    return db.session.execute(select(func.count(Question.id))).scalar_one()


def test_moodle_fixture_names_every_unsupported_question_with_its_line(app, db):
    runner = app.test_cli_runner()
    path = FIXTURES / "questions.gift.txt"
    result = runner.invoke(args=["questions", "import", str(path), "--format", "gift"])
    assert result.exit_code == 1
    output = result.output
    for line, kind in [(2, "essay"), (5, "matching"), (31, "numerical"), (34, "short-answer")]:
        assert f"{path}:{line}: " in output and kind in output, (line, kind, output)
    assert _count(db) == 0  # nothing imported


def test_moodle_fixture_with_skip_unsupported_imports_each_supported_question(app, db):
    runner = app.test_cli_runner()
    path = FIXTURES / "questions.gift.txt"
    result = runner.invoke(args=["questions", "import", str(path), "--skip-unsupported"])
    assert result.exit_code == 0, result.output
    kinds = dict(db.session.execute(select(Question.name, Question.qtype)).all())
    assert kinds["Q2"] == "single_choice"
    assert kinds["colours"] == "multiple_choice"
    assert kinds["Q1"] == "true_false"
    assert kinds["2-08 TSL"] == "true_false"
    assert "skipped:" in result.output and ":2: " in result.output


def test_import_is_idempotent_and_dry_run_writes_nothing(app, db):
    runner = app.test_cli_runner()
    path = FIXTURES / "questions_in_category.gift.txt"
    dry = runner.invoke(args=["questions", "import", str(path), "--dry-run", "--skip-unsupported"])
    assert dry.exit_code == 0 and "nothing was written" in dry.output
    assert _count(db) == 0
    first = runner.invoke(args=["questions", "import", str(path), "--skip-unsupported"])
    assert first.exit_code == 0 and _count(db) == 2
    second = runner.invoke(args=["questions", "import", str(path), "--skip-unsupported"])
    assert "0 new" in second.output and "2 unchanged" in second.output and _count(db) == 2
    greeting = db.session.execute(select(Question).where(Question.name == "Greeting")).scalar_one()
    assert "http://demo.moodle.net" in greeting.current_version.stem  # \: and \= unescaped


def test_syntax_error_changes_nothing_and_names_the_line(app, db, tmp_path: Path):
    good = tmp_path / "good.gift"
    good.write_text("::ok::[markdown]一加一等于二。{T}\n", encoding="utf-8")
    bad = tmp_path / "bad.gift"
    bad.write_text("::a::[markdown]第一题{T}\n\n::b::[markdown]第二题{\n=对\n~错\n\n::c::第三题{F}\n", encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["questions", "import", str(good), str(bad)])
    assert result.exit_code == 1
    assert f"{bad}:3: " in result.output
    assert "nothing was changed" in result.output
    assert _count(db) == 0


def test_changed_question_gets_a_new_version(app, db, tmp_path: Path):
    path = tmp_path / "q.gift"
    path.write_text("// [id:V-1]\n::V-1::[markdown]旧题干{T}\n", encoding="utf-8")
    runner = app.test_cli_runner()
    assert runner.invoke(args=["questions", "import", str(path)]).exit_code == 0
    path.write_text("// [id:V-1]\n::V-1::[markdown]新题干{T}\n", encoding="utf-8")
    assert runner.invoke(args=["questions", "import", str(path)]).exit_code == 0
    question = db.session.execute(select(Question)).scalar_one()
    assert [v.version for v in question.versions] == [1, 2]
    assert question.current_version.stem == "新题干"
