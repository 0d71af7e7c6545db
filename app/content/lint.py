"""Content lint: is the question bank fit for an exam? (``flask content sync --check``, ``content stats``)

Reads the files only (standards/*.yaml, questions/*.gift, courses/*/course.yaml); no database.
Figures per GIFT file:

* **longest-key share**: of the single-choice questions, the percentage (0–100) whose key is
  *strictly* longer than every distractor, by displayed characters (Markdown stripped, runs of
  white space counted once). A test-wise candidate who always picks the longest option scores
  this share without knowing anything; with four options of comparable length it is about 25 %.
* **key-count spread** of multiple-response questions: how many have 1, 2, 3, 4 … right options
  (options with a positive weight). A file where all of them have the same count is warned about:
  candidates learn to pick that many.
* **all-keys share** of multiple-response questions: the percentage (0–100) whose *every* option is
  a key. Wrong options weigh −100 % and a score is clamped at 0, so ticking every option earns full
  marks on exactly these questions and nothing on the others: the share is what a test-wise "tick
  all" candidate scores on multiple response without knowing anything.
* **blueprint pools**: for every blueprint row of every course's exams (``exam:`` and each of
  ``extra_exams:``), what the draw could pick: the questions of the row's item (or area) and
  difficulty in the whole bank — of the row's ``type`` when it names one (``type: practical``: the
  task folders under ``question_bank/tasks`` of that item, task difficulty 1/2/3 read as
  easy/medium/hard), otherwise of every type a row without ``type`` draws (never a task). A row fails
  below ``POOL_FACTOR`` × its count (so three attempts do not show a candidate most of a row's
  questions), reported as ``<course.yaml>: exam.blueprint[i]`` or ``extra_exams[<code>].blueprint[i]``
  with field ``count``. A failing question row is charged to each file holding questions of that
  item or area.

Practical tasks (``question_bank/tasks``) are validated with ``app.practical.validate.validate_tasks``:
each problem (bad task.yaml, reference not scoring 100, starter at or above the pass mark, a sample not
scoring what task.yaml says) is a failure.

Thresholds (issue 9): whole bank longest-key share under ``BANK_MAX_LONGEST_SHARE`` %, no file over
``FILE_MAX_LONGEST_SHARE`` %, every row at least ``POOL_FACTOR`` × its count; all-keys share of the
whole bank at most ``BANK_MAX_ALL_KEYS_SHARE`` %, of each file at most ``FILE_MAX_ALL_KEYS_SHARE`` %. Standard items with
fewer than ``MIN_ITEM_QUESTIONS`` questions are reported as a warning, not a failure.
"""
from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from app.content.report import ContentError, load_yaml
from app.practical.validate import validate_tasks
from app.questions.gift import parse_gift
from app.questions.types import REGISTRY

BANK_MAX_LONGEST_SHARE = 35.0   # percent; the bank fails at or above it
FILE_MAX_LONGEST_SHARE = 45.0   # percent; a file fails above it
POOL_FACTOR = 3                 # a row needs pool >= POOL_FACTOR * count
MIN_ITEM_QUESTIONS = 20         # fewer questions for a standard item: reported
# All-keys share (percent; fails above). Blind guessing on a four-option single-choice item earns 25 %;
# "tick all" must earn well under that: at most 1 multiple-response item in 10 over the bank, and 1 in 5
# in a file (files hold 4–20 such items, so a file needs some slack, but a file of fewer than five has
# none). Zero is not the aim: with no all-key item at all, "never tick all four" would be a safe rule.
BANK_MAX_ALL_KEYS_SHARE = 10.0
FILE_MAX_ALL_KEYS_SHARE = 20.0

#: Question types an exam draws (``app.questions.types.REGISTRY``); others are not counted.
DRAWABLE = ("single_choice", "multiple_choice", "true_false")
TYPE_LABELS = {"single_choice": "single", "multiple_choice": "multiple", "true_false": "true/false"}
DIFFICULTIES = ("easy", "medium", "hard")

