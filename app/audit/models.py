"""The audit log table. Rows are only ever inserted (never updated or deleted by the application)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, ForeignKey, String, event
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from app.core.time import utcnow
from app.core.types import UTCDateTime
from app.extensions import db


class AuditEvent(db.Model):
    """One audited action.

    ``at``: UTC time of the action. ``actor_id``: the user who acted (None for the system or a
    deleted user). ``action``: a dotted verb such as ``exam_override.create``. ``target``: what was
    acted on, as ``"kind:id"`` (e.g. ``"user:42"``, ``"exam:EX-1"``). ``detail``: a JSON object
    with the values set. ``ip``: the client address (IPv4/IPv6 text) or None outside a request.
    """

    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"), index=True)
    action: Mapped[str] = mapped_column(String(80), index=True)
    target: Mapped[str] = mapped_column(String(200), index=True)
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
    ip: Mapped[str | None] = mapped_column(String(45))

    actor = relationship("User")


class AuditLogIsAppendOnly(RuntimeError):
    """Raised when code tries to change or delete an audit event through the ORM."""


@event.listens_for(AuditEvent, "before_update")
def _refuse_update(mapper, connection, target):
    raise AuditLogIsAppendOnly("audit events are never updated")


@event.listens_for(AuditEvent, "before_delete")
def _refuse_delete(mapper, connection, target):
    raise AuditLogIsAppendOnly("audit events are never deleted")


@event.listens_for(Session, "do_orm_execute")
def _refuse_bulk(state):
    """Bulk ``update(AuditEvent)`` / ``delete(AuditEvent)`` through a session are refused too."""
    if (state.is_update or state.is_delete) and any(
            mapper.class_ is AuditEvent for mapper in state.all_mappers):
        raise AuditLogIsAppendOnly("audit events are never updated or deleted")
