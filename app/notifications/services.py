"""Queueing, rendering and sending messages.

Every message is a :class:`~app.notifications.models.Message` row inserted inside the caller's
transaction with ``INSERT … ON CONFLICT DO NOTHING`` on its unique key (recipient, channel, kind,
event), so a duplicate is a no-op on SQLite and PostgreSQL alike and the returned id says whether
the message is new. E-mails leave only from :func:`send_pending` (the scheduler's sender job),
which reads committed rows: nothing is mailed for a transaction that rolled back. Each e-mail row
is taken with one conditional UPDATE (unsent, unclaimed or claim expired), so two senders never
mail one row twice.

SMTP settings (environment, see config.py): MAIL_SERVER (empty: e-mail off), MAIL_PORT,
MAIL_USERNAME, MAIL_PASSWORD, MAIL_USE_TLS (STARTTLS), MAIL_USE_SSL, MAIL_CA_FILE (PEM file of the
CA that signed the server's certificate, for an internal CA; default: the system's CAs), MAIL_FROM,
MAIL_TIMEOUT (seconds), MAIL_MAX_ATTEMPTS, MAIL_MAX_AGE_HOURS, MAIL_CLAIM_SECONDS.

TLS (:func:`smtp_tls_context`) always verifies the server's certificate and host name: smtplib's own
default context for ``starttls()`` / ``SMTP_SSL`` verifies nothing, so anyone on the path could read
the mail and the password. MAIL_USE_TLS requires STARTTLS: a server that does not offer it is a
failure (kept for a retry, ``error`` says why), never a fall back to plain text. A MAIL_USERNAME
without MAIL_USE_TLS or MAIL_USE_SSL is refused (the password would cross the network in clear), as
are both at once.
"""
from __future__ import annotations

import datetime as dt
import logging
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from urllib.parse import urlsplit

from flask import current_app, render_template
from flask_babel import force_locale
from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from app.auth.models import User
from app.certification.services import public_base_url
from app.core.time import utcnow
from app.extensions import db
from app.notifications.models import EMAIL, IN_APP, Message

log = logging.getLogger(__name__)

KINDS = ("due_soon", "due_today", "overdue", "digest", "escalation", "manual")


def recipient_locale(user: User) -> str:
    """The language of messages to ``user``: their ``locale`` if it is one of LANGUAGES, else DEFAULT_LOCALE."""
    languages = current_app.config["LANGUAGES"]
    return user.locale if user.locale in languages else current_app.config["DEFAULT_LOCALE"]


def public_url(endpoint: str, **values) -> str:
    """Absolute URL of ``endpoint`` under PUBLIC_BASE_URL (:func:`app.certification.services.public_base_url`),
    built from the URL map alone: never from a request's Host header, and usable in the scheduler."""
    base = urlsplit(public_base_url(current_app.config))
    adapter = current_app.url_map.bind(base.netloc, script_name=base.path or "/", url_scheme=base.scheme or "http")
    return adapter.build(endpoint, values, force_external=True)