_MD_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_MD_MARKS = re.compile(r"(\*\*|__|\*|`|~~|<[^>]+>)")
_SPACE = re.compile(r"\s+")


def display_length(text: str) -> int:
    """Characters a candidate sees for ``text``: Markdown links, emphasis, code marks and HTML tags
    removed, surrounding space trimmed and inner runs of white space counted as one."""
    text = _MD_LINK.sub(r"\1", text)
    text = _MD_MARKS.sub("", text)
    return len(_SPACE.sub(" ", text).strip())


@dataclass
class FileLint:
    """Figures for one GIFT file. ``path`` is relative to the bank's parent (``question_bank/questions/x.gift``)."""

    path: str
    single_choice: int = 0
    longest_key: int = 0
    key_counts: Counter = field(default_factory=Counter)  # right options -> multiple-response questions
    all_keys: int = 0                                      # multiple-response questions whose every option is a key
    items: set = field(default_factory=set)                # standard item codes with questions here
    failures: list[str] = field(default_factory=list)

    @property
    def longest_share(self) -> float | None:
        """Percent (0–100) of single-choice keys strictly the longest; None without single-choice questions."""
        return 100.0 * self.longest_key / self.single_choice if self.single_choice else None

    @property
    def multiple_response(self) -> int:
        """Number of multiple-response questions in the file."""
        return sum(self.key_counts.values())

    @property
    def all_keys_share(self) -> float | None:
        """Percent (0–100) of multiple-response questions whose every option is a key; None without any."""
        return 100.0 * self.all_keys / self.multiple_response if self.multiple_response else None


@dataclass
class RowLint:
    """One exam blueprint row and the size of the pool it draws from. ``exam`` is the exam's code (the
    course slug for ``exam:``, the entry's ``code`` for ``extra_exams:``), ``qtype`` the row's ``type``
    (None: every type an untyped row draws)."""

    course: str
    index: int
    label: str          # "A1" or "area A"
    difficulty: str     # easy | medium | hard | any
    count: int
    pool: int
    exam: str = ""
    qtype: str | None = None

    @property
    def ok(self) -> bool:
        """True if the pool holds at least POOL_FACTOR × count questions."""
        return self.pool >= POOL_FACTOR * self.count


