"""Authentication services: password check with lockout, user creation."""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from flask import current_app
from sqlalchemy import case, delete, func, or_, select, update

from app.auth.models import SignInCode, User
from app.core.errors import DomainError
from app.core.security import equalise_login_timing, hash_password, password_needs_rehash, verify_password
from app.core.time import utcnow
from app.extensions import db


class LoginRefused(Exception):
    """Login refused. ``reason`` is ``invalid`` for every refusal (unknown user, wrong password, locked
    account): callers must not be able to tell them apart. The other reasons say nothing about the
    account: ``unavailable``, the LDAP directory could not be reached; ``directory``, a sign-in code
    was offered while the directory is the only password authority (:func:`password_authority`)."""

    def __init__(self, reason: str = "invalid"):
        super().__init__(reason)
        self.reason = reason


# --- who decides whether a password is right ------------------------------------------------------

LOCAL = "local"
"""No directory: passwords are the argon2 hashes stored here; sign-in codes lead to choosing one."""
DIRECTORY = "directory"
"""LDAP_URL set, LDAP_FALLBACK_LOCAL off: the directory decides for every account."""
DIRECTORY_WITH_FALLBACK = "directory_fallback"
"""LDAP_URL set and LDAP_FALLBACK_LOCAL on: the directory decides while it answers; a local password
is accepted only while it cannot be reached."""


def password_authority(ldap_url: str | None, fallback_local: bool) -> str:
    """Who checks passwords, from the two settings (plain values, e.g. ``config["LDAP_URL"]`` and
    ``config["LDAP_FALLBACK_LOCAL"]``): :data:`LOCAL`, :data:`DIRECTORY` or :data:`DIRECTORY_WITH_FALLBACK`.

    The rule for sign-in codes follows from it. With LDAP on, :func:`authenticate` asks the directory for
    *every* account (there are no local-only accounts: an account missing from the directory cannot sign
    in, so a leaver removed from the directory is out everywhere), so every account is a directory account:

    - ``DIRECTORY``: a local password is never checked, so a sign-in code (whose one purpose is to let the
      person choose a local password) would be a way in that the directory never approved, and the
      password chosen with it would never work again. Codes are neither issued (:func:`check_codes_allowed`
      raises :class:`SignInCodesNotUsed`; a staff import gives new staff none) nor accepted
      (:func:`redeem_sign_in_code`), and a directory sign-in clears ``must_change_password`` (an imported
      account's "choose your password" does not apply). Forgotten passwords are reset in the directory.
    - ``DIRECTORY_WITH_FALLBACK``: the local password is the one used while the directory is down, so codes
      stay (they set that fallback password) and the pages say that normally the directory password is used.
    - ``LOCAL``: codes as always.
    """
    if not ldap_url:
        return LOCAL
    return DIRECTORY_WITH_FALLBACK if fallback_local else DIRECTORY


def current_password_authority() -> str:
    """:func:`password_authority` of the running app's LDAP_URL and LDAP_FALLBACK_LOCAL."""
    config = current_app.config
    return password_authority(config.get("LDAP_URL"), bool(config.get("LDAP_FALLBACK_LOCAL")))


class SignInCodesNotUsed(DomainError):
    """Sign-in codes were asked for while the directory is the only password authority (status 409)."""

    def __init__(self):
        from flask_babel import gettext as _

        super().__init__(_("Sign-in codes are not used here: passwords are checked by the directory (LDAP). "
                           "Staff sign in with their directory password; a forgotten one is reset where the "
                           "directory is managed."), code="directory_authority", status=409)


def codes_allowed(authority: str) -> bool:
    """True unless ``authority`` is :data:`DIRECTORY` (see :func:`password_authority`)."""
    return authority != DIRECTORY


def check_codes_allowed(authority: str | None = None) -> None:
    """Raise :class:`SignInCodesNotUsed` when codes may not be issued under ``authority`` (default: the
    running app's, :func:`current_password_authority`). Called before anything is changed."""
    if not codes_allowed(authority or current_password_authority()):
        raise SignInCodesNotUsed()


