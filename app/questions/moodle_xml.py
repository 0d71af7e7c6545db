"""Moodle XML (question/format/xml/format.php): a safe streaming reader and a writer.

Reading uses defusedxml's expat SAX parser with DTDs, entity declarations and external references
all forbidden, so an external entity or a "billion laughs" file is refused at its DOCTYPE, before
any expansion, with :class:`HostileXML`. The file is fed in chunks and each ``<question>`` is
turned into a :class:`~app.questions.portable.ParsedQuestion` as soon as it closes, so memory use
does not grow with the file.

Types (Moodle ``type`` attribute -> registry name): multichoice (``<single>`` true -> single_choice,
else multiple_choice), truefalse, shortanswer (``<usecase>``), numerical (``<tolerance>``, ``<units>``,
``<unitgradingtype>`` non-zero -> unit required), matching (``<subquestion>``; one with empty text is
an extra answer), ordering (answers in any order, each ``fraction`` its correct position 1..n, as
qtype_ordering writes them), essay (``<responseformat>``, ``<minwordlimit>``, ``<maxwordlimit>``,
``<graderinfo>``, ``<responsetemplate>``). ``type="category"`` sets the category of the questions
after it. Also read: ``<name>``, ``<questiontext format>``, ``<generalfeedback>``, ``<idnumber>``,
``<tags>``, per-answer ``<feedback>``. Fractions in the file are percentages (100, -50, 33.33333).
Pure Python (defusedxml and the standard library).
"""
from __future__ import annotations

from typing import IO, Iterable, Iterator
from xml.sax.handler import ContentHandler
from xml.sax import SAXParseException
from xml.sax.saxutils import escape

from defusedxml import DefusedXmlException
from defusedxml.expatreader import DefusedExpatParser
from xml.sax.expatreader import ExpatLocator

from app.questions.aiken import default_name
from app.questions.portable import FormatError, ParsedQuestion, normalise_category
from app.questions.types import _num, ordering_ids

#: Moodle text format names <-> ours.
FROM_MOODLE_FORMAT = {"html": "html", "moodle_auto_format": "moodle", "plain_text": "plain", "markdown": "markdown"}
TO_MOODLE_FORMAT = {v: k for k, v in FROM_MOODLE_FORMAT.items()}
SUPPORTED = {"multichoice", "truefalse", "shortanswer", "numerical", "matching", "ordering", "essay"}
CHUNK = 64 * 1024


class HostileXML(ValueError):
    """The XML declares a DTD, entities or external references (refused before any is expanded)."""


class _Element:
    __slots__ = ("tag", "attrs", "parts", "children", "line")

    def __init__(self, tag: str, attrs: dict, line: int):
        self.tag, self.attrs, self.line = tag, attrs, line
        self.parts: list[str] = []
        self.children: list[_Element] = []

    @property
    def text(self) -> str:
        return "".join(self.parts)

    def find(self, tag: str) -> "_Element | None":
        for child in self.children:
            if child.tag == tag:
                return child
        return None

    def findall(self, tag: str) -> list["_Element"]:
        return [c for c in self.children if c.tag == tag]

    def value(self, tag: str, default: str = "") -> str:
        """Text of child ``tag``, or of its ``<text>`` child when it has one."""
        child = self.find(tag)
        if child is None:
            return default
        inner = child.find("text")
        return (inner.text if inner is not None else child.text).strip()


class _Handler(ContentHandler):
    """Builds one ``<question>`` subtree at a time; finished questions go to ``done``."""

    def __init__(self):
        super().__init__()
        self.stack: list[_Element] = []
        self.done: list[_Element] = []
        self.root_seen = False
        self.max_text = 0

    def startElement(self, name, attrs):
        line = self._locator.getLineNumber() if self._locator else 0
        if not self.root_seen:
            self.root_seen = True
            if name != "quiz":
                raise SAXParseException(f"the root element is <{name}>, expected <quiz> (Moodle XML)", None,
                                        self._locator)
            return
        if not self.stack and name != "question":
            self.stack.append(_Element(name, {}, line))  # ignored element outside questions
            return
        self.stack.append(_Element(name, dict(attrs), line))

    def endElement(self, name):
        if not self.stack:
            return
        element = self.stack.pop()
        if self.stack:
            self.stack[-1].children.append(element)
        elif element.tag == "question":
            self.done.append(element)

    def characters(self, content):
        if self.stack:
            self.stack[-1].parts.append(content)


def _fraction(text: str, where: str, line: int, name: str) -> float | FormatError:
    try:
        value = float(text or 0) / 100
    except ValueError:
        return FormatError(line, f"fraction {text!r} is not a number (percent, e.g. 100 or -50)", where, name)
    if not -1.0 <= value <= 1.0:
        return FormatError(line, f"fraction {text!r} is outside -100..100", where, name)
    return round(value, 7)


