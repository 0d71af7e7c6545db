"""Certification services: sync definitions from files, issue certificates, verify, revoke."""
from __future__ import annotations

import calendar
import datetime as dt
import secrets
from pathlib import Path

from flask_babel import gettext as _
from sqlalchemy import exists, insert, literal, or_, select, update
from sqlalchemy.orm import aliased

from app.audit.services import record
from app.certification.models import Certificate, Certification, certification_course
from app.content.report import ContentError, SyncReport, load_yaml
from app.core.errors import DomainError
from app.core.time import local_zone, to_local, utcnow
from app.core.types import UTCDateTime
from app.extensions import db
from app.learning.models import Course, Enrolment, EnrolmentDueChange

CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # no 0/O, 1/I/L: easy to read aloud and type


def sync_certifications_file(path: Path, report: SyncReport) -> list[Certification]:
    """Create or update certifications from ``courses/certifications.yaml``. Flushes.

    Raises ContentError naming the file, entry and field.
    """
    if not path.exists():
        return []
    data = load_yaml(path) or []
    if not isinstance(data, list):
        raise ContentError([f"{path}: expected a list of certifications"])
    errors, parsed = [], []
    for index, entry in enumerate(data):
        where = f"{path}: [{index}]"
        if not isinstance(entry, dict) or not entry.get("code"):
            errors.append(f"{where}: needs a 'code'")
            continue
        title = entry.get("title") or {}
        if not isinstance(title, dict) or not title.get("zh") or not title.get("en"):
            errors.append(f"{where}: field 'title' needs zh and en (a mapping: title: {{zh: …, en: …}})")
            title = {}
        slugs = entry.get("courses") or []
        if not isinstance(slugs, list):
            errors.append(f"{where}: field 'courses' must be a list of course slugs, not {slugs!r}")
            slugs = []
        courses = []
        for slug in slugs:
            course = db.session.execute(select(Course).where(Course.slug == slug)).scalar_one_or_none()
            if course is None:
                errors.append(f"{where}: field 'courses': unknown course '{slug}'")
            else:
                courses.append(course)
        if not slugs:
            errors.append(f"{where}: field 'courses' must name at least one course")
        validity = entry.get("validity_months")
        if validity is not None and (not isinstance(validity, int) or validity < 1):
            errors.append(f"{where}: field 'validity_months' must be a whole number of months or null")
        window = entry.get("recertification_window_days", 90)
        if not isinstance(window, int) or window < 0:
            errors.append(f"{where}: field 'recertification_window_days' must be a whole number of days")
        parsed.append((str(entry["code"]), title, courses, validity, window))
    if errors:
        raise ContentError(errors)
    result = []
    for code, title, courses, validity, window in parsed:
        cert = db.session.execute(select(Certification).where(Certification.code == code)).scalar_one_or_none()
        wanted = (title["zh"], title["en"], validity, window, sorted(c.id for c in courses))
        if cert is None:
            cert = Certification(code=code)
            db.session.add(cert)
            report.created("certification", code)
        elif (cert.title_zh, cert.title_en, cert.validity_months, cert.recertification_window_days,
              sorted(c.id for c in cert.courses)) == wanted:
            report.unchanged("certification")
            result.append(cert)
            continue
        else:
            report.updated("certification", code)
        cert.title_zh, cert.title_en = title["zh"], title["en"]
        cert.validity_months, cert.recertification_window_days = validity, window
        cert.courses = courses
        result.append(cert)
    db.session.flush()
    return result


def add_months(moment: dt.datetime, months: int) -> dt.datetime:
    """``moment`` plus whole calendar months in the display zone (day clamped to the month's end)."""
    local = moment.astimezone(local_zone())
    month_index = local.month - 1 + months
    year, month = local.year + month_index // 12, month_index % 12 + 1
    days_in_month = calendar.monthrange(year, month)[1]
    return local.replace(year=year, month=month, day=min(local.day, days_in_month)).astimezone(dt.timezone.utc)


DEVELOPMENT_BASE_URL = "http://127.0.0.1:5000"
"""Where `flask run` serves the demo: the base of certificate links when nothing else is configured."""


def public_base_url(config) -> str:
    """The absolute base (scheme and host, no trailing slash) of links printed on certificates.

    ``config`` is a Flask config mapping. Returns PUBLIC_BASE_URL if set; else ``http://`` +
    SERVER_NAME if set; else DEVELOPMENT_BASE_URL. Never the request's Host header, which the client
    chooses. Production refuses to start without PUBLIC_BASE_URL (``ProductionConfig.validate``).
    """
    base = (config.get("PUBLIC_BASE_URL") or "").strip()
    if not base:
        server_name = config.get("SERVER_NAME")
        base = f"http://{server_name}" if server_name else DEVELOPMENT_BASE_URL
    return base.rstrip("/")