def _audit_target(user: User | None, staff_number: str) -> str:
    """``user:<id>`` for a known account, else ``staff:<what was typed>`` (at most 40 characters)."""
    return f"user:{user.id}" if user is not None else f"staff:{staff_number.strip()[:40]}"


def _refuse(user: User | None, staff_number: str, method: str, why: str) -> LoginRefused:
    """Audit a refused sign-in (``auth.login_failed``; never the password or code) and return the
    exception to raise. ``why`` is for the audit log only (unknown, inactive, no_password,
    wrong_password, wrong_code, locked); the person sees the same message for all."""
    from app.audit.services import record

    record(user.id if user is not None else None, "auth.login_failed", _audit_target(user, staff_number),
           {"method": method, "reason": why})
    return LoginRefused("invalid")


def _audit_success(user: User, method: str) -> None:
    from app.audit.services import record

    record(user.id, "auth.login", f"user:{user.id}", {"method": method})


def authenticate(staff_number: str, password: str) -> User:
    """Return the active user whose staff number and password match.

    Every path costs exactly one argon2 verification (an unknown staff number, a user without a
    password or a locked account included: the user's hash or a dummy one), and every refusal is the
    same ``LoginRefused("invalid")``, so neither the answer nor its timing tells whether a staff
    number exists or is locked.

    Failures are counted by one conditional UPDATE (``failed_logins = failed_logins + 1`` and, from the
    LOGIN_MAX_FAILURES-th consecutive failure on, ``locked_until = now + LOGIN_LOCKOUT_SECONDS``), so
    concurrent wrong passwords in several workers each count. Once the limit is reached every further
    failure (also after the lock ran out) locks again, until a successful login resets the count.
    A success is one UPDATE that only matches while the account is not locked, so a right password
    during a lock is refused even when it races the failures that locked it.
    A hash made with other argon2id parameters than the current ones is replaced by a new hash of
    the same password (the password is only known at this moment).

    Raises:
        LoginRefused: always with reason ``invalid``. The caller commits so failure counts persist.
    """
    user = db.session.execute(
        select(User).where(User.staff_number == staff_number.strip())
    ).scalar_one_or_none()
    from app.auth import ldap

    if ldap.enabled():
        try:
            return _authenticate_ldap(user, staff_number, password)
        except ldap.DirectoryUnavailable as down:
            from app.audit.services import record

            record(user.id if user else None, "auth.ldap_unavailable", _audit_target(user, staff_number),
                   {"error": str(down)[:200], "fallback_local": ldap.fallback_local()})
            if not ldap.fallback_local():
                raise LoginRefused("unavailable") from None
    if user is None or not user.active or not user.password_hash:
        equalise_login_timing(password)
        raise _refuse(user, staff_number, "password",
                      "unknown" if user is None else "inactive" if not user.active else "no_password")
    right = verify_password(user.password_hash, password)
    now = utcnow()
    if not right:
        locked = _record_failure(user, now)
        raise _refuse(user, staff_number, "password", "locked" if locked else "wrong_password")
    values = {}
    if password_needs_rehash(user.password_hash):  # made with older parameters: upgrade it now
        values["password_hash"] = hash_password(password)
    if not _record_success(user, now, **values):
        raise _refuse(user, staff_number, "password", "locked")
    _audit_success(user, "password")
    return user


def _authenticate_ldap(user: User | None, staff_number: str, password: str) -> User:
    """The LDAP branch of :func:`authenticate`: the local account must exist and be active (it is not
    created from the directory); a locked account is refused without asking the directory (and the
    attempt counts); otherwise the directory checks the password by a bind as the user's entry, and a
    refusal counts towards the same lockout. Raises LoginRefused, or
    :class:`app.auth.ldap.DirectoryUnavailable` when the directory cannot answer."""
    from app.auth import ldap

    now = utcnow()
    if user is None or not user.active:
        raise _refuse(user, staff_number, "ldap", "unknown" if user is None else "inactive")
    if user.locked_until is not None and user.locked_until > now:
        _record_failure(user, now)
        raise _refuse(user, staff_number, "ldap", "locked")
    if not ldap.check_password(user.staff_number, password):
        locked = _record_failure(user, now)
        raise _refuse(user, staff_number, "ldap", "locked" if locked else "wrong_password")
    # Only the directory's password is ever used: an imported account's "choose your password" does not apply.
    extra = {"must_change_password": False} if not ldap.fallback_local() else {}
    if not _record_success(user, now, **extra):
        raise _refuse(user, staff_number, "ldap", "locked")
    _audit_success(user, "ldap")
    return user