def render(kind: str, locale: str, **context) -> tuple[str, str]:
    """Render ``templates/notifications/mail/<kind>.txt`` in ``locale``: (subject, body).

    The template's first line is the subject, the rest (after one blank line) the body; every
    string in it goes through the catalogs, so the language is the recipient's. Raises ValueError
    on an unknown kind.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown message kind {kind!r}")
    with force_locale(locale):
        text = render_template(f"notifications/mail/{kind}.txt", **context)
    subject, _, body = text.strip().partition("\n")
    return " ".join(subject.split())[:300], body.strip() + "\n"  # a header holds no line breaks


_INSERTS: dict[str, object] = {}


def _insert_ignoring_duplicates(values: dict) -> int | None:
    """INSERT one message row; on a duplicate key do nothing. Returns the new id, or None for a duplicate.

    The statement is built once per dialect and executed with bound parameters, so SQLAlchemy compiles it once."""
    dialect = db.session.get_bind().dialect.name
    statement = _INSERTS.get(dialect)
    if statement is None:
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        statement = _INSERTS[dialect] = (
            insert(Message).on_conflict_do_nothing(index_elements=["recipient_id", "channel", "kind", "event_key"])
            .returning(Message.id))
    return db.session.execute(statement, values).scalar_one_or_none()


def queued_keys(kinds: tuple[str, ...], recipient_ids=None, *, since_key: str | None = None) -> set[tuple[int, str, str]]:
    """(recipient_id, kind, event_key) of in-app messages already queued of ``kinds`` (optionally only for
    ``recipient_ids``, and only keys sorting at or after ``since_key``). Lets a job skip rendering what
    it queued before; the unique key stays the guard against duplicates."""
    query = select(Message.recipient_id, Message.kind, Message.event_key).where(
        Message.channel == IN_APP, Message.kind.in_(kinds))
    if recipient_ids is not None:
        query = query.where(Message.recipient_id.in_(recipient_ids))
    if since_key is not None:
        query = query.where(Message.event_key >= since_key)
    return {tuple(row) for row in db.session.execute(query)}


def queue(recipient: User, kind: str, event_key: str, *, link: str | None = None, sender: User | None = None,
          **context) -> bool:
    """Queue one message about one event to ``recipient``: an in-app notice, and an e-mail if they have
    an address. Rendered now in the recipient's language (:func:`render`, ``context`` goes to the
    template with ``recipient``, ``link`` and ``sender``).

    Returns True if the message is new, False if this (recipient, kind, event_key) was queued before
    (by an earlier run, another process, or a concurrent transaction: the database's unique key
    decides). Flushes nothing else; the caller commits. E-mails are sent after the commit by
    :func:`send_pending`.
    """
    locale = recipient_locale(recipient)
    subject, body = render(kind, locale, recipient=recipient, link=link, sender=sender, **context)
    now = utcnow()
    common = {"recipient_id": recipient.id, "kind": kind, "event_key": event_key[:120], "subject": subject,
              "body": body, "link": link, "locale": locale, "sender_id": sender.id if sender else None,
              "created_at": now, "attempts": 0}
    new = _insert_ignoring_duplicates({**common, "channel": IN_APP, "sent_at": now}) is not None
    address = (recipient.email or "").strip()
    if address:
        new = _insert_ignoring_duplicates({**common, "channel": EMAIL, "address": address[:200]}) is not None or new
    return new


def queue_many(entries, *, chunk: int = 400) -> int:
    """Queue many messages at once, as :func:`queue` does one by one: ``entries`` are
    ``(recipient, kind, event_key, context)`` tuples (``context`` a dict that may hold ``link`` and
    ``sender``). Rows go in multi-row ``INSERT … ON CONFLICT DO NOTHING … RETURNING`` statements of
    ``chunk`` messages (one round trip each instead of two per message). Returns the number of
    messages that were new. Flushes nothing else; the caller commits."""
    now = utcnow()
    rows = []
    for recipient, kind, event_key, context in entries:
        context = dict(context)
        link, sender = context.pop("link", None), context.pop("sender", None)
        locale = recipient_locale(recipient)
        subject, body = render(kind, locale, recipient=recipient, link=link, sender=sender, **context)
        common = {"recipient_id": recipient.id, "kind": kind, "event_key": event_key[:120], "subject": subject,
                  "body": body, "link": link, "locale": locale, "sender_id": sender.id if sender else None,
                  "created_at": now, "attempts": 0, "claimed_at": None, "error": None, "read_at": None}
        rows.append({**common, "channel": IN_APP, "sent_at": now, "address": None})
        address = (recipient.email or "").strip()
        if address:
            rows.append({**common, "channel": EMAIL, "sent_at": None, "address": address[:200]})
    dialect = db.session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    new = set()
    for start in range(0, len(rows), chunk * 2):
        part = rows[start:start + chunk * 2]
        statement = (insert(Message).values(part)
                     .on_conflict_do_nothing(index_elements=["recipient_id", "channel", "kind", "event_key"])
                     .returning(Message.recipient_id, Message.kind, Message.event_key))
        new.update(tuple(r) for r in db.session.execute(statement))
    return len(new)


# --- in-app notices ---------------------------------------------------------------------------

def unread_count(user_id: int) -> int:
    """Number of the user's in-app notices not yet marked read."""
    return db.session.execute(select(func.count(Message.id)).where(
        Message.recipient_id == user_id, Message.channel == IN_APP, Message.read_at.is_(None))).scalar_one()


