"""Question types as a registry (one class per type, as CTFd's challenge classes). Views never branch on a type name.

Each type knows how to check its spec (``validate``), render itself for a candidate without the key
(``render_for_candidate``, which names the partial template that draws it), check and normalise a
candidate's response (``check_response``), grade a response to a fraction 0–1 (``grade``; ``None`` for
manually graded types), echo a stored response for redisplay (``response_echo`` / ``selected``), show
the key after the attempt (``correct_answer_text``) and convert from/to GIFT (``from_gift`` / ``to_gift``;
Moodle XML and Aiken live in their format modules and use the same specs).

Specs (stored in ``QuestionVersion.spec``; texts have a ``format``: markdown, html, plain or moodle):

* ``single_choice`` / ``multiple_choice``: ``{"options": [{"id": "a", "text", "format", "fraction" (-1..1),
  "feedback"}, ...]}``
* ``true_false``: ``{"answer": bool, "feedback_wrong": str, "feedback_right": str}``
* ``short_answer``: ``{"answers": [{"text" (may hold * wildcards), "fraction" (0..1), "feedback"}],
  "case_sensitive": false}``
* ``numerical``: ``{"answers": [{"value": float | None (None = any other answer), "tolerance": float >= 0,
  "fraction" (0..1), "feedback"}], "units": [{"unit": "cm", "multiplier": 1.0}], "unit_required": bool}``
* ``matching``: ``{"pairs": [{"id": "1", "text", "format", "answer"}], "distractors": [str]}``
* ``ordering``: ``{"items": [{"id", "text", "format"}]}`` listed in the correct order; ids are ranks in
  alphabetical order of the texts, so they never reveal the correct order.
* ``essay``: ``{"response_format": "plain" | "editor", "min_words": int, "max_words": int (0 = no limit),
  "grader_info": str, "response_template": str}``
* ``practical``: ``{"task_id": str (folder name under question_bank/tasks), "kind": "docx" | "xlsx" | "pptx",
  "fingerprint": str (task_fingerprint), "pass_fraction": 0..1, "title_en": str, "instructions_en": str}``
  (the stem holds the Chinese title and instructions; English pages show the English ones when given)

Responses (JSON from the candidate, before ``check_response``):

* single choice ``{"choice": "b"}``; multiple response ``{"choices": ["a", "c"]}``; true/false
  ``{"answer": true}`` (or ``{"choice": "true"}``); short answer ``{"text": "..."}``; numerical
  ``{"value": "3.5 cm"}``; matching ``{"matches": {"1": "answer text", ...}}``; ordering
  ``{"order": [item ids]}``; essay ``{"text": "..."}``; practical ``{"upload": {"filename", "size", "sha256"}}``
  (written only by the upload service, :mod:`app.exams.practical`, never by autosave).
"""
from __future__ import annotations

import math
import random
import re
import string
import unicodedata
from abc import ABC, abstractmethod
from typing import Any, ClassVar

from flask_babel import lazy_gettext as _l

from app.core.markup import render_text
from app.questions.gift import GiftOption, GiftQuestion

TEXT_FORMATS = {"markdown", "html", "plain", "moodle"}

#: Longest short-answer / numerical response accepted (characters).
SHORT_RESPONSE_MAX = 255
#: Longest essay response accepted (characters).
ESSAY_RESPONSE_MAX = 50_000


def _(message: str, **values) -> str:
    """``message`` translated for the current request's locale (``%(name)s`` placeholders), or in
    English outside an app context (command line, pure tests)."""
    from flask import has_app_context

    if has_app_context():
        from flask_babel import gettext

        return gettext(message, **values)
    return message % values if values else message


class SpecError(ValueError):
    """A question's content is invalid (message names the field and why)."""


class ResponseError(ValueError):
    """A candidate's response does not fit the question (malformed, unknown option, not a number...)."""


class ExportError(ValueError):
    """A question cannot be written in the asked format (e.g. an ordering question as GIFT)."""


def normalise_text(text: str, case_sensitive: bool = False) -> str:
    """Text as compared for grading: Unicode NFKC (full-width 'ＡＢＣ１' becomes 'ABC1', the ideographic
    space a space), surrounding spaces removed, runs of white space made one space, and case folded
    unless ``case_sensitive``."""
    text = " ".join(unicodedata.normalize("NFKC", text or "").split())
    return text if case_sensitive else text.casefold()


def _fraction(value: Any, where: str, low: float = -1.0) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise SpecError(f"{where}: fraction must be a number") from None
    if not math.isfinite(number) or not low <= number <= 1.0:
        raise SpecError(f"{where}: fraction must be between {low:g} and 1 (weights are shares of the mark)")
    return number


def _text_ok(item: dict, where: str, field: str = "text") -> None:
    if not isinstance(item, dict):
        raise SpecError(f"{where}: expected an object")
    if not isinstance(item.get(field), str) or not item[field].strip():
        raise SpecError(f"{where}.{field}: text is empty")
    if item.get("format", "plain") not in TEXT_FORMATS:
        raise SpecError(f"{where}.format: unknown text format {item.get('format')!r} "
                        f"(expected one of {', '.join(sorted(TEXT_FORMATS))})")


