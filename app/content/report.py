"""What a content sync or import did, and the error type that aborts it."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import yaml


class ContentError(Exception):
    """Content files are invalid. ``errors`` are ``file[:line]: message`` strings; nothing was written."""

    def __init__(self, errors: list[str]):
        super().__init__("\n".join(errors))
        self.errors = errors


@dataclass
class SyncReport:
    """Counts of created / updated / unchanged / retired objects per kind, plus warnings."""

    counts: Counter = field(default_factory=Counter)
    changes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def created(self, kind: str, name: str) -> None:
        """Record that a ``kind`` object called ``name`` was created."""
        self.counts[(kind, "created")] += 1
        self.changes.append(f"created {kind} {name}")

    def updated(self, kind: str, name: str) -> None:
        """Record that a ``kind`` object called ``name`` changed."""
        self.counts[(kind, "updated")] += 1
        self.changes.append(f"updated {kind} {name}")

    def retired(self, kind: str, name: str) -> None:
        """Record that a ``kind`` object called ``name`` was retired (kept, marked inactive)."""
        self.counts[(kind, "retired")] += 1
        self.changes.append(f"retired {kind} {name}")

    def unchanged(self, kind: str, n: int = 1) -> None:
        """Count ``n`` unchanged objects of ``kind``."""
        self.counts[(kind, "unchanged")] += n

    @property
    def changed(self) -> bool:
        """True if anything was created, updated or retired."""
        return bool(self.changes)

    def summary_lines(self) -> list[str]:
        """One line per kind, e.g. 'question: 3 created, 201 unchanged'."""
        kinds = sorted({k for k, _ in self.counts})
        lines = []
        for kind in kinds:
            parts = [f"{self.counts[(kind, a)]} {a}" for a in ("created", "updated", "retired", "unchanged")
                     if self.counts[(kind, a)]]
            lines.append(f"{kind}: {', '.join(parts)}")
        return lines


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader, but an impossible date (``2026-02-30``) is a located error, not a bare ValueError."""

    def construct_yaml_timestamp(self, node):
        try:
            return super().construct_yaml_timestamp(node)
        except ValueError as exc:
            raise yaml.constructor.ConstructorError(
                None, None, f"invalid date {node.value!r} ({exc})", node.start_mark) from exc


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _Loader.construct_yaml_timestamp)


def load_yaml(path: Path, loader: type[yaml.SafeLoader] = _Loader):
    """Parse a YAML file with a safe loader; return what it holds (dicts, lists, str, int, dates …).

    Raises ContentError with one ``file:line: message`` line on an unreadable file, a syntax
    error or (with the default loader) an impossible date such as ``2026-02-30``. A caller that
    reports bad dates per field passes its own SafeLoader subclass.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ContentError([f"{path}: cannot read file ({exc})"]) from exc
    try:
        return yaml.load(text, Loader=loader)  # noqa: S506  # nosec B506 - loader is always a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        kind = "" if isinstance(exc, yaml.constructor.ConstructorError) else "YAML syntax error: "
        raise ContentError([f"{path}{line}: {kind}{problem}"]) from exc
