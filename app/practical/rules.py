"""Rule kinds: the registry, the base class and the field reader every rule kind uses.

A rule is one line of a task's ``rules:`` list in ``task.yaml``. Each kind is a class registered with
``@register``; ``Rule.from_yaml(spec, where)`` validates the fields (unknown fields, wrong types and
missing fields raise ``TaskFileError`` with file, line and field) and ``rule.check(doc)`` returns a
``RuleResult``. ``doc`` is the opened upload (``app.practical.documents``: ``DocxDoc``, ``XlsxDoc``
or ``PptxDoc``).
"""
from __future__ import annotations

from abc import ABC, abstractmethod

import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, ClassVar


class TaskFileError(Exception):
    """A task file is invalid: ``path`` (file), ``line`` (1-based, or None), ``field`` (dotted name, or
    None) and ``message``. ``str()`` gives ``path:line: field: message``."""

    def __init__(self, path: Path | str, line: int | None, field: str | None, message: str):
        self.path, self.line, self.field, self.message = Path(path), line, field, message
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else f"{self.path}"
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


@dataclass
class RuleResult:
    """The outcome of one rule for one file.

    ``points`` is what the rule is worth, ``awarded`` what the file earned (0 or ``points``: a rule is
    passed or failed as a whole; partial credit comes from the task having several rules).
    ``description_*`` says what the rule checks, ``detail_*`` what was found, in plain words, in
    Chinese (``_zh``) and English (``_en``).
    """

    rule_id: str
    description_zh: str
    description_en: str
    points: int
    awarded: float
    passed: bool
    detail_zh: str
    detail_en: str

    def to_dict(self) -> dict:
        """Plain JSON-able dict (for storing in the database)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "RuleResult":
        """Inverse of ``to_dict``."""
        return cls(**{k: data[k] for k in cls.__dataclass_fields__})


class Where:
    """Location of a rule (or any mapping) in a task file: the file path and the line of each key."""

    def __init__(self, path: Path, line: int | None, lines: dict[str, int] | None = None, prefix: str = ""):
        self.path, self.line, self.lines, self.prefix = path, line, lines or {}, prefix

    def error(self, field: str | None, message: str) -> TaskFileError:
        """A ``TaskFileError`` at ``field`` (the line of that key when known)."""
        line = self.lines.get(field, self.line) if field else self.line
        name = f"{self.prefix}{field}" if field else (self.prefix.rstrip(".") or None)
        return TaskFileError(self.path, line, name, message)


class Fields:
    """Reads and type-checks the fields of one YAML mapping; ``done()`` rejects any field not read."""

    def __init__(self, spec: Any, where: Where):
        if not isinstance(spec, dict):
            raise where.error(None, "expected a mapping")
        self.spec, self.where, self.seen = spec, where, set()

    def _get(self, name, required, default):
        self.seen.add(name)
        if name not in self.spec or self.spec[name] is None:
            if required:
                raise self.where.error(name, "is required")
            return default, False
        return self.spec[name], True

    def str(self, name, required=True, default=None) -> str | None:
        """A non-empty text field (``default`` when absent and not required)."""
        value, present = self._get(name, required, default)
        if present and (not isinstance(value, str) or not value.strip()):
            raise self.where.error(name, "must be a non-empty text")
        return value

    def regex(self, name, required=True, default=None) -> str | None:
        """A text field that must compile as a Python regular expression."""
        value = self.str(name, required, default)
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise self.where.error(name, f"invalid regular expression ({exc})") from exc
        return value

    def num(self, name, required=True, default=None, minimum=None, maximum=None) -> float | None:
        """A number (int or float, not bool) within ``minimum``..``maximum`` when given."""
        value, present = self._get(name, required, default)
        if present:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise self.where.error(name, "must be a number")
            if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
                raise self.where.error(name, f"must be between {minimum} and {maximum}")
        return value

    def int(self, name, required=True, default=None, minimum=None, maximum=None) -> int | None:
        """A whole number within ``minimum``..``maximum`` when given."""
        value = self.num(name, required, default, minimum, maximum)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
            raise self.where.error(name, "must be a whole number")
        return value

    def bool(self, name, default=False) -> bool:
        """true / false (``default`` when absent)."""
        value, present = self._get(name, False, default)
        if present and not isinstance(value, bool):
            raise self.where.error(name, "must be true or false")
        return value

    def choice(self, name, choices, required=True, default=None):
        """One of ``choices``."""
        value, present = self._get(name, required, default)
        if present and value not in choices:
            raise self.where.error(name, f"must be one of {', '.join(map(str, choices))}")
        return value

    def str_list(self, name, required=True, default=None) -> list[str] | None:
        """A text or a non-empty list of texts; always returned as a list."""
        value, present = self._get(name, required, default)
        if not present:
            return value
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not value or not all(isinstance(v, str) and v.strip() for v in value):
            raise self.where.error(name, "must be a text or a non-empty list of texts")
        return value

    def raw(self, name, required=True, default=None):
        """The field's YAML value unchecked (the caller checks it)."""
        value, _ = self._get(name, required, default)
        return value

    def done(self) -> None:
        """Raise ``TaskFileError`` naming the first field that no reader asked for (unknown field)."""
        unknown = [k for k in self.spec if k not in self.seen]
        if unknown:
            raise self.where.error(unknown[0], f"unknown field (allowed: {', '.join(sorted(self.seen))})")