@dataclass
class LintReport:
    """The lint of a whole bank: per-file figures, rows, items and everything that fails or is warned."""

    files: list[FileLint] = field(default_factory=list)
    rows: list[RowLint] = field(default_factory=list)
    item_counts: dict = field(default_factory=dict)   # item code -> drawable questions (all items of the standard)
    failures: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    practical_tasks: int = 0   # task folders under question_bank/tasks checked by validate_tasks

    def file(self, path: str) -> FileLint:
        """The figures of the file at ``path`` (as in ``FileLint.path``); KeyError if absent."""
        for f in self.files:
            if f.path == path:
                return f
        raise KeyError(path)

    @property
    def bank_longest_share(self) -> float | None:
        """Percent (0–100) of single-choice keys strictly the longest over every file."""
        total = sum(f.single_choice for f in self.files)
        return 100.0 * sum(f.longest_key for f in self.files) / total if total else None

    @property
    def bank_all_keys_share(self) -> float | None:
        """Percent (0–100) of multiple-response questions, over every file, whose every option is a key."""
        total = sum(f.multiple_response for f in self.files)
        return 100.0 * sum(f.all_keys for f in self.files) / total if total else None

    @property
    def small_items(self) -> list[tuple[str, int]]:
        """``(item code, questions)`` for the standard items with fewer than MIN_ITEM_QUESTIONS."""
        return [(code, n) for code, n in self.item_counts.items() if n < MIN_ITEM_QUESTIONS]

    @property
    def passed(self) -> bool:
        """True if no threshold is broken (warnings do not count)."""
        return not self.failures

    def lines(self) -> list[str]:
        """Human-readable report: one line per file, the bank line, failing rows, failures and warnings."""
        out = []
        for f in self.files:
            share = "n/a" if f.longest_share is None else f"{f.longest_share:.1f} %"
            spread = "/".join(str(f.key_counts.get(k, 0)) for k in (2, 3, 4))
            other = sum(n for k, n in f.key_counts.items() if k not in (2, 3, 4))
            state = "FAIL" if f.failures else "ok"
            every = "" if f.all_keys_share is None else f", all keys {f.all_keys} = {f.all_keys_share:.1f} %"
            out.append(f"{f.path}: longest key {f.longest_key}/{f.single_choice} = {share}; "
                       f"multiple response {f.multiple_response} (keys 2/3/4: {spread}"
                       f"{f', other: {other}' if other else ''}{every}) [{state}]")
        share = self.bank_longest_share
        out.append(f"whole bank: longest key {'n/a' if share is None else f'{share:.1f} %'} "
                   f"(limit: under {BANK_MAX_LONGEST_SHARE:g} %, no file over {FILE_MAX_LONGEST_SHARE:g} %)")
        every = self.bank_all_keys_share
        out.append(f"whole bank: multiple response with every option a key "
                   f"{sum(f.all_keys for f in self.files)}/{sum(f.multiple_response for f in self.files)} = "
                   f"{'n/a' if every is None else f'{every:.1f} %'} (limit: at most {BANK_MAX_ALL_KEYS_SHARE:g} %, "
                   f"no file over {FILE_MAX_ALL_KEYS_SHARE:g} %)")
        short = [r for r in self.rows if not r.ok]
        out.append(f"blueprint rows: {len(self.rows) - len(short)} of {len(self.rows)} draw from at least "
                   f"{POOL_FACTOR}× their count")
        out.append(f"practical tasks: {self.practical_tasks} checked (reference scores 100, starter below the pass mark)")
        out += [f"FAIL: {line}" for line in self.failures]
        out += [f"warning: {line}" for line in self.warnings]
        return out


def _read_standards(bank_dir: Path) -> tuple[dict[str, str], list[str]]:
    """Item code -> area code, and the item codes in file order, from ``standards/*.yaml``."""
    area_of: dict[str, str] = {}
    for path in sorted((bank_dir / "standards").glob("*.yaml")):
        data = load_yaml(path)
        for area in (data or {}).get("areas") or []:
            for item in (area or {}).get("items") or []:
                if isinstance(item, dict) and item.get("code"):
                    area_of[str(item["code"])] = str(area.get("code"))
    return area_of, list(area_of)


def _tag(tags: list[str], name: str) -> str | None:
    for tag in tags:
        if tag.startswith(name + ":"):
            return tag.split(":", 1)[1].strip()
    return None


@dataclass
class BankQuestion:
    """What the lint needs of a question: file, type, item, area and difficulty."""

    path: str
    qtype: str
    item: str | None
    area: str | None
    difficulty: str | None