def _option_format(stem_format: str) -> str:
    return "markdown" if stem_format == "markdown" else "plain"


def _gift(stem: str, stem_format: str, qtype: str, general_feedback: str, **fields) -> GiftQuestion:
    return GiftQuestion(line=0, name="", idnumber=None, tags=[], category=None, qtype=qtype, stem=stem,
                        stem_format=stem_format, general_feedback=general_feedback, raw="", **fields)


class QuestionType(ABC):
    """Base class of the registry. Subclasses set ``name``, ``label``, ``template`` and implement the methods.

    ``manual`` is True for types a person grades (``grade`` then returns ``None``: "needs grading").
    ``deferred`` is True for types a machine checks after the attempt is submitted (practical tasks:
    ``grade`` returns ``None`` and the scheduler's checking job gives the mark); blueprint rows
    without a ``type`` never draw them, and people do not grade them.
    """

    name: ClassVar[str]
    label: ClassVar[str]
    template: ClassVar[str]
    manual: ClassVar[bool] = False
    deferred: ClassVar[bool] = False

    @abstractmethod
    def validate(self, spec: dict) -> None:
        """Raise SpecError (message: ``field: problem``) if ``spec`` is not a valid spec of this type."""

    def option_ids(self, spec: dict) -> list[str]:
        """Ids of the things the candidate orders or chooses, in source order (empty if none)."""
        return []

    def shuffled_order(self, spec: dict, seed: int) -> list[str]:
        """A per-attempt display order of option ids, deterministic for ``seed``."""
        ids = self.option_ids(spec)
        random.Random(seed).shuffle(ids)
        return ids

    def _base(self, stem: str, stem_format: str) -> dict:
        return {"template": self.template, "kind": self.name, "multiple": False, "manual": self.manual,
                "stem_html": render_text(stem, stem_format), "options": []}

    @abstractmethod
    def render_for_candidate(self, stem: str, stem_format: str, spec: dict, order: list[str]) -> dict:
        """What the candidate sees, never the key.

        Always ``{"template": partial to include, "kind": type name, "multiple": bool, "manual": bool,
        "stem_html": safe HTML, "options": [{"id", "html"}]}`` plus the type's own keys (see each class).
        ``order`` is the per-attempt order from ``shuffled_order``.
        """

    @abstractmethod
    def check_response(self, spec: dict, response: Any) -> dict:
        """Return the normalised response (shape in the module docstring) or raise ResponseError."""

    def selected(self, spec: dict, response: dict | None) -> list[str]:
        """Option ids the stored ``response`` selects (to redraw choice pages after a reload); [] if none."""
        return []

    @abstractmethod
    def response_echo(self, spec: dict, response: dict | None) -> dict:
        """The stored response as the partial needs it to redraw the candidate's answer (see each class)."""

    @abstractmethod
    def grade(self, spec: dict, response: dict | None) -> float | None:
        """Fraction of the points earned, 0–1 (a missing response earns 0); ``None`` means "needs grading"."""

    @abstractmethod
    def correct_answer_text(self, spec: dict) -> list[str]:
        """The key as display texts (for review after the attempt)."""

    @abstractmethod
    def from_gift(self, question: GiftQuestion) -> dict:
        """Build a spec from a parsed GIFT question."""

    @abstractmethod
    def to_gift(self, stem: str, stem_format: str, spec: dict, general_feedback: str) -> GiftQuestion:
        """Build a GIFT question (name, tags and category left for the caller). Raises ExportError if GIFT
        cannot hold the question."""


# --------------------------------------------------------------------------- choice


