"""Question import through the CLI: all-or-nothing, errors name file and line."""
from pathlib import Path

from sqlalchemy import func, select, update

from app.questions.models import Question
from tests.conftest import FIXTURES


def _count(db):
    return db.session.execute(select(func.count(Question.id))).scalar_one()


def test_moodle_gift_fixture_imports_nine_questions_of_every_type(app, db):
    # Moodle's Behat test says "Importing 9 questions from file"; two of them are identical, kept once.
    runner = app.test_cli_runner()
    path = FIXTURES / "questions.gift.txt"
    result = runner.invoke(args=["questions", "import", str(path), "--format", "gift"])
    assert result.exit_code == 0, result.output
    assert "9 question(s) read" not in result.output and "8 question(s) read: 8 new" in result.output
    assert f"{path}:49: question '2-08 TSL' is identical to the question at line 46" in result.output
    kinds = sorted(db.session.execute(select(Question.name, Question.qtype)).all())
    assert kinds == [("2-08 TSL", "true_false"), ("Moodle activities", "matching"), ("Q1", "true_false"),
                     ("Q2", "single_choice"), ("Q5", "numerical"), ("Q8", "essay"),
                     ("Shortanswer", "short_answer"), ("colours", "multiple_choice")]


def test_import_is_idempotent_and_dry_run_writes_nothing(app, db):
    runner = app.test_cli_runner()
    path = FIXTURES / "questions_in_category.gift.txt"
    dry = runner.invoke(args=["questions", "import", str(path), "--dry-run"])
    assert dry.exit_code == 0 and "nothing was written" in dry.output
    assert _count(db) == 0
    first = runner.invoke(args=["questions", "import", str(path)])
    assert first.exit_code == 0 and _count(db) == 4
    second = runner.invoke(args=["questions", "import", str(path), "--skip-invalid"])
    assert "0 new" in second.output and "4 unchanged" in second.output and _count(db) == 4
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


# --------------------------------------------------------------------------- formats, limits, batches

import time  # noqa: E402

import pytest  # noqa: E402
from sqlalchemy import delete, event  # noqa: E402

from app.questions.formats import write  # noqa: E402
from app.questions.models import QuestionVersion  # noqa: E402
from app.standards.models import Standard, StandardArea, StandardItem  # noqa: E402
from tests.questions.test_formats import gift_types  # noqa: E402
from tests.questions.test_moodle_xml import BILLION_LAUGHS, EXTERNAL_ENTITY, every_type  # noqa: E402


def make_items(db, *codes):
    standard = Standard(code="T", version="1", title_zh="标准", title_en="Standard")
    area = StandardArea(standard=standard, code="C", title_zh="领域", title_en="Area")
    db.session.add_all([standard, area])
    db.session.flush()
    for code in codes:
        db.session.add(StandardItem(standard_id=standard.id, area_id=area.id, code=code, title_zh=code,
                                    title_en=code, level="basic", digcomp=[]))
    db.session.commit()


def snapshot(db):
    rows = db.session.execute(
        select(Question.key, Question.name, Question.category, Question.qtype, Question.difficulty, Question.tags,
               StandardItem.code, QuestionVersion.stem, QuestionVersion.stem_format, QuestionVersion.spec,
               QuestionVersion.general_feedback)
        .join(QuestionVersion, QuestionVersion.id == Question.current_version_id)
        .outerjoin(StandardItem, StandardItem.id == Question.standard_item_id).order_by(Question.key)).all()
    return [tuple(r) for r in rows]


def clear_questions(db):
    db.session.execute(update(Question).values(current_version_id=None))
    db.session.execute(delete(QuestionVersion))
    db.session.execute(delete(Question))
    db.session.commit()


def cli(app, *args):
    result = app.test_cli_runner().invoke(args=["questions", *map(str, args)])
    assert "Traceback" not in result.output
    return result


def test_aiken_errors_fixture_changes_nothing_then_skip_invalid_imports_the_good_ones(app, db):
    path = FIXTURES / "aiken_errors.txt"
    result = cli(app, "import", path, "--format", "aiken")
    assert result.exit_code == 1 and _count(db) == 0
    for line in (3, 5, 7, 18):
        assert f"{path}:{line}: " in result.output
    result = cli(app, "import", path, "--format", "aiken", "--skip-invalid")
    assert result.exit_code == 0 and _count(db) == 2
    assert result.output.count("skipped: ") == 4
    assert sorted(db.session.execute(select(Question.name)).scalars()) == ["A good question", "A second good question"]