def read_bank(bank_dir: Path, root: Path | None = None, *, all_types: bool = False
              ) -> tuple[list[BankQuestion], list[FileLint], dict[str, str]]:
    """Parse every ``questions/*.gift`` file: the questions of the ``DRAWABLE`` choice types (with
    ``all_types``: of every type the bank knows, for blueprint pools), per-file figures (choice types
    only), item -> area.

    A question the parser rejects is left out (``content sync`` reports it as an error).
    """
    root = root or bank_dir.parent
    area_of, _ = _read_standards(bank_dir)
    questions, files = [], []
    for path in sorted((bank_dir / "questions").glob("*.gift")):
        rel = str(path.relative_to(root)) if path.is_relative_to(root) else str(path)
        lint = FileLint(rel)
        parsed, _errors = parse_gift(path.read_text(encoding="utf-8"))
        for q in parsed:
            item = _tag(q.tags, "item")
            if q.qtype not in DRAWABLE:
                if all_types and q.qtype in REGISTRY:
                    questions.append(BankQuestion(rel, q.qtype, item, area_of.get(item or ""), _tag(q.tags, "difficulty")))
                continue
            questions.append(BankQuestion(rel, q.qtype, item, area_of.get(item or ""), _tag(q.tags, "difficulty")))
            if item:
                lint.items.add(item)
            if q.qtype == "single_choice":
                keys = [o for o in q.options if o.fraction >= 1.0]
                others = [o for o in q.options if o.fraction < 1.0]
                lint.single_choice += 1
                if len(keys) == 1 and others and \
                        display_length(keys[0].text) > max(display_length(o.text) for o in others):
                    lint.longest_key += 1
            elif q.qtype == "multiple_choice":
                keys = sum(1 for o in q.options if o.fraction > 0)
                lint.key_counts[keys] += 1
                if keys == len(q.options):
                    lint.all_keys += 1
        files.append(lint)
    return questions, files, area_of


@dataclass
class BlueprintRowFile:
    """A blueprint row as read from course.yaml: ``course`` slug, ``exam`` code, ``path`` of the file,
    ``where`` (``exam`` or ``extra_exams[<code>]``, as content sync names it), ``index`` and the row."""

    course: str
    exam: str
    path: Path
    where: str
    index: int
    row: dict


def _read_blueprints(courses_dir: Path) -> list[BlueprintRowFile]:
    """Every blueprint row of every exam in ``courses/*/course.yaml``: the ``exam:`` block and each
    ``extra_exams:`` entry with a ``code``. Malformed blocks are skipped (content sync reports them)."""
    rows: list[BlueprintRowFile] = []
    if not courses_dir.exists():
        return rows
    for path in sorted(courses_dir.iterdir()):
        if not (path / "course.yaml").is_file():
            continue
        data = load_yaml(path / "course.yaml")
        if not isinstance(data, dict):
            continue
        exams = [(path.name, "exam", data.get("exam"))]
        extras = data.get("extra_exams")
        for extra in extras if isinstance(extras, list) else []:
            if isinstance(extra, dict) and isinstance(extra.get("code"), str):
                exams.append((extra["code"], f"extra_exams[{extra['code']}]", extra))
        for code, where, exam in exams:
            blueprint = exam.get("blueprint") if isinstance(exam, dict) else None
            for index, row in enumerate(blueprint if isinstance(blueprint, list) else []):
                if isinstance(row, dict):
                    rows.append(BlueprintRowFile(path.name, code, path / "course.yaml", where, index, row))
    return rows


#: Task difficulty (task.yaml 1/2/3) as the bank's difficulty words (as ``app.exams.practical`` syncs it).
TASK_DIFFICULTY = {1: "easy", 2: "medium", 3: "hard"}


def read_task_pool(tasks_dir: Path, area_of: dict[str, str]) -> list[BankQuestion]:
    """The practical tasks under ``tasks_dir`` as the draw sees them (type ``practical``, the task's
    ``standard_item`` and its area, difficulty word). Reads only those fields of each task.yaml; an
    unreadable or malformed task is left out (``validate_tasks`` reports it)."""
    tasks: list[BankQuestion] = []
    if not tasks_dir.is_dir():
        return tasks
    for path in sorted(tasks_dir.glob("*/task.yaml")):
        try:
            data = load_yaml(path)
        except ContentError:
            continue
        if not isinstance(data, dict):
            continue
        item = str(data.get("standard_item") or "") or None
        tasks.append(BankQuestion(str(path.parent), "practical", item, area_of.get(item or ""),
                                  TASK_DIFFICULTY.get(data.get("difficulty"))))
    return tasks


def _row_types(qtype) -> tuple[str, ...]:
    """Question types a row with ``type: qtype`` draws (None: every type that is not deferred, as
    ``app.exams.services.UNTYPED_ROW_TYPES``)."""
    if qtype is None:
        return tuple(name for name, t in REGISTRY.items() if not t.deferred)
    return (str(qtype),)


