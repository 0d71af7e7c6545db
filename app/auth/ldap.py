"""Optional sign-in against an LDAP directory or Active Directory (ldap3), switched on by LDAP_URL.

Settings (environment, see config.py): ``LDAP_URL`` (``ldap://host:389`` or ``ldaps://host:636``),
``LDAP_BASE_DN``, ``LDAP_USER_FILTER`` with ``{staff_number}`` (e.g. ``(employeeNumber={staff_number})``
or ``(uid={staff_number})``; AD: ``(sAMAccountName={staff_number})``), ``LDAP_BIND_DN`` /
``LDAP_BIND_PASSWORD`` for the search (empty: anonymous search), ``LDAP_TIMEOUT`` seconds for connect
and each answer, ``LDAP_FALLBACK_LOCAL`` (1: check the local password when the directory is down;
default 0: refuse with "directory unavailable").

The password is checked the usual way: search the user's entry with the service account (the staff
number escaped by ``ldap3.utils.conv.escape_filter_chars``, so ``*)(uid=*`` matches nothing), require
exactly one entry, then bind as that entry's DN with the typed password. An empty password is refused
before any bind (an LDAP "unauthenticated bind" with a DN and no password succeeds on many servers).
"""
from __future__ import annotations

import math

from flask import current_app
from ldap3 import NONE, SUBTREE, Connection, Server
from ldap3.core.exceptions import LDAPException
from ldap3.utils.conv import escape_filter_chars

INVALID_CREDENTIALS = 49  # RFC 4511 resultCode invalidCredentials


class DirectoryUnavailable(Exception):
    """The directory could not be reached or did not answer a search (down, timeout, refused service
    bind). The message is for the audit log and never holds a password."""


def enabled() -> bool:
    """True when LDAP sign-in is configured (``LDAP_URL`` set)."""
    return bool(current_app.config.get("LDAP_URL"))


def fallback_local() -> bool:
    """True when a local password may be used while the directory is down (``LDAP_FALLBACK_LOCAL``)."""
    return bool(current_app.config.get("LDAP_FALLBACK_LOCAL"))


def user_filter(staff_number: str) -> str:
    """``LDAP_USER_FILTER`` with ``{staff_number}`` replaced by the escaped staff number (RFC 4515)."""
    template = current_app.config.get("LDAP_USER_FILTER") or "(uid={staff_number})"
    return template.replace("{staff_number}", escape_filter_chars(staff_number))


def _timeout() -> int:
    """LDAP_TIMEOUT as whole seconds, at least 1 (ldap3 packs the receive timeout as an integer)."""
    return max(1, math.ceil(float(current_app.config.get("LDAP_TIMEOUT", 5))))


def _server() -> Server:
    return Server(current_app.config["LDAP_URL"], connect_timeout=_timeout(), get_info=NONE)


def _connection(server: Server, user: str | None, password: str | None) -> Connection:
    timeout = _timeout()
    return Connection(server, user=user, password=password, receive_timeout=timeout, raise_exceptions=False,
                      read_only=True, auto_referrals=False)


def find_dn(staff_number: str) -> str | None:
    """The DN of the one entry matching :func:`user_filter`, or None if none or several match.
    Raises DirectoryUnavailable if the directory cannot be reached or refuses the service bind."""
    server = _server()
    bind_dn = current_app.config.get("LDAP_BIND_DN") or None
    try:
        conn = _connection(server, bind_dn, current_app.config.get("LDAP_BIND_PASSWORD") or None)
        if not conn.bind():
            raise DirectoryUnavailable(f"service bind refused: {conn.result.get('description')}")
        try:
            ok = conn.search(current_app.config.get("LDAP_BASE_DN", ""), user_filter(staff_number),
                             search_scope=SUBTREE, attributes=[], size_limit=2)
            result = conn.result.get("result")
            entries = [e for e in (conn.response or []) if e.get("type") == "searchResEntry"]
        finally:
            conn.unbind()
    except LDAPException as exc:
        raise DirectoryUnavailable(f"{type(exc).__name__}: {exc}") from None
    if not ok and result not in (0, 4, 32):  # success, sizeLimitExceeded, noSuchObject
        raise DirectoryUnavailable(f"search failed: result {result}")
    return entries[0]["dn"] if len(entries) == 1 else None


def check_password(staff_number: str, password: str) -> bool:
    """True if the directory accepts ``password`` for the entry of ``staff_number`` (see the module
    docstring). False for no or several entries, an empty password or invalid credentials.
    Raises DirectoryUnavailable when the directory cannot answer."""
    if not password:
        return False
    dn = find_dn(staff_number)
    if dn is None:
        return False
    try:
        conn = _connection(_server(), dn, password)
        ok = conn.bind()
        result = conn.result.get("result")
        conn.unbind()
    except LDAPException as exc:
        raise DirectoryUnavailable(f"{type(exc).__name__}: {exc}") from None
    if ok:
        return True
    if result == INVALID_CREDENTIALS:
        return False
    raise DirectoryUnavailable(f"bind failed: result {result}")
