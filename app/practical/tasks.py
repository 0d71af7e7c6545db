"""Practical task files: ``question_bank/tasks/<id>/task.yaml`` plus the starter file, the reference
solution and sample files next to it. Format: docs/content-format.md, "Practical tasks".

``load_task(folder)`` reads and validates one folder, ``load_all_tasks(root)`` every folder under
``root`` (``question_bank/tasks``), ``task_fingerprint(task)`` is the content hash a question version
is keyed by. Errors raise ``TaskFileError(path, line, field, message)``.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from app.practical.rules import Fields, Rule, TaskFileError, Where, rule_from_yaml

# Rule kinds register themselves on import.
from app.practical import rules_docx, rules_pptx, rules_xlsx  # noqa: F401,E402  isort:skip

KINDS = ("docx", "xlsx", "pptx")
ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")
ITEM_RE = re.compile(r"^[A-Z][0-9]{1,2}$")
TASK_FILE = "task.yaml"


@dataclass
class Sample:
    """A hand-made sample answer kept with the task (e.g. a half-right file) and the score it must get:
    ``expected_points`` out of the task's points. Checked by ``validate_tasks`` and the tests."""

    file: Path
    expected_points: float
    note: str = ""


@dataclass
class Task:
    """One practical task.

    ``kind`` is the file type the candidate uploads ("docx" | "xlsx" | "pptx"); ``difficulty`` 1 (easy)
    to 3 (hard); ``points`` is the sum of the rules' points; ``pass_fraction`` (0–1) is the share of
    points at which the task counts as done (the starter file must score below it);
    ``instructions`` Markdown in Chinese; ``starter_file`` / ``reference_file`` absolute paths inside
    the task folder; ``source`` the path of task.yaml. ``title_en`` / ``instructions_en`` are optional
    English versions (may be empty).
    """

    id: str
    title: str
    standard_item: str
    kind: str
    difficulty: int
    points: int
    pass_fraction: float
    instructions: str
    starter_file: Path
    reference_file: Path
    rules: list[Rule]
    source: Path
    title_en: str = ""
    instructions_en: str = ""
    samples: list[Sample] = field(default_factory=list)

    @property
    def folder(self) -> Path:
        """The task folder (parent of task.yaml)."""
        return self.source.parent

    @property
    def download_name(self) -> str:
        """File name offered to the candidate for the starter file, e.g. ``doc-qingshi.docx``."""
        return f"{self.id}.{self.kind}"


class _LineDict(dict):
    """A YAML mapping that remembers its own line and the line of each key (1-based)."""

    line: int = 0
    lines: dict


class _LineLoader(yaml.SafeLoader):
    def construct_mapping(self, node, deep=False):
        mapping = _LineDict(super().construct_mapping(node, deep=deep))
        mapping.line = node.start_mark.line + 1
        mapping.lines = {}
        for key_node, _ in node.value:
            try:
                mapping.lines[self.construct_object(key_node)] = key_node.start_mark.line + 1
            except Exception:  # unhashable keys are reported by SafeLoader itself
                pass
        return mapping


_LineLoader.add_constructor("tag:yaml.org,2002:map", _LineLoader.construct_mapping)


def _where(path: Path, mapping, prefix: str = "") -> Where:
    return Where(path, getattr(mapping, "line", None), getattr(mapping, "lines", None), prefix)


def _inside(folder: Path, name: str, where: Where, field_name: str) -> Path:
    """Resolve ``name`` relative to ``folder``; it must exist and stay inside the folder after
    symlinks are resolved (no ``..``, no absolute paths, no links out)."""
    if Path(name).is_absolute():
        raise where.error(field_name, f"{name!r} must be a file name inside the task folder")
    base = folder.resolve()
    target = (folder / name).resolve()
    if not target.is_relative_to(base):
        raise where.error(field_name, f"{name!r} points outside the task folder")
    if not target.is_file():
        raise where.error(field_name, f"file {name!r} not found in {folder}")
    return target


def load_task(folder: Path) -> Task:
    """Read and validate ``folder/task.yaml``; return the ``Task``.

    Checks every field (types, ranges, unknown fields), the rule specs (known kinds of the task's file
    type, their fields), unique rule ids, that the id equals the folder name and that the files named
    resolve inside the folder with the task's extension. Raises ``TaskFileError`` (file, line, field,
    message) on the first problem. Does not score the files (``validate_tasks`` does).
    """
    folder = Path(folder)
    path = folder / TASK_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TaskFileError(path, None, None, f"cannot read file ({exc})") from exc
    task = parse_task(text, path, folder.name, lambda name, where, field_name: _inside(folder, name, where, field_name))
    task.source = path.resolve()
    return task


def task_from_snapshot(task_yaml: bytes, task_id: str, source: str) -> Task:
    """The ``Task`` of a stored snapshot: ``task_yaml`` is the task.yaml bytes kept with a question
    version (``practical_task_file``), ``task_id`` the id it must carry, ``source`` a label for error
    messages (e.g. ``question_version 12``). The same checks as :func:`load_task` except that the files
    it names are not looked up on disk: ``starter_file``, ``reference_file`` and the samples' ``file``
    are then bare names (``Path("starter.docx")``), whose bytes the caller has with the snapshot.
    Raises ``TaskFileError`` (a snapshot is validated when stored, so only a damaged row does)."""
    path = Path(source)
    try:
        text = task_yaml.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise TaskFileError(path, None, None, f"cannot read file ({exc})") from exc
    return parse_task(text, path, task_id, lambda name, where, field_name: _bare_name(name, where, field_name))