def _fmt(element: _Element | None, default: str) -> str:
    if element is None:
        return default
    return FROM_MOODLE_FORMAT.get(element.attrs.get("format", ""), default)


def _convert(q: _Element, category: str) -> ParsedQuestion | FormatError:
    kind = q.attrs.get("type", "")
    name = q.value("name")
    line = q.line
    if kind not in SUPPORTED:
        return FormatError(line, f"question type '{kind}' is not supported (supported: {', '.join(sorted(SUPPORTED))})",
                           "type", name)
    qt = q.find("questiontext")
    stem_format = _fmt(qt, "html")
    stem = q.value("questiontext")
    tags_el = q.find("tags")
    tags = [t.value("text") or t.text.strip() for t in tags_el.findall("tag")] if tags_el is not None else []
    common = dict(line=line, name=name or default_name(stem), stem=stem, stem_format=stem_format,
                  general_feedback=q.value("generalfeedback"), idnumber=q.value("idnumber") or None,
                  category=category, tags=[t for t in tags if t])
    answers = q.findall("answer")

    def answer_rows(allow_negative=True):
        rows = []
        for n, a in enumerate(answers, 1):
            fraction = _fraction(a.attrs.get("fraction", "0"), f"answer[{n}].fraction", a.line, name)
            if isinstance(fraction, FormatError):
                return fraction
            if not allow_negative and fraction < 0:
                return FormatError(a.line, "negative fractions are allowed only in multiple-choice questions",
                                   f"answer[{n}].fraction", name)
            rows.append((a, fraction))
        return rows

    if kind == "multichoice":
        rows = answer_rows()
        if isinstance(rows, FormatError):
            return rows
        single = q.value("single", "true").lower() in ("true", "1")
        letters = "abcdefghijklmnopqrstuvwxyz"
        options = [{"id": letters[i] if i < 26 else f"o{i}", "text": a.value("text"), "format": _fmt(a, stem_format),
                    "fraction": f, "feedback": a.value("feedback")} for i, (a, f) in enumerate(rows)]
        return ParsedQuestion(qtype="single_choice" if single else "multiple_choice", spec={"options": options}, **common)
    if kind == "truefalse":
        by_text = {a.value("text").lower(): a for a in answers}
        if set(by_text) != {"true", "false"}:
            return FormatError(line, "a true/false question needs one answer 'true' and one 'false'", "answer", name)
        truth = float(by_text["true"].attrs.get("fraction", "0") or 0) >= 100
        right, wrong = (by_text["true"], by_text["false"]) if truth else (by_text["false"], by_text["true"])
        return ParsedQuestion(qtype="true_false", spec={
            "answer": truth, "feedback_right": right.value("feedback"), "feedback_wrong": wrong.value("feedback")}, **common)
    if kind == "shortanswer":
        rows = answer_rows(allow_negative=False)
        if isinstance(rows, FormatError):
            return rows
        return ParsedQuestion(qtype="short_answer", spec={
            "answers": [{"text": a.value("text"), "fraction": f, "feedback": a.value("feedback")} for a, f in rows],
            "case_sensitive": q.value("usecase", "0") in ("1", "true")}, **common)
    if kind == "numerical":
        rows = answer_rows(allow_negative=False)
        if isinstance(rows, FormatError):
            return rows
        out = []
        for n, (a, f) in enumerate(rows, 1):
            text = a.value("text")
            if text == "*":
                out.append({"value": None, "tolerance": 0.0, "fraction": f, "feedback": a.value("feedback")})
                continue
            try:
                value, tolerance = float(text), float(a.value("tolerance", "0") or 0)
            except ValueError:
                return FormatError(a.line, f"{text!r} is not a number", f"answer[{n}].text", name)
            out.append({"value": value, "tolerance": abs(tolerance), "fraction": f, "feedback": a.value("feedback")})
        units = []
        units_el = q.find("units")
        for n, u in enumerate(units_el.findall("unit") if units_el is not None else [], 1):
            try:
                multiplier = float(u.value("multiplier", "1") or 1)
            except ValueError:
                return FormatError(u.line, "multiplier is not a number", f"units.unit[{n}].multiplier", name)
            units.append({"unit": u.value("unit_name"), "multiplier": multiplier})
        required = q.value("unitgradingtype", "0") not in ("", "0") and bool(units)
        return ParsedQuestion(qtype="numerical", spec={"answers": out, "units": units, "unit_required": required},
                              **common)
    if kind == "matching":
        pairs, distractors = [], []
        for s in q.findall("subquestion"):
            text, answer = s.value("text"), s.value("answer")
            if text:
                pairs.append({"id": str(len(pairs) + 1), "text": text, "format": _fmt(s, stem_format), "answer": answer})
            elif answer:
                distractors.append(answer)
        return ParsedQuestion(qtype="matching", spec={"pairs": pairs, "distractors": distractors}, **common)
    if kind == "ordering":
        rows = []
        for n, a in enumerate(answers, 1):
            try:
                rows.append((float(a.attrs.get("fraction", n)), n, a))
            except ValueError:
                return FormatError(a.line, "fraction must be the item's position (1, 2, 3...)",
                                   f"answer[{n}].fraction", name)
        rows.sort(key=lambda r: (r[0], r[1]))
        texts = [a.value("text") for _, _, a in rows]
        items = [{"id": i, "text": t, "format": _fmt(a, stem_format)}
                 for i, t, (_, _, a) in zip(ordering_ids(texts), texts, rows)]
        return ParsedQuestion(qtype="ordering", spec={"items": items}, **common)
    # essay
    response_format = q.value("responseformat", "editor")

    def whole(tag):
        value = q.value(tag, "0") or "0"
        return int(value) if value.isdigit() else 0

    return ParsedQuestion(qtype="essay", spec={
        "response_format": "plain" if response_format in ("plain", "monospaced") else "editor",
        "min_words": whole("minwordlimit"), "max_words": whole("maxwordlimit"),
        "grader_info": q.value("graderinfo"), "response_template": q.value("responsetemplate")}, **common)


