"""Read a candidate's response from a posted exam form (the no-JavaScript path).

Each question partial (``templates/questions/types/*.html``) posts ``q<n>-kind`` naming its widget
kind, and its fields; readers are registered per widget kind (not per question type), so the view never
branches on a type name. A reader returns the response JSON in the shape the question types'
``check_response`` expects (see :mod:`app.questions.types`), or None when the question was left
untouched (nothing chosen / typed and no earlier answer).
"""
from __future__ import annotations

from typing import Callable, Mapping

Form = Mapping  # a werkzeug MultiDict (getlist) or any mapping with get/getlist


def _choice(form, prefix: str) -> dict | None:
    values = form.getlist(prefix)
    if not values:
        return None
    return {"choices": values} if form.get(f"{prefix}-multiple") else {"choice": values[0]}


def _text(form, prefix: str) -> dict | None:
    text = form.get(f"{prefix}-text")
    if text is None or (not text.strip() and form.get(f"{prefix}-answered") != "1"):
        return None
    return {"text": text}


def _numerical(form, prefix: str) -> dict | None:
    value = (form.get(f"{prefix}-value") or "").strip()
    unit = (form.get(f"{prefix}-unit") or "").strip()
    if not value and form.get(f"{prefix}-answered") != "1":
        return None
    return {"value": f"{value} {unit}".strip() if value else ""}


def _matching(form, prefix: str) -> dict | None:
    start = f"{prefix}-m-"
    matches = {key[len(start):]: form.get(key) for key in form.keys() if key.startswith(start)}
    if not any(matches.values()) and form.get(f"{prefix}-answered") != "1":
        return None
    return {"matches": {k: v for k, v in matches.items() if v}}


def _ordering(form, prefix: str) -> dict | None:
    """Items sorted by the position chosen for each (1-based); on a tie the item whose position was
    changed comes first, then the page's order. Untouched and never answered: None."""
    start = f"{prefix}-o-"
    rows = []
    for index, key in enumerate(k for k in form.keys() if k.startswith(start)):
        try:
            chosen = int(form.get(key))
        except (TypeError, ValueError):
            return None
        rows.append((chosen, 0 if chosen != index + 1 else 1, index, key[len(start):]))
    if not rows:
        return None
    if all(moved == 1 for _c, moved, _i, _k in rows) and form.get(f"{prefix}-answered") != "1":
        return None
    return {"order": [key for *_rest, key in sorted(rows)]}


#: widget kind (the partial's ``q<n>-kind``) -> reader(form, "q<n>")
READERS: dict[str, Callable[[Form, str], dict | None]] = {
    "choice": _choice, "text": _text, "numerical": _numerical, "matching": _matching, "ordering": _ordering,
}


def response_from_form(form: Form, position: int) -> dict | None:
    """The response the form posted for question ``position`` (1-based), or None if it posted none.
    A form without ``q<n>-kind`` (an older page) is read as a choice question."""
    prefix = f"q{position}"
    reader = READERS.get(form.get(f"{prefix}-kind") or "choice")
    return reader(form, prefix) if reader else None