def lint_content(courses_dir: Path, bank_dir: Path, *, root: Path | None = None) -> LintReport:
    """Lint the bank under ``bank_dir`` against the exams in ``courses_dir``; see the module docstring.

    Paths in the report are relative to ``root`` (default: the parent of ``bank_dir``).
    Raises ContentError only for unreadable YAML; GIFT errors are left to ``content sync``.
    """
    root = root or bank_dir.parent
    all_questions, files, area_of = read_bank(bank_dir, root, all_types=True)
    questions = [q for q in all_questions if q.qtype in DRAWABLE]
    report = LintReport(files=files)
    item_counts = {code: 0 for code in area_of}
    for q in questions:
        if q.item:
            item_counts[q.item] = item_counts.get(q.item, 0) + 1
    report.item_counts = item_counts

    pool_questions = all_questions + read_task_pool(bank_dir / "tasks", area_of)
    for entry in _read_blueprints(courses_dir):
        row = entry.row
        item, area = row.get("item"), row.get("area")
        difficulty = row.get("difficulty") or "any"
        count = row.get("count") if isinstance(row.get("count"), int) else 0
        qtype = row.get("type")
        if item is not None:
            label, match = str(item), (lambda q, code=str(item): q.item == code)
        elif area is not None:
            label, match = f"area {area}", (lambda q, code=str(area): q.area == code)
        else:
            continue  # content sync reports the malformed row
        types = _row_types(qtype)
        pool = [q for q in pool_questions
                if q.qtype in types and match(q) and (difficulty == "any" or q.difficulty == difficulty)]
        r = RowLint(entry.course, entry.index, label, str(difficulty), count, len(pool), entry.exam,
                    str(qtype) if qtype is not None else None)
        report.rows.append(r)
        if not r.ok:
            rel = entry.path.relative_to(root) if entry.path.is_relative_to(root) else entry.path
            kind = f" {qtype}" if qtype is not None else ""
            message = (f"{rel}: {entry.where}.blueprint[{entry.index}]: field 'count': row {label} {difficulty}{kind} "
                       f"draws {count}, but its pool {r.pool} is below {POOL_FACTOR}× the count ({POOL_FACTOR * count})")
            report.failures.append(message)
            if qtype == "practical":
                continue
            for f in files:
                if (item is not None and str(item) in f.items) or \
                        (area is not None and any(area_of.get(i) == str(area) for i in f.items)):
                    f.failures.append(message)

    for f in files:
        share = f.longest_share
        if share is not None and share > FILE_MAX_LONGEST_SHARE:
            message = (f"{f.path}: the key is the longest option in {f.longest_key} of {f.single_choice} "
                       f"single-choice questions ({share:.1f} %), over {FILE_MAX_LONGEST_SHARE:g} %")
            f.failures.insert(0, message)
            report.failures.append(message)
        every = f.all_keys_share
        if every is not None and every > FILE_MAX_ALL_KEYS_SHARE:
            message = (f"{f.path}: every option is a key in {f.all_keys} of {f.multiple_response} "
                       f"multiple-response questions ({every:.1f} %), over {FILE_MAX_ALL_KEYS_SHARE:g} %: "
                       f"replace an option with a plausible wrong one")
            f.failures.insert(0, message)
            report.failures.append(message)
        total_mr = f.multiple_response
        if total_mr >= 3 and len(f.key_counts) == 1:
            keys = next(iter(f.key_counts))
            report.warnings.append(f"{f.path}: all {total_mr} multiple-response questions have {keys} right options")
    share = report.bank_longest_share
    if share is not None and share >= BANK_MAX_LONGEST_SHARE:
        report.failures.append(f"whole bank: the key is the longest option in {share:.1f} % of single-choice "
                               f"questions; it must stay under {BANK_MAX_LONGEST_SHARE:g} %")
    every = report.bank_all_keys_share
    if every is not None and every > BANK_MAX_ALL_KEYS_SHARE:
        report.failures.append(f"whole bank: every option is a key in {every:.1f} % of multiple-response "
                               f"questions; at most {BANK_MAX_ALL_KEYS_SHARE:g} % allowed")
    report.failures += untaught_items(courses_dir, root)
    small = report.small_items
    if small:
        report.warnings.append(f"items with fewer than {MIN_ITEM_QUESTIONS} questions: "
                               + ", ".join(f"{code} ({n})" for code, n in small))
    # Practical tasks (question_bank/tasks/<id>/task.yaml): every file checked as app.practical.validate says.
    tasks_dir = bank_dir / "tasks"
    report.practical_tasks = len(list(tasks_dir.glob("*/task.yaml"))) if tasks_dir.is_dir() else 0
    report.failures += [f"practical task: {line}" for line in validate_tasks(tasks_dir)]
    return report


