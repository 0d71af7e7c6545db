"""Security headers (CSP without inline scripts) and password hashing (argon2id)."""
from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from flask import Flask, current_app, request
from flask_login import current_user

# argon2id at OWASP's recommended minimum (Password Storage Cheat Sheet: m=19 MiB, t=2, p=1):
# ~21 ms per hash here, against ~126 ms (and four threads) for argon2-cffi's default RFC 9106
# low-memory profile (m=64 MiB, t=3, p=4). Exam day starts with hundreds of logins in a minute on a
# small server; docs/performance.md has the figures. A site may set PASSWORD_HASH_PARAMS (time cost,
# memory in KiB, parallelism) higher; hashes made with other parameters are upgraded at the next login.
DEFAULT_HASH_PARAMS = (2, 19456, 1)
# Tests only: a cheap argon2id profile so a suite with hundreds of logins stays fast.
_FAST_HASH_PARAMS = (1, 1024, 1)
_hashers: dict[tuple[int, int, int], PasswordHasher] = {}
_dummy_hashes: dict[PasswordHasher, str] = {}  # per hasher: a hash of no one's password

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; "
    "base-uri 'self'; object-src 'none'"
)


def _active_hasher() -> PasswordHasher:
    """The hasher for new hashes: PASSWORD_HASH_PARAMS (or the fast test profile) of the current app."""
    try:
        config = current_app.config
        params = _FAST_HASH_PARAMS if config.get("PASSWORD_HASH_FAST") else tuple(
            config.get("PASSWORD_HASH_PARAMS", DEFAULT_HASH_PARAMS))
    except RuntimeError:  # outside an app context
        params = DEFAULT_HASH_PARAMS
    if params not in _hashers:
        time_cost, memory_kib, parallelism = params
        _hashers[params] = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism)
    return _hashers[params]


def hash_password(password: str) -> str:
    """Return an argon2id hash string (PHC format, parameters and salt included) of ``password``."""
    return _active_hasher().hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True if ``password`` matches ``password_hash`` (False for a missing or malformed hash).

    The hash's own parameters are used, so hashes made with older parameters still verify.
    """
    if not password_hash:
        return False
    try:
        return _active_hasher().verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def password_needs_rehash(password_hash: str) -> bool:
    """True if ``password_hash`` was made with other parameters than new hashes get now."""
    try:
        return _active_hasher().check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


def equalise_login_timing(password: str) -> None:
    """Spend the time of one verification for a login whose staff number does not exist (or has no
    password), so response times do not tell which staff numbers are real."""
    hasher = _active_hasher()
    if hasher not in _dummy_hashes:
        _dummy_hashes[hasher] = hasher.hash("not-a-real-password")
    try:
        hasher.verify(_dummy_hashes[hasher], password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        pass


HSTS_MAX_AGE = 31536000  # seconds (one year), the value browsers' preload lists ask for


def init_app(app: Flask) -> None:
    """Add security headers to every response.

    - ``Cache-Control: no-store`` on every response to a signed-in user (static files excepted: they
      are the same for everyone) and on every JSON response, so no browser or proxy cache keeps a
      person's pages after logout or for the next user of a shared PC.
    - ``Strict-Transport-Security`` when the request came over HTTPS (``request.is_secure``, which
      believes X-Forwarded-Proto only from TRUSTED_PROXY_COUNT proxies).
    """

    @app.after_request
    def _headers(response):
        no_store = response.mimetype == "application/json" or (
            request.endpoint != "static" and current_user.is_authenticated)
        for name, value in response_headers(secure=request.is_secure, no_store=no_store):
            if name == "Cache-Control":
                response.headers[name] = value
            else:
                response.headers.setdefault(name, value)
        return response


def response_headers(*, secure: bool, no_store: bool) -> list[tuple[str, str]]:
    """The security headers of a response, as ``[(name, value)]``: ``Cache-Control: no-store`` when
    ``no_store``; HSTS (one year) when the request came over HTTPS (``secure``); the CSP,
    ``nosniff``, ``same-origin`` referrers and no framing always. Used by the after-request hook
    and by the autosave fast lane (:mod:`app.exams.fastlane`), which answers without the hooks."""
    headers = [("Cache-Control", "no-store")] if no_store else []
    if secure:
        headers.append(("Strict-Transport-Security", f"max-age={HSTS_MAX_AGE}"))
    headers += [("Content-Security-Policy", CSP), ("X-Content-Type-Options", "nosniff"),
                ("Referrer-Policy", "same-origin"), ("X-Frame-Options", "DENY")]
    return headers