class _ChoiceType(QuestionType):
    multiple: ClassVar[bool]
    template = "questions/types/choice.html"

    def option_ids(self, spec: dict) -> list[str]:
        return [option["id"] for option in spec["options"]]

    def validate(self, spec: dict) -> None:
        options = spec.get("options")
        if not isinstance(options, list) or len(options) < 2:
            raise SpecError("options: a choice question needs at least two options")
        ids = [o.get("id") if isinstance(o, dict) else None for o in options]
        if len(set(ids)) != len(ids) or not all(isinstance(i, str) and i for i in ids):
            raise SpecError("options: option ids must be unique, non-empty strings")
        fractions = []
        for n, o in enumerate(options, 1):
            _text_ok(o, f"options[{n}]")
            fractions.append(_fraction(o.get("fraction", 0), f"options[{n}]"))
        positive = [f for f in fractions if f > 0]
        if self.multiple:
            if not 2 <= len(positive) <= 4:
                raise SpecError(f"options: a multiple-response question needs 2 to 4 right options "
                                f"(positive weights), this one has {len(positive)}")
            if abs(sum(positive) - 1.0) > 0.005:
                raise SpecError("options: the weights of the right options must add up to 100%")
        elif not any(abs(f - 1.0) < 1e-9 for f in fractions):
            raise SpecError("options: a single-choice question needs one option worth 100%")

    def render_for_candidate(self, stem, stem_format, spec, order):
        """Adds nothing: ``options`` are ``[{"id", "html"}]`` in ``order``; ``multiple`` is True for
        multiple response (check boxes) and False for single choice (radio buttons)."""
        by_id = {o["id"]: o for o in spec["options"]}
        data = self._base(stem, stem_format)
        data.update(multiple=self.multiple, options=[
            {"id": i, "html": render_text(by_id[i]["text"], by_id[i].get("format", "plain"))} for i in order])
        return data

    def response_echo(self, spec, response):
        """``{"selected": [option ids]}``."""
        return {"selected": self.selected(spec, response)}

    def correct_answer_text(self, spec):
        return [o["text"] for o in spec["options"] if float(o["fraction"]) > 0]

    def from_gift(self, question: GiftQuestion) -> dict:
        letters = string.ascii_lowercase
        ids = [letters[i] if i < 26 else f"o{i}" for i in range(len(question.options))]
        return {"options": [
            {"id": ids[i], "text": o.text, "format": _option_format(question.stem_format),
             "fraction": round(float(o.fraction), 7), "feedback": o.feedback}
            for i, o in enumerate(question.options)]}

    def to_gift(self, stem, stem_format, spec, general_feedback):
        return _gift(stem, stem_format, self.name, general_feedback, options=[
            GiftOption(text=o["text"], fraction=float(o["fraction"]), feedback=o.get("feedback", ""))
            for o in spec["options"]])


class SingleChoice(_ChoiceType):
    """One right option (单选题). Grade: the chosen option's weight clamped to 0–1 (the key earns 1)."""

    name = "single_choice"
    label = _l("single choice")
    multiple = False

    def check_response(self, spec, response):
        if not isinstance(response, dict) or not isinstance(response.get("choice"), str):
            raise ResponseError('expected {"choice": option id}')
        if response["choice"] not in self.option_ids(spec):
            raise ResponseError("unknown option")
        return {"choice": response["choice"]}

    def selected(self, spec, response):
        return [response["choice"]] if response and response.get("choice") else []

    def grade(self, spec, response):
        if not response:
            return 0.0
        for o in spec["options"]:
            if o["id"] == response.get("choice"):
                return max(0.0, min(1.0, float(o["fraction"])))
        return 0.0


class MultipleChoice(_ChoiceType):
    """Several right options (多选题), 2 to 4 keys.

    Partial credit is Moodle's multichoice rule (question/type/multichoice/question.php,
    ``qtype_multichoice_multi_question::grade_response``): every chosen option adds its weight,
    right options carry positive weights that add up to 1, wrong ones carry negative weights
    (e.g. -1 or -0.5), and the sum is clamped to 0–1. So choosing every option earns nothing when
    wrong options weigh -1, and an empty response earns 0.
    """

    name = "multiple_choice"
    label = _l("multiple response")
    multiple = True

    def check_response(self, spec, response):
        choices = response.get("choices") if isinstance(response, dict) else None
        if not isinstance(choices, list) or not all(isinstance(c, str) for c in choices):
            raise ResponseError('expected {"choices": [option ids]}')
        known = self.option_ids(spec)
        if any(c not in known for c in choices):
            raise ResponseError("unknown option")
        return {"choices": sorted(set(choices))}

    def selected(self, spec, response):
        return list(response.get("choices", [])) if response else []

    def grade(self, spec, response):
        if not response:
            return 0.0
        chosen = set(response.get("choices", []))
        total = sum(float(o["fraction"]) for o in spec["options"] if o["id"] in chosen)
        return max(0.0, min(1.0, round(total, 7)))


class TrueFalse(QuestionType):
    """A statement to judge true or false (判断题). Rendered like a choice with the options "true" and "false"."""

    name = "true_false"
    label = _l("true/false")
    template = "questions/types/choice.html"

    def validate(self, spec):
        if not isinstance(spec.get("answer"), bool):
            raise SpecError("answer: a true/false question needs answer true or false")

    def shuffled_order(self, spec, seed):
        return ["true", "false"]

    def render_for_candidate(self, stem, stem_format, spec, order):
        """``options`` are ``[{"id": "true", "html": "True"}, {"id": "false", ...}]`` (translated)."""
        data = self._base(stem, stem_format)
        data["options"] = [{"id": "true", "html": _("True")}, {"id": "false", "html": _("False")}]
        return data

    def check_response(self, spec, response):
        if isinstance(response, dict) and isinstance(response.get("choice"), str) and response["choice"] in ("true", "false"):
            return {"answer": response["choice"] == "true"}
        if not isinstance(response, dict) or not isinstance(response.get("answer"), bool):
            raise ResponseError('expected {"answer": true|false}')
        return {"answer": response["answer"]}

    def selected(self, spec, response):
        if not response or not isinstance(response.get("answer"), bool):
            return []
        return ["true" if response["answer"] else "false"]

    def response_echo(self, spec, response):
        """``{"selected": ["true"] | ["false"] | []}``."""
        return {"selected": self.selected(spec, response)}

    def grade(self, spec, response):
        if not response:
            return 0.0
        return 1.0 if response.get("answer") is spec["answer"] else 0.0

    def correct_answer_text(self, spec):
        return [_("True") if spec["answer"] else _("False")]

    def from_gift(self, question):
        return {"answer": bool(question.tf_answer), "feedback_wrong": question.tf_feedback_wrong,
                "feedback_right": question.tf_feedback_right}

    def to_gift(self, stem, stem_format, spec, general_feedback):
        return _gift(stem, stem_format, self.name, general_feedback, tf_answer=spec["answer"],
                     tf_feedback_wrong=spec.get("feedback_wrong", ""), tf_feedback_right=spec.get("feedback_right", ""))