def _record_failure(user: User, now: dt.datetime) -> bool:
    """One failed sign-in of ``user``: a single conditional UPDATE (see :func:`authenticate`).
    Returns True if the account is locked now. The failure that reaches LOGIN_MAX_FAILURES is audited
    as ``auth.lockout`` (exactly one concurrent failure sees the count equal to the limit: the UPDATE
    holds the row until commit)."""
    limit = current_app.config["LOGIN_MAX_FAILURES"]
    lock_until = now + dt.timedelta(seconds=current_app.config["LOGIN_LOCKOUT_SECONDS"])
    db.session.execute(
        update(User).where(User.id == user.id).values(
            failed_logins=func.coalesce(User.failed_logins, 0) + 1,
            locked_until=case((func.coalesce(User.failed_logins, 0) + 1 >= limit, lock_until),
                              else_=User.locked_until),
        ).execution_options(synchronize_session=False)
    )
    db.session.expire(user, ["failed_logins", "locked_until"])
    count, locked_until = db.session.execute(
        select(User.failed_logins, User.locked_until).where(User.id == user.id)).one()
    if count == limit:
        from app.audit.services import record

        record(user.id, "auth.lockout", f"user:{user.id}",
               {"failures": count, "locked_until": locked_until})
    return locked_until is not None and locked_until > now


def _record_success(user: User, now: dt.datetime, **values) -> bool:
    """Reset the failure count and note the sign-in, only if ``user`` is not locked at ``now``
    (one conditional UPDATE); ``values`` are further columns to set. Returns False when locked."""
    values = {"failed_logins": 0, "locked_until": None, "last_login_at": now, **values}
    done = db.session.execute(
        update(User).where(User.id == user.id, or_(User.locked_until.is_(None), User.locked_until <= now))
        .values(**values).execution_options(synchronize_session=False)
    )
    db.session.expire(user, list(values))
    return done.rowcount == 1


MIN_PASSWORD_LENGTH = 8
"""Shortest password accepted anywhere (forms, imports, the admin command), in characters."""
MAX_PASSWORD_LENGTH = 1000
"""Longest password accepted, in characters (argon2 hashes all of it: nothing is truncated)."""

# Passwords that guessing lists try first (the top of public leaked-password lists, Chinese ones
# included, and what people make of the platform's own words), compared in lower case after
# stripping trailing digits and punctuation ("Password1!" counts as "password").
COMMON_PASSWORDS = frozenset("""
123456 1234567 12345678 123456789 1234567890 0123456789 987654321 11111111 00000000 88888888 66666666
12344321 11223344 111222333 123123123 147258369 123654789 password passw0rd p@ssw0rd p@ssword qwerty
qwertyui qwertyuiop asdfghjk asdfghjkl zxcvbnm 1qaz2wsx 1q2w3e4r 1q2w3e4r5t qazwsxedc abc abcd abcdefg
abcdefgh abc123 a123456 a12345678 a123456789 aa123456 iloveyou woaini woaini1314 5201314 1314520
admin administrator root welcome letmein monkey dragon sunshine princess football baseball superman
trustno1 changeme default mima wodemima zhang wang huawei xiaomi computer internet civicskills
training peixun gongwuyuan zhengfu
""".split())


class PasswordPolicyError(ValueError):
    """A password breaks the policy. ``messages`` are translated, user-facing sentences (one per rule)."""

    def __init__(self, messages: list[str]):
        super().__init__("; ".join(str(m) for m in messages))
        self.messages = messages