def notices_for(user_id: int, *, page: int = 1, per_page: int = 30) -> tuple[list[Message], int]:
    """One page (1-based) of the user's in-app notices, newest first, and the total number."""
    where = (Message.recipient_id == user_id, Message.channel == IN_APP)
    total = db.session.execute(select(func.count(Message.id)).where(*where)).scalar_one()
    rows = list(db.session.execute(select(Message).where(*where).order_by(Message.created_at.desc(), Message.id.desc())
                                   .limit(per_page).offset((page - 1) * per_page)).scalars())
    return rows, total


def mark_read(user_id: int, message_id: int | None = None) -> int:
    """Mark the user's in-app notice ``message_id`` (None: all of them) read, with one conditional
    UPDATE limited to the user's own unread notices. Returns the number of rows changed."""
    statement = update(Message).where(Message.recipient_id == user_id, Message.channel == IN_APP,
                                      Message.read_at.is_(None))
    if message_id is not None:
        statement = statement.where(Message.id == message_id)
    result = db.session.execute(statement.values(read_at=utcnow()).execution_options(synchronize_session=False))
    return result.rowcount or 0


def owns_notice(user_id: int, message_id: int) -> bool:
    """True if ``message_id`` is an in-app notice to ``user_id``."""
    return db.session.execute(select(Message.id).where(
        Message.id == message_id, Message.recipient_id == user_id, Message.channel == IN_APP)).first() is not None


# --- e-mail -----------------------------------------------------------------------------------

@dataclass
class SendReport:
    """What one :func:`send_pending` call did: ``sent`` e-mails accepted by the SMTP server, ``failed``
    tries (kept for a retry until MAIL_MAX_ATTEMPTS), ``skipped`` rows another sender took first,
    ``expired`` rows given up as older than MAIL_MAX_AGE_HOURS."""

    sent: int = 0
    failed: int = 0
    skipped: int = 0
    expired: int = 0


class MailSettingsError(ValueError):
    """The MAIL_* settings contradict each other or would send a password in clear; the message names them."""


def smtp_tls_context(ca_file: str | None = None) -> ssl.SSLContext:
    """The client TLS context for SMTP: certificate and host name verified (``ssl.create_default_context``,
    TLS 1.2 at least), trusting ``ca_file`` (a PEM file, e.g. MAIL_CA_FILE for an internal CA) or else the
    system's CAs. Raises OSError / ssl.SSLError when ``ca_file`` cannot be read."""
    context = ssl.create_default_context(cafile=ca_file or None)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def check_mail_settings(use_tls: bool, use_ssl: bool, username: str | None) -> None:
    """Refuse contradictory or unsafe SMTP settings before any connection: MAIL_USE_TLS and MAIL_USE_SSL
    together, or a MAIL_USERNAME (so a password to send) with neither. Raises MailSettingsError."""
    if use_tls and use_ssl:
        raise MailSettingsError("MAIL_USE_TLS (STARTTLS) and MAIL_USE_SSL (TLS from the first byte) exclude each "
                                "other: set one")
    if username and not (use_tls or use_ssl):
        raise MailSettingsError("MAIL_USERNAME is set but neither MAIL_USE_TLS nor MAIL_USE_SSL: the password "
                                "would be sent unencrypted")


class _Connection:
    """One SMTP connection, opened at the first message and closed at the end of a batch."""

    def __init__(self, config):
        self.config = config
        self.smtp = None

    def send(self, message: EmailMessage) -> None:
        if self.smtp is None:
            cfg = self.config
            host, port, timeout = cfg["MAIL_SERVER"], int(cfg.get("MAIL_PORT") or 25), float(cfg.get("MAIL_TIMEOUT", 30))
            use_tls, use_ssl = bool(cfg.get("MAIL_USE_TLS")), bool(cfg.get("MAIL_USE_SSL"))
            check_mail_settings(use_tls, use_ssl, cfg.get("MAIL_USERNAME"))
            context = smtp_tls_context(cfg.get("MAIL_CA_FILE")) if use_tls or use_ssl else None
            if use_ssl:
                smtp = smtplib.SMTP_SSL(host, port, timeout=timeout, context=context)
            else:
                smtp = smtplib.SMTP(host, port, timeout=timeout)
            try:
                if use_tls:
                    smtp.starttls(context=context)  # SMTPNotSupportedError if the server does not offer it
                if cfg.get("MAIL_USERNAME"):
                    smtp.login(cfg["MAIL_USERNAME"], cfg.get("MAIL_PASSWORD") or "")
            except BaseException:
                smtp.close()
                raise
            self.smtp = smtp
        self.smtp.send_message(message)

    def close(self) -> None:
        if self.smtp is not None:
            try:
                self.smtp.quit()
            except smtplib.SMTPException:
                pass
            except OSError:
                pass
            self.smtp = None