# --------------------------------------------------------------------------- short answer


def wildcard_regex(pattern: str, case_sensitive: bool = False) -> re.Pattern:
    """Compile a short-answer pattern: ``*`` matches any text (also none), ``\\*`` a literal asterisk,
    everything else literally, after :func:`normalise_text` on both sides (Moodle's shortanswer rule)."""
    parts = re.split(r"(\\\*|\*)", normalise_text(pattern, case_sensitive))
    regex = "".join(".*" if p == "*" else re.escape("*") if p == "\\*" else re.escape(p) for p in parts)
    return re.compile(regex, re.DOTALL)


class ShortAnswer(QuestionType):
    """A typed word or phrase (填空题), compared with each accepted answer in turn; the first that
    matches gives its fraction (Moodle's order: the best answers are written first, a ``*`` catch-all last).

    Matching ignores case (unless ``case_sensitive``), surrounding spaces, repeated spaces and
    full-width/half-width differences (Unicode NFKC: 'ＡＢＣ１' matches 'abc1'). ``*`` is a wildcard.
    Render adds ``{"max_length": 255}``; response ``{"text": str}``; an empty text earns 0.
    """

    name = "short_answer"
    label = _l("short answer")
    template = "questions/types/short_answer.html"

    def validate(self, spec):
        answers = spec.get("answers")
        if not isinstance(answers, list) or not answers:
            raise SpecError("answers: a short-answer question needs at least one accepted answer")
        for n, a in enumerate(answers, 1):
            _text_ok(a, f"answers[{n}]")
            _fraction(a.get("fraction", 1), f"answers[{n}]", low=0.0)
        if not any(abs(float(a.get("fraction", 1)) - 1.0) < 1e-9 for a in answers):
            raise SpecError("answers: one accepted answer must be worth 100%")

    def render_for_candidate(self, stem, stem_format, spec, order):
        data = self._base(stem, stem_format)
        data["max_length"] = SHORT_RESPONSE_MAX
        return data

    def check_response(self, spec, response):
        text = response.get("text") if isinstance(response, dict) else None
        if not isinstance(text, str):
            raise ResponseError('expected {"text": your answer}')
        if len(text) > SHORT_RESPONSE_MAX:
            raise ResponseError(_("The answer is longer than %(n)s characters.", n=SHORT_RESPONSE_MAX))
        return {"text": text.strip()}

    def response_echo(self, spec, response):
        """``{"text": str}`` (empty when unanswered)."""
        return {"text": (response or {}).get("text", "")}

    def grade(self, spec, response):
        text = (response or {}).get("text", "")
        if not normalise_text(text):
            return 0.0
        case_sensitive = bool(spec.get("case_sensitive", False))
        candidate = normalise_text(text, case_sensitive)
        for a in spec["answers"]:
            if wildcard_regex(a["text"], case_sensitive).fullmatch(candidate):
                return max(0.0, min(1.0, float(a.get("fraction", 1))))
        return 0.0

    def correct_answer_text(self, spec):
        return [a["text"] for a in spec["answers"] if float(a.get("fraction", 1)) >= 1.0]

    def from_gift(self, question):
        return {"answers": [{"text": o.text, "fraction": round(float(o.fraction), 7), "feedback": o.feedback}
                            for o in question.options], "case_sensitive": False}

    def to_gift(self, stem, stem_format, spec, general_feedback):
        if spec.get("case_sensitive"):
            raise ExportError("GIFT cannot mark a short answer as case-sensitive; export it as Moodle XML")
        return _gift(stem, stem_format, self.name, general_feedback, options=[
            GiftOption(a["text"], float(a.get("fraction", 1)), a.get("feedback", "")) for a in spec["answers"]])


# --------------------------------------------------------------------------- numerical

_NUMBER_WITH_UNIT = re.compile(r"([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)\s*(.*)")


def _num(value: float) -> str:
    """A float as short text: 3.0 -> '3', 0.1 -> '0.1'."""
    return f"{value:.15g}"


