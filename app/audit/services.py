"""Recording and reading audit events. Any feature calls :func:`record` inside its own transaction,
so the event is committed (or rolled back) together with the change it describes.

The log is append-only in the application: :mod:`app.audit.models` refuses any ORM update or delete
of an :class:`AuditEvent` (unit of work and bulk statements alike). Every event is also written as
one JSON line to the ``civicskills.audit`` logger (for a log shipper), never with secrets.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import logging
from dataclasses import dataclass

from flask import has_request_context, request
from sqlalchemy import func, select

from app.audit.models import AuditEvent
from app.core.time import utcnow
from app.extensions import db

logger = logging.getLogger("civicskills.audit")

# Keys that must never reach the log, whatever a caller passes in ``detail``.
SECRET_KEYS = frozenset({"password", "password_hash", "new_password", "sign_in_code", "token", "secret", "bind_password"})


def _plain(value):
    """JSON-safe copy of ``value``: datetimes become ISO 8601 UTC text, other unknown types ``str``;
    dict keys in :data:`SECRET_KEYS` are dropped."""
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items() if str(k).lower() not in SECRET_KEYS}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_plain(v) for v in (sorted(value, key=str) if isinstance(value, (set, frozenset)) else value)]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def request_ip() -> str | None:
    """The client address of the current request (``request.remote_addr``, which trusts
    X-Forwarded-For only through ProxyFix), or None outside a request."""
    return request.remote_addr if has_request_context() else None


def record(actor_id: int | None, action: str, target: str, detail: dict | None = None,
           ip: str | None = None) -> AuditEvent:
    """Append one event (time = now, UTC). Flushes; the caller commits with its change.

    ``actor_id``: the acting user's id or None (the system, the command line, an anonymous visitor);
    ``action``: dotted verb (≤ 80 chars, e.g. ``auth.login_failed``); ``target``: ``"kind:id"``
    (≤ 200 chars, e.g. ``user:42``); ``detail``: a dict made JSON-safe (datetimes as ISO text, secret
    keys such as ``password`` or ``code`` dropped); ``ip``: client address, default the current
    request's (None outside a request). Raises ValueError on an empty action or target.
    """
    if not action or not target:
        raise ValueError("audit event needs an action and a target")
    ip = ip or request_ip()
    detail = json.loads(json.dumps(_plain(detail or {})))
    event = AuditEvent(at=utcnow(), actor_id=actor_id, action=action[:80], target=target[:200],
                       detail=detail, ip=(ip or None) and ip[:45])
    db.session.add(event)
    db.session.flush()
    logger.info(json.dumps({"at": event.at.isoformat(), "actor_id": actor_id, "action": event.action,
                            "target": event.target, "ip": event.ip, "detail": detail},
                           ensure_ascii=False))
    return event


def events_for(target: str, limit: int = 50) -> list[AuditEvent]:
    """The latest events about ``target`` (newest first), at most ``limit``."""
    return list(db.session.execute(
        select(AuditEvent).where(AuditEvent.target == target).order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .limit(limit)).scalars())


# --- the admin viewer ----------------------------------------------------------------------------

PAGE_SIZE = 50
EXPORT_LIMIT = 100_000


@dataclass
class AuditFilter:
    """Filters of the viewer. ``start``/``end``: aware UTC instants (``end`` exclusive) or None;
    ``actor``: a staff number (exact) or ""; ``action``: prefix of the action ("auth." or
    "auth.login_failed"); ``target``: exact target ("user:42"), or a prefix ending in ":" ("user:");
    ``target_text``: text found anywhere in the target, any case ("/admin", "staff:a00"; a scan of the
    rows the other filters leave, so narrow by date on a large log); ``ip``: an address (exact) or its
    start ending in "." or ":" ("10.12." for a network), checked by :func:`parse_ip_filter`."""

    start: dt.datetime | None = None
    end: dt.datetime | None = None
    actor: str = ""
    action: str = ""
    target: str = ""
    target_text: str = ""
    ip: str = ""


IP_FILTER_CHARS = frozenset("0123456789abcdefABCDEF.:")


def parse_ip_filter(text: str | None) -> str:
    """The IP filter from what was typed: stripped, at most 45 characters (an IPv6 address), only digits,
    hex letters, dots and colons; "" for none. Raises ValueError (with a user-facing, translated message)
    for anything else, so a typo is a 400 that says so instead of an empty result."""
    from flask_babel import gettext as _

    text = (text or "").strip()
    if not text:
        return ""
    if len(text) > 45 or not set(text) <= IP_FILTER_CHARS:
        raise ValueError(_("IP address: type an address (10.12.3.4) or its start ending in a dot or a colon "
                           "(10.12.); only digits, letters a–f, dots and colons."))
    return text.lower()


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _like_prefix(text: str) -> str:
    return _like_escape(text) + "%"


def _conditions(filters: AuditFilter) -> list:
    from app.auth.models import User

    where = []
    if filters.start is not None:
        where.append(AuditEvent.at >= filters.start)
    if filters.end is not None:
        where.append(AuditEvent.at < filters.end)
    if filters.actor:
        where.append(AuditEvent.actor_id.in_(select(User.id).where(User.staff_number == filters.actor)))
    if filters.action:
        where.append(AuditEvent.action.like(_like_prefix(filters.action), escape="\\"))
    if filters.target:
        if filters.target.endswith(":"):
            where.append(AuditEvent.target.like(_like_prefix(filters.target), escape="\\"))
        else:
            where.append(AuditEvent.target == filters.target)
    if filters.target_text:
        where.append(func.lower(AuditEvent.target).like("%" + _like_escape(filters.target_text.lower()) + "%",
                                                        escape="\\"))
    if filters.ip:
        if filters.ip.endswith((".", ":")):
            where.append(AuditEvent.ip.like(_like_prefix(filters.ip), escape="\\"))
        else:
            where.append(AuditEvent.ip == filters.ip)
    return where


def search_events(filters: AuditFilter, page: int = 1, per_page: int = PAGE_SIZE) -> tuple[list[tuple], int]:
    """One page of events matching ``filters``, newest first: ``([(event, actor staff number or
    None, actor name or None), ...], total)``; two queries (page and count). ``page`` starts at 1."""
    from app.auth.models import User

    where = _conditions(filters)
    total = db.session.execute(select(func.count()).select_from(AuditEvent).where(*where)).scalar_one()
    rows = db.session.execute(
        select(AuditEvent, User.staff_number, User.name).outerjoin(User, User.id == AuditEvent.actor_id)
        .where(*where).order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .limit(per_page).offset((max(page, 1) - 1) * per_page)).all()
    return [tuple(row) for row in rows], total


FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value) -> str:
    """Text for one CSV cell that a spreadsheet will not run as a formula (OWASP CSV injection): a
    value starting with = + - @ tab or CR gets a leading apostrophe."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def export_csv(filters: AuditFilter, zone, limit: int = EXPORT_LIMIT) -> str:
    """CSV (UTF-8 with BOM, for Excel) of the events matching ``filters``, newest first, at most
    ``limit`` rows: time UTC (ISO 8601), local time in ``zone``, actor staff number, actor name,
    action, target, IP, detail JSON. Every cell escaped by :func:`csv_cell`. Rows are streamed from
    the database in batches (``yield_per``), not loaded as one list."""
    from app.auth.models import User

    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(["at_utc", "at_local", "actor_staff_number", "actor_name", "action", "target", "ip", "detail"])
    query = (select(AuditEvent.at, User.staff_number, User.name, AuditEvent.action, AuditEvent.target,
                    AuditEvent.ip, AuditEvent.detail)
             .outerjoin(User, User.id == AuditEvent.actor_id).where(*_conditions(filters))
             .order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(limit)
             .execution_options(yield_per=1000))
    for at, number, name, action, target, ip, detail in db.session.execute(query):
        writer.writerow([csv_cell(v) for v in (
            at.isoformat(), at.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S"), number, name, action, target, ip,
            json.dumps(detail or {}, ensure_ascii=False, sort_keys=True))])
    return out.getvalue()