def test_xml_fixture_imports_with_nested_categories(app, db):
    result = cli(app, "import", FIXTURES / "nested_categories_with_questions.xml", "--format", "xml")
    assert result.exit_code == 0, result.output
    assert sorted(db.session.execute(select(Question.name, Question.category, Question.qtype)).all()) == [
        ("Iota Question", "Iota", "true_false"), ("Kappa Essay Question", "Iota/Kappa", "essay"),
        ("Kappa Question", "Iota/Kappa", "true_false"), ("Lambda Question", "Iota/Kappa/Lambda", "true_false"),
        ("Mu Question", "Iota/Mu", "true_false")]


@pytest.mark.parametrize("data", [BILLION_LAUGHS, EXTERNAL_ENTITY], ids=["laughs", "xxe"])
def test_hostile_xml_is_refused_with_nothing_stored(app, db, tmp_path, data):
    good = tmp_path / "good.xml"
    good.write_text("".join(write("xml", every_type()[:2])), encoding="utf-8")
    bad = tmp_path / "bad.xml"
    bad.write_bytes(data)
    started = time.perf_counter()
    result = cli(app, "import", good, bad, "--format", "xml")
    assert time.perf_counter() - started < 5
    assert result.exit_code == 1
    assert f"{bad}:0: refused: the file declares a DTD, entities or external references" in result.output
    assert "nothing was changed" in result.output and _count(db) == 0


def test_over_large_file_and_question_are_refused(app, db, tmp_path):
    path = tmp_path / "big.gift"
    path.write_text("::a::" + "很长" * 200 + "{T}\n\n::b::短{F}\n", encoding="utf-8")
    app.config["QUESTION_IMPORT_MAX_BYTES"] = 500
    try:
        result = cli(app, "import", path)
    finally:
        del app.config["QUESTION_IMPORT_MAX_BYTES"]
    assert result.exit_code == 1 and "more than the limit of 500 (QUESTION_IMPORT_MAX_BYTES)" in result.output
    app.config["QUESTION_MAX_CHARS"] = 300
    try:
        result = cli(app, "import", path)
        assert result.exit_code == 1 and _count(db) == 0
        assert f"{path}:1: question 'a': size: the question is" in result.output
        result = cli(app, "import", path, "--skip-invalid")
    finally:
        del app.config["QUESTION_MAX_CHARS"]
    assert result.exit_code == 0 and _count(db) == 1 and "skipped: " in result.output


def test_errors_name_file_line_and_field(app, db, tmp_path):
    make_items(db, "C3")
    path = tmp_path / "bad.gift"
    path.write_text("// [tag:item:C9]\n::a::题{T}\n\n// [tag:difficulty:超难]\n::b::题{F}\n\n"
                    "::c::题{~%50%甲 ~%50%乙 ~%50%丙}\n", encoding="utf-8")
    result = cli(app, "import", path)
    assert result.exit_code == 1 and _count(db) == 0
    assert f"{path}:2: question 'a': tag item: unknown standard item 'C9'" in result.output
    assert f"{path}:5: question 'b': tag difficulty: difficulty '超难' is not one of" in result.output
    assert f"{path}:7: " in result.output


def test_difficulty_spellings_and_items_are_stored(app, db, tmp_path):
    make_items(db, "C3")
    path = tmp_path / "d.gift"
    path.write_text("// [id:D1] [tag:item:C3] [tag:difficulty:易]\n::a::题一{T}\n\n"
                    "// [id:D2] [tag:difficulty:2]\n::b::题二{T}\n\n// [id:D3] [tag:difficulty:Hard]\n::c::题三{T}\n",
                    encoding="utf-8")
    assert cli(app, "import", path).exit_code == 0
    assert sorted(db.session.execute(select(Question.key, Question.difficulty)).all()) == [
        ("D1", "easy"), ("D2", "medium"), ("D3", "hard")]