def new_verification_code() -> str:
    """A random 12-character code in groups of four, e.g. ``K7Q2-M9XD-4TPA`` (about 59 bits)."""
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(12))
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


def current_certificate(user_id: int, certification_id: int) -> Certificate | None:
    """The user's newest valid certificate of the certification, or None."""
    return db.session.execute(
        select(Certificate)
        .where(Certificate.user_id == user_id, Certificate.certification_id == certification_id, Certificate.is_valid)
        .order_by(Certificate.issued_at.desc())
    ).scalars().first()


def issue_due_certificates(user, attempt=None) -> list[Certificate]:
    """Issue every certification the user now qualifies for. Flushes; returns the new certificates.

    Qualifies: every course of the certification is completed, and the user holds no valid
    certificate of it, or holds one inside its recertification window (then a new one is issued:
    recertification). Validity starts at issue.
    """
    completed = set(db.session.execute(
        select(Enrolment.course_id).where(Enrolment.user_id == user.id, Enrolment.completed_at.is_not(None))).scalars())
    issued = []
    now = utcnow()
    for cert in db.session.execute(select(Certification).where(Certification.active.is_(True))).scalars():
        course_ids = {c.id for c in cert.courses}
        if not course_ids or not course_ids <= completed:
            continue
        current = current_certificate(user.id, cert.id)
        if current is not None:
            in_window = current.expires_at is not None and \
                current.expires_at - dt.timedelta(days=cert.recertification_window_days) <= now
            if not in_window:
                continue
        expires_at = add_months(now, cert.validity_months) if cert.validity_months else None
        certificate = Certificate(
            certification_id=cert.id, user_id=user.id, serial=f"PENDING-{secrets.token_hex(8)}",
            verification_code=new_verification_code(), issued_at=now, expires_at=expires_at,
            renewal_opens_at=renewal_opens(expires_at, cert.recertification_window_days),
            attempt_id=attempt.id if attempt is not None else None,
        )
        db.session.add(certificate)
        db.session.flush()
        certificate.serial = f"{cert.code}-{now.astimezone(local_zone()).year}-{certificate.id:06d}"
        issued.append(certificate)
    db.session.flush()
    return issued


def find_by_code(code: str) -> Certificate | None:
    """Look up a certificate by verification code (case-insensitive, dashes optional)."""
    cleaned = "".join(ch for ch in code.upper() if ch.isalnum())
    if len(cleaned) != 12:
        return None
    formatted = f"{cleaned[:4]}-{cleaned[4:8]}-{cleaned[8:]}"
    return db.session.execute(select(Certificate).where(Certificate.verification_code == formatted)).scalar_one_or_none()


def renewal_opens(expires_at: dt.datetime | None, window_days: int | None) -> dt.datetime | None:
    """When a certificate expiring at ``expires_at`` (UTC) becomes due for renewal: ``window_days``
    whole days (24 h each) before it; None for a certificate that never expires."""
    if expires_at is None:
        return None
    return expires_at - dt.timedelta(days=window_days or 0)


MAX_REASON = 500
"""Longest revocation or reinstatement reason accepted (characters)."""


def _clean_reason(reason: str | None) -> str:
    text = " ".join((reason or "").split())
    if not text:
        raise DomainError(_("Give a reason."), code="reason", status=400)
    if len(text) > MAX_REASON:
        raise DomainError(_("The reason is too long (at most %(n)s characters).", n=MAX_REASON), code="reason",
                          status=400)
    return text


def revoke(certificate: Certificate, reason: str, actor=None, ip: str | None = None) -> bool:
    """Revoke ``certificate`` now with ``reason`` (whitespace collapsed, 1–MAX_REASON characters).

    One conditional UPDATE (``revoked_at IS NULL``), so two concurrent revocations record one; returns
    True if this call revoked it, False if it already was. ``actor`` (a User or None for the system)
    is stored as ``revoked_by`` and, with ``ip``, in an audit event ``certificate.revoke``.
    Raises DomainError (code ``reason``, 400) for an empty or over-long reason. Flushes.
    """
    text = _clean_reason(reason)
    now = utcnow()
    actor_id = actor.id if actor is not None else None
    result = db.session.execute(
        update(Certificate).where(Certificate.id == certificate.id, Certificate.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason=text, revoked_by_id=actor_id)
        .execution_options(synchronize_session=False))
    db.session.refresh(certificate)
    if result.rowcount != 1:
        return False
    record(actor_id, "certificate.revoke", f"certificate:{certificate.id}",
           {"serial": certificate.serial, "reason": text}, ip)
    return True