class Numerical(QuestionType):
    """A number, optionally with a unit (数值题).

    An answer with ``value`` v and ``tolerance`` t accepts every x with v − t ≤ x ≤ v + t: both bounds
    are inclusive (Moodle's "nominal" tolerance, question/type/numerical/question.php ``is_match``); a
    relative margin of 1e-12 absorbs binary rounding so 0.1 + 0.2 is inside [0.3, 0.3]. The first
    matching answer gives its fraction; ``value`` None is the catch-all "any other number".
    Units: the response may end in one of ``units`` (its value is divided by the unit's ``multiplier``
    to get the base unit, as Moodle does); without a unit the number is taken in the base unit unless
    ``unit_required``, when it earns 0. An unknown unit is refused by ``check_response``.
    Render adds ``{"units": [unit names]}``; response ``{"value": "3.5 cm"}`` (full-width digits
    accepted) is normalised to ``{"value": "3.5 cm", "number": 3.5, "unit": "cm" | ""}``.
    """

    name = "numerical"
    label = _l("numerical")
    template = "questions/types/numerical.html"

    def validate(self, spec):
        answers = spec.get("answers")
        if not isinstance(answers, list) or not answers:
            raise SpecError("answers: a numerical question needs at least one answer")
        for n, a in enumerate(answers, 1):
            if not isinstance(a, dict):
                raise SpecError(f"answers[{n}]: expected an object")
            if a.get("value") is not None:
                for field in ("value", "tolerance"):
                    v = a.get(field, 0)
                    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                        raise SpecError(f"answers[{n}].{field}: must be a number")
                if a.get("tolerance", 0) < 0:
                    raise SpecError(f"answers[{n}].tolerance: must not be negative")
            _fraction(a.get("fraction", 1), f"answers[{n}]", low=0.0)
        if not any(a.get("value") is not None and abs(float(a.get("fraction", 1)) - 1.0) < 1e-9 for a in answers):
            raise SpecError("answers: one numerical answer must be worth 100%")
        units = spec.get("units", [])
        if not isinstance(units, list):
            raise SpecError("units: expected a list")
        names = set()
        for n, u in enumerate(units, 1):
            if not isinstance(u, dict) or not str(u.get("unit", "")).strip():
                raise SpecError(f"units[{n}].unit: unit name is empty")
            m = u.get("multiplier", 1)
            if isinstance(m, bool) or not isinstance(m, (int, float)) or not m or not math.isfinite(m):
                raise SpecError(f"units[{n}].multiplier: must be a non-zero number")
            if u["unit"] in names:
                raise SpecError(f"units[{n}].unit: unit {u['unit']!r} is listed twice")
            names.add(u["unit"])

    def render_for_candidate(self, stem, stem_format, spec, order):
        data = self._base(stem, stem_format)
        data["units"] = [u["unit"] for u in spec.get("units", [])]
        return data

    def check_response(self, spec, response):
        raw = response.get("value") if isinstance(response, dict) else None
        if isinstance(raw, (int, float)) and not isinstance(raw, bool):
            raw = _num(float(raw))
        if not isinstance(raw, str):
            raise ResponseError('expected {"value": a number}')
        if len(raw) > SHORT_RESPONSE_MAX:
            raise ResponseError(_("The answer is longer than %(n)s characters.", n=SHORT_RESPONSE_MAX))
        text = " ".join(unicodedata.normalize("NFKC", raw).split())
        if not text:
            return {"value": "", "number": None, "unit": ""}
        m = _NUMBER_WITH_UNIT.fullmatch(text)
        if not m:
            raise ResponseError(_("Enter a number such as 42 or 3.5."))
        unit = m.group(2).strip()
        known = [u["unit"] for u in spec.get("units", [])]
        if unit and unit not in known:
            if known:
                raise ResponseError(_("Unknown unit '%(unit)s'; use one of: %(units)s.", unit=unit,
                                       units=", ".join(known)))
            raise ResponseError(_("Enter the number without a unit."))
        return {"value": text, "number": float(m.group(1)), "unit": unit}

    def response_echo(self, spec, response):
        """``{"value": str}`` as the candidate typed it (normalised)."""
        return {"value": (response or {}).get("value", "")}

    def grade(self, spec, response):
        if not response or response.get("number") is None:
            return 0.0
        number = float(response["number"])
        unit = response.get("unit", "")
        units = {u["unit"]: float(u.get("multiplier", 1)) for u in spec.get("units", [])}
        if unit:
            if unit not in units:
                return 0.0
            number /= units[unit]
        elif spec.get("unit_required") and units:
            return 0.0
        for a in spec["answers"]:
            if a.get("value") is None:
                return max(0.0, min(1.0, float(a.get("fraction", 0))))
            value, tolerance = float(a["value"]), float(a.get("tolerance", 0))
            margin = 1e-12 * max(1.0, abs(value) + tolerance)
            if value - tolerance - margin <= number <= value + tolerance + margin:
                return max(0.0, min(1.0, float(a.get("fraction", 1))))
        return 0.0

    def correct_answer_text(self, spec):
        base = spec.get("units", [{}])[0].get("unit", "") if spec.get("units") else ""
        out = []
        for a in spec["answers"]:
            if a.get("value") is not None and float(a.get("fraction", 1)) >= 1.0:
                text = _num(a["value"]) + (f" ± {_num(a['tolerance'])}" if a.get("tolerance") else "")
                out.append(f"{text} {base}".strip())
        return out

    def from_gift(self, question):
        answers = []
        for o in question.options:
            if o.text == "*":
                answers.append({"value": None, "tolerance": 0.0, "fraction": round(float(o.fraction), 7),
                                "feedback": o.feedback})
                continue
            if ".." in o.text:
                low, high = (float(x) for x in o.text.split("..", 1))
                value, tolerance = (low + high) / 2, abs(high - low) / 2
            elif ":" in o.text:
                value, tolerance = (float(x) for x in o.text.split(":", 1))
            else:
                value, tolerance = float(o.text), 0.0
            answers.append({"value": value, "tolerance": tolerance, "fraction": round(float(o.fraction), 7),
                            "feedback": o.feedback})
        return {"answers": answers, "units": [], "unit_required": False}

    def to_gift(self, stem, stem_format, spec, general_feedback):
        if spec.get("units"):
            raise ExportError("GIFT cannot hold the units of a numerical question; export it as Moodle XML")
        options = []
        for a in spec["answers"]:
            if a.get("value") is None:
                options.append(GiftOption("*", float(a.get("fraction", 0)), a.get("feedback", "")))
            else:
                text = _num(a["value"]) + (f":{_num(a['tolerance'])}" if a.get("tolerance") else "")
                options.append(GiftOption(text, float(a.get("fraction", 1)), a.get("feedback", "")))
        catch_all = [o for o in options if o.text == "*"]
        if catch_all and (options[-1].text != "*" or len(catch_all) > 1 or catch_all[0].fraction != 0.0):
            raise ExportError("GIFT can hold one 'any other answer' only, last and worth 0%")
        return _gift(stem, stem_format, self.name, general_feedback, options=options)


