"""Messages to people: one row per recipient, channel, kind and event.

The unique key ``(recipient_id, channel, kind, event_key)`` is what makes every message at most
once: a job that runs twice, or two processes at once, insert the same key and the second insert
does nothing (``INSERT … ON CONFLICT DO NOTHING``).
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.time import utcnow
from app.core.types import UTCDateTime
from app.extensions import db

EMAIL, IN_APP = "email", "in_app"
CHANNELS = (EMAIL, IN_APP)


class Message(db.Model):
    """One message to one person on one channel.

    ``kind``: ``due_soon``, ``due_today``, ``overdue``, ``digest``, ``escalation`` or ``manual``.
    ``event_key``: what the message is about, e.g. ``2026-12-10`` (a due date) or
    ``2026-12-10:w2`` (third overdue week) or ``plan3:2026-W49``; unique per recipient, channel
    and kind. ``subject``/``body``: rendered plain text in ``locale`` (``zh_CN`` or ``en``).
    ``link``: absolute URL built from PUBLIC_BASE_URL. Times are aware UTC. E-mail rows:
    ``claimed_at`` is set by the one conditional UPDATE with which a sender takes the row (a claim
    older than the lease may be taken again), ``sent_at`` once the SMTP server accepted it,
    ``attempts`` counts tries and ``error`` holds the last failure. In-app rows are delivered
    when created (``sent_at`` = ``created_at``); ``read_at`` is set when the person marks them read.
    """

    __tablename__ = "message"
    __table_args__ = (
        UniqueConstraint("recipient_id", "channel", "kind", "event_key"),
        Index("ix_message_unsent", "channel", "sent_at"),
        Index("ix_message_recipient_read", "recipient_id", "channel", "read_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(10))
    kind: Mapped[str] = mapped_column(String(20))
    event_key: Mapped[str] = mapped_column(String(120))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    link: Mapped[str | None] = mapped_column(String(500))
    locale: Mapped[str] = mapped_column(String(10))
    address: Mapped[str | None] = mapped_column(String(200))
    sender_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    claimed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    read_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    recipient = relationship("User", foreign_keys=[recipient_id])
