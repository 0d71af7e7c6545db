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
"""
from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import select, update

from app.core.errors import DomainError
from app.core.security import verify_password
from app.exams.models import Exam, ExamSitting
from app.extensions import db

MAX_NETWORKS = 100
MAX_ACCESS_CODE = 200


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


def admit(exam: Exam, admission: Admission | None, now: dt.datetime) -> ExamSitting | None:
    """Check network, access code and sitting for a new attempt; return the sitting to take a seat in
    (None when the exam has no sittings). Nothing is written. An absent ``admission`` counts as
    no address, no code, no sitting: an exam with rules refuses it.

    Raises DomainError: 403 ``network``, 403 ``access_code``, 409 ``sitting_required`` (sittings exist,
    none chosen), 409 ``sitting_closed`` (not running now or not this exam's), 409 ``sitting_full``.
    """
    admission = admission or Admission()
    refusal = network_refusal(exam, admission.remote_addr)
    if refusal is not None:
        raise refusal
    check_access_code(exam, admission.access_code)
    sittings = sittings_of(exam.id)
    if not sittings:
        return None
    if admission.sitting_id is None:
        raise DomainError(_("Choose the sitting you are in."), code="sitting_required", status=409)
    sitting = next((s for s in sittings if s.id == admission.sitting_id), None)
    if sitting is None or not is_running(sitting, now):
        raise DomainError(_("This sitting is not running now: an attempt can only start during its time slot."),
                          code="sitting_closed", status=409)
    if sitting.seats_taken >= sitting.capacity:
        raise sitting_full()
    return sitting


def sitting_full() -> DomainError:
    """The refusal for a sitting without a free seat (409 ``sitting_full``)."""
    return DomainError(_("This sitting is full: every seat is taken. Choose another sitting or ask the invigilator."),
                       code="sitting_full", status=409)