#: kind name -> rule class, per file kind ("docx" | "xlsx" | "pptx")
REGISTRY: dict[str, type["Rule"]] = {}


def register(cls):
    """Class decorator: add a rule kind to ``REGISTRY`` under ``cls.kind``."""
    if cls.kind in REGISTRY:
        raise ValueError(f"duplicate rule kind {cls.kind}")
    REGISTRY[cls.kind] = cls
    return cls


class Rule(ABC):
    """Base class of every rule kind.

    Common fields (all rules): ``id`` (unique in the task), ``kind``, ``points`` (whole number ≥ 1),
    ``description_zh`` and ``description_en`` (what is checked, shown to the candidate in review).
    Subclasses declare ``kind``, ``file_kind`` and implement ``read(fields)`` (their own fields) and
    ``evaluate(doc) -> (passed, detail_zh, detail_en)``.
    """

    kind: ClassVar[str] = ""
    file_kind: ClassVar[str] = ""

    id: str
    points: int
    description_zh: str
    description_en: str

    @classmethod
    def from_yaml(cls, spec: dict, where: Where) -> "Rule":
        """Build a rule of this kind from its YAML mapping; raises ``TaskFileError`` on any bad field."""
        f = Fields(spec, where)
        rule = cls.__new__(cls)
        rule.id = f.str("id")
        f.str("kind")
        rule.points = f.int("points", minimum=1, maximum=100)
        rule.description_zh = f.str("description_zh")
        rule.description_en = f.str("description_en")
        rule.read(f)
        f.done()
        return rule

    @abstractmethod
    def read(self, f: Fields) -> None:
        """Read this kind's own fields from ``f`` (raising ``TaskFileError`` on a bad one)."""

    @abstractmethod
    def evaluate(self, doc) -> tuple[bool, str, str]:
        """``(passed, detail_zh, detail_en)`` for the opened document ``doc``."""

    def check(self, doc) -> RuleResult:
        """Run the rule on an opened document. A rule that cannot read what it needs fails with a
        plain explanation instead of raising."""
        try:
            passed, zh, en = self.evaluate(doc)
        except Exception as exc:  # a malformed part must fail this rule only, not the whole check
            passed, zh, en = False, f"无法读取文件中的相关内容（{type(exc).__name__}）", \
                f"the relevant part of the file could not be read ({type(exc).__name__})"
        return RuleResult(self.id, self.description_zh, self.description_en, self.points,
                          float(self.points) if passed else 0.0, passed, zh, en)


def rule_from_yaml(spec: Any, where: Where, file_kind: str) -> Rule:
    """Pick the rule class named by ``spec['kind']`` and build it; unknown kinds and kinds of another
    file type raise ``TaskFileError``."""
    if not isinstance(spec, dict):
        raise where.error(None, "a rule must be a mapping")
    kind = spec.get("kind")
    cls = REGISTRY.get(kind) if isinstance(kind, str) else None
    if cls is None:
        known = sorted(k for k, c in REGISTRY.items() if c.file_kind == file_kind)
        raise where.error("kind", f"unknown rule kind {kind!r} (known for {file_kind}: {', '.join(known)})")
    if cls.file_kind != file_kind:
        raise where.error("kind", f"rule kind {kind!r} checks {cls.file_kind} files, this task is {file_kind}")
    return cls.from_yaml(spec, where)
