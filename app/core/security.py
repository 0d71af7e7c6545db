"""Security headers (CSP without inline scripts) and password hashing (argon2id)."""
from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from flask import Flask, current_app

# argon2-cffi's defaults are argon2id with RFC 9106's low-memory profile (t=3, m=64 MiB, p=4),
# above OWASP's minimum (m=19 MiB, t=2, p=1).
_hasher = PasswordHasher()
# Tests only: a cheap argon2id profile so a suite with hundreds of logins stays fast.
_fast_hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; "
    "base-uri 'self'; object-src 'none'"
)


def _active_hasher() -> PasswordHasher:
    try:
        fast = current_app.config.get("PASSWORD_HASH_FAST", False)
    except RuntimeError:
        fast = False
    return _fast_hasher if fast else _hasher


def hash_password(password: str) -> str:
    """Return an argon2id hash string of ``password``."""
    return _active_hasher().hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True if ``password`` matches ``password_hash`` (False for a missing or malformed hash)."""
    if not password_hash:
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def init_app(app: Flask) -> None:
    """Add security headers to every response."""

    @app.after_request
    def _headers(response):
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        return response