@pytest.mark.parametrize("fmt", ["gift", "aiken", "xml"])
def test_export_then_import_reproduces_the_questions(app, db, tmp_path, fmt):
    make_items(db, "C3")
    source = tmp_path / f"source.{fmt}"
    if fmt == "aiken":
        source.write_bytes((FIXTURES / "questions.aiken.txt").read_bytes())
    else:
        source.write_text("".join(write(fmt, gift_types() if fmt == "gift" else every_type())), encoding="utf-8")
    assert cli(app, "import", source, "--format", fmt).exit_code == 0
    before = snapshot(db)
    assert len(before) == {"gift": 7, "aiken": 2, "xml": 8}[fmt]
    out = tmp_path / f"out.{fmt}"
    result = cli(app, "export", "--format", fmt, out)
    assert result.exit_code == 0, result.output
    clear_questions(db)
    assert cli(app, "import", out, "--format", fmt).exit_code == 0
    assert snapshot(db) == before


def test_export_by_item_and_refusal_of_what_the_format_cannot_hold(app, db, tmp_path):
    make_items(db, "C3", "C4")
    source = tmp_path / "s.xml"
    questions = every_type()
    questions[0].tags = ["item:C4"]
    source.write_text("".join(write("xml", questions)), encoding="utf-8")
    assert cli(app, "import", source, "--format", "xml").exit_code == 0
    out = tmp_path / "c4.gift"
    assert cli(app, "export", "--format", "gift", "--item", "C4", out).exit_code == 0
    assert out.read_text(encoding="utf-8").count("::") == 2  # one ::name::
    out = tmp_path / "all.gift"
    result = cli(app, "export", "--format", "gift", out)
    assert result.exit_code == 1 and not out.exists()
    assert "GIFT has no ordering questions" in result.output
    result = cli(app, "export", "--format", "gift", "--skip-invalid", out)
    assert result.exit_code == 0 and out.exists() and "skipped: question" in result.output


def _many(n, start=0, broken_at=None):
    parts = []
    for i in range(start, start + n):
        body = "{=甲 ~乙 ~丙 ~丁}" if i != broken_at else "{=甲 ~乙"
        parts.append(f"// [id:N-{i}] [tag:difficulty:easy]\n::N-{i}::第 {i} 题{body}\n")
    return "\n".join(parts)


def test_large_import_runs_in_batches_without_per_row_queries(app, db, tmp_path):
    path = tmp_path / "many.gift"
    path.write_text(_many(2500), encoding="utf-8")
    statements = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement.split()[0])

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        result = cli(app, "import", path)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert result.exit_code == 0, result.output
    assert _count(db) == 2500
    assert db.session.execute(select(func.count()).where(Question.current_version_id.is_(None))).scalar_one() == 0
    # 3 batches, each: SELECT of its keys, INSERT questions, SELECT their ids, INSERT versions,
    # SELECT the new version ids, UPDATE current versions (each an executemany); plus the item codes
    assert statements.count("SELECT") <= 10, statements
    assert len(statements) < 60, len(statements)
    changed = path.read_text(encoding="utf-8").replace("第 7 题", "第七题")
    path.write_text(changed, encoding="utf-8")
    result = cli(app, "import", path)
    assert "1 changed (new version), 2499 unchanged" in result.output


def test_an_error_after_flushed_batches_changes_nothing(app, db, tmp_path):
    path = tmp_path / "many.gift"
    path.write_text(_many(2500, broken_at=2400), encoding="utf-8")
    result = cli(app, "import", path)
    assert result.exit_code == 1 and f"{path}:" in result.output and "nothing was changed" in result.output
    assert _count(db) == 0


def test_category_gift_fixture_imports_four_questions_in_the_category(app, db):
    result = cli(app, "import", FIXTURES / "questions_in_category.gift.txt")
    assert result.exit_code == 0, result.output
    assert sorted(db.session.execute(select(Question.name, Question.qtype, Question.category)).all()) == [
        ("Greeting", "single_choice", "Default for New Features"),
        ("Moodle acronym", "true_false", "Default for New Features"),
        ("Moodle activities", "matching", "Default for New Features"),
        ("Moodle user", "short_answer", "Default for New Features")]
