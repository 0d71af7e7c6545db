"""The shipped practical tasks (question_bank/tasks): every reference solution scores 100, every
starter file scores below the pass mark, every hand-made half-right file scores the value asserted
here (and stated in its task.yaml), and content validation passes."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from app.practical.checking import check_file
from app.practical.tasks import load_all_tasks, load_task
from app.practical.validate import validate_tasks

ROOT = Path(__file__).resolve().parents[2]
TASKS = ROOT / "question_bank" / "tasks"
ALL = {t.id: t for t in load_all_tasks(TASKS)}

#: task id -> (half-right file, points it must score out of 20). Each is a plausible partly-done answer.
HALF_RIGHT = {
    "doc-gongwen-format": ("half_right.docx", 10),  # page, title, date right; body font, spacing, red line, page no. not
    "doc-qingshi": ("half_right.docx", 9),          # formatting right; recipient, 签发人, closing, date, 附注 not fixed
    "doc-tongzhi": ("half_right.docx", 8),          # title and level-1 headings right; the rest not
    "doc-table": ("half_right.docx", 11),           # table made; header not bold/repeating, title not centred
    "doc-mail-merge": ("half_right.docx", 10),      # six notices, but no page breaks
    "xls-formulas-refs": ("half_right.xlsx", 10),   # relative reference where $B$10 was needed; no % format
    "xls-sort-filter": ("half_right.xlsx", 11),     # sorted, no filter
    "xls-sumifs": ("half_right.xlsx", 10),          # SUMIF on the division only; COUNTIFS right
    "xls-pivot": ("half_right.xlsx", 8),            # pivot counts 学时 instead of adding them
    "xls-chart": ("half_right.xlsx", 10),           # column chart right; no title, no highlight
    "ppt-briefing": ("half_right.pptx", 10),        # layout and last slide right; picture, notes, count not
    "ppt-training": ("half_right.pptx", 13),        # slides and titles right; body too small, no notes
}


def test_twelve_tasks_of_the_required_kinds():
    kinds = Counter(t.kind for t in ALL.values())
    assert kinds == {"docx": 5, "xlsx": 5, "pptx": 2}
    assert set(ALL) == set(HALF_RIGHT)
    assert {t.standard_item for t in ALL.values()} <= {"B4", "C1", "C2", "C3", "C4", "C5"}


@pytest.mark.parametrize("task_id", sorted(ALL))
def test_reference_scores_100(task_id):
    task = ALL[task_id]
    result = check_file(task, task.reference_file.read_bytes())
    failed = [(r.rule_id, r.detail_en) for r in result.rules if not r.passed]
    assert failed == []
    assert result.fraction == 1.0 and result.points_awarded == task.points


@pytest.mark.parametrize("task_id", sorted(ALL))
def test_starter_scores_below_the_pass_mark(task_id):
    task = ALL[task_id]
    result = check_file(task, task.starter_file.read_bytes())
    assert result.refused_code is None
    assert result.fraction < task.pass_fraction
    assert not result.passed(task)


@pytest.mark.parametrize("task_id", sorted(ALL))
def test_half_right_file_scores_its_asserted_value(task_id):
    task = ALL[task_id]
    name, points = HALF_RIGHT[task_id]
    result = check_file(task, (task.folder / name).read_bytes())
    assert result.points_awarded == points
    assert result.fraction == pytest.approx(points / task.points)
    assert 0 < result.points_awarded < task.points
    # the task file states the same expectation (checked by content sync --check)
    assert [(s.file.name, s.expected_points) for s in task.samples] == [(name, points)]
    # every rule result speaks plain words in both languages
    for r in result.rules:
        assert r.description_zh and r.description_en and r.detail_zh and r.detail_en
        assert r.awarded == (r.points if r.passed else 0)


def test_validate_tasks_passes_on_the_shipped_tasks():
    assert validate_tasks(TASKS) == []


def test_instructions_are_chinese_markdown_and_files_sit_in_the_folder():
    for task in ALL.values():
        assert "上传" in task.instructions
        for p in (task.starter_file, task.reference_file, *[s.file for s in task.samples]):
            assert p.is_relative_to(task.folder.resolve())
        assert task.points == sum(r.points for r in task.rules) == 20


def test_fingerprint_changes_with_task_yaml_and_starter(tmp_path):
    import shutil

    from app.practical.tasks import task_fingerprint

    src = TASKS / "doc-table"
    dst = tmp_path / "doc-table"
    shutil.copytree(src, dst)
    first = task_fingerprint(load_task(dst))
    assert first == task_fingerprint(load_task(dst))
    (dst / "task.yaml").write_text((dst / "task.yaml").read_text(encoding="utf-8").replace("points: 5", "points: 6"),
                                   encoding="utf-8")
    second = task_fingerprint(load_task(dst))
    assert second != first
    (dst / "starter.docx").write_bytes((dst / "reference.docx").read_bytes())
    assert task_fingerprint(load_task(dst)) not in (first, second)


def test_spreadsheet_references_saved_again_by_another_office_suite_still_score_100(tmp_path):
    """The rules read what any suite writes, not openpyxl's habits: every .xlsx reference opened
    and saved again by LibreOffice Calc (its own XML, shared strings, recomputed cached values,
    its own pivot and chart parts) still scores 100. Skipped where LibreOffice is not installed."""
    import shutil
    import subprocess

    soffice = shutil.which("soffice")
    if soffice is None:
        pytest.skip("LibreOffice not installed")
    tasks = [t for t in ALL.values() if t.kind == "xlsx"]
    for t in tasks:
        shutil.copy(t.reference_file, tmp_path / f"{t.id}.xlsx")
    out = tmp_path / "out"
    subprocess.run([soffice, "--headless", "--norestore", f"-env:UserInstallation=file://{tmp_path}/profile",
                    "--convert-to", "xlsx:Calc MS Excel 2007 XML", "--outdir", str(out),
                    *[str(tmp_path / f"{t.id}.xlsx") for t in tasks]], check=True, capture_output=True, timeout=180)
    for t in tasks:
        saved = (out / f"{t.id}.xlsx").read_bytes()
        assert saved != t.reference_file.read_bytes()
        result = check_file(t, saved)
        assert [(r.rule_id, r.detail_en) for r in result.rules if not r.passed] == [], t.id
