"""Recording audit events. Any feature calls :func:`record` inside its own transaction, so the event
is committed (or rolled back) together with the change it describes."""
from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import select

from app.audit.models import AuditEvent
from app.core.time import utcnow
from app.extensions import db


def _plain(value):
    """JSON-safe copy of ``value``: datetimes become ISO 8601 UTC text, other unknown types ``str``."""
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def record(actor_id: int | None, action: str, target: str, detail: dict | None = None,
           ip: str | None = None) -> AuditEvent:
    """Append one event (time = now, UTC). Flushes; the caller commits with its change.

    ``actor_id``: the acting user's id or None; ``action``: dotted verb (≤ 80 chars);
    ``target``: ``"kind:id"`` (≤ 200 chars); ``detail``: a dict made JSON-safe (datetimes as ISO
    text); ``ip``: client address or None. Raises ValueError on an empty action or target.
    """
    if not action or not target:
        raise ValueError("audit event needs an action and a target")
    event = AuditEvent(at=utcnow(), actor_id=actor_id, action=action[:80], target=target[:200],
                       detail=json.loads(json.dumps(_plain(detail or {}))), ip=(ip or None) and ip[:45])
    db.session.add(event)
    db.session.flush()
    return event


def events_for(target: str, limit: int = 50) -> list[AuditEvent]:
    """The latest events about ``target`` (newest first), at most ``limit``."""
    return list(db.session.execute(
        select(AuditEvent).where(AuditEvent.target == target).order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .limit(limit)).scalars())