# --------------------------------------------------------------------------- matching


class Matching(QuestionType):
    """Match each item on the left with an answer (配伍题). Each pair is worth an equal share, so the
    grade is right pairs ÷ pairs (Moodle's match question). ``distractors`` are extra answers that
    match nothing.

    Render adds ``{"pairs": [{"id", "html"}] in the shuffled order, "choices": [answer texts, sorted]}``
    (choices are the answer texts themselves, sorted, so they never reveal which pair they belong to).
    Response ``{"matches": {pair id: answer text}}`` (pairs left out are unanswered).
    """

    name = "matching"
    label = _l("matching")
    template = "questions/types/matching.html"

    def option_ids(self, spec):
        return [p["id"] for p in spec["pairs"]]

    def _choices(self, spec) -> list[str]:
        return sorted({p["answer"] for p in spec["pairs"]} | set(spec.get("distractors", [])))

    def validate(self, spec):
        pairs = spec.get("pairs")
        if not isinstance(pairs, list) or len(pairs) < 2:
            raise SpecError("pairs: a matching question needs at least two pairs")
        ids = [p.get("id") if isinstance(p, dict) else None for p in pairs]
        if len(set(ids)) != len(ids) or not all(isinstance(i, str) and i for i in ids):
            raise SpecError("pairs: pair ids must be unique, non-empty strings")
        for n, p in enumerate(pairs, 1):
            _text_ok(p, f"pairs[{n}]")
            _text_ok({"text": p.get("answer")}, f"pairs[{n}].answer")
        distractors = spec.get("distractors", [])
        if not isinstance(distractors, list) or not all(isinstance(d, str) and d.strip() for d in distractors):
            raise SpecError("distractors: every extra answer needs text")

    def render_for_candidate(self, stem, stem_format, spec, order):
        by_id = {p["id"]: p for p in spec["pairs"]}
        data = self._base(stem, stem_format)
        data["pairs"] = [{"id": i, "html": render_text(by_id[i]["text"], by_id[i].get("format", "plain"))} for i in order]
        data["choices"] = self._choices(spec)
        return data

    def check_response(self, spec, response):
        matches = response.get("matches") if isinstance(response, dict) else None
        if not isinstance(matches, dict):
            raise ResponseError('expected {"matches": {item: answer}}')
        known, choices = set(self.option_ids(spec)), set(self._choices(spec))
        out = {}
        for key, value in matches.items():
            if key not in known:
                raise ResponseError("unknown item")
            if value in ("", None):
                continue
            if value not in choices:
                raise ResponseError("unknown answer")
            out[key] = value
        return {"matches": out}

    def response_echo(self, spec, response):
        """``{"matches": {pair id: answer text}}``."""
        return {"matches": dict((response or {}).get("matches", {}))}

    def grade(self, spec, response):
        matches = (response or {}).get("matches", {})
        right = sum(1 for p in spec["pairs"] if matches.get(p["id"]) == p["answer"])
        return right / len(spec["pairs"])

    def correct_answer_text(self, spec):
        return [f"{p['text']} → {p['answer']}" for p in spec["pairs"]]

    def from_gift(self, question):
        pairs, distractors, n = [], [], 0
        for o in question.options:
            if o.text:
                n += 1
                pairs.append({"id": str(n), "text": o.text, "format": _option_format(question.stem_format),
                              "answer": o.match_text or ""})
            else:
                distractors.append(o.match_text or "")
        return {"pairs": pairs, "distractors": distractors}

    def to_gift(self, stem, stem_format, spec, general_feedback):
        options = [GiftOption(p["text"], 1.0, "", p["answer"]) for p in spec["pairs"]]
        options += [GiftOption("", 0.0, "", d) for d in spec.get("distractors", [])]
        return _gift(stem, stem_format, self.name, general_feedback, options=options)