def untaught_items(courses_dir: Path, root: Path) -> list[str]:
    """One message per course item no lesson teaches, as ``<course.yaml>: field 'items': <code> is taught
    by no lesson …``. A lesson teaches the codes in its ``items`` (course.yaml ``lessons[].items``); a
    lesson without tags counts as teaching every item of its course (as the result page treats it), so
    only a course whose lessons are all tagged can fail. Malformed files are left to ``content sync``."""
    out: list[str] = []
    if not courses_dir.exists():
        return out
    for path in sorted(courses_dir.iterdir()):
        if not (path / "course.yaml").is_file():
            continue
        data = load_yaml(path / "course.yaml")
        if not isinstance(data, dict) or not isinstance(data.get("items"), list):
            continue
        lessons = [lesson for lesson in data.get("lessons") or [] if isinstance(lesson, dict)]
        if not lessons or any(not lesson.get("items") for lesson in lessons):
            continue
        taught = {str(code) for lesson in lessons if isinstance(lesson["items"], list) for code in lesson["items"]}
        where = path / "course.yaml"
        where = where.relative_to(root) if where.is_relative_to(root) else where
        for code in data["items"]:
            if str(code) not in taught:
                out.append(f"{where}: field 'items': {code} is taught by no lesson "
                           f"(tag a lesson with it in lessons[].items)")
    return out


def content_stats(courses_dir: Path, bank_dir: Path) -> list[dict]:
    """Per standard item (in the standard's order): lessons teaching it and questions by type and difficulty.

    Returns ``[{"item": "A1", "lessons": 6, "questions": 20, "types": Counter, "difficulties": Counter}]``.
    "Lessons teaching it" are the lessons tagged with the item (``lessons[].items``) plus the untagged
    lessons of every course whose ``items`` list the item.
    """
    questions, _files, area_of = read_bank(bank_dir)
    lessons: Counter = Counter()
    if courses_dir.exists():
        for path in sorted(courses_dir.iterdir()):
            if not (path / "course.yaml").is_file():
                continue
            data = load_yaml(path / "course.yaml")
            if not isinstance(data, dict):
                raise ContentError([f"{path / 'course.yaml'}: expected a mapping at the top level"])
            for lesson in data.get("lessons") or []:
                tags = lesson.get("items") if isinstance(lesson, dict) else None
                for code in (tags if isinstance(tags, list) and tags else data.get("items") or []):
                    lessons[str(code)] += 1
    by_item: dict[str, list[BankQuestion]] = defaultdict(list)
    for q in questions:
        by_item[q.item or "(none)"].append(q)
    codes = list(area_of) + sorted(set(by_item) - set(area_of))
    return [{"item": code, "lessons": lessons[code], "questions": len(by_item[code]),
             "types": Counter(q.qtype for q in by_item[code]),
             "difficulties": Counter(q.difficulty or "(none)" for q in by_item[code])} for code in codes]
