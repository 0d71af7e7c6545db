"""Time helpers. Everything is stored in UTC; pages show the configured zone (default Asia/Shanghai)."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context

UTC = dt.timezone.utc


def utcnow() -> dt.datetime:
    """Return the current time as an aware UTC datetime (patched by time-machine in tests)."""
    return dt.datetime.now(UTC)


def local_zone() -> ZoneInfo:
    """Return the configured display zone (``TIMEZONE`` setting, default Asia/Shanghai)."""
    name = current_app.config.get("TIMEZONE", "Asia/Shanghai") if has_app_context() else "Asia/Shanghai"
    return ZoneInfo(name)


def to_local(value: dt.datetime | None) -> dt.datetime | None:
    """Convert an aware UTC datetime to the display zone; None stays None."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(local_zone())


def local_today() -> dt.date:
    """Today's date in the display zone."""
    return utcnow().astimezone(local_zone()).date()


def local_date_start_utc(day: dt.date) -> dt.datetime:
    """The UTC instant at which local date ``day`` begins (00:00 in the display zone)."""
    return dt.datetime.combine(day, dt.time(0), tzinfo=local_zone()).astimezone(UTC)


def local_date_end_utc(day: dt.date) -> dt.datetime:
    """The UTC instant at which local date ``day`` ends (00:00 of the next local day)."""
    return local_date_start_utc(day + dt.timedelta(days=1))