# --------------------------------------------------------------------------- ordering


def ordering_ids(texts: list[str]) -> list[str]:
    """Item ids for texts given in the correct order: ``"o" + rank of the text in alphabetical order``,
    so the ids say nothing about the correct order and stay the same for the same content."""
    ranked = sorted(range(len(texts)), key=lambda i: (texts[i], i))
    ids = [""] * len(texts)
    for rank, i in enumerate(ranked, 1):
        ids[i] = f"o{rank}"
    return ids


class Ordering(QuestionType):
    """Put the items in the right order (排序题).

    Partial credit: Moodle's qtype_ordering grading type "relative to the next item (excluding last)"
    (``RELATIVE_NEXT_EXCLUDE_LAST``, question/type/ordering/question.php): for each item but the
    last in the candidate's order, a point when the item that follows it is the one that follows it
    in the correct order; the grade is points ÷ (items − 1). A fully right order earns 1; swapping
    the two halves of a list keeps most of the credit, as the rule intends.
    Render: ``options`` ``[{"id", "html"}]`` in the shuffled start order. Response ``{"order": [ids]}``,
    a permutation of every item id.
    """

    name = "ordering"
    label = _l("ordering")
    template = "questions/types/ordering.html"

    def option_ids(self, spec):
        return [i["id"] for i in spec["items"]]

    def validate(self, spec):
        items = spec.get("items")
        if not isinstance(items, list) or len(items) < 2:
            raise SpecError("items: an ordering question needs at least two items")
        for n, item in enumerate(items, 1):
            _text_ok(item, f"items[{n}]")
        if [i.get("id") for i in items] != ordering_ids([i["text"] for i in items]):
            raise SpecError("items: ids must be the alphabetical ranks of the texts (see ordering_ids)")

    def render_for_candidate(self, stem, stem_format, spec, order):
        by_id = {i["id"]: i for i in spec["items"]}
        data = self._base(stem, stem_format)
        data["options"] = [{"id": i, "html": render_text(by_id[i]["text"], by_id[i].get("format", "plain"))}
                           for i in order]
        return data

    def check_response(self, spec, response):
        order = response.get("order") if isinstance(response, dict) else None
        if not isinstance(order, list) or sorted(map(str, order)) != sorted(self.option_ids(spec)):
            raise ResponseError('expected {"order": [every item id once]}')
        return {"order": [str(i) for i in order]}

    def selected(self, spec, response):
        return list((response or {}).get("order", []))

    def response_echo(self, spec, response):
        """``{"order": [item ids]}`` (empty when unanswered)."""
        return {"order": self.selected(spec, response)}

    def grade(self, spec, response):
        order = (response or {}).get("order")
        if not order:
            return 0.0
        right = self.option_ids(spec)
        next_of = {right[i]: right[i + 1] for i in range(len(right) - 1)}
        points = sum(1 for i in range(len(order) - 1) if next_of.get(order[i]) == order[i + 1])
        return points / (len(right) - 1)

    def correct_answer_text(self, spec):
        return [i["text"] for i in spec["items"]]

    def from_gift(self, question):
        raise SpecError("GIFT has no ordering questions")

    def to_gift(self, stem, stem_format, spec, general_feedback):
        raise ExportError("GIFT has no ordering questions; export it as Moodle XML")


# --------------------------------------------------------------------------- essay


