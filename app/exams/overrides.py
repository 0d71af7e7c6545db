"""Granting exam overrides and accommodations (issue 6 item 9, issue 7 item 5), each change audited.

Who may grant: administrators and examiners for anyone and any exam; training officers only for
people whose department is within their scope (checked in the query, :func:`person_for`).
How the rules combine: :func:`app.exams.services.candidate_settings`.

Inputs arrive as form text; bad input raises DomainError naming the field and changes nothing.
Every function flushes and records an audit event; the caller commits once.
"""
from __future__ import annotations

import datetime as dt

from flask_babel import gettext as _
from sqlalchemy import select, update

from app.audit.services import record
from app.auth.models import User
from app.core.errors import DomainError
from app.core.time import local_zone, utcnow
from app.exams.models import Accommodation, Exam, ExamOverride, ExamOverrideChange
from app.exams.services import candidate_settings
from app.extensions import db
from app.org.models import Department
from app.org.services import visible_department_ids

MAX_PERCENT = 300          # an accommodation adds at most +300 % time
MAX_EXTRA_MINUTES = 600    # and at most 10 hours
MAX_LIMIT_MINUTES = 24 * 60
MAX_ATTEMPTS = 100
MAX_REASON = 500
MIN_YEAR, MAX_YEAR = 2000, 2100   # a close time outside these years is a typing mistake (and year 1 overflows UTC)


def can_grant_any(user: User) -> bool:
    """Administrators and examiners grant for anyone; officers only within scope."""
    return bool(user.is_admin or user.is_examiner)


def can_grant(user: User) -> bool:
    """True if ``user`` may grant anything at all (admin, examiner or officer)."""
    return bool(can_grant_any(user) or user.is_officer)


def person_for(viewer: User, user_id: int) -> User | None:
    """The person ``user_id`` if ``viewer`` may act on them (scoped in the query), else None."""
    query = select(User).where(User.id == user_id)
    if not can_grant_any(viewer):
        query = query.where(User.department_id.in_(visible_department_ids(viewer)))
    return db.session.execute(query).scalar_one_or_none()


# --- parsing form text ---------------------------------------------------------------------

def whole_number(text: str | None, field: str, minimum: int, maximum: int, *, blank_ok: bool = True) -> int | None:
    """``text`` as an int in ``[minimum, maximum]``; None for blank when ``blank_ok``.
    Raises DomainError naming ``field`` otherwise."""
    text = (text or "").strip()
    if not text:
        if blank_ok:
            return None
        raise DomainError(_("%(field)s: enter a whole number.", field=field), code="bad_input")
    if not (text.isascii() and text.isdigit()) or len(text) > 6 or not minimum <= int(text) <= maximum:
        raise DomainError(_("%(field)s: enter a whole number from %(min)s to %(max)s.", field=field,
                            min=minimum, max=maximum), code="bad_input")
    return int(text)


def local_datetime_input(text: str | None, field: str) -> dt.datetime | None:
    """A ``YYYY-MM-DDTHH:MM`` (HTML datetime-local) in the configured zone, years 2000–2100, as aware
    UTC; None if blank. Raises DomainError naming ``field`` on anything else."""
    text = (text or "").strip()
    if not text:
        return None
    naive = None
    for pattern in ("%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"):   # what datetime-local inputs send
        try:
            naive = dt.datetime.strptime(text, pattern) if len(text) <= 19 else None
            break
        except ValueError:
            continue
    if naive is None or not MIN_YEAR <= naive.year <= MAX_YEAR:
        raise DomainError(_("%(field)s: enter a date and time like 2026-12-31T18:00.", field=field), code="bad_input")
    return naive.replace(tzinfo=local_zone()).astimezone(dt.UTC)


def reason_text(text: str | None) -> str:
    """The reason, stripped; required and at most 500 characters. Raises DomainError."""
    text = (text or "").replace("\x00", "").strip()
    if not text:
        raise DomainError(_("Reason: please say why (it is recorded in the audit log)."), code="bad_input")
    if len(text) > MAX_REASON:
        raise DomainError(_("Reason: at most %(max)s characters.", max=MAX_REASON), code="bad_input")
    return text


