"""Admission to an exam at start: allowed networks, access code and sittings with seats.

Called by :func:`app.exams.services.start_attempt` for a NEW attempt only (resuming an attempt in
progress is not re-checked). The rules are set in the browser editor (/admin/exams/<code>/edit);
``content sync`` never touches them.

* **Networks** (Moodle's "require network address"): ``exam.allowed_networks`` is a list of CIDR
  networks (IPv4 or IPv6; a bare address is a /32 or /128). None or empty: anywhere. The client
  address is ``request.remote_addr`` as the app resolves it: the socket peer, or, behind
  ``TRUSTED_PROXY_COUNT`` proxies, the address werkzeug's ProxyFix takes from X-Forwarded-For
  (never a raw header). An IPv4-mapped IPv6 address (``::ffff:10.1.2.3``) also matches its IPv4 form.
* **Access code** (Moodle's "require password"): ``exam.access_code_hash`` is an argon2id hash
  (:func:`app.core.security.hash_password`, the same as passwords); the code is checked with
  argon2's verify (comparison inside argon2, independent of where the codes differ).
  Wrong codes are throttled per candidate by the start view (Flask-Limiter, counted only on a wrong code).
* **Sittings**: when an exam has sittings, an attempt starts in one of them, while
  ``starts_at <= now < ends_at``, taking a seat with ONE conditional
  ``UPDATE exam_sitting SET seats_taken = seats_taken + 1 WHERE … seats_taken < capacity`` (rowcount 1
  or refused), so concurrent starts never exceed the capacity. The sitting's end also cuts the deadline.
* **Assigned candidates** (考生编排): an examiner assigns people to a sitting (:func:`assign_candidates`,
  by staff numbers and/or a department subtree). Their seats are taken at assignment (one conditional
  ``UPDATE … SET seats_taken = seats_taken + n WHERE seats_taken + n <= capacity``: beyond the capacity
  nothing is assigned), so walk-ins can never take them. An assigned person may start only in their own
  sitting, during its time, without taking another seat; people not assigned choose any running
  sitting with a free seat (first come, first seated). A person is in at most one sitting per exam.
"""
from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import delete, exists, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from app.audit.services import record
from app.auth.models import User
from app.core.errors import DomainError
from app.core.security import verify_password
from app.core.time import to_local, utcnow
from app.exams.models import Attempt, Exam, ExamSitting, ExamSittingCandidate
from app.extensions import db
from app.org.models import Department
from app.org.services import subtree_ids

MAX_NETWORKS = 100
MAX_ACCESS_CODE = 200
MAX_STAFF_NUMBERS = 5000  # pasted in one go
SHOWN = 10  # staff numbers named in one refusal
CHUNK = 500  # ids per IN (...) and rows per bulk INSERT


@dataclass(frozen=True)
class Admission:
    """What a start request brings: the client address (``request.remote_addr``), the access code
    typed on the exam page (None: none typed) and the chosen sitting's id (None: none chosen)."""

    remote_addr: str | None = None
    access_code: str | None = None
    sitting_id: int | None = None


# --- networks --------------------------------------------------------------------------------

def parse_networks(text: str) -> tuple[list[str], list[str]]:
    """``(networks, problems)`` from text with one CIDR network per line (commas and spaces also separate).

    Each network is normalised (``ipaddress.ip_network(..., strict=True)``), duplicates dropped, order
    kept. ``problems`` holds one translated message per bad entry, e.g. ``10.0.0.1/24: host bits set…``.
    """
    networks: list[str] = []
    problems: list[str] = []
    tokens = [t for t in (text or "").replace(",", " ").split() if t]
    if len(tokens) > MAX_NETWORKS:
        return [], [_("At most %(n)s networks.", n=MAX_NETWORKS)]
    for token in tokens:
        try:
            network = ipaddress.ip_network(token, strict=True)
        except ValueError:
            try:
                loose = ipaddress.ip_network(token, strict=False)
            except ValueError:
                problems.append(_("%(value)s is not an IP network (write e.g. 10.20.0.0/16 or 2001:db8::/32).",
                                  value=token[:60]))
            else:
                problems.append(_("%(value)s has host bits set: did you mean %(network)s?",
                                  value=token[:60], network=str(loose)))
            continue
        if str(network) not in networks:
            networks.append(str(network))
    return networks, problems