def _is_common(password: str) -> bool:
    lowered = password.lower()
    core = lowered.rstrip("0123456789!@#$%^&*.,;:?-_=+~ ")
    if lowered in COMMON_PASSWORDS or core in COMMON_PASSWORDS:
        return True
    if len(set(lowered)) <= 2:  # aaaaaaaa, abababab
        return True
    digits = "01234567890123456789"
    return lowered in digits or lowered in digits[::-1]


def check_password_policy(password: str, user: User | None = None) -> None:
    """Check ``password`` against the policy (NIST SP 800-63B's rules: length over composition).

    At least MIN_PASSWORD_LENGTH and at most MAX_PASSWORD_LENGTH characters (any Unicode: a
    Chinese sentence is a good password); not a common password (COMMON_PASSWORDS, one repeated
    character, a run of digits); not containing the user's staff number or name (when ``user`` is
    given). Raises PasswordPolicyError with every broken rule's message; returns None if it passes.
    """
    from flask_babel import _

    messages = []
    if len(password) < MIN_PASSWORD_LENGTH:
        messages.append(_("Use at least %(min)s characters.", min=MIN_PASSWORD_LENGTH))
    elif len(password) > MAX_PASSWORD_LENGTH:
        messages.append(_("Use at most %(max)s characters.", max=MAX_PASSWORD_LENGTH))
    elif _is_common(password):
        messages.append(_("This password is too common or too easy to guess. A short sentence only you "
                          "would think of is better."))
    if user is not None:
        lowered = password.lower()
        if user.staff_number and len(user.staff_number) >= 3 and user.staff_number.lower() in lowered:
            messages.append(_("The password must not contain your staff number."))
        if user.name and len(user.name) >= 2 and user.name.lower() in lowered:
            messages.append(_("The password must not contain your name."))
    if messages:
        raise PasswordPolicyError(messages)


def set_password(user: User, password: str, *, initial: bool = False) -> None:
    """Store an argon2id hash of ``password`` after :func:`check_password_policy` (raises
    PasswordPolicyError, a ValueError, when it fails).

    ``initial=True`` is for a temporary password someone else chose (a staff file's password cell)
    that the user must replace at first sign-in (``must_change_password``): only the length rule
    applies to it (ValueError if shorter than MIN_PASSWORD_LENGTH).
    """
    if initial:
        if len(password) < MIN_PASSWORD_LENGTH:
            raise ValueError(f"password must be at least {MIN_PASSWORD_LENGTH} characters")
    else:
        check_password_policy(password, user)
    user.password_hash = hash_password(password)


SIGN_IN_CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
"""Characters of sign-in codes: no 0/O or 1/I, easy to read off a slip and type (32 symbols)."""
SIGN_IN_CODE_LENGTH = 12
"""Symbols per code (60 bits), printed as three groups of four: ``K7QM-2XWP-9DHT``."""


def _normalise_code(code: str) -> str:
    return "".join(ch for ch in code.upper() if ch.isalnum())


def _code_digest(code: str) -> str:
    return hashlib.sha256(_normalise_code(code).encode()).hexdigest()


def issue_sign_in_code(user: User, by: User | None = None) -> str:
    """Give ``user`` a new personal sign-in code, valid once for SIGN_IN_CODE_HOURS hours.

    Earlier unused codes of the user stop working. Only the code's SHA-256 is stored (a random
    60-bit code needs no slow hash; guessing is bounded by the login lockout and rate limit).
    Returns the code, formatted ``XXXX-XXXX-XXXX``, to be handed to the person. Flushes.
    """
    return issue_sign_in_codes([user], by)[user.id]


CODE_BATCH = 1000
"""Rows per DELETE / INSERT statement when codes are issued in bulk."""


