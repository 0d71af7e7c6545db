"""What every question file format reads into and writes from (GIFT, Aiken, Moodle XML).

Pure Python (no Flask, no database). A format reader yields :class:`ParsedQuestion` (a question in
the registry's spec shape, see :mod:`app.questions.types`) or :class:`FormatError` (line and message)
in file order; a writer takes ``ParsedQuestion``s.

Conventions shared by all formats:

* the standard item and the difficulty travel as tags ``item:C3`` and ``difficulty:easy``
  (GIFT ``// [tag:item:C3]``, Moodle XML ``<tags><tag><text>item:C3</text></tag></tags>``);
  a difficulty may be written easy/medium/hard, 1/2/3 or 易/中/难 (:func:`normalise_difficulty`);
* categories are stored without Moodle's context prefix: ``$course$/top/A/B`` is kept as ``A/B``
  (:func:`normalise_category`), and written back with it in Moodle XML.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

#: Accepted spellings of each difficulty (case-insensitive), mapped to the stored value.
DIFFICULTY_ALIASES = {
    "easy": "easy", "1": "easy", "易": "easy", "容易": "easy", "简单": "easy",
    "medium": "medium", "2": "medium", "中": "medium", "中等": "medium",
    "hard": "hard", "3": "hard", "难": "hard", "困难": "hard", "较难": "hard",
}


@dataclass
class ParsedQuestion:
    """One question read from (or to be written to) a file.

    ``line``: 1-based line where it starts (0 when built for writing). ``idnumber``: the stable id
    (GIFT ``[id:...]``, XML ``<idnumber>``) or None. ``category``: normalised path or "". ``tags``:
    every tag as written, including ``item:...`` and ``difficulty:...``. ``qtype``: a registry name.
    ``spec``: the type's spec. ``stem_format``: markdown, html, plain or moodle.
    """

    line: int
    name: str
    qtype: str
    stem: str
    stem_format: str
    spec: dict
    general_feedback: str = ""
    idnumber: str | None = None
    category: str = ""
    tags: list[str] = field(default_factory=list)


@dataclass
class FormatError:
    """A problem in a file: 1-based ``line``, the ``field`` concerned (may be "") and an English ``message``."""

    line: int
    message: str
    field: str = ""
    question: str = ""

    def __str__(self) -> str:
        parts = []
        if self.question:
            parts.append(f"question '{self.question}'")
        if self.field:
            parts.append(self.field)
        parts.append(self.message)
        return ": ".join(parts)


_CONTEXT = re.compile(r"^\$[a-z]+\$/?")


def normalise_category(path: str | None) -> str:
    """``$course$/top/A/B`` -> ``A/B``; ``top`` alone -> ""; surrounding slashes and spaces removed."""
    path = _CONTEXT.sub("", (path or "").strip()).strip("/").strip()
    if path == "top":
        return ""
    if path.startswith("top/"):
        path = path[4:]
    return path.strip("/").strip()


def normalise_difficulty(value: str) -> str | None:
    """The stored difficulty (easy, medium, hard) for any accepted spelling, or None if unknown."""
    return DIFFICULTY_ALIASES.get(value.strip().lower())