def address_allowed(networks: list[str] | None, remote_addr: str | None) -> bool:
    """True if ``networks`` is empty/None, or ``remote_addr`` lies in one of them (IPv4-mapped IPv6
    addresses also match as IPv4). An unknown or malformed address is outside every network."""
    if not networks:
        return True
    if not remote_addr:
        return False
    try:
        address = ipaddress.ip_address(remote_addr.split("%", 1)[0])
    except ValueError:
        return False
    candidates = [address]
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        candidates.append(address.ipv4_mapped)
    for text in networks:
        try:
            network = ipaddress.ip_network(text, strict=False)
        except ValueError:
            continue
        if any(a.version == network.version and a in network for a in candidates):
            return True
    return False


# --- sittings --------------------------------------------------------------------------------

def sittings_of(exam_id: int) -> list[ExamSitting]:
    """The exam's sittings by start time (fresh from the database, seats included)."""
    return list(db.session.execute(
        select(ExamSitting).where(ExamSitting.exam_id == exam_id).order_by(ExamSitting.starts_at, ExamSitting.id)
        .execution_options(populate_existing=True)).scalars())


def is_running(sitting: ExamSitting, now: dt.datetime) -> bool:
    """True while ``starts_at <= now < ends_at`` (UTC)."""
    return sitting.starts_at <= now < sitting.ends_at


def take_seat(sitting_id: int, exam_id: int, now: dt.datetime) -> bool:
    """Take one seat of a running sitting of ``exam_id``: ONE conditional UPDATE
    (``seats_taken < capacity`` and ``starts_at <= now < ends_at``). True if a seat was taken.
    Flushes nothing else; the caller's transaction (or savepoint) keeps or undoes it."""
    taken = db.session.execute(
        update(ExamSitting)
        .where(ExamSitting.id == sitting_id, ExamSitting.exam_id == exam_id,
               ExamSitting.seats_taken < ExamSitting.capacity,
               ExamSitting.starts_at <= now, ExamSitting.ends_at > now)
        .values(seats_taken=ExamSitting.seats_taken + 1)
        .execution_options(synchronize_session=False)
    ).rowcount
    return taken == 1


# --- the checks at start ----------------------------------------------------------------------

def network_refusal(exam: Exam, remote_addr: str | None) -> DomainError | None:
    """DomainError 403 ``network`` if the exam limits networks and ``remote_addr`` is outside them."""
    if address_allowed(exam.allowed_networks, remote_addr):
        return None
    return DomainError(_("This exam can only be started from the exam room's network. Your computer's address "
                         "(%(address)s) is not one of them: please sit the exam on a computer in the exam room, "
                         "or ask the invigilator.", address=remote_addr or "?"), code="network", status=403)


def check_access_code(exam: Exam, code: str | None) -> None:
    """Raise DomainError 403 ``access_code`` if the exam has an access code and ``code`` is not it
    (argon2 verify; a missing code is wrong)."""
    if not exam.access_code_hash:
        return
    code = (code or "").strip()[:MAX_ACCESS_CODE]
    if not code or not verify_password(exam.access_code_hash, code):
        raise DomainError(_("The access code is not right. Ask the invigilator for this exam's access code."),
                          code="access_code", status=403)


