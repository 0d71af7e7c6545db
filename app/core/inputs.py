"""Request input guards shared by every route: bounded integer URL parts, no NUL bytes, and safe
parsing of query dates and page numbers.

A hostile or mistyped value gets a 400 or 404 here instead of reaching the database (where an
integer beyond the column range or a NUL byte raises on PostgreSQL or SQLite) or date arithmetic
(where 9999-12-31 plus one day overflows).

- ``<int:...>`` in every route accepts only 0..2^31-1 (the range of a PostgreSQL ``integer``
  primary key); anything else does not match the route: 404.
- A NUL byte in the path, a query argument (name or value) or a form field: 400; the same for a
  JSON body with a NUL byte, an integer beyond the 32-bit range or a non-finite number
  (:func:`hostile_json`).
- Well-known query arguments (:data:`QUERY_ARGUMENTS`: ``as_of``, ``page``, ``plan``) are checked
  for every route before the view runs; views may read them with the same helpers.
- A view marked :func:`own_body_limit` (file uploads larger than ``MAX_CONTENT_LENGTH``) gets its own
  request limit and its body is NOT read here: the view checks its caller first, then calls
  :func:`check_form` (and the CSRF check) itself.
"""
from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from typing import Any

from flask import Flask, abort, current_app, request
from flask_babel import gettext as _
from werkzeug.routing import IntegerConverter

MAX_ID = 2**31 - 1
"""Largest id a URL may carry: the upper bound of a 32-bit signed integer column."""
EARLIEST_DATE = dt.date(2000, 1, 1)
"""Earliest date a query (``?as_of=``) may ask about."""
LATEST_DATE = dt.date(2099, 12, 31)
"""Latest date a query may ask about (far from ``date.max``, so date arithmetic never overflows)."""
MAX_PAGE = 100_000
"""Highest page number accepted (``?page=``); 100,000 pages of 100 rows cover any city or province."""


class BoundedIntConverter(IntegerConverter):
    """The app's ``int`` URL converter: digits only, value 0..MAX_ID; else the route does not match (404)."""

    def __init__(self, url_map, fixed_digits: int = 0, min: int | None = 0, max: int | None = MAX_ID,  # noqa: A002
                 signed: bool = False) -> None:
        super().__init__(url_map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def parse_query_date(raw: str | None, default: dt.date | None = None, *, earliest: dt.date = EARLIEST_DATE,
                     latest: dt.date = LATEST_DATE) -> dt.date | None:
    """Parse a query-string date ``YYYY-MM-DD`` (e.g. ``?as_of=2026-06-30``).

    Returns ``default`` when ``raw`` is None or empty. Raises werkzeug's BadRequest (400, shown as the
    localized 400 page or JSON error) for anything that is not a real calendar date between
    ``earliest`` and ``latest`` inclusive (defaults 2000-01-01 .. 2099-12-31).
    """
    if raw is None or raw == "":
        return default
    try:
        value = dt.date.fromisoformat(raw) if len(raw) == 10 else None
    except ValueError:
        value = None
    if value is None:
        abort(400, description=_("The date “%(value)s” is not a date of the form YYYY-MM-DD.", value=raw[:40]))
    if not earliest <= value <= latest:
        abort(400, description=_("The date must be between %(earliest)s and %(latest)s.",
                                 earliest=earliest.isoformat(), latest=latest.isoformat()))
    return value


def parse_page(raw: str | None, default: int = 1, *, maximum: int = MAX_PAGE) -> int:
    """Parse a 1-based page number (``?page=3``): ``default`` when absent or empty; a 400 saying what
    is accepted for anything but plain digits from 1 to ``maximum`` (default 100,000)."""
    if raw and not (raw.isascii() and raw.isdigit() and len(raw) <= 10 and 1 <= int(raw) <= maximum):
        abort(400, description=_("The page number “%(value)s” is not valid: use a whole number from 1.",
                                 value=raw[:40]))
    return _parse_int(raw, default, 1, maximum)


def parse_id(raw: str | None, default: int | None = None) -> int | None:
    """Parse a row id from a query argument (``?plan=7``): ``default`` when absent or empty; a 400
    for anything but plain digits from 1 to MAX_ID."""
    return _parse_int(raw, default, 1, MAX_ID)


def _parse_int(raw: str | None, default, low: int, high: int):
    if raw is None or raw == "":
        return default
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 10 or not low <= int(raw) <= high:
        abort(400)
    return int(raw)


QUERY_ARGUMENTS: dict[str, Callable[[str], Any]] = {
    "as_of": parse_query_date,
    "page": parse_page,
    "plan": parse_id,
}
"""Query arguments with one meaning everywhere, checked before every view (a bad value: 400)."""


def _contains_nul(value: str) -> bool:
    return "\x00" in value


def hostile_json(value: Any, depth: int = 0) -> bool:
    """True if a decoded JSON body holds something no CivicSkills API accepts anywhere: a NUL
    character in a string or key, an integer outside -MAX_ID..MAX_ID (every integer the API takes is
    an id, a position or a sequence number, stored in 32-bit columns), a non-finite number (Python's
    parser accepts NaN and Infinity) or nesting deeper than 20 levels. Field types (e.g. a boolean
    where an integer belongs) are each view's own check."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, bool) or value is None:
        return False
    if isinstance(value, int):
        return not -MAX_ID <= value <= MAX_ID
    if isinstance(value, float):
        return not math.isfinite(value)
    if depth >= 20:
        return True
    if isinstance(value, dict):
        return any(hostile_json(k, depth + 1) or hostile_json(v, depth + 1) for k, v in value.items())
    if isinstance(value, list):
        return any(hostile_json(v, depth + 1) for v in value)
    return False


def own_body_limit(limit: Callable[[], int]):
    """Decorator for a view whose request body may be larger than ``MAX_CONTENT_LENGTH``: before the
    view runs, ``request.max_content_length`` becomes ``limit()`` (bytes) and the input checks leave
    the body unread, so the view can check who is asking (404) and refuse a body declared too large
    with its own message before anything parses it. The view MUST then call :func:`check_form`
    (and, if it is exempt from the app-wide CSRF check for the same reason, ``csrf.protect()``)."""
    def mark(view):
        view.own_body_limit = limit
        return view
    return mark


def check_form() -> None:
    """400 if a posted form field (name or value) holds a NUL byte. Reads the body."""
    for name, values in request.form.lists():
        if _contains_nul(name) or any(_contains_nul(v) for v in values):
            abort(400)


def init_app(app: Flask) -> None:
    """Install the bounded ``int`` converter (call before any blueprint is registered) and the
    before-request checks for NUL bytes and the well-known query arguments."""
    app.url_map.converters["int"] = BoundedIntConverter

    @app.before_request
    def _check_inputs():
        if "\x00" in request.path:
            abort(400)
        for name, values in request.args.lists():
            if _contains_nul(name) or any(_contains_nul(v) for v in values):
                abort(400)
        for name, values in request.args.lists():
            if name in QUERY_ARGUMENTS:
                for value in values:
                    QUERY_ARGUMENTS[name](value)
        if request.method in ("POST", "PUT", "PATCH", "DELETE"):
            limit = getattr(current_app.view_functions.get(request.endpoint), "own_body_limit", None)
            if limit is not None:
                request.max_content_length = limit()
                return  # the view reads (and checks) the body after its own checks
            if request.is_json:
                if hostile_json(request.get_json(silent=True)):
                    abort(400)
            else:
                check_form()