def issue_sign_in_codes(users, by: User | None = None, authority: str | None = None) -> dict[int, str]:
    """:func:`issue_sign_in_code` for many users at once (a staff import, a department's slips).

    ``users``: user ids or objects with an ``id`` (flushed). Per batch of CODE_BATCH users, one
    DELETE of their unused codes and one executemany INSERT of plain dicts: no ORM object per code,
    so 100,000 codes do not hold 100,000 tracked objects in the session. Returns ``{user_id: code}``
    (the only place the codes exist; only SHA-256 digests are stored); every code expires at
    :func:`sign_in_code_expiry` of now. Flushes pending ORM changes first. Raises
    :class:`SignInCodesNotUsed` (nothing changed) when ``authority`` (default: the running app's) is
    :data:`DIRECTORY`."""
    check_codes_allowed(authority)
    db.session.flush()
    ids = [user if isinstance(user, int) else user.id for user in users]
    now = utcnow()
    expires = sign_in_code_expiry(now)
    by_id = by.id if by else None
    codes: dict[int, str] = {}
    for start in range(0, len(ids), CODE_BATCH):
        batch = ids[start:start + CODE_BATCH]
        db.session.execute(delete(SignInCode).where(SignInCode.user_id.in_(batch), SignInCode.used_at.is_(None))
                           .execution_options(synchronize_session=False))
        rows = []
        for user_id in batch:
            raw = "".join(secrets.choice(SIGN_IN_CODE_ALPHABET) for _ in range(SIGN_IN_CODE_LENGTH))
            rows.append({"user_id": user_id, "code_hash": _code_digest(raw), "created_at": now,
                         "expires_at": expires, "created_by_id": by_id})
            codes[user_id] = "-".join(raw[i:i + 4] for i in range(0, SIGN_IN_CODE_LENGTH, 4))
        db.session.execute(SignInCode.__table__.insert(), rows)  # Core executemany: no ORM objects
    return codes


def reset_and_issue_codes(user_ids: list[int], by: User | None = None, authority: str | None = None) -> dict[int, str]:
    """Give each of ``user_ids`` a sign-in code to choose a new password with: a person who has a
    password loses it (so the code leads to "choose a password", not "change it"), every open session
    of theirs ends and a lockout is lifted; then :func:`issue_sign_in_codes`. Bulk UPDATEs per batch,
    no ORM object per person. Returns ``{user_id: code}``. The caller checks scope. Flushes. Raises
    :class:`SignInCodesNotUsed` before changing anything when ``authority`` is :data:`DIRECTORY`."""
    from app.auth.models import UserSession

    check_codes_allowed(authority)
    now = utcnow()
    for start in range(0, len(user_ids), CODE_BATCH):
        batch = user_ids[start:start + CODE_BATCH]
        db.session.execute(update(User).where(User.id.in_(batch)).values(
            password_hash=None, must_change_password=True, failed_logins=0, locked_until=None, updated_at=now)
            .execution_options(synchronize_session=False))
        db.session.execute(update(UserSession).where(UserSession.user_id.in_(batch), UserSession.revoked_at.is_(None))
                           .values(revoked_at=now).execution_options(synchronize_session=False))
    codes = issue_sign_in_codes(user_ids, by, authority)
    db.session.expire_all()
    return codes


def sign_in_code_expiry(issued_at: dt.datetime) -> dt.datetime:
    """When a code issued at ``issued_at`` (aware UTC) stops working: SIGN_IN_CODE_HOURS later (default 168)."""
    return issued_at + dt.timedelta(hours=float(current_app.config.get("SIGN_IN_CODE_HOURS", 168)))


def reset_with_sign_in_code(user: User, by: User | None = None, authority: str | None = None) -> str:
    """Reset a forgotten password: the old password stops working, every open session ends, a
    lockout is lifted, and the user gets a sign-in code (returned) with which they choose a new
    password. Flushes. Raises :class:`SignInCodesNotUsed` (nothing changed) under :data:`DIRECTORY`."""
    check_codes_allowed(authority)
    user.password_hash = None
    user.must_change_password = True
    user.failed_logins, user.locked_until = 0, None
    revoke_sessions(user)
    return issue_sign_in_codes([user], by, authority)[user.id]


