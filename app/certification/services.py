"""Certification services: sync definitions from files, issue certificates, verify, revoke."""
from __future__ import annotations

import calendar
import datetime as dt
import secrets
from pathlib import Path

from sqlalchemy import select

from app.certification.models import Certificate, Certification
from app.content.report import ContentError, SyncReport, load_yaml
from app.core.time import local_zone, utcnow
from app.extensions import db
from app.learning.models import Course, Enrolment

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
        certificate = Certificate(
            certification_id=cert.id, user_id=user.id, serial=f"PENDING-{secrets.token_hex(8)}",
            verification_code=new_verification_code(), issued_at=now,
            expires_at=add_months(now, cert.validity_months) if cert.validity_months else None,
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


def revoke(certificate: Certificate, reason: str, actor_id: int | None = None) -> None:
    """Revoke a certificate with a reason (idempotent), audited as ``certificate.revoke`` by
    ``actor_id`` (None: the system). Flushes."""
    from app.audit.services import record

    if certificate.revoked_at is None:
        certificate.revoked_at = utcnow()
        certificate.revoked_reason = reason
        db.session.flush()
        record(actor_id, "certificate.revoke", f"certificate:{certificate.id}",
               {"serial": certificate.serial, "user_id": certificate.user_id, "reason": reason})