def _bare_name(name: str, where: Where, field_name: str) -> Path:
    """A file named in a snapshot's task.yaml: one plain name (no folders), not read from disk."""
    if Path(name).is_absolute() or Path(name).name != name or name in (".", ".."):
        raise where.error(field_name, f"{name!r} must be a file name inside the task folder")
    return Path(name)


def parse_task(text: str, path: Path, folder_name: str, resolve) -> Task:
    """Validate the task.yaml ``text`` (``path`` is used in errors and kept as ``Task.source``; the id
    must equal ``folder_name``); ``resolve(name, where, field)`` turns each file name (starter,
    reference, samples) into a ``Path`` or raises ``TaskFileError``. See :func:`load_task`."""
    try:
        data = yaml.load(text, Loader=_LineLoader)  # noqa: S506  # nosec B506 - SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise TaskFileError(path, mark.line + 1 if mark else None, None,
                            f"YAML syntax error: {getattr(exc, 'problem', None) or exc}") from exc
    top = _where(path, data)
    f = Fields(data, top)
    task_id = f.str("id")
    if not ID_RE.match(task_id):
        raise top.error("id", "use lower-case letters, digits and hyphens (2–63 characters)")
    if task_id != folder_name:
        raise top.error("id", f"must equal the folder name {folder_name!r}")
    title = f.str("title")
    title_en = f.str("title_en", required=False, default="")
    item = f.str("standard_item")
    if not ITEM_RE.match(item):
        raise top.error("standard_item", "must be a standard item code such as C1")
    kind = f.choice("kind", KINDS)
    difficulty = f.int("difficulty", minimum=1, maximum=3)
    pass_fraction = f.num("pass_fraction", required=False, default=0.6, minimum=0.05, maximum=1.0)
    instructions = f.str("instructions")
    instructions_en = f.str("instructions_en", required=False, default="")
    files = {}
    for name in ("starter", "reference"):
        value = f.str(name)
        if not value.lower().endswith("." + kind):
            raise top.error(name, f"must be a .{kind} file")
        files[name] = resolve(value, top, name)
    samples = []
    raw_samples = f.raw("samples", required=False, default=[])
    if not isinstance(raw_samples, list):
        raise top.error("samples", "must be a list")
    for i, spec in enumerate(raw_samples):
        sw = _where(path, spec, f"samples[{i}].")
        sf = Fields(spec, sw)
        name = sf.str("file")
        if not name.lower().endswith("." + kind):
            raise sw.error("file", f"must be a .{kind} file")
        samples.append(Sample(resolve(name, sw, "file"), sf.num("expected_points", minimum=0),
                              sf.str("note", required=False, default="")))
        sf.done()
    raw_rules = f.raw("rules")
    if not isinstance(raw_rules, list) or not raw_rules:
        raise top.error("rules", "must be a non-empty list")
    rules: list[Rule] = []
    seen: set[str] = set()
    for i, spec in enumerate(raw_rules):
        rw = _where(path, spec, f"rules[{i}].")
        rule = rule_from_yaml(spec, rw, kind)
        if rule.id in seen:
            raise rw.error("id", f"duplicate rule id {rule.id!r}")
        seen.add(rule.id)
        rules.append(rule)
    f.done()
    points = sum(r.points for r in rules)
    for i, s in enumerate(samples):
        if s.expected_points > points:
            raise top.error("samples", f"sample {i}: expected_points above the task's {points} points")
    return Task(id=task_id, title=title, standard_item=item, kind=kind, difficulty=difficulty, points=points,
                pass_fraction=float(pass_fraction), instructions=instructions, starter_file=files["starter"],
                reference_file=files["reference"], rules=rules, source=path, title_en=title_en,
                instructions_en=instructions_en, samples=samples)


def load_all_tasks(root: Path) -> list[Task]:
    """Every task under ``root`` (each sub-folder holding a task.yaml), sorted by id; ``[]`` when
    ``root`` does not exist. Raises ``TaskFileError`` on the first invalid task."""
    root = Path(root)
    if not root.is_dir():
        return []
    return [load_task(p.parent) for p in sorted(root.glob(f"*/{TASK_FILE}"))]


def task_fingerprint(task: Task) -> str:
    """SHA-256 hex digest over task.yaml and the starter file's bytes: any change of either (rules,
    points, instructions, starter) gives a new fingerprint, so the exam makes a new question version."""
    return fingerprint_of(*read_task_files(task))


def read_task_files(task: Task) -> tuple[bytes, bytes]:
    """``(task.yaml bytes, starter bytes)`` of a task loaded from its folder: what a question version
    keeps (``practical_task_file``) and what :func:`fingerprint_of` hashes. Raises OSError."""
    return Path(task.source).read_bytes(), Path(task.starter_file).read_bytes()


def fingerprint_of(task_yaml: bytes, starter: bytes) -> str:
    """SHA-256 hex over each part's length (8 bytes, big-endian) and bytes, task.yaml then starter."""
    h = hashlib.sha256()
    for data in (task_yaml, starter):
        h.update(len(data).to_bytes(8, "big"))
        h.update(data)
    return h.hexdigest()