def iter_moodle_xml(stream: IO[bytes]) -> Iterator[ParsedQuestion | FormatError]:
    """Read Moodle XML from a binary stream, question by question, in file order.

    Raises :class:`HostileXML` for a DTD, entity or external reference (nothing is expanded), and
    yields a FormatError (with the parser's line) for XML that is not well formed, after which
    reading stops.
    """
    parser = DefusedExpatParser(forbid_dtd=True, forbid_entities=True, forbid_external=True)
    handler = _Handler()
    parser.setContentHandler(handler)
    handler.setDocumentLocator(ExpatLocator(parser))  # feed() does not set it, parse() would
    category = ""
    try:
        while True:
            chunk = stream.read(CHUNK)
            if chunk:
                parser.feed(chunk)
            else:
                parser.close()
            for element in handler.done:
                if element.attrs.get("type") == "category":
                    category = normalise_category(element.value("category"))
                    continue
                yield _convert(element, category)
            handler.done.clear()
            if not chunk:
                break
    except DefusedXmlException as exc:
        raise HostileXML(f"refused: the file declares a DTD, entities or external references ({type(exc).__name__}); "
                         f"Moodle XML needs none, and they are never expanded") from None
    except SAXParseException as exc:
        yield FormatError(exc.getLineNumber() or 0, f"not well-formed XML: {exc.getMessage()}", "xml")
    if not handler.root_seen:
        yield FormatError(1, "the file holds no XML elements", "xml")


# --------------------------------------------------------------------------- writing


def _text(value: str) -> str:
    return f"<text>{escape(value or '')}</text>"


def _formatted(tag: str, value: str, fmt: str, indent: str = "    ") -> str:
    return f'{indent}<{tag} format="{TO_MOODLE_FORMAT.get(fmt, "html")}">{_text(value)}</{tag}>\n'


def _pct(fraction: float) -> str:
    return _num(round(float(fraction) * 100, 7))


def category_xml(category: str) -> str:
    """A ``type="category"`` question for ``category`` (written as ``$course$/top/<category>``)."""
    path = "$course$/top" + (f"/{category}" if category else "")
    return f'  <question type="category">\n    <category>{_text(path)}</category>\n  </question>\n'