# --- exam overrides ------------------------------------------------------------------------

def overrides_of(exam: Exam) -> list[ExamOverride]:
    """Every override of ``exam``: departments first (by code), then people (by staff number)."""
    rows = db.session.execute(select(ExamOverride).where(ExamOverride.exam_id == exam.id)).scalars()
    return sorted(rows, key=lambda o: (o.user_id is not None,
                                       o.department.code if o.department else o.user.staff_number))


def _target(override: ExamOverride) -> str:
    return f"user:{override.user_id}" if override.user_id else f"department:{override.department_id}"


def _attempts_changed(exam_id: int, user_id: int | None, department_id: int | None, before: int | None,
                      after: int | None, at: dt.datetime) -> None:
    """Record a change of an override's attempts allowance (:class:`ExamOverrideChange`) if it changed."""
    if before != after:
        db.session.add(ExamOverrideChange(exam_id=exam_id, user_id=user_id, department_id=department_id,
                                          changed_at=at, attempts_before=before, attempts_after=after))


def set_override(actor: User, exam: Exam, *, person: User | None = None, department: Department | None = None,
                 time_limit_seconds: int | None = None, closes_at: dt.datetime | None = None,
                 attempts_allowed: int | None = None, reason: str, ip: str | None = None) -> ExamOverride:
    """Create or replace the override of ``exam`` for ``person`` or ``department`` (exactly one).

    Values: seconds, aware UTC, a count; None keeps the exam's value, but at least one must be set.
    Scope is the caller's duty (views use :func:`person_for`; department overrides are for admins
    and examiners). Raises DomainError when nothing is set or both/neither target is given.
    """
    if (person is None) == (department is None):
        raise DomainError(_("Choose either a person or a department."), code="bad_input")
    if time_limit_seconds is None and closes_at is None and attempts_allowed is None:
        raise DomainError(_("Set at least one of: time limit, close time, attempts."), code="bad_input")
    where = (ExamOverride.user_id == person.id) if person else (ExamOverride.department_id == department.id)
    override = db.session.execute(
        select(ExamOverride).where(ExamOverride.exam_id == exam.id, where)).scalar_one_or_none()
    if override is None:
        override = ExamOverride(exam_id=exam.id, user_id=person.id if person else None,
                                department_id=department.id if department else None)
        db.session.add(override)
    now = utcnow()
    _attempts_changed(exam.id, override.user_id, override.department_id, override.attempts_allowed, attempts_allowed, now)
    override.time_limit_seconds, override.closes_at, override.attempts_allowed = time_limit_seconds, closes_at, attempts_allowed
    override.reason, override.granted_by_id, override.granted_at = reason, actor.id, now
    db.session.flush()
    record(actor.id, "exam_override.set", _target(override),
           {"exam": exam.code, "time_limit_seconds": time_limit_seconds, "closes_at": closes_at,
            "attempts_allowed": attempts_allowed, "reason": reason}, ip)
    return override


def remove_override(actor: User, override: ExamOverride, ip: str | None = None) -> None:
    """Delete ``override`` and audit it (the detail keeps the values it had). Flushes."""
    detail = {"exam": override.exam.code, "time_limit_seconds": override.time_limit_seconds,
              "closes_at": override.closes_at, "attempts_allowed": override.attempts_allowed,
              "reason": override.reason}
    target = _target(override)
    _attempts_changed(override.exam_id, override.user_id, override.department_id, override.attempts_allowed, None,
                      utcnow())
    db.session.delete(override)
    db.session.flush()
    record(actor.id, "exam_override.remove", target, detail, ip)


def _person_override(exam: Exam, person: User) -> ExamOverride:
    """The person's override row for ``exam``, created empty (all None) if missing. Flushes."""
    override = db.session.execute(select(ExamOverride).where(
        ExamOverride.exam_id == exam.id, ExamOverride.user_id == person.id)).scalar_one_or_none()
    if override is None:
        override = ExamOverride(exam_id=exam.id, user_id=person.id, reason="")
        db.session.add(override)
        db.session.flush()
    return override