def admit(exam: Exam, admission: Admission | None, now: dt.datetime,
          user_id: int | None = None) -> tuple[ExamSitting | None, bool]:
    """Check network, access code and sitting for a new attempt by ``user_id``; return ``(sitting,
    take_seat)``: the sitting the attempt starts in (None when the exam has no sittings) and whether a
    seat must still be taken (False for a candidate assigned to it: their seat was taken when they were
    assigned). Nothing is written. An absent ``admission`` counts as no address, no code, no sitting:
    an exam with rules refuses it.

    Raises DomainError: 403 ``network``, 403 ``access_code``, 409 ``sitting_required`` (sittings exist,
    none chosen), 409 ``sitting_closed`` (not running now or not this exam's; for an assigned candidate:
    their sitting is not running), 409 ``sitting_assigned`` (assigned to another sitting than the one
    chosen), 409 ``sitting_full``.
    """
    admission = admission or Admission()
    refusal = network_refusal(exam, admission.remote_addr)
    if refusal is not None:
        raise refusal
    check_access_code(exam, admission.access_code)
    sittings = sittings_of(exam.id)
    if not sittings:
        return None, False
    mine = assigned_sitting(exam.id, user_id) if user_id is not None else None
    if mine is not None:
        if admission.sitting_id is not None and admission.sitting_id != mine.id:
            raise DomainError(_("You are assigned to the sitting %(sitting)s: start the exam there.",
                                sitting=sitting_label(mine)), code="sitting_assigned", status=409)
        if not is_running(mine, now):
            raise DomainError(_("Your sitting is %(sitting)s: the exam can only be started during it.",
                                sitting=sitting_label(mine)), code="sitting_closed", status=409)
        return mine, False
    if admission.sitting_id is None:
        raise DomainError(_("Choose the sitting you are in."), code="sitting_required", status=409)
    sitting = next((s for s in sittings if s.id == admission.sitting_id), None)
    if sitting is None or not is_running(sitting, now):
        raise DomainError(_("This sitting is not running now: an attempt can only start during its time slot."),
                          code="sitting_closed", status=409)
    if sitting.seats_taken >= sitting.capacity:
        raise sitting_full()
    return sitting, True


def sitting_full() -> DomainError:
    """The refusal for a sitting without a free seat (409 ``sitting_full``)."""
    return DomainError(_("This sitting is full: every seat is taken. Choose another sitting or ask the invigilator."),
                       code="sitting_full", status=409)


# --- assigned candidates ------------------------------------------------------------------------

def sitting_label(sitting: ExamSitting) -> str:
    """``2026-12-01 09:00 – 11:00 · 第一考场`` in the configured zone (the end's date when it differs)."""
    start, end = to_local(sitting.starts_at), to_local(sitting.ends_at)
    text = f"{start:%Y-%m-%d %H:%M} – {end:%H:%M}" if start.date() == end.date() else \
        f"{start:%Y-%m-%d %H:%M} – {end:%Y-%m-%d %H:%M}"
    return f"{text} · {sitting.name}" if sitting.name else text


def assigned_sitting(exam_id: int, user_id: int) -> ExamSitting | None:
    """The sitting of ``exam_id`` that ``user_id`` is assigned to (None: not assigned)."""
    return db.session.execute(
        select(ExamSitting).join(ExamSittingCandidate, ExamSittingCandidate.sitting_id == ExamSitting.id)
        .where(ExamSittingCandidate.exam_id == exam_id, ExamSittingCandidate.user_id == user_id)
        .execution_options(populate_existing=True)).scalar_one_or_none()


def parse_staff_numbers(text: str) -> list[str]:
    """Staff numbers from pasted text: one a line (commas, semicolons, spaces and tabs also separate),
    duplicates dropped, order kept. Raises DomainError 400 ``too_many`` beyond MAX_STAFF_NUMBERS."""
    for mark in (",", "，", ";", "；", "、", "\t"):
        text = (text or "").replace(mark, " ")
    numbers = list(dict.fromkeys(token[:40] for token in text.split() if token))
    if len(numbers) > MAX_STAFF_NUMBERS:
        raise DomainError(_("At most %(n)s staff numbers at a time.", n=MAX_STAFF_NUMBERS), code="too_many", status=400)
    return numbers


def _chunks(values: list, size: int = CHUNK):
    for start in range(0, len(values), size):
        yield values[start:start + size]


def _named(numbers: list[str]) -> str:
    """The first SHOWN staff numbers, with "…" when there are more."""
    return "、".join(numbers[:SHOWN]) + ("…" if len(numbers) > SHOWN else "")


@dataclass
class AssignResult:
    """What :func:`assign_candidates` did: staff numbers newly assigned, and how many of the people
    named were in this sitting already (left as they were)."""

    added: list[str]
    already: int