def build_email(row: Message, config) -> EmailMessage:
    """The e-mail for a message row: From MAIL_FROM, To the row's address, the row's subject and plain-text body
    (UTF-8), with the link appended when it is not already in the body."""
    message = EmailMessage()
    sender = config.get("MAIL_FROM") or "civicskills@localhost"
    message["From"] = sender if "<" in sender else formataddr(("CivicSkills", sender))
    message["To"] = row.address
    message["Subject"] = row.subject
    message["Message-ID"] = make_msgid(domain=(sender.rsplit("@", 1)[-1].strip("> ") or "localhost"))
    message["Auto-Submitted"] = "auto-generated"
    body = row.body if not row.link or row.link in row.body else f"{row.body}\n{row.link}\n"
    message.set_content(body)
    return message


def send_pending(limit: int = 200) -> SendReport:
    """Send up to ``limit`` unsent e-mail rows (oldest first). Commits after each step.

    Each row is claimed with one conditional UPDATE (``sent_at`` empty, not claimed or the claim
    older than MAIL_CLAIM_SECONDS, fewer than MAIL_MAX_ATTEMPTS tries) that is committed before the
    SMTP conversation; a sender whose UPDATE hits no row leaves the row to whoever took it. After
    the server accepts the message ``sent_at`` is set; a failure records ``error`` and releases the
    claim for a later retry. Rows older than MAIL_MAX_AGE_HOURS are given up (``error`` says so),
    so switching e-mail on later does not mail months-old reminders. With MAIL_SERVER empty nothing
    is sent (the rows wait). Returns a :class:`SendReport`.
    """
    config = current_app.config
    report = SendReport()
    if not config.get("MAIL_SERVER"):
        return report
    now = utcnow()
    max_attempts = int(config.get("MAIL_MAX_ATTEMPTS", 5))
    oldest = now - dt.timedelta(hours=float(config.get("MAIL_MAX_AGE_HOURS", 72)))
    lease = now - dt.timedelta(seconds=float(config.get("MAIL_CLAIM_SECONDS", 600)))
    unsent = and_(Message.channel == EMAIL, Message.sent_at.is_(None))
    expired = db.session.execute(
        update(Message).where(unsent, Message.created_at < oldest, Message.error.is_distinct_from("expired"),
                              or_(Message.claimed_at.is_(None), Message.claimed_at < lease))
        .values(error="expired").execution_options(synchronize_session=False))
    report.expired = expired.rowcount or 0
    db.session.commit()
    claimable = and_(unsent, Message.created_at >= oldest, Message.attempts < max_attempts,
                     or_(Message.claimed_at.is_(None), Message.claimed_at < lease))
    candidates = list(db.session.execute(
        select(Message.id).where(claimable).order_by(Message.created_at, Message.id).limit(limit)).scalars())
    connection = _Connection(config)
    try:
        for message_id in candidates:
            claimed_at = utcnow()
            claim = db.session.execute(
                update(Message).where(Message.id == message_id, claimable)
                .values(claimed_at=claimed_at, attempts=Message.attempts + 1)
                .execution_options(synchronize_session=False))
            db.session.commit()
            if claim.rowcount != 1:
                report.skipped += 1
                continue
            row = db.session.get(Message, message_id, populate_existing=True)
            try:
                connection.send(build_email(row, config))
            except Exception as exc:  # SMTP refusals, network errors, an address the server rejects: kept for a retry
                connection.close()
                db.session.execute(
                    update(Message).where(Message.id == message_id, Message.claimed_at == claimed_at)
                    .values(error=f"{type(exc).__name__}: {exc}"[:1000], claimed_at=None)
                    .execution_options(synchronize_session=False))
                db.session.commit()
                report.failed += 1
                log.warning("e-mail %s to user %s failed: %s", message_id, row.recipient_id, exc)
                continue
            db.session.execute(
                update(Message).where(Message.id == message_id, Message.claimed_at == claimed_at)
                .values(sent_at=utcnow(), error=None).execution_options(synchronize_session=False))
            db.session.commit()
            report.sent += 1
    finally:
        connection.close()
    return report