def question_xml(q: ParsedQuestion) -> str:
    """One ``<question>`` element for ``q`` (a registry spec). Raises ValueError for an unknown type."""
    kinds = {"single_choice": "multichoice", "multiple_choice": "multichoice", "true_false": "truefalse",
             "short_answer": "shortanswer", "numerical": "numerical", "matching": "matching",
             "ordering": "ordering", "essay": "essay"}
    if q.qtype not in kinds:
        raise ValueError(f"question '{q.name}': type {q.qtype!r} cannot be written as Moodle XML")
    spec = q.spec
    out = [f'  <question type="{kinds[q.qtype]}">\n', f"    <name>{_text(q.name)}</name>\n",
           _formatted("questiontext", q.stem, q.stem_format),
           _formatted("generalfeedback", q.general_feedback, q.stem_format),
           "    <defaultgrade>1</defaultgrade>\n", "    <hidden>0</hidden>\n",
           f"    <idnumber>{escape(q.idnumber or '')}</idnumber>\n"]

    def answer(fraction: str, text: str, fmt: str, feedback: str = "", extra: str = "") -> str:
        return (f'    <answer fraction="{fraction}" format="{TO_MOODLE_FORMAT.get(fmt, "html")}">{_text(text)}'
                f'{extra}<feedback format="{TO_MOODLE_FORMAT.get(q.stem_format, "html")}">{_text(feedback)}</feedback>'
                f"</answer>\n")

    if q.qtype in ("single_choice", "multiple_choice"):
        out.append(f"    <single>{'true' if q.qtype == 'single_choice' else 'false'}</single>\n")
        out.append("    <shuffleanswers>true</shuffleanswers>\n")
        out += [answer(_pct(o["fraction"]), o["text"], o.get("format", "plain"), o.get("feedback", ""))
                for o in spec["options"]]
    elif q.qtype == "true_false":
        right, wrong = spec.get("feedback_right", ""), spec.get("feedback_wrong", "")
        out.append(answer("100" if spec["answer"] else "0", "true", "moodle", right if spec["answer"] else wrong))
        out.append(answer("0" if spec["answer"] else "100", "false", "moodle", wrong if spec["answer"] else right))
    elif q.qtype == "short_answer":
        out.append(f"    <usecase>{1 if spec.get('case_sensitive') else 0}</usecase>\n")
        out += [answer(_pct(a.get("fraction", 1)), a["text"], "moodle", a.get("feedback", "")) for a in spec["answers"]]
    elif q.qtype == "numerical":
        for a in spec["answers"]:
            if a.get("value") is None:
                out.append(answer(_pct(a.get("fraction", 0)), "*", "moodle", a.get("feedback", ""),
                                  "<tolerance>0</tolerance>"))
            else:
                out.append(answer(_pct(a.get("fraction", 1)), _num(a["value"]), "moodle", a.get("feedback", ""),
                                  f"<tolerance>{_num(a.get('tolerance', 0))}</tolerance>"))
        if spec.get("units"):
            out.append("    <units>\n" + "".join(
                f"      <unit><multiplier>{_num(u.get('multiplier', 1))}</multiplier>"
                f"<unit_name>{escape(u['unit'])}</unit_name></unit>\n" for u in spec["units"]) + "    </units>\n")
        out.append(f"    <unitgradingtype>{1 if spec.get('unit_required') else 0}</unitgradingtype>\n")
        out.append(f"    <unitpenalty>{1 if spec.get('unit_required') else 0}</unitpenalty>\n")
        out.append(f"    <showunits>{1 if spec.get('units') else 3}</showunits>\n")
    elif q.qtype == "matching":
        out.append("    <shuffleanswers>true</shuffleanswers>\n")
        for p in spec["pairs"]:
            out.append(f'    <subquestion format="{TO_MOODLE_FORMAT.get(p.get("format", "plain"), "html")}">'
                       f'{_text(p["text"])}<answer>{_text(p["answer"])}</answer></subquestion>\n')
        for d in spec.get("distractors", []):
            out.append(f'    <subquestion format="html">{_text("")}<answer>{_text(d)}</answer></subquestion>\n')
    elif q.qtype == "ordering":
        out.append("    <layouttype>VERTICAL</layouttype>\n    <selecttype>ALL</selecttype>\n"
                   "    <gradingtype>RELATIVE_NEXT_EXCLUDE_LAST</gradingtype>\n")
        out += [answer(str(n), i["text"], i.get("format", "plain")) for n, i in enumerate(spec["items"], 1)]
    else:
        out.append(f"    <responseformat>{'plain' if spec.get('response_format') == 'plain' else 'editor'}"
                   f"</responseformat>\n    <responserequired>1</responserequired>\n"
                   f"    <responsefieldlines>10</responsefieldlines>\n"
                   f"    <minwordlimit>{spec.get('min_words') or ''}</minwordlimit>\n"
                   f"    <maxwordlimit>{spec.get('max_words') or ''}</maxwordlimit>\n"
                   f"    <attachments>0</attachments>\n")
        out.append(_formatted("graderinfo", spec.get("grader_info", ""), "plain"))
        out.append(_formatted("responsetemplate", spec.get("response_template", ""), "plain"))
    if q.tags:
        out.append("    <tags>\n" + "".join(f"      <tag>{_text(t)}</tag>\n" for t in q.tags) + "    </tags>\n")
    out.append("  </question>\n")
    return "".join(out)


def iter_dump_moodle_xml(questions: Iterable[ParsedQuestion]) -> Iterator[str]:
    """Moodle XML text in pieces (for writing large exports without building one string): the XML
    declaration, ``<quiz>``, a category question whenever the category changes, each question, ``</quiz>``."""
    yield '<?xml version="1.0" encoding="UTF-8"?>\n<quiz>\n'
    current = None
    for q in questions:
        if q.category != current:
            yield category_xml(q.category)
            current = q.category
        yield question_xml(q)
    yield "</quiz>\n"


def dump_moodle_xml(questions: Iterable[ParsedQuestion]) -> str:
    """The whole Moodle XML document for ``questions`` as one string."""
    return "".join(iter_dump_moodle_xml(questions))
