"""Question types as a registry (one class per type). Views never branch on a type name.

Each type knows how to check its spec, render itself for a candidate (never the key), check a
response's shape, grade a response to a fraction 0–1, and convert from/to GIFT.

Specs (stored in ``QuestionVersion.spec``):
    single_choice / multiple_choice: ``{"options": [{"id": "a", "text": str, "format": str,
        "fraction": float (-1..1), "feedback": str}, ...]}``
    true_false: ``{"answer": bool, "feedback_wrong": str, "feedback_right": str}``
Responses (from the candidate):
    single_choice: ``{"choice": "b"}``; multiple_choice: ``{"choices": ["a", "c"]}``;
    true_false: ``{"answer": true}``.
"""
from __future__ import annotations

import random
from abc import ABC, abstractmethod
import string
from typing import Any, ClassVar

from app.core.markup import render_text
from app.questions.gift import GiftOption, GiftQuestion

TEXT_FORMATS = {"markdown", "html", "plain", "moodle"}


class SpecError(ValueError):
    """A question's content is invalid (message says which field and why)."""


class ResponseError(ValueError):
    """A candidate's response does not fit the question (malformed or unknown option)."""


class QuestionType(ABC):
    """Base class. Subclasses set ``name`` and implement the methods."""

    name: ClassVar[str]
    label: ClassVar[str]

    @abstractmethod
    def validate(self, spec: dict) -> None:
        """Raise SpecError if ``spec`` is not a valid spec of this type."""

    def option_ids(self, spec: dict) -> list[str]:
        """Ids of the options in source order (empty if the type has none)."""
        return []

    def shuffled_order(self, spec: dict, seed: int) -> list[str]:
        """A per-attempt display order of option ids, deterministic for ``seed``."""
        ids = self.option_ids(spec)
        random.Random(seed).shuffle(ids)
        return ids

    @abstractmethod
    def render_for_candidate(self, stem: str, stem_format: str, spec: dict, order: list[str]) -> dict:
        """What the candidate sees: ``{"kind", "stem_html", "options": [{"id", "html"}]}``. Never the key."""

    @abstractmethod
    def check_response(self, spec: dict, response: Any) -> dict:
        """Return the normalised response or raise ResponseError."""

    @abstractmethod
    def selected(self, spec: dict, response: dict | None) -> list[str]:
        """Option ids the stored ``response`` selects (to redraw the page after a reload)."""

    @abstractmethod
    def grade(self, spec: dict, response: dict | None) -> float:
        """Fraction of the points earned, 0–1 (None response: 0)."""

    @abstractmethod
    def correct_answer_text(self, spec: dict) -> list[str]:
        """The key as display texts (for review after the attempt)."""

    @abstractmethod
    def from_gift(self, question: GiftQuestion) -> dict:
        """Build a spec from a parsed GIFT question."""

    @abstractmethod
    def to_gift(self, stem: str, stem_format: str, spec: dict, general_feedback: str) -> GiftQuestion:
        """Build a GIFT question (name, tags and category left for the caller)."""


class _ChoiceType(QuestionType):
    multiple: ClassVar[bool]

    def option_ids(self, spec: dict) -> list[str]:
        return [option["id"] for option in spec["options"]]

    def validate(self, spec: dict) -> None:
        options = spec.get("options")
        if not isinstance(options, list) or len(options) < 2:
            raise SpecError("a choice question needs at least two options")
        ids = [o.get("id") for o in options]
        if len(set(ids)) != len(ids):
            raise SpecError("option ids must be unique")
        for o in options:
            if not str(o.get("text", "")).strip():
                raise SpecError("every option needs text")
            if o.get("format", "plain") not in TEXT_FORMATS:
                raise SpecError(f"unknown text format {o.get('format')!r}")
            if not -1.0 <= float(o.get("fraction", 0)) <= 1.0:
                raise SpecError("option weights must be between -100% and 100%")
        positive = [float(o["fraction"]) for o in options if float(o["fraction"]) > 0]
        if self.multiple:
            if abs(sum(positive) - 1.0) > 0.005:
                raise SpecError("the weights of the right options must add up to 100%")
        elif not any(abs(float(o["fraction"]) - 1.0) < 1e-9 for o in options):
            raise SpecError("a single-choice question needs one option worth 100%")

    def render_for_candidate(self, stem, stem_format, spec, order):
        by_id = {o["id"]: o for o in spec["options"]}
        return {
            "kind": self.name,
            "multiple": self.multiple,
            "stem_html": render_text(stem, stem_format),
            "options": [{"id": i, "html": render_text(by_id[i]["text"], by_id[i].get("format", "plain"))} for i in order],
        }

    def correct_answer_text(self, spec):
        return [o["text"] for o in spec["options"] if float(o["fraction"]) > 0]

    def from_gift(self, question: GiftQuestion) -> dict:
        letters = string.ascii_lowercase
        return {
            "options": [
                {"id": letters[i], "text": o.text, "format": "markdown" if question.stem_format == "markdown" else "plain",
                 "fraction": round(float(o.fraction), 7), "feedback": o.feedback}
                for i, o in enumerate(question.options)
            ]
        }

    def to_gift(self, stem, stem_format, spec, general_feedback):
        return GiftQuestion(
            line=0, name="", idnumber=None, tags=[], category=None, qtype=self.name, stem=stem,
            stem_format=stem_format,
            options=[GiftOption(text=o["text"], fraction=float(o["fraction"]), feedback=o.get("feedback", ""))
                     for o in spec["options"]],
            tf_answer=None, tf_feedback_wrong="", tf_feedback_right="", general_feedback=general_feedback, raw="",
        )