def grant_extra_attempt(actor: User, exam: Exam, person: User, reason: str, ip: str | None = None) -> int:
    """One more attempt than the person's effective allowance now. Returns the new total.

    Counter change as one conditional UPDATE (``attempts_allowed = coalesce(attempts_allowed,
    effective) + 1``), so two officers pressing at once grant two attempts, never lose one.
    """
    effective = candidate_settings(exam, person.id).attempts_allowed
    override = _person_override(exam, person)
    before = override.attempts_allowed
    now = utcnow()
    db.session.execute(
        update(ExamOverride).where(ExamOverride.id == override.id)
        .values(attempts_allowed=db.func.coalesce(ExamOverride.attempts_allowed, effective) + 1,
                reason=reason, granted_by_id=actor.id, granted_at=now)
        .execution_options(synchronize_session=False))
    db.session.expire(override)
    total = override.attempts_allowed
    # The UPDATE locks the row until commit, so total − 1 is the value just before this grant (None if
    # the override did not set attempts: the person then had the department's or the exam's allowance).
    _attempts_changed(exam.id, person.id, None, None if before is None else total - 1, total, now)
    record(actor.id, "exam_override.extra_attempt", f"user:{person.id}",
           {"exam": exam.code, "attempts_allowed": total, "reason": reason}, ip)
    return total


def grant_extra_time(actor: User, exam: Exam, person: User, minutes: int, reason: str,
                     ip: str | None = None) -> int:
    """``minutes`` more on the person's time limit for ``exam`` (before accommodation). Returns the new
    limit in seconds. One conditional UPDATE, like :func:`grant_extra_attempt`."""
    base = candidate_settings(exam, person.id).base_time_limit_seconds
    override = _person_override(exam, person)
    db.session.execute(
        update(ExamOverride).where(ExamOverride.id == override.id)
        .values(time_limit_seconds=db.func.coalesce(ExamOverride.time_limit_seconds, base) + minutes * 60,
                reason=reason, granted_by_id=actor.id, granted_at=utcnow())
        .execution_options(synchronize_session=False))
    db.session.expire(override)
    seconds = override.time_limit_seconds
    record(actor.id, "exam_override.extra_time", f"user:{person.id}",
           {"exam": exam.code, "extra_minutes": minutes, "time_limit_seconds": seconds, "reason": reason}, ip)
    return seconds


# --- accommodations ------------------------------------------------------------------------

def accommodation_of(user_id: int) -> Accommodation | None:
    """The person's accommodation, or None."""
    return db.session.execute(select(Accommodation).where(Accommodation.user_id == user_id)).scalar_one_or_none()


def set_accommodation(actor: User, person: User, extra_percent: int, extra_minutes: int, reason: str,
                      ip: str | None = None) -> Accommodation | None:
    """Record (or replace) the person's accommodation: ``extra_percent`` percent (0–300, 25 = +25 %)
    and ``extra_minutes`` (0–600) on every exam's time limit. Both 0 removes it (returns None).
    Raises DomainError outside those ranges."""
    if not 0 <= extra_percent <= MAX_PERCENT or not 0 <= extra_minutes <= MAX_EXTRA_MINUTES:
        raise DomainError(_("Accommodation out of range."), code="bad_input")
    current = accommodation_of(person.id)
    if extra_percent == 0 and extra_minutes == 0:
        if current is not None:
            db.session.delete(current)
            db.session.flush()
        record(actor.id, "accommodation.remove", f"user:{person.id}", {"reason": reason}, ip)
        return None
    if current is None:
        current = Accommodation(user_id=person.id)
        db.session.add(current)
    current.extra_percent, current.extra_minutes, current.reason = extra_percent, extra_minutes, reason
    current.granted_by_id, current.granted_at = actor.id, utcnow()
    db.session.flush()
    record(actor.id, "accommodation.set", f"user:{person.id}",
           {"extra_percent": extra_percent, "extra_minutes": extra_minutes, "reason": reason}, ip)
    return current