def reinstate(certificate: Certificate, reason: str, actor=None, ip: str | None = None) -> bool:
    """Reinstate a revoked certificate: the revocation is cleared (it was a mistake or its cause is
    gone), so the certificate counts again for every date, as if it had never been revoked; the audit
    log keeps both events (``certificate.revoke`` with the old reason, ``certificate.reinstate``).

    One conditional UPDATE (``revoked_at IS NOT NULL``); returns True if this call reinstated it,
    False if it was not revoked. Raises DomainError (code ``reason``, 400) for a bad reason. Flushes.
    """
    text = _clean_reason(reason)
    before = (certificate.revoked_at, certificate.revoked_reason, certificate.revoked_by_id)
    actor_id = actor.id if actor is not None else None
    result = db.session.execute(
        update(Certificate).where(Certificate.id == certificate.id, Certificate.revoked_at.is_not(None))
        .values(revoked_at=None, revoked_reason=None, revoked_by_id=None)
        .execution_options(synchronize_session=False))
    db.session.refresh(certificate)
    if result.rowcount != 1:
        return False
    record(actor_id, "certificate.reinstate", f"certificate:{certificate.id}",
           {"serial": certificate.serial, "reason": text, "was_revoked_at": before[0],
            "was_revoked_reason": before[1], "was_revoked_by": before[2]}, ip)
    return True


def assign_due_renewals(now: dt.datetime | None = None) -> int:
    """Re-assign the requirement of every certificate whose renewal window has opened (the
    recertification job). Returns how many certificates were handled by this call.

    A certificate qualifies when ``renewal_opens_at`` is before ``now`` (UTC, default the clock), it
    is not revoked, its holder is active, its renewal was not assigned yet and no newer unrevoked
    certificate of the same certification supersedes it. For each, one conditional UPDATE sets
    ``renewal_assigned_at`` (so running twice, or two schedulers at once, assigns once), then the
    holder is enrolled again in each of the certification's courses with the certificate's expiry
    (local date) as due date and source ``renewal``. A certificate found only after it expired (the
    job was down) is still assigned: the due date is then in the past and shows as overdue.
    Rollout figures need no change: a certificate counts as certified only until it expires
    (:meth:`Certificate.held_at`). Flushes; the caller (the scheduler runner) commits.
    """
    from app.auth.models import User

    now = now or utcnow()
    newer = aliased(Certificate)
    rows = db.session.execute(
        select(Certificate.id, Certificate.user_id, Certificate.certification_id, Certificate.expires_at)
        .join(User, User.id == Certificate.user_id)
        .where(Certificate.renewal_opens_at < now, Certificate.renewal_assigned_at.is_(None),
               Certificate.revoked_at.is_(None), User.active.is_(True),
               ~exists().where(newer.user_id == Certificate.user_id,
                               newer.certification_id == Certificate.certification_id,
                               newer.issued_at > Certificate.issued_at, newer.revoked_at.is_(None)))
        .order_by(Certificate.id)).all()
    courses: dict[int, list[int]] = {}
    handled = 0
    for certificate_id, user_id, certification_id, expires_at in rows:
        result = db.session.execute(
            update(Certificate).where(Certificate.id == certificate_id, Certificate.renewal_assigned_at.is_(None))
            .values(renewal_assigned_at=now).execution_options(synchronize_session=False))
        if result.rowcount != 1:
            continue
        handled += 1
        if certification_id not in courses:
            courses[certification_id] = list(db.session.execute(
                select(certification_course.c.course_id)
                .where(certification_course.c.certification_id == certification_id)).scalars())
        due = to_local(expires_at).date()
        for course_id in courses[certification_id]:
            # Keep the due date being replaced, for figures at earlier dates (EnrolmentDueChange).
            db.session.execute(insert(EnrolmentDueChange).from_select(
                ["enrolment_id", "changed_at", "due_before"],
                select(Enrolment.id, literal(now, UTCDateTime()), Enrolment.due_on).where(
                    Enrolment.user_id == user_id, Enrolment.course_id == course_id,
                    or_(Enrolment.due_on.is_(None), Enrolment.due_on != due))))
            updated = db.session.execute(
                update(Enrolment).where(Enrolment.user_id == user_id, Enrolment.course_id == course_id)
                .values(due_on=due, source="renewal", updated_at=now).execution_options(synchronize_session=False))
            if updated.rowcount == 0:
                db.session.execute(insert(Enrolment).values(
                    user_id=user_id, course_id=course_id, source="renewal", due_on=due, created_at=now, updated_at=now))
    db.session.flush()
    return handled
