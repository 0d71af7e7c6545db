"""GIFT (Moodle's plain-text question format): a parser and a writer.

Pure Python (standard library only, no Flask, no database), so it can be used by the
content importer, by tests and from the command line::

    python -m app.questions.gift question_bank/questions/*.gift

``parse_gift(text)`` returns the questions it could read and a list of every error it found
(it keeps going at the next blank-line-separated chunk after an error, and a question with an
error is not returned).  ``dump_gift(questions)`` writes GIFT that ``parse_gift`` reads back to
the same questions (apart from ``line`` and ``raw``).

Rules follow Moodle's importer (question/format/gift/format.php) with stricter error reporting:

* ``//`` lines are comments; ``// [id:X]`` and ``// [tag:Y]`` give the idnumber and the tags.
* ``$CATEGORY: path`` sets the category of the questions after it.
* Questions are separated by blank lines; ``::name::`` is optional.
* ``[html]`` ``[moodle]`` ``[plain]`` ``[markdown]`` may start the stem (kept as ``stem_format``)
  and any answer or feedback text (removed).
* Escapes: ``\\~ \\= \\# \\{ \\} \\: \\\\`` and ``\\n`` (a newline).
* ``{}`` essay, ``{T}``/``{TRUE}``/``{F}``/``{FALSE}`` (+ ``#wrong#right``) true/false,
  ``{#...}`` numerical, ``{=a -> b ...}`` matching, ``{=a =b}`` short answer,
  ``{=a ~b}`` single choice, ``{~%50%a ~%50%b ~%-100%c}`` multiple response,
  no braces at all: description.  ``#`` starts an answer's feedback, ``####`` the general
  feedback, ``%n%`` after ``=``/``~`` is a weight in percent.
* Text after the closing brace makes a missing-word question (the stem gets ``_____`` where the
  block was); a bit of pure punctuation on the same line as the brace (Moodle's own fixture has
  ``}";``) is tolerated and dropped.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from bisect import bisect_right
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Iterable, Iterator

__all__ = [
    "FORMATS",
    "QTYPES",
    "GiftError",
    "GiftOption",
    "GiftQuestion",
    "dump_gift",
    "main",
    "iter_gift",
    "parse_gift",
]

#: Text formats a ``[tag]`` may name; "moodle" is the default.
FORMATS = ("moodle", "html", "plain", "markdown")

#: Every question type ``parse_gift`` produces.  A missing-word question keeps the type its
#: answers give (usually ``single_choice``); only its stem shows the ``_____`` gap.
QTYPES = (
    "single_choice",
    "multiple_choice",
    "true_false",
    "short_answer",
    "numerical",
    "matching",
    "essay",
    "description",
)

BLANK = "_____"
_TF_KEYS = {"T": True, "TRUE": True, "F": False, "FALSE": False}


@dataclass
class GiftOption:
    """One answer of a question.

    ``text`` is unescaped with any format tag removed.  ``fraction`` is the share of the mark
    it earns, -1.0..1.0 (``=`` is 1.0, ``~`` is 0.0, ``%50%`` is 0.5, ``%-100%`` is -1.0).
    For matching questions ``text`` is the left-hand side and ``match_text`` the right-hand
    side (``fraction`` is 1.0 for a pair, 0.0 for an extra right-hand side with no question).
    For numerical questions ``text`` is ``value``, ``value:tolerance``, ``min..max`` or ``*``
    (the catch-all "any other answer" written ``~#feedback`` in GIFT).
    """

    text: str
    fraction: float
    feedback: str
    match_text: str | None = None


@dataclass
class GiftQuestion:
    """One question read from (or to be written as) GIFT.

    ``line`` is the 1-based line where the question starts: its ``// [id:...]`` comment line if
    it has one, else its first non-comment line.  ``qtype`` is one of :data:`QTYPES`.
    ``stem_format`` is one of :data:`FORMATS`.  True/false questions have no ``options`` and
    use ``tf_answer`` / ``tf_feedback_wrong`` / ``tf_feedback_right`` instead.  ``raw`` is the
    question's source text (from ``line`` to its last line).
    """

    line: int
    name: str
    idnumber: str | None
    tags: list[str]
    category: str | None
    qtype: str
    stem: str
    stem_format: str = "moodle"
    options: list[GiftOption] = field(default_factory=list)
    tf_answer: bool | None = None
    tf_feedback_wrong: str = ""
    tf_feedback_right: str = ""
    general_feedback: str = ""
    raw: str = ""


@dataclass
class GiftError:
    """A problem found while parsing: the 1-based line it is on and an English message."""

    line: int
    message: str


# --------------------------------------------------------------------------- escaping

# Escaped special characters are replaced by private-use placeholders before the structure is
# analysed, so "\=" is never mistaken for an answer marker; _restore() turns them back.
_ESCAPES = {
    "~": "\ue000",
    "=": "\ue001",
    "#": "\ue002",
    "{": "\ue003",
    "}": "\ue004",
    ":": "\ue005",
    "\\": "\ue006",
    "n": "\ue007",
}
_RESTORE = {ph: ch for ch, ph in _ESCAPES.items()}
_RESTORE["\ue007"] = "\n"
_RESTORE_TABLE = str.maketrans(_RESTORE)


def _protect(line: str) -> str:
    """Replace GIFT escapes in one source line by placeholders (left to right, like Moodle)."""
    out = []
    i = 0
    while i < len(line):
        ch = line[i]
        if ch == "\\" and i + 1 < len(line) and line[i + 1] in _ESCAPES:
            out.append(_ESCAPES[line[i + 1]])
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def _restore(s: str) -> str:
    return s.translate(_RESTORE_TABLE)


def _esc(s: str, colon: bool = True) -> str:
    """Escape text for writing: backslash, ~ = # { } (and :), newlines as \\n."""
    s = s.replace("\\", "\\\\")
    for ch in "~=#{}" + (":" if colon else ""):
        s = s.replace(ch, "\\" + ch)
    return s.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\\n")


# A format tag: "[word]" at the very start of a text, not a Markdown link "[word](url)".
_FMT_RE = re.compile(r"\[([A-Za-z]+)\](?!\()")
_ID_RE = re.compile(r"\[id:((?:\\\]|[^\]\x00-\x1f\x7f])+)\]")
_TAG_RE = re.compile(r"\[tag:((?:\\\]|[^\]\x00-\x1f\x7f])+)\]")
_WEIGHT_RE = re.compile(r"%(-?\d+(?:\.\d+)?)%")
_WEIGHT_ATTEMPT_RE = re.compile(r"%\s*[-+]?[\d.]|%[^%\s]{0,12}%")
_NUMBER_RE = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")

_BAD = object()  # weight() result for a weight that was reported as an error


def _is_number(s: str) -> bool:
    return _NUMBER_RE.fullmatch(s.strip()) is not None


def _short(s: str, n: int = 40) -> str:
    s = s.replace("\n", " ").strip()
    return s if len(s) <= n else s[: n - 1] + "…"


# --------------------------------------------------------------------------- parsing


class _QuestionParser:
    """Parses the text of one question (comment lines blanked, escapes protected).

    Offsets are positions in ``self.t``; ``line(off)`` maps one back to a source line.
    """

    def __init__(self, lines: list[tuple[int, str]], terminator: str):
        texts: list[str] = []
        self.starts: list[int] = []
        self.linenos: list[int] = []
        off = 0
        for n, l in lines:
            s = "" if l.strip().startswith("//") else _protect(l)
            self.starts.append(off)
            self.linenos.append(n)
            texts.append(s)
            off += len(s) + 1
        self.t = "\n".join(texts)
        self.terminator = terminator
        self.errors: list[GiftError] = []

    # -- helpers
    def line(self, off: int) -> int:
        return self.linenos[max(bisect_right(self.starts, off) - 1, 0)]

    def err(self, off: int, message: str) -> None:
        self.errors.append(GiftError(self.line(off), message))

    def lstrip_off(self, s: int, e: int) -> int:
        seg = self.t[s:e]
        return s + len(seg) - len(seg.lstrip())

    def text(self, s: int, e: int, formats: bool = True) -> tuple[str | None, str]:
        """Text of region [s, e): stripped, format tag taken off, escapes restored."""
        p = self.lstrip_off(s, e)
        seg = self.t[p:e].rstrip()
        fmt = None
        if formats:
            m = _FMT_RE.match(seg)
            if m:
                name = m.group(1)
                if name in FORMATS:
                    fmt = name
                    seg = seg[m.end():]
                else:
                    hint = " (format tags are lower-case)" if name.lower() in FORMATS else ""
                    self.err(p, f"unknown format tag '[{name}]'{hint}: expected [html], "
                                f"[moodle], [plain] or [markdown] at the start of the text")
        return fmt, _restore(seg).strip()

    def split(self, s: int, e: int, marks: str) -> tuple[tuple[int, int] | None,
                                                          list[tuple[str, int, int]]]:
        """Split [s, e) at unescaped marker characters.

        Returns (leading region or None if it is blank, [(marker, start, end), ...]) where
        start is the offset just after the marker.
        """
        pieces: list[tuple[str, int, int]] = []
        cur_mark, cur_start = "", s
        for k in range(s, e):
            if self.t[k] in marks:
                pieces.append((cur_mark, cur_start, k))
                cur_mark, cur_start = self.t[k], k + 1
        pieces.append((cur_mark, cur_start, e))
        lead = pieces.pop(0)
        lead_region = (lead[1], lead[2]) if self.t[lead[1]:lead[2]].strip() else None
        return lead_region, pieces

    def weight(self, s: int, e: int, marker: str):
        """Read an optional %n% weight at the start of [s, e).

        Returns (Decimal percent or None or _BAD, offset where the answer text starts).
        """
        p = self.lstrip_off(s, e)
        rest = self.t[p:e]
        m = _WEIGHT_RE.match(rest)
        if m:
            w = Decimal(m.group(1))
            if not Decimal(-100) <= w <= Decimal(100):
                self.err(p, f"weight %{m.group(1)}% is outside -100..100 "
                            f"(weights are percentages of the mark)")
                return _BAD, p + m.end()
            return w, p + m.end()
        if _WEIGHT_ATTEMPT_RE.match(rest):
            snippet = _short(_restore(rest.split("\n")[0]), 20)
            self.err(p, f"bad weight syntax '{snippet}' after '{marker}': expected a percentage "
                        f"between two % signs, a number from -100 to 100 such as %50%, %-100% "
                        f"or %33.33333%")
            return _BAD, p
        return None, s

    def answer_and_feedback(self, s: int, e: int) -> tuple[str, str]:
        h = self.t.find("#", s, e)
        if h < 0:
            return self.text(s, e)[1], ""
        return self.text(s, h)[1], self.text(h + 1, e)[1]

    # -- the question
    def parse(self) -> dict | None:
        t = self.t
        i = self.lstrip_off(0, len(t))
        name = ""
        pos = i
        if t.startswith("::", i):
            j = t.find("::", i + 2)
            if j < 0:
                self.err(i, "question name not closed: '::' starts a name but no closing '::' "
                            "follows (write a literal colon in a name as \\:)")
                return None
            name = _restore(t[i + 2:j]).strip()
            pos = j + 2

        opens = [k for k in range(pos, len(t)) if t[k] == "{"]
        closes = [k for k in range(pos, len(t)) if t[k] == "}"]
        q: dict = {"name": name, "options": [], "tf_answer": None, "tf_feedback_wrong": "",
                   "tf_feedback_right": "", "general_feedback": ""}

        if not opens and not closes:
            fmt, stem = self.text(pos, len(t))
            if not stem:
                self.err(i, "question text is empty")
            q.update(qtype="description", stem=stem, stem_format=fmt or "moodle")
            return q

        if closes and (not opens or closes[0] < opens[0]):
            self.err(closes[0], "'}' without a matching '{' before it "
                                "(write a literal brace as \\})")
            return None
        o = opens[0]
        after_o = [k for k in closes if k > o]
        if not after_o:
            self.err(o, f"unclosed '{{': the answer block opened on this line has no closing "
                        f"'}}' before {self.terminator} (a blank line ends a question)")
            return None
        c = after_o[0]
        inner = [k for k in opens if o < k < c]
        if inner:
            self.err(inner[0], f"'{{' inside the answer block opened on line {self.line(o)}: a "
                               f"question has one {{...}} block (write a literal brace as \\{{)")
            return None
        later = sorted(k for k in opens + closes if k > c)
        if later:
            k = later[0]
            if t[k] == "{":
                self.err(k, f"a second answer block: the question already has one ending on line "
                            f"{self.line(c)} (write a literal brace as \\{{)")
            else:
                self.err(k, "'}' without a matching '{' (write a literal brace as \\})")
            return None

        # Stem, missing-word gap, tolerated trailing punctuation.
        after = t[c + 1:]
        tail = after.strip()
        missing_word = bool(tail) and not (
            "\n" not in after.rstrip()
            and all(unicodedata.category(ch).startswith("P") for ch in tail))
        fmt, before = self.text(pos, o)
        if missing_word:
            stem = f"{before} {BLANK} {self.text(c + 1, len(t), formats=False)[1]}".strip()
        else:
            stem = before
        if not stem:
            self.err(o, "question text is empty: write the question before '{'")
        q.update(stem=stem, stem_format=fmt or "moodle")

        # General feedback after the last ####.
        bs, be = o + 1, c
        g = t.rfind("####", bs, be)
        if g >= 0:
            q["general_feedback"] = self.text(g + 4, be)[1]
            be = g
        a_s = self.lstrip_off(bs, be)
        a_e = bs + len(t[bs:be].rstrip())
        if a_e < a_s:
            a_e = a_s
        ans = t[a_s:a_e]

        if ans == "":
            q["qtype"] = "essay"
        elif ans[0] == "#":
            self.numerical(q, a_s, a_e, o)
        elif "~" in ans:
            self.choice(q, a_s, a_e, o)
        elif "=" in ans and "->" in ans:
            self.matching(q, a_s, a_e, o)
        else:
            key = _restore(ans.split("#", 1)[0]).strip()
            if key in _TF_KEYS:
                self.true_false(q, a_s, a_e)
            elif ans[0] == "=":
                self.short_answer(q, a_s, a_e, o)
            elif key.upper() in _TF_KEYS:
                self.err(a_s, f"true/false key '{key}' must be upper-case: "
                              f"{{T}}, {{TRUE}}, {{F}} or {{FALSE}}")
            else:
                self.err(a_s, f"cannot tell the question type from the answer block "
                              f"'{{{_short(_restore(ans))}}}': expected {{}} (essay), {{T}} or "
                              f"{{F}} (true/false), '=' and '~' answers (choice), only '=' answers "
                              f"(short answer), '=question -> answer' pairs (matching) or "
                              f"'#' (numerical)")
        return q

    def choice(self, q: dict, a_s: int, a_e: int, o: int) -> None:
        lead, pieces = self.split(a_s, a_e, "=~")
        if lead:
            self.err(lead[0], f"text '{_short(_restore(self.t[lead[0]:lead[1]]))}' before the "
                              f"first answer: every answer must start with '=' (right) or '~' "
                              f"(wrong, or weighted like ~%50%)")
        options, weights, plain_eq, bad = [], [], 0, False
        for mark, s, e in pieces:
            w, ts = self.weight(s, e, mark)
            if w is _BAD:
                bad = True
                continue
            if w is None:
                w = Decimal(100) if mark == "=" else Decimal(0)
                plain_eq += mark == "="
            text, fb = self.answer_and_feedback(ts, e)
            if not text:
                self.err(s, f"empty answer after '{mark}': write the answer text")
            options.append(GiftOption(text, float(w / 100), fb))
            weights.append(w)
        q["options"] = options
        if len(pieces) < 2:
            self.err(o, "a choice question needs at least two answers")
        if plain_eq:
            q["qtype"] = "single_choice"
            return
        positive = [w for w in weights if w > 0]
        q["qtype"] = "multiple_choice"
        if bad:
            return
        if not positive:
            self.err(o, "choice question with no correct answer: mark the right answer with '=' "
                        "(single choice) or give each right answer a positive weight such as "
                        "~%50% (multiple response)")
        elif len(positive) == 1 and positive[0] == 100:
            q["qtype"] = "single_choice"
        else:
            total = sum(positive)
            if abs(total - 100) > Decimal("0.5"):
                self.err(o, f"weights of the correct answers add up to {total.normalize():f}%, "
                            f"expected 100% (within 0.5) in a multiple-response question")

    def matching(self, q: dict, a_s: int, a_e: int, o: int) -> None:
        lead, pieces = self.split(a_s, a_e, "=")
        if lead:
            self.err(lead[0], f"text '{_short(_restore(self.t[lead[0]:lead[1]]))}' before the "
                              f"first pair: every pair must be written '=question -> answer'")
        options = []
        for _, s, e in pieces:
            k = self.t.find("->", s, e)
            if k < 0:
                self.err(s, f"matching pair '{_short(_restore(self.t[s:e]))}' has no '->': "
                            f"expected '=question -> answer'")
                continue
            left = self.text(s, k)[1]
            right = self.text(k + 2, e, formats=False)[1]
            if not right:
                self.err(s, "matching pair has no answer after '->'")
            options.append(GiftOption(left, 1.0 if left else 0.0, "", right))
        q["qtype"] = "matching"
        q["options"] = options
        if sum(1 for op in options if op.text) < 2:
            self.err(o, "a matching question needs at least two '=question -> answer' pairs")

    def true_false(self, q: dict, a_s: int, a_e: int) -> None:
        h1 = self.t.find("#", a_s, a_e)
        key_end = h1 if h1 >= 0 else a_e
        q["tf_answer"] = _TF_KEYS[_restore(self.t[a_s:key_end]).strip()]
        if h1 >= 0:
            h2 = self.t.find("#", h1 + 1, a_e)
            if h2 >= 0:
                q["tf_feedback_wrong"] = self.text(h1 + 1, h2)[1]
                q["tf_feedback_right"] = self.text(h2 + 1, a_e)[1]
            else:
                q["tf_feedback_wrong"] = self.text(h1 + 1, a_e)[1]
        q["qtype"] = "true_false"

    def short_answer(self, q: dict, a_s: int, a_e: int, o: int) -> None:
        _, pieces = self.split(a_s, a_e, "=")
        options, bad = [], False
        for mark, s, e in pieces:
            w, ts = self.weight(s, e, mark)
            if w is _BAD:
                bad = True
                continue
            if w is None:
                w = Decimal(100)
            text, fb = self.answer_and_feedback(ts, e)
            if not text:
                self.err(s, "empty answer after '=': write the accepted answer (or * for any)")
            options.append(GiftOption(text, float(w / 100), fb))
        q["qtype"] = "short_answer"
        q["options"] = options
        if not bad and options and not any(op.fraction == 1.0 for op in options):
            self.err(o, "short-answer question has no answer worth 100%: write one answer "
                        "with a plain '=' or '=%100%'")

    def numerical(self, q: dict, a_s: int, a_e: int, o: int) -> None:
        q["qtype"] = "numerical"
        body = a_s + 1
        tpos = self.t.find("~", body, a_e)
        main_end = tpos if tpos >= 0 else a_e
        lead, pieces = self.split(body, main_end, "=")
        if lead:
            pieces.insert(0, ("", lead[0], lead[1]))
        options, bad = [], False
        if not pieces:
            self.err(o, "empty answer block: a numerical question needs an answer after '#', "
                        "e.g. {#42}, {#3:2} (value:tolerance) or {#1..5} (min..max)")
            bad = True
        for mark, s, e in pieces:
            w, ts = self.weight(s, e, mark or "#")
            if w is _BAD:
                bad = True
                continue
            if w is None:
                w = Decimal(100)
            value, fb = self.answer_and_feedback(ts, e)
            if not self.numeric_value_ok(value):
                self.err(s, f"numerical answer '{_short(value)}' is not a number: expected a "
                            f"value (42), value:tolerance (3:2) or min..max (1..5)")
                bad = True
            options.append(GiftOption(value, float(w / 100), fb))
        if tpos >= 0:
            h = self.t.find("#", tpos + 1, a_e)
            fb = self.text(h + 1, a_e)[1] if h >= 0 else ""
            options.append(GiftOption("*", 0.0, fb))
        q["options"] = options
        if not bad and not any(op.fraction == 1.0 for op in options):
            self.err(o, "numerical question has no answer worth 100%: write one answer "
                        "without a weight or with %100%")

    @staticmethod
    def numeric_value_ok(v: str) -> bool:
        if v == "*":
            return True
        k = v.find("..")
        if k > 0:
            return _is_number(v[:k]) and _is_number(v[k + 2:])
        k = v.find(":")
        if k > 0:
            return _is_number(v[:k]) and _is_number(v[k + 1:])
        return _is_number(v)


def _read_meta(comment_lines: list[tuple[int, str]], errors: list[GiftError]):
    idnumber, id_line, tags = None, None, []
    for n, l in comment_lines:
        for m in _ID_RE.finditer(l):
            val = m.group(1).replace("\\]", "]").strip()
            if idnumber is None:
                idnumber, id_line = val, n
            elif val != idnumber:
                errors.append(GiftError(n, f"second id [id:{val}] for one question, which "
                                           f"already has [id:{idnumber}]"))
        for m in _TAG_RE.finditer(l):
            tags.append(m.group(1).replace("\\]", "]").strip())
    return idnumber, id_line, tags


def _parse_chunk(lines: list[tuple[int, str]], category: str | None, terminator: str,
                 errors: list[GiftError]) -> GiftQuestion | None:
    content = [k for k, (_, l) in enumerate(lines) if not l.strip().startswith("//")]
    if not content:
        return None  # only comments
    first = content[0]
    q_errors: list[GiftError] = []
    comments = [(n, l) for n, l in lines if l.strip().startswith("//")]
    idnumber, id_line, tags = _read_meta(comments, q_errors)
    first_line = lines[first][0]
    start = id_line if id_line is not None and id_line < first_line else first_line

    p = _QuestionParser(lines[first:], terminator)
    fields = p.parse()
    q_errors.extend(p.errors)
    errors.extend(q_errors)
    if fields is None or q_errors:
        return None
    raw = "\n".join(l for n, l in lines if n >= start)
    return GiftQuestion(line=start, idnumber=idnumber, tags=tags, category=category, raw=raw,
                        **fields)


def iter_gift(text: str) -> Iterator[GiftQuestion | GiftError]:
    """Read GIFT text question by question: yields each question, or the errors (by line) of a chunk
    that has any, in file order. Keeps only one question in memory at a time (for large files)."""
    if text.startswith("\ufeff"):
        text = text[1:]
    category: str | None = None
    chunk: list[tuple[int, str]] = []

    def flush(terminator: str):
        if not chunk:
            return []
        errors: list[GiftError] = []
        q = _parse_chunk(chunk, category, terminator, errors)
        chunk.clear()
        return sorted(errors, key=lambda e: e.line) + ([q] if q is not None else [])

    n = 0
    for n, line in enumerate(_lines(text), 1):
        s = line.strip()
        if not s:
            yield from flush(f"the blank line on line {n}")
        elif s.startswith("$CATEGORY:"):
            yield from flush(f"the $CATEGORY line on line {n}")
            category = s[len("$CATEGORY:"):].strip()
            if not category:
                yield GiftError(n, "empty $CATEGORY: expected a category path such as "
                                   "'$CATEGORY: CSDS/A'")
                category = None
        else:
            chunk.append((n, line))
    yield from flush("the end of the file")


def _lines(text: str) -> Iterator[str]:
    """Lines of ``text`` (\\n, \\r\\n or \\r endings) without copying the whole text."""
    for m in re.finditer(r"([^\r\n]*)(\r\n|\r|\n|$)", text):
        if not m.group(2) and m.end() == len(text) and not m.group(1):
            if m.start() == len(text):
                yield ""
                return
        yield m.group(1)
        if not m.group(2):
            return


def parse_gift(text: str) -> tuple[list[GiftQuestion], list[GiftError]]:
    """Parse GIFT text into questions and errors.

    All errors are collected (each names its line); after an error parsing resumes at the next
    blank-line-separated chunk, and a question with an error is left out of the result.
    """
    questions: list[GiftQuestion] = []
    errors: list[GiftError] = []
    for item in iter_gift(text):
        (errors if isinstance(item, GiftError) else questions).append(item)
    errors.sort(key=lambda e: e.line)
    return questions, errors


# --------------------------------------------------------------------------- writing


def _weight(fraction: float) -> str:
    """0.5 -> '50', -1.0 -> '-100', 0.3333333 -> '33.33333' (exact, see parse)."""
    d = (Decimal(repr(float(fraction))) * 100).normalize()
    return format(d, "f")


def _text_out(s: str, fmt: str | None = None, guard_comment: bool = False) -> str:
    """Escape text; add a format tag when given, or [moodle] when the text itself would
    otherwise be read as a format tag or a comment."""
    e = _esc(s)
    if fmt:
        return f"[{fmt}]{e}"
    if _FMT_RE.match(s) or (guard_comment and s.startswith("//")):
        return "[moodle]" + e
    return e


def _answer_out(mark: str, fraction: float, text: str, feedback: str,
                default: float | None) -> str:
    w = "" if fraction == default and not text.startswith("%") else f"%{_weight(fraction)}%"
    out = f"\t{mark}{w}{_text_out(text)}"
    if feedback:
        out += "#" + _text_out(feedback)
    return out + "\n"


def _dump_question(q: GiftQuestion) -> str:
    out = []
    meta = []
    if q.idnumber:
        meta.append(f"[id:{q.idnumber.replace(']', chr(92) + ']')}]")
    meta += [f"[tag:{t.replace(']', chr(92) + ']')}]" for t in q.tags]
    if meta:
        out.append("// " + " ".join(meta) + "\n")
    head = (f"::{_esc(q.name)}::" if q.name else "")
    fmt = q.stem_format if q.stem_format and q.stem_format != "moodle" else None
    head += _text_out(q.stem, fmt, guard_comment=not q.name)
    gf = f"####{_text_out(q.general_feedback)}" if q.general_feedback else ""

    if q.qtype == "description":
        out.append(head + "\n")
    elif q.qtype == "essay":
        out.append(head + "{" + gf + "}\n")
    elif q.qtype == "true_false":
        block = "TRUE" if q.tf_answer else "FALSE"
        if q.tf_feedback_wrong or q.tf_feedback_right:
            block += "#" + _text_out(q.tf_feedback_wrong)
        if q.tf_feedback_right:
            block += "#" + _text_out(q.tf_feedback_right)
        out.append(head + "{" + block + gf + "}\n")
    else:
        out.append(head + ("{#\n" if q.qtype == "numerical" else "{\n"))
        if q.qtype == "single_choice":
            for op in q.options:
                if op.fraction == 1.0:
                    out.append(_answer_out("=", op.fraction, op.text, op.feedback, 1.0))
                else:
                    out.append(_answer_out("~", op.fraction, op.text, op.feedback, 0.0))
        elif q.qtype == "multiple_choice":
            for op in q.options:
                out.append(_answer_out("~", op.fraction, op.text, op.feedback, 0.0))
        elif q.qtype == "short_answer":
            for op in q.options:
                out.append(_answer_out("=", op.fraction, op.text, op.feedback, 1.0))
        elif q.qtype == "numerical":
            for k, op in enumerate(q.options):
                last = k == len(q.options) - 1
                if last and op.text == "*" and op.fraction == 0.0 and len(q.options) > 1:
                    out.append("\t~" + ("#" + _text_out(op.feedback) if op.feedback else "")
                               + "\n")
                else:
                    w = "" if op.fraction == 1.0 else f"%{_weight(op.fraction)}%"
                    line = f"\t={w}{_esc(op.text, colon=False)}"
                    if op.feedback:
                        line += "#" + _text_out(op.feedback)
                    out.append(line + "\n")
        elif q.qtype == "matching":
            for op in q.options:
                left = _text_out(op.text)
                out.append(f"\t={left} -> {_esc(op.match_text or '')}\n")
        else:
            raise ValueError(f"cannot write question type {q.qtype!r}: expected one of {QTYPES}")
        if gf:
            out.append("\t" + gf + "\n")
        out.append("}\n")
    return "".join(out)


def dump_gift(questions: Iterable[GiftQuestion]) -> str:
    """Write questions as GIFT text that :func:`parse_gift` reads back to equal questions.

    Writes a ``$CATEGORY:`` line whenever the category changes, a ``// [id:...] [tag:...]``
    comment for questions with an idnumber or tags, ``::name::``, the stem's format tag when it
    is not "moodle", and escapes GIFT's special characters.  Questions are separated by a
    blank line.  A missing-word question is written with its gap text ``_____`` in the stem and
    the answer block at the end (it reads back the same).
    """
    blocks = []
    current: str | None = None
    for q in questions:
        if q.category is not None and q.category != current:
            blocks.append(f"$CATEGORY: {q.category}\n")
            current = q.category
        blocks.append(_dump_question(q))
    return "\n".join(blocks)


# --------------------------------------------------------------------------- command line


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m app.questions.gift FILE [FILE ...]``.

    Prints, per file, how many questions of each type it holds, then every error as
    ``FILE:LINE: message``.  Returns (exits with) 1 if any file has an error, else 0.
    """
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] in ("-h", "--help"):
        print("usage: python -m app.questions.gift FILE [FILE ...]\n"
              "Check GIFT question files: count questions per type and list every error.",
              file=sys.stderr)
        return 2 if not args else 0
    failed = False
    for path in args:
        try:
            with open(path, "rb") as fh:
                data = fh.read()
        except OSError as exc:
            print(f"{path}:0: cannot read file: {exc.strerror or exc}")
            failed = True
            continue
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = data[:exc.start].count(b"\n") + 1
            print(f"{path}:{line}: not valid UTF-8 (byte {exc.start}): GIFT files must be UTF-8")
            failed = True
            continue
        questions, errors = parse_gift(text)
        counts = Counter(q.qtype for q in questions)
        print(f"{path}: {len(questions)} question(s), {len(errors)} error(s)")
        for qtype in QTYPES:
            if counts[qtype]:
                print(f"  {qtype}: {counts[qtype]}")
        for e in errors:
            print(f"{path}:{e.line}: {e.message}")
        failed = failed or bool(errors)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