class SingleChoice(_ChoiceType):
    """One right option (单选题)."""

    name = "single_choice"
    label = "single choice"
    multiple = False

    def check_response(self, spec, response):
        if not isinstance(response, dict) or not isinstance(response.get("choice"), str):
            raise ResponseError("expected {\"choice\": option id}")
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
    """Several right options with weights (多选题): sum of chosen weights, clamped to 0–1 (Moodle's rule)."""

    name = "multiple_choice"
    label = "multiple response"
    multiple = True

    def check_response(self, spec, response):
        choices = response.get("choices") if isinstance(response, dict) else None
        if not isinstance(choices, list) or not all(isinstance(c, str) for c in choices):
            raise ResponseError("expected {\"choices\": [option ids]}")
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
    """A statement to judge true or false (判断题)."""

    name = "true_false"
    label = "true/false"

    def validate(self, spec):
        if not isinstance(spec.get("answer"), bool):
            raise SpecError("a true/false question needs answer true or false")

    def shuffled_order(self, spec, seed):
        return ["true", "false"]

    def render_for_candidate(self, stem, stem_format, spec, order):
        from flask_babel import gettext as _

        return {
            "kind": self.name,
            "multiple": False,
            "stem_html": render_text(stem, stem_format),
            "options": [{"id": "true", "html": _("True")}, {"id": "false", "html": _("False")}],
        }

    def check_response(self, spec, response):
        if isinstance(response, dict) and isinstance(response.get("choice"), str) and response["choice"] in ("true", "false"):
            return {"answer": response["choice"] == "true"}
        if not isinstance(response, dict) or not isinstance(response.get("answer"), bool):
            raise ResponseError("expected {\"answer\": true|false}")
        return {"answer": response["answer"]}

    def selected(self, spec, response):
        if not response or not isinstance(response.get("answer"), bool):
            return []
        return ["true" if response["answer"] else "false"]

    def grade(self, spec, response):
        if not response:
            return 0.0
        return 1.0 if response.get("answer") is spec["answer"] else 0.0

    def correct_answer_text(self, spec):
        from flask_babel import gettext as _

        return [_("True") if spec["answer"] else _("False")]

    def from_gift(self, question):
        return {"answer": bool(question.tf_answer), "feedback_wrong": question.tf_feedback_wrong,
                "feedback_right": question.tf_feedback_right}

    def to_gift(self, stem, stem_format, spec, general_feedback):
        return GiftQuestion(
            line=0, name="", idnumber=None, tags=[], category=None, qtype=self.name, stem=stem, stem_format=stem_format,
            options=[], tf_answer=spec["answer"], tf_feedback_wrong=spec.get("feedback_wrong", ""),
            tf_feedback_right=spec.get("feedback_right", ""), general_feedback=general_feedback, raw="",
        )


REGISTRY: dict[str, QuestionType] = {t.name: t for t in (SingleChoice(), MultipleChoice(), TrueFalse())}


def get_type(name: str) -> QuestionType:
    """The registered type called ``name``; KeyError if unsupported."""
    return REGISTRY[name]
