"""Aiken: plain single-choice questions, as Moodle reads and writes them (question/format/aiken/format.php).

::

    Question text on one line
    A) Choice one
    B. Choice two
    ANSWER: B

Rules (Moodle's): lines shorter than 2 characters are skipped; ``X)`` or ``X.`` with an upper-case
letter starts a choice (the space after it may be missing); ``ANSWER: X`` ends the question; any
other line starts a new question. Errors as Moodle names them (with the line): a choice or
``ANSWER:`` line outside a question ("question not started"), fewer than two choices, a question
not finished before the next one starts (and, beyond Moodle, at the end of the file), and an
answer letter with no such choice. Texts are kept as plain text (Moodle escapes them to HTML,
which is the same thing). The name is the question text shortened to 50 characters.
Pure Python; no Flask, no database.
"""
from __future__ import annotations

import re
from typing import Iterable, Iterator

from app.questions.portable import FormatError, ParsedQuestion

_CHOICE = re.compile(r"^([A-Z])[).][ \t]?(.*)$")
_ANSWER = re.compile(r"^ANSWER:(.*)$")
NAME_MAX = 50


def default_name(text: str) -> str:
    """A question name from its text: at most 50 characters (Moodle's ``create_default_question_name``)."""
    text = " ".join(text.split())
    return text if len(text) <= NAME_MAX else text[: NAME_MAX - 1] + "…"


def iter_aiken(text: str) -> Iterator[ParsedQuestion | FormatError]:
    """Read Aiken text: yields single-choice questions and errors in file order."""
    if text.startswith("\ufeff"):
        text = text[1:]
    question: dict | None = None

    def unfinished(line: int, where: str) -> FormatError:
        return FormatError(line, f"question started on line {question['line']} is not completed (no 'ANSWER:' "
                                 f"line) before {where}", "ANSWER", question["name"])

    last = 0
    for n, raw in enumerate(text.replace("\r\n", "\n").replace("\r", "\n").split("\n"), 1):
        line = raw.strip()
        if len(line) < 2:
            continue
        last = n
        choice = _CHOICE.match(line)
        answer = _ANSWER.match(line)
        if choice:
            if question is None:
                yield FormatError(n, f"question not started on line {n}: a choice needs a question line before it",
                                  "choice")
                continue
            question["choices"].append(choice.group(2).strip())
        elif answer:
            if question is None:
                yield FormatError(n, f"question not started on line {n}: 'ANSWER:' needs a question and its "
                                     f"choices before it", "ANSWER")
                continue
            q, question = question, None
            if len(q["choices"]) < 2:
                yield FormatError(n, f"question must have at least 2 answers on line {n}", "choices", q["name"])
                continue
            letter = answer.group(1).strip()[:1]
            index = ord(letter) - ord("A") if letter else -1
            if not 0 <= index < len(q["choices"]):
                yield FormatError(n, f"'ANSWER: {letter}' names no choice (choices A to "
                                     f"{chr(ord('A') + len(q['choices']) - 1)})", "ANSWER", q["name"])
                continue
            options = [{"id": chr(ord("a") + i), "text": t, "format": "plain", "fraction": 1.0 if i == index else 0.0,
                        "feedback": ""} for i, t in enumerate(q["choices"])]
            yield ParsedQuestion(line=q["line"], name=q["name"], qtype="single_choice", stem=q["text"],
                                 stem_format="plain", spec={"options": options})
        else:
            if question is not None:
                yield unfinished(n, f"the next question start on line {n}")
            question = {"line": n, "text": line, "name": default_name(line), "choices": []}
    if question is not None:
        yield unfinished(last, "the end of the file")


def parse_aiken(text: str) -> tuple[list[ParsedQuestion], list[FormatError]]:
    """All questions and all errors of Aiken text."""
    questions, errors = [], []
    for item in iter_aiken(text):
        (errors if isinstance(item, FormatError) else questions).append(item)
    return questions, errors


def aiken_problem(question: ParsedQuestion) -> str | None:
    """Why ``question`` cannot be written as Aiken, or None if it can."""
    if question.qtype != "single_choice":
        return "Aiken holds only single-choice questions"
    options = question.spec["options"]
    if len(options) > 26:
        return "Aiken holds at most 26 choices"
    if sum(1 for o in options if float(o["fraction"]) == 1.0) != 1 or any(
            0 < float(o["fraction"]) < 1 or float(o["fraction"]) < 0 for o in options):
        return "Aiken holds one right answer and no weights"
    texts = [question.stem] + [o["text"] for o in options]
    if any("\n" in t or "\r" in t or not t.strip() for t in texts):
        return "Aiken holds one-line texts only"
    if _CHOICE.match(question.stem.strip()) or _ANSWER.match(question.stem.strip()) or len(question.stem.strip()) < 2:
        return "the question text would read as a choice or answer line in Aiken"
    if any(o.get("feedback") for o in options) or question.general_feedback:
        return "Aiken holds no feedback"
    return None


def dump_aiken(questions: Iterable[ParsedQuestion]) -> str:
    """Write questions as Aiken (a blank line between questions). Raises ValueError naming the first
    question :func:`aiken_problem` refuses."""
    blocks = []
    for q in questions:
        problem = aiken_problem(q)
        if problem:
            raise ValueError(f"question '{q.name}': {problem}")
        lines = [q.stem.strip()]
        right = "A"
        for i, o in enumerate(q.spec["options"]):
            letter = chr(ord("A") + i)
            lines.append(f"{letter}) {o['text'].strip()}")
            if float(o["fraction"]) == 1.0:
                right = letter
        lines.append(f"ANSWER: {right}")
        blocks.append("\n".join(lines) + "\n")
    return "\n".join(blocks)
