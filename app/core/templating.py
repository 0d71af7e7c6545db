"""Jinja filters and globals: local times, bilingual fields, percentages."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from flask import Flask
from flask_babel import format_date, format_datetime

from app.core.i18n import html_lang
from app.core.time import to_local


def local_datetime(value: dt.datetime | None) -> str:
    """Format an aware UTC datetime in the display zone, e.g. '2026-11-22 14:05' ('' for None)."""
    if value is None:
        return ""
    return format_datetime(value, "yyyy-MM-dd HH:mm")


def local_date(value: dt.date | dt.datetime | None) -> str:
    """Format a date (or a UTC datetime's local date) as yyyy-MM-dd ('' for None)."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = to_local(value).date()
    return format_date(value, "yyyy-MM-dd")


def percent(value: float | Decimal | None, digits: int = 1) -> str:
    """Format a percentage 0–100 as '83.5 %' ('—' for None)."""
    if value is None:
        return "—"
    return f"{float(value):.{digits}f} %"


def init_app(app: Flask) -> None:
    """Register filters and globals."""
    app.jinja_env.filters["local_datetime"] = local_datetime
    app.jinja_env.filters["local_date"] = local_date
    app.jinja_env.filters["percent"] = percent
    app.jinja_env.globals["html_lang"] = html_lang
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
