"""``validate_tasks(root)``: everything ``flask content sync --check`` asks of the practical tasks.

For every folder under ``root`` (``question_bank/tasks``) holding a task.yaml: the file loads
(fields, rule kinds and their fields, paths inside the folder — ``load_task``), the id is unique,
the standard item exists in the standards (when ``standards_dir`` is given), the reference solution
scores 100 % (fraction 1.0), the starter file scores below ``pass_fraction`` and each sample scores
its ``expected_points``. Files are checked in this process with ``check_file`` (they are our own).
"""
from __future__ import annotations

from pathlib import Path

import yaml

from app.practical.checking import check_file
from app.practical.rules import TaskFileError
from app.practical.tasks import TASK_FILE, load_task


def _standard_items(standards_dir: Path) -> set[str]:
    codes: set[str] = set()
    for path in sorted(standards_dir.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for area in data.get("areas") or []:
            for item in area.get("items") or []:
                if isinstance(item, dict) and item.get("code"):
                    codes.add(str(item["code"]))
    return codes


def _failed_rules(result) -> str:
    return "; ".join(f"{r.rule_id}: {r.detail_en}" for r in result.rules if not r.passed)


def validate_tasks(root: Path, standards_dir: Path | None = None) -> list[str]:
    """Error lines ``file[:line]: field: message`` for every problem found; ``[]`` when all tasks are
    fit. ``standards_dir`` defaults to ``root/../standards`` when it exists. Never raises for bad
    content; a missing ``root`` gives ``[]``."""
    root = Path(root)
    if not root.is_dir():
        return []
    if standards_dir is None and (root.parent / "standards").is_dir():
        standards_dir = root.parent / "standards"
    items = _standard_items(standards_dir) if standards_dir else None
    errors: list[str] = []
    ids: dict[str, Path] = {}
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))):
        yaml_path = folder / TASK_FILE
        if not yaml_path.is_file():
            errors.append(f"{folder}: no {TASK_FILE} in this task folder")
            continue
        try:
            task = load_task(folder)
        except TaskFileError as exc:
            errors.append(str(exc))
            continue
        if task.id in ids:
            errors.append(f"{yaml_path}: id: duplicate task id {task.id!r} (also {ids[task.id]})")
        ids[task.id] = yaml_path
        if items is not None and task.standard_item not in items:
            errors.append(f"{yaml_path}: standard_item: {task.standard_item!r} is not an item of the standards")
        ref = check_file(task, task.reference_file.read_bytes(), task.reference_file.name)
        if ref.fraction < 1.0 - 1e-9:
            errors.append(f"{yaml_path}: reference: {task.reference_file.name} scores "
                          f"{ref.points_awarded:g}/{task.points}, must score all points ({_failed_rules(ref)})")
        start = check_file(task, task.starter_file.read_bytes(), task.starter_file.name)
        if start.fraction >= task.pass_fraction:
            errors.append(f"{yaml_path}: starter: {task.starter_file.name} scores {start.points_awarded:g}/"
                          f"{task.points}, must be below the pass mark ({task.pass_fraction:g})")
        for i, sample in enumerate(task.samples):
            got = check_file(task, sample.file.read_bytes(), sample.file.name)
            if abs(got.points_awarded - sample.expected_points) > 1e-6:
                errors.append(f"{yaml_path}: samples[{i}].expected_points: {sample.file.name} scores "
                              f"{got.points_awarded:g}, task.yaml says {sample.expected_points:g}")
    return errors