def assign_candidates(sitting: ExamSitting, staff_numbers: list[str], department_id: int | None,
                      actor_id: int | None, ip: str | None = None) -> AssignResult:
    """Assign people to ``sitting``: the active users with these staff numbers plus the active users of
    ``department_id``'s subtree (either may be empty/None). Flushes; the caller commits.

    All or nothing: raises DomainError, nothing written, for 400 ``nothing_to_assign`` (no numbers, no
    department), 400 ``unknown_staff`` (numbers of no active person, named), 404 ``unknown_department``,
    409 ``assigned_elsewhere`` (someone is in another sitting of this exam: remove them there first),
    409 ``sitting_full`` (the new people's seats do not fit: ONE conditional UPDATE
    ``seats_taken = seats_taken + n WHERE seats_taken + n <= capacity``), 409 ``conflict`` (someone
    was assigned by another request meanwhile). People already in this sitting are counted, not
    added again. Records ``exam.sitting_assign`` on ``exam:<id>`` when anyone is added.
    """
    if not staff_numbers and department_id is None:
        raise DomainError(_("Paste staff numbers or choose a department."), code="nothing_to_assign", status=400)
    people: dict[int, str] = {}
    if staff_numbers:
        found = {}
        for chunk in _chunks(staff_numbers):
            found.update({number: uid for uid, number in db.session.execute(
                select(User.id, User.staff_number).where(User.staff_number.in_(chunk), User.active.is_(True)))})
        unknown = [n for n in staff_numbers if n not in found]
        if unknown:
            raise DomainError(_("No active person has these staff numbers: %(numbers)s. Nothing was assigned.",
                                numbers=_named(unknown)), code="unknown_staff", status=400)
        people.update({found[n]: n for n in staff_numbers})
    if department_id is not None:
        if db.session.get(Department, department_id) is None:
            raise DomainError(_("Unknown department."), code="unknown_department", status=404)
        for uid, number in db.session.execute(
                select(User.id, User.staff_number).where(User.department_id.in_(subtree_ids([department_id])),
                                                         User.active.is_(True)).order_by(User.staff_number)):
            people.setdefault(uid, number)
    placed: dict[int, int] = {}
    ids = list(people)
    for chunk in _chunks(ids):
        placed.update(dict(db.session.execute(
            select(ExamSittingCandidate.user_id, ExamSittingCandidate.sitting_id)
            .where(ExamSittingCandidate.exam_id == sitting.exam_id, ExamSittingCandidate.user_id.in_(chunk))).all()))
    elsewhere = [people[uid] for uid in ids if uid in placed and placed[uid] != sitting.id]
    if elsewhere:
        raise DomainError(_("Already assigned to another sitting of this exam: %(numbers)s. Remove them there "
                            "first. Nothing was assigned.", numbers=_named(elsewhere)),
                          code="assigned_elsewhere", status=409)
    new = [uid for uid in ids if uid not in placed]
    result = AssignResult(added=[people[uid] for uid in new], already=len(ids) - len(new))
    if not new:
        return result
    savepoint = db.session.begin_nested()
    try:
        seated = db.session.execute(
            update(ExamSitting)
            .where(ExamSitting.id == sitting.id, ExamSitting.seats_taken + len(new) <= ExamSitting.capacity)
            .values(seats_taken=ExamSitting.seats_taken + len(new))
            .execution_options(synchronize_session=False)).rowcount
        if seated != 1:
            savepoint.rollback()
            fresh = db.session.execute(select(ExamSitting.seats_taken, ExamSitting.capacity)
                                       .where(ExamSitting.id == sitting.id)).one()
            raise DomainError(_("This sitting has %(free)s free seats of %(capacity)s, and %(n)s people were to be "
                                "assigned. Nothing was assigned: add seats or assign fewer people.",
                                free=max(0, fresh.capacity - fresh.seats_taken), capacity=fresh.capacity, n=len(new)),
                              code="sitting_full", status=409)
        for chunk in _chunks(new):
            db.session.execute(insert(ExamSittingCandidate), [
                {"sitting_id": sitting.id, "exam_id": sitting.exam_id, "user_id": uid, "assigned_by_id": actor_id,
                 "assigned_at": utcnow()} for uid in chunk])
        savepoint.commit()
    except IntegrityError:
        savepoint.rollback()
        raise DomainError(_("Someone else changed this sitting's candidates at the same moment. Nothing was "
                            "assigned: please try again."), code="conflict", status=409) from None
    record(actor_id, "exam.sitting_assign", f"exam:{sitting.exam_id}",
           {"sitting_id": sitting.id, "added": len(new), "staff_numbers": result.added[:100],
            "department_id": department_id}, ip=ip)
    db.session.expire(sitting)
    return result