class Essay(QuestionType):
    """A written answer graded by a person (论述题). ``manual = True``: ``grade`` returns ``None``
    ("needs grading") for any non-empty response, and 0.0 for an empty one (nothing to grade).

    Render adds ``{"response_format": "plain" | "editor", "response_template": str, "min_words": int,
    "max_words": int}``; ``grader_info`` (rubric notes) is for graders only and is never rendered.
    Response ``{"text": str}`` of at most 50,000 characters.
    """

    name = "essay"
    label = _l("essay")
    template = "questions/types/essay.html"
    manual = True

    def validate(self, spec):
        if spec.get("response_format", "plain") not in ("plain", "editor"):
            raise SpecError("response_format: expected plain or editor")
        for field in ("min_words", "max_words"):
            v = spec.get(field, 0)
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise SpecError(f"{field}: must be a whole number >= 0")
        if spec.get("max_words") and spec.get("min_words", 0) > spec["max_words"]:
            raise SpecError("min_words: is more than max_words")

    def render_for_candidate(self, stem, stem_format, spec, order):
        data = self._base(stem, stem_format)
        data.update(response_format=spec.get("response_format", "plain"),
                    response_template=spec.get("response_template", ""),
                    min_words=spec.get("min_words", 0), max_words=spec.get("max_words", 0))
        return data

    def check_response(self, spec, response):
        text = response.get("text") if isinstance(response, dict) else None
        if not isinstance(text, str):
            raise ResponseError('expected {"text": your answer}')
        if len(text) > ESSAY_RESPONSE_MAX:
            raise ResponseError(_("The answer is longer than %(n)s characters.", n=ESSAY_RESPONSE_MAX))
        return {"text": text}

    def response_echo(self, spec, response):
        """``{"text": str}``."""
        return {"text": (response or {}).get("text", "")}

    def grade(self, spec, response):
        if not (response or {}).get("text", "").strip():
            return 0.0
        return None

    def correct_answer_text(self, spec):
        return []

    def from_gift(self, question):
        return {"response_format": "plain", "min_words": 0, "max_words": 0, "grader_info": "",
                "response_template": ""}

    def to_gift(self, stem, stem_format, spec, general_feedback):
        if spec.get("grader_info") or spec.get("response_template"):
            raise ExportError("GIFT cannot hold an essay's grader notes or response template; "
                              "export it as Moodle XML")
        return _gift(stem, stem_format, self.name, general_feedback)


# --------------------------------------------------------------------------- practical task

#: File kinds of practical tasks and the file extension the candidate saves.
PRACTICAL_KINDS = ("docx", "xlsx", "pptx")


class Practical(QuestionType):
    """A practical task (实操题): the candidate downloads a starter file (.docx, .xlsx or .pptx), does
    the work in WPS or Microsoft Office and uploads the result. ``deferred = True``: the file is checked
    by rules after submit (:mod:`app.practical.checking`, run by the scheduler job in
    :mod:`app.exams.practical`), partial credit per rule; ``grade`` returns ``None`` ("being graded")
    when a file was uploaded and 0.0 when none was.

    Render adds ``{"task_kind": "docx" | "xlsx" | "pptx", "extension": ".docx", "max_bytes": int}``;
    the stem holds the task's title and instructions. Response ``{"upload": {"filename", "size" (bytes),
    "sha256"}}`` is written by the upload service only; autosave refuses any response for this type.
    """

    name = "practical"
    label = "practical task"
    template = "questions/types/practical.html"
    deferred = True

    def validate(self, spec):
        if not isinstance(spec.get("task_id"), str) or not spec["task_id"]:
            raise SpecError("task_id: a practical question needs its task's folder name")
        if spec.get("kind") not in PRACTICAL_KINDS:
            raise SpecError(f"kind: expected one of {', '.join(PRACTICAL_KINDS)}")
        _fraction(spec.get("pass_fraction", 0.6), "pass_fraction", low=0.0)

    def render_for_candidate(self, stem, stem_format, spec, order):
        from flask import current_app, has_app_context

        data = self._base(stem, stem_format)
        data.update(task_kind=spec["kind"], extension="." + spec["kind"],
                    max_bytes=current_app.config.get("PRACTICAL_MAX_UPLOAD_BYTES", 10 * 1024 * 1024)
                    if has_app_context() else 10 * 1024 * 1024)
        if spec.get("instructions_en") and has_app_context():
            from flask_babel import get_locale

            if not str(get_locale() or "zh").startswith("zh"):
                data["stem_html"] = render_text(f"**{spec.get('title_en') or ''}**\n\n{spec['instructions_en']}",
                                                "markdown")
        return data

    def check_response(self, spec, response):
        raise ResponseError(_("Upload the file with the upload button of this task."))

    def response_echo(self, spec, response):
        """``{"filename": str, "size": int bytes}`` of the stored upload (empty when none)."""
        upload = (response or {}).get("upload") or {}
        return {"filename": upload.get("filename", ""), "size": upload.get("size", 0)}

    def grade(self, spec, response):
        if not (response or {}).get("upload"):
            return 0.0
        return None

    def correct_answer_text(self, spec):
        return []

    def from_gift(self, question):
        raise SpecError("GIFT has no practical tasks (they live in question_bank/tasks/)")

    def to_gift(self, stem, stem_format, spec, general_feedback):
        raise ExportError("practical tasks are files in question_bank/tasks/, not GIFT questions")


REGISTRY: dict[str, QuestionType] = {t.name: t for t in (
    SingleChoice(), MultipleChoice(), TrueFalse(), ShortAnswer(), Numerical(), Matching(), Ordering(), Essay(),
    Practical())}


def get_type(name: str) -> QuestionType:
    """The registered type called ``name``; KeyError if unsupported."""
    return REGISTRY[name]