def redeem_sign_in_code(staff_number: str, code: str, authority: str | None = None) -> User:
    """Sign in with a personal code: returns the user, who must then choose a password
    (``must_change_password`` is set).

    The code is spent by one conditional UPDATE (unused, unexpired, this user's), so it works once
    even under concurrent requests. A wrong code counts as a failed sign-in (same lockout as
    :func:`authenticate`); a locked account is refused without spending the code.

    Raises:
        LoginRefused: ``invalid`` for an unknown or inactive staff number, a wrong, used or expired
            code, or a locked account (callers cannot tell which); ``directory`` when ``authority``
            (default: the running app's) is :data:`DIRECTORY`: no code is accepted (nor spent, nor
            counted as a failure), the person signs in with the directory password. The caller commits.
    """
    if not codes_allowed(authority or current_password_authority()):
        from app.audit.services import record

        record(None, "auth.login_failed", f"staff:{staff_number.strip()[:40]}",
               {"method": "code", "reason": "directory_authority"})
        raise LoginRefused("directory")
    user = db.session.execute(
        select(User).where(User.staff_number == staff_number.strip())
    ).scalar_one_or_none()
    now = utcnow()
    if user is None or not user.active:
        raise _refuse(user, staff_number, "code", "unknown" if user is None else "inactive")
    if user.locked_until is not None and user.locked_until > now:
        _record_failure(user, now)  # every attempt during a lock counts, as with passwords
        raise _refuse(user, staff_number, "code", "locked")
    spent = db.session.execute(
        update(SignInCode).where(SignInCode.code_hash == _code_digest(code), SignInCode.user_id == user.id,
                                 SignInCode.used_at.is_(None), SignInCode.expires_at > now)
        .values(used_at=now).execution_options(synchronize_session=False)
    )
    if spent.rowcount != 1:
        locked = _record_failure(user, now)
        raise _refuse(user, staff_number, "code", "locked" if locked else "wrong_code")
    if not _record_success(user, now, must_change_password=True):
        raise LoginRefused("invalid")  # locked meanwhile; the caller's rollback un-spends the code
    _audit_success(user, "code")
    return user


def choose_password(user: User, new: str, keep_session_token: str | None) -> None:
    """Set the password of a user who signed in with a code and has none (no current password to
    confirm). Raises PasswordPolicyError; ValueError if the user already has a password. Ends the
    user's other sessions, clears ``must_change_password``. Flushes."""
    if user.password_hash:
        raise ValueError("the user has a password: use change_password")
    set_password(user, new)
    user.must_change_password = False
    revoke_sessions(user, keep_session_token)
    db.session.flush()


def revoke_sessions(user: User, keep_session_token: str | None = None) -> None:
    """End every open login session of ``user`` except the one whose raw token is ``keep_session_token``."""
    from sqlalchemy import update

    from app.auth.login import _digest
    from app.auth.models import UserSession

    query = update(UserSession).where(UserSession.user_id == user.id, UserSession.revoked_at.is_(None))
    if keep_session_token:
        query = query.where(UserSession.token_hash != _digest(keep_session_token))
    db.session.execute(query.values(revoked_at=utcnow()))


def reset_password(user: User, password: str) -> None:
    """An administrator sets ``user``'s password: the user must change it at the next login, every
    open session of theirs ends and a lockout is lifted. Raises PasswordPolicyError (a ValueError)
    if ``password`` breaks the policy. Flushes. (Staff who forgot their password get a sign-in code
    instead: :func:`reset_with_sign_in_code`.)"""
    set_password(user, password)
    user.must_change_password = True
    user.failed_logins, user.locked_until = 0, None
    revoke_sessions(user)
    db.session.flush()


def change_password(user: User, current: str, new: str, keep_session_token: str | None) -> bool:
    """Set a new password if ``current`` is right; revoke the user's other login sessions.

    Returns False (and changes nothing) when ``current`` is wrong. Raises PasswordPolicyError (a
    ValueError) if ``new`` breaks :func:`check_password_policy`, ValueError if it equals ``current``. Clears
    ``must_change_password``. Flushes.
    """
    if not verify_password(user.password_hash, current):
        return False
    if new == current:
        raise ValueError("the new password must differ from the current one")
    set_password(user, new)
    user.must_change_password = False
    revoke_sessions(user, keep_session_token)
    db.session.flush()
    return True
