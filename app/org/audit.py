"""Audit trail for people and organisation changes (imports, roles, scopes, (de)activation, departments).

There is no ``audit_event`` table on main yet, so :func:`audit` writes one structured line per change
to the ``civicskills.audit`` logger. It is the single place to point at such a table once it exists:
callers pass the same arguments then.
"""
from __future__ import annotations

import json
import logging

from app.core.time import utcnow

logger = logging.getLogger("civicskills.audit")


def audit(action: str, *, actor=None, target: str | None = None, ip: str | None = None, **details) -> dict:
    """Record that ``actor`` (a User or None for the command line) did ``action`` (e.g.
    ``"user.deactivate"``, ``"staff.import"``) to ``target`` (e.g. ``"user:000123"``, ``"department:CITY"``).

    ``details`` are JSON-serialisable facts (counts, old and new values); never pass secrets
    (passwords, sign-in codes). Logs at INFO one JSON object with the UTC time (ISO 8601) and returns it.
    """
    event = {
        "at": utcnow().isoformat(), "action": action,
        "actor": getattr(actor, "staff_number", None) or "cli", "target": target, "ip": ip,
        "details": details,
    }
    logger.info(json.dumps(event, ensure_ascii=False, default=str))
    return event
