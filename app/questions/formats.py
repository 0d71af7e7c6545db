"""The three question file formats behind one interface: ``read(fmt, data)`` and ``write(fmt, questions)``.

``fmt`` is ``gift``, ``aiken`` or ``xml`` (Moodle XML). ``read`` takes the file's bytes and yields
:class:`~app.questions.portable.ParsedQuestion` or :class:`~app.questions.portable.FormatError` in
file order (GIFT and Aiken must be UTF-8; XML declares its encoding). ``write`` yields text pieces.
GIFT questions become registry specs through each type's ``from_gift`` and back through ``to_gift``.
"""
from __future__ import annotations

import io
from typing import BinaryIO, Iterable, Iterator

from app.questions.aiken import aiken_problem, dump_aiken, iter_aiken
from app.questions.gift import GiftError, dump_gift, iter_gift
from app.questions.moodle_xml import HostileXML, iter_dump_moodle_xml, iter_moodle_xml
from app.questions.portable import FormatError, ParsedQuestion, normalise_category
from app.questions.types import REGISTRY, ExportError, SpecError

FORMAT_NAMES = ("gift", "aiken", "xml")

__all__ = ["FORMAT_NAMES", "HostileXML", "decode_text", "read", "write", "write_problem"]


def decode_text(data: bytes) -> str | FormatError:
    """UTF-8 text of ``data`` (a byte-order mark is dropped), or a FormatError naming the line of the bad byte."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        return FormatError(line, f"not valid UTF-8 (byte {exc.start}): save the file as UTF-8", "encoding")


def _from_gift(text: str) -> Iterator[ParsedQuestion | FormatError]:
    for item in iter_gift(text):
        if isinstance(item, GiftError):
            yield FormatError(item.line, item.message)
            continue
        label = item.name or item.idnumber or "(unnamed)"
        qtype = REGISTRY.get(item.qtype)
        if qtype is None:
            yield FormatError(item.line, f"a {item.qtype} question (no answer) is not a question type the bank stores",
                              "type", label)
            continue
        try:
            spec = qtype.from_gift(item)
        except (SpecError, ValueError) as exc:
            yield FormatError(item.line, str(exc), "answers", label)
            continue
        yield ParsedQuestion(line=item.line, name=item.name, qtype=item.qtype, stem=item.stem,
                             stem_format=item.stem_format, spec=spec, general_feedback=item.general_feedback,
                             idnumber=item.idnumber, category=normalise_category(item.category), tags=list(item.tags))


def read(fmt: str, data: bytes | BinaryIO) -> Iterator[ParsedQuestion | FormatError]:
    """Questions and errors of a file in format ``fmt``, given as bytes or an open binary file (Moodle
    XML is then read in chunks, never whole). Raises HostileXML for a refused XML file."""
    if fmt == "xml":
        yield from iter_moodle_xml(io.BytesIO(data) if isinstance(data, bytes) else data)
        return
    if not isinstance(data, bytes):
        data = data.read()
    text = decode_text(data)
    if isinstance(text, FormatError):
        yield text
        return
    yield from (_from_gift(text) if fmt == "gift" else iter_aiken(text))


def write_problem(fmt: str, question: ParsedQuestion) -> str | None:
    """Why ``question`` cannot be written as ``fmt`` (None if it can)."""
    if fmt == "aiken":
        return aiken_problem(question)
    if fmt == "gift":
        try:
            REGISTRY[question.qtype].to_gift(question.stem, question.stem_format, question.spec,
                                             question.general_feedback)
        except ExportError as exc:
            return str(exc)
    return None


def _to_gift(q: ParsedQuestion):
    gift = REGISTRY[q.qtype].to_gift(q.stem, q.stem_format, q.spec, q.general_feedback)
    gift.name, gift.idnumber, gift.tags, gift.category = q.name, q.idnumber, list(q.tags), q.category or None
    return gift


def write(fmt: str, questions: Iterable[ParsedQuestion]) -> Iterator[str]:
    """The file text in pieces. Callers check :func:`write_problem` first; an unwritable question
    raises ExportError / ValueError here."""
    if fmt == "xml":
        yield from iter_dump_moodle_xml(questions)
        return
    first = True
    category = None
    for q in questions:
        if fmt == "gift":
            gift = _to_gift(q)
            text = dump_gift([gift])
            if gift.category is not None and gift.category == category:
                text = text.split("\n", 1)[1].lstrip("\n")  # same category: no repeated $CATEGORY line
            elif gift.category is None and category:
                # GIFT categories carry over: go back to the top category explicitly (read back as "")
                text = "$CATEGORY: $course$/top\n\n" + text
            category = gift.category
        else:
            text = dump_aiken([q])
        yield text if first else "\n" + text
        first = False