def remove_candidates(sitting: ExamSitting, user_ids: list[int], actor_id: int | None,
                      ip: str | None = None) -> int:
    """Remove these people from ``sitting`` and free their seats (one conditional UPDATE). Flushes.
    Returns how many were removed.

    All or nothing: raises DomainError 400 ``not_assigned`` (an id is not a candidate of this sitting)
    or 409 ``started`` (someone has started an attempt in it: their seat was used, so they stay).
    Records ``exam.sitting_unassign`` on ``exam:<id>``.
    """
    wanted = list(dict.fromkeys(user_ids))
    if not wanted:
        raise DomainError(_("Choose the people to remove."), code="not_assigned", status=400)
    rows = {}
    for chunk in _chunks(wanted):
        rows.update(dict(db.session.execute(
            select(ExamSittingCandidate.user_id, User.staff_number).join(User, User.id == ExamSittingCandidate.user_id)
            .where(ExamSittingCandidate.sitting_id == sitting.id, ExamSittingCandidate.user_id.in_(chunk))).all()))
    if len(rows) != len(wanted):
        raise DomainError(_("Some of the people chosen are not candidates of this sitting. Nothing was removed."),
                          code="not_assigned", status=400)
    started = []
    for chunk in _chunks(wanted):
        started += [rows[uid] for uid in db.session.execute(select(Attempt.user_id.distinct()).where(
            Attempt.sitting_id == sitting.id, Attempt.user_id.in_(chunk))).scalars()]
    if started:
        raise DomainError(_("Started an attempt in this sitting, so they stay: %(numbers)s. Nothing was removed.",
                            numbers=_named(sorted(started))), code="started", status=409)
    for chunk in _chunks(wanted):
        db.session.execute(delete(ExamSittingCandidate).where(ExamSittingCandidate.sitting_id == sitting.id,
                                                              ExamSittingCandidate.user_id.in_(chunk))
                           .execution_options(synchronize_session=False))
    freed = db.session.execute(
        update(ExamSitting).where(ExamSitting.id == sitting.id, ExamSitting.seats_taken >= len(wanted))
        .values(seats_taken=ExamSitting.seats_taken - len(wanted)).execution_options(synchronize_session=False)).rowcount
    if freed != 1:  # cannot happen while assignments hold their seats; refuse rather than go negative
        raise DomainError(_("Please try again."), code="conflict", status=409)
    record(actor_id, "exam.sitting_unassign", f"exam:{sitting.exam_id}",
           {"sitting_id": sitting.id, "removed": len(wanted), "staff_numbers": sorted(rows.values())[:100]}, ip=ip)
    db.session.expire(sitting)
    return len(wanted)


@dataclass
class SittingCandidate:
    """One assigned person as the sitting's page lists them."""

    user_id: int
    staff_number: str
    name: str
    department: str
    started: bool


def sitting_candidates(sitting_id: int) -> list[SittingCandidate]:
    """The sitting's assigned people by staff number, with their department's name and whether they
    have started an attempt in it (one query)."""
    started = exists().where(Attempt.sitting_id == sitting_id, Attempt.user_id == ExamSittingCandidate.user_id)
    rows = db.session.execute(
        select(User.id, User.staff_number, User.name, Department.name, started)
        .join(ExamSittingCandidate, ExamSittingCandidate.user_id == User.id)
        .outerjoin(Department, Department.id == User.department_id)
        .where(ExamSittingCandidate.sitting_id == sitting_id).order_by(User.staff_number))
    return [SittingCandidate(uid, number, name, dept or "", bool(s)) for uid, number, name, dept, s in rows]


def assigned_counts(exam_id: int) -> dict[int, int]:
    """sitting id → number of assigned people, for the exam's sittings (one grouped query)."""
    return dict(db.session.execute(
        select(ExamSittingCandidate.sitting_id, func.count(ExamSittingCandidate.id))
        .where(ExamSittingCandidate.exam_id == exam_id).group_by(ExamSittingCandidate.sitting_id)).all())
