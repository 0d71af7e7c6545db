"""LDAP sign-in against a real OpenLDAP (Debian's slapd) started here on 127.0.0.1 with a temporary
mdb database; skipped, saying why, where slapd is not installed."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time

import pytest
from sqlalchemy import select

from app.audit.models import AuditEvent
from app.auth.models import User
from tests.factories import csrf_token, make_user

SLAPD = shutil.which("slapd") or ("/usr/sbin/slapd" if os.path.exists("/usr/sbin/slapd") else None)
SLAPPASSWD = shutil.which("slappasswd") or ("/usr/sbin/slappasswd" if os.path.exists("/usr/sbin/slappasswd") else None)
SCHEMA = "/etc/ldap/schema"
MODULES = "/usr/lib/ldap"
pytestmark = pytest.mark.skipif(
    not (SLAPD and SLAPPASSWD and os.path.exists(f"{SCHEMA}/inetorgperson.schema")),
    reason="OpenLDAP's slapd (Debian package slapd, with /etc/ldap/schema) is not installed: LDAP sign-in untested")

SUFFIX = "dc=example,dc=gov"
ADMIN_DN, ADMIN_PASSWORD = f"cn=admin,{SUFFIX}", "admin-secret-1"
READER_DN, READER_PASSWORD = f"cn=reader,{SUFFIX}", "reader-secret-1"
USERS = {"A0001": ("alice", "Alice-Ldap-42"), "B0002": ("bob", "Bob-Ldap-42")}


def _ssha(password: str) -> str:
    return subprocess.run([SLAPPASSWD, "-s", password], check=True, capture_output=True, text=True).stdout.strip()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def slapd(tmp_path_factory):
    """A running slapd on a free loopback port with two people (uid, employeeNumber, {SSHA} passwords)
    and a read-only service account; yields its ldap:// URL."""
    from ldap3 import Connection, Server

    base = tmp_path_factory.mktemp("slapd")
    (base / "db").mkdir()
    module = f"modulepath {MODULES}\nmoduleload back_mdb\n" if os.path.exists(f"{MODULES}/back_mdb.so") else ""
    (base / "slapd.conf").write_text(f"""
include {SCHEMA}/core.schema
include {SCHEMA}/cosine.schema
include {SCHEMA}/inetorgperson.schema
{module}pidfile {base}/slapd.pid
database mdb
maxsize 10485760
suffix "{SUFFIX}"
rootdn "{ADMIN_DN}"
rootpw {_ssha(ADMIN_PASSWORD)}
directory {base}/db
access to attrs=userPassword by anonymous auth by self none by * none
access to * by users read by * none
""")
    port = _free_port()
    url = f"ldap://127.0.0.1:{port}"
    process = subprocess.Popen([SLAPD, "-f", str(base / "slapd.conf"), "-h", url + "/", "-d", "0"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 20
    while True:  # wait until it accepts connections (start-up, not a test of time)
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.skip(f"slapd did not start: {process.stderr.read().decode(errors='replace')[-500:]}")
            time.sleep(0.1)
    conn = Connection(Server(url), ADMIN_DN, ADMIN_PASSWORD, auto_bind=True)
    conn.add(SUFFIX, ["dcObject", "organization"], {"o": "Example", "dc": "example"})
    conn.add(f"ou=people,{SUFFIX}", ["organizationalUnit"], {"ou": "people"})
    conn.add(READER_DN, ["organizationalRole", "simpleSecurityObject"],
             {"cn": "reader", "userPassword": _ssha(READER_PASSWORD)})
    for number, (uid, password) in USERS.items():
        assert conn.add(f"uid={uid},ou=people,{SUFFIX}", ["inetOrgPerson"],
                        {"uid": uid, "cn": uid, "sn": uid, "employeeNumber": number,
                         "userPassword": _ssha(password)}), conn.result
    conn.unbind()
    yield url
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture()
def ldap_on(app, slapd, monkeypatch):
    for key, value in {"LDAP_URL": slapd, "LDAP_BASE_DN": f"ou=people,{SUFFIX}",
                       "LDAP_USER_FILTER": "(employeeNumber={staff_number})", "LDAP_BIND_DN": READER_DN,
                       "LDAP_BIND_PASSWORD": READER_PASSWORD, "LDAP_TIMEOUT": 3, "LDAP_FALLBACK_LOCAL": False}.items():
        monkeypatch.setitem(app.config, key, value)
    return slapd


def _login(app, number: str, password: str):
    client = app.test_client()
    token = csrf_token(client, "/login")
    return client.post("/login", data={"staff_number": number, "password": password, "csrf_token": token})


def test_the_directory_password_signs_in_and_a_wrong_one_counts_towards_lockout(app, db, ldap_on):
    alice = make_user(staff_number="A0001")  # local password correct-horse-42 is not used with LDAP
    db.session.commit()
    assert _login(app, "A0001", "Alice-Ldap-42").status_code == 302
    assert _login(app, "A0001", "correct-horse-42").status_code == 401
    assert _login(app, "A0001", "Bob-Ldap-42").status_code == 401  # another entry's password
    assert _login(app, "A0001", "").status_code in (200, 401)  # empty: the form refuses it, never a bind
    db.session.expire_all()
    assert db.session.get(User, alice.id).failed_logins == 2
    actions = [(e.action, e.detail.get("method")) for e in db.session.execute(
        select(AuditEvent).where(AuditEvent.action.like("auth.%")).order_by(AuditEvent.id)).scalars()]
    assert actions == [("auth.login", "ldap"), ("auth.login_failed", "ldap"), ("auth.login_failed", "ldap")]


def test_lockout_still_applies_with_ldap(app, db, ldap_on, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_MAX_FAILURES", 2)
    make_user(staff_number="A0001")
    db.session.commit()
    assert _login(app, "A0001", "wrong-1").status_code == 401
    assert _login(app, "A0001", "wrong-2").status_code == 401
    assert _login(app, "A0001", "Alice-Ldap-42").status_code == 401  # right password during the lock


def test_no_local_account_or_an_inactive_one_is_refused(app, db, ldap_on):
    make_user(staff_number="B0002", active=False)
    db.session.commit()
    assert _login(app, "A0001", "Alice-Ldap-42").status_code == 401  # in the directory, not in the app
    assert _login(app, "B0002", "Bob-Ldap-42").status_code == 401


def test_filter_injection_finds_nobody(app, db, ldap_on):
    from app.auth import ldap

    with app.app_context():
        assert ldap.user_filter("*)(uid=*") == r"(employeeNumber=\2a\29\28uid=\2a)"
        assert ldap.find_dn("A0001") == f"uid=alice,ou=people,{SUFFIX}"
        assert ldap.find_dn("*") is None and ldap.find_dn("*)(uid=*") is None
    make_user(staff_number="*)(uid=*")
    db.session.commit()
    for password in ("Alice-Ldap-42", "Bob-Ldap-42"):
        assert _login(app, "*)(uid=*", password).status_code == 401


def test_directory_down_says_so_audits_and_never_falls_back_unless_allowed(app, db, ldap_on, monkeypatch):
    monkeypatch.setitem(app.config, "LDAP_URL", f"ldap://127.0.0.1:{_free_port()}")
    user = make_user(staff_number="A0001")
    db.session.commit()
    response = _login(app, "A0001", "correct-horse-42")  # the local password
    assert response.status_code == 503
    assert "LDAP" in response.get_data(as_text=True)
    event = db.session.execute(select(AuditEvent).where(AuditEvent.action == "auth.ldap_unavailable")).scalar_one()
    assert event.target == f"user:{user.id}" and event.detail["fallback_local"] is False
    db.session.expire_all()
    assert db.session.get(User, user.id).failed_logins == 0  # the directory's outage is not the user's failure
    monkeypatch.setitem(app.config, "LDAP_FALLBACK_LOCAL", True)
    assert _login(app, "A0001", "correct-horse-42").status_code == 302


# --- sign-in codes and local passwords when the directory decides -----------------------------------

def _signed_in(app, number: str, password: str):
    client = app.test_client()
    token = csrf_token(client, "/login")
    response = client.post("/login", data={"staff_number": number, "password": password, "csrf_token": token})
    assert response.status_code == 302, response.status_code
    return client


def test_with_the_directory_as_authority_no_code_is_issued_or_offered(app, db, ldap_on):
    from app.auth.models import SignInCode
    from app.auth.services import (DIRECTORY, SignInCodesNotUsed, current_password_authority, issue_sign_in_codes,
                                   reset_and_issue_codes)
    from tests.factories import make_department

    bureau = make_department("市财政局")
    officer = make_user(bureau, staff_number="B0002", officer_of=[bureau])
    alice = make_user(bureau, staff_number="A0001")
    admin = make_user(bureau, staff_number="ADM01", is_admin=True)
    db.session.commit()
    assert current_password_authority() == DIRECTORY
    hashed = alice.password_hash
    for issue in (lambda: issue_sign_in_codes([alice.id]), lambda: reset_and_issue_codes([alice.id])):
        with pytest.raises(SignInCodesNotUsed):
            issue()
    db.session.rollback()
    assert db.session.get(User, alice.id).password_hash == hashed  # nothing was reset
    client = _signed_in(app, "B0002", "Bob-Ldap-42")  # the officer signs in with the directory
    page = client.get(f"/dashboard/people/{alice.id}?lang=en").get_data(as_text=True)
    assert "signs in with their directory password" in page and "sign-in-code" not in page
    token = csrf_token(client, f"/dashboard/people/{alice.id}")
    response = client.post(f"/people/{alice.id}/sign-in-code?lang=en", data={"csrf_token": token, "format": "csv"})
    assert response.status_code == 409 and "Sign-in codes are not used here" in response.get_data(as_text=True)
    bulk = client.get(f"/people/sign-in-codes?department={bureau.id}&lang=en").get_data(as_text=True)
    assert "Sign-in codes are not used here" in bulk and "bulk_issue" not in bulk and 'name="mode"' not in bulk
    db.session.expire_all()
    assert db.session.get(User, alice.id).password_hash == hashed
    assert db.session.execute(select(SignInCode)).first() is None
    # the administrator's person page says the same
    app.config["LDAP_FALLBACK_LOCAL"] = True  # (the admin has no directory entry: signs in with the fallback)
    admin_client = app.test_client()
    token = csrf_token(admin_client, "/login")
    app.config["LDAP_URL"] = f"ldap://127.0.0.1:{_free_port()}"  # directory down: the local password is used
    assert admin_client.post("/login", data={"staff_number": "ADM01", "password": "correct-horse-42",
                                             "csrf_token": token}).status_code == 302
    fallback_page = admin_client.get(f"/admin/people/{alice.id}?lang=en").get_data(as_text=True)
    assert "works only while the directory cannot be reached" in fallback_page and "sign-in-code" in fallback_page
    app.config["LDAP_FALLBACK_LOCAL"] = False
    page = admin_client.get(f"/admin/people/{alice.id}?lang=en").get_data(as_text=True)
    assert "signs in with their directory password" in page and "sign-in-code" not in page


def test_a_code_is_not_accepted_when_the_directory_decides_and_nothing_is_spent(app, db, ldap_on, monkeypatch):
    from app.auth.models import SignInCode
    from app.auth.services import issue_sign_in_code

    alice = make_user(staff_number="A0001")
    monkeypatch.setitem(app.config, "LDAP_URL", "")  # a code issued before the directory was switched on
    code = issue_sign_in_code(alice)
    db.session.commit()
    monkeypatch.setitem(app.config, "LDAP_URL", ldap_on)
    client = app.test_client()
    token = csrf_token(client, "/login/code")
    response = client.post("/login/code?lang=en", data={"staff_number": "A0001", "code": code, "csrf_token": token})
    assert response.status_code == 403
    page = response.get_data(as_text=True)
    assert "passwords are checked by the directory" in page and 'name="code"' not in page
    db.session.expire_all()
    assert db.session.execute(select(SignInCode.used_at)).scalar_one() is None
    assert db.session.get(User, alice.id).failed_logins == 0
    event = db.session.execute(select(AuditEvent).where(AuditEvent.action == "auth.login_failed")).scalar_one()
    assert event.detail == {"method": "code", "reason": "directory_authority"}
    login_page = client.get("/login?lang=en").get_data(as_text=True)
    assert "/login/code" not in login_page and "directory (network) password" in login_page


def test_a_directory_sign_in_needs_no_local_password_and_imports_give_no_codes(app, db, ldap_on, tmp_path):
    from app.org.imports import import_staff
    from tests.factories import make_department

    alice = make_user(staff_number="A0001")
    alice.must_change_password = True  # imported with a temporary password cell
    make_department("滨江市", code="CITY")
    db.session.commit()
    client = _signed_in(app, "A0001", "Alice-Ldap-42")
    assert client.get("/courses/").status_code == 200  # not sent to choose a local password
    db.session.expire_all()
    assert db.session.get(User, alice.id).must_change_password is False
    page = client.get("/account/password?lang=en").get_data(as_text=True)
    assert "directory (LDAP) password" in page and 'name="new"' not in page
    assert client.post("/account/password", data={"csrf_token": csrf_token(client, "/account/password"),
                                                   "new": "a new local one 42", "confirm": "a new local one 42"}
                       ).status_code == 409
    staff = tmp_path / "staff.csv"
    staff.write_text("staff_number,name,department_code\n0010001,陈建国,CITY\n", encoding="utf-8")
    summary = import_staff(staff)
    assert summary.sign_in_codes == [] and summary.directory_sign_in == 1
    assert any("directory (LDAP) password" in line for line in summary.lines())


def test_with_the_local_fallback_codes_stay_and_say_what_they_are_for(app, db, ldap_on, monkeypatch):
    from app.auth.services import issue_sign_in_code, redeem_sign_in_code

    monkeypatch.setitem(app.config, "LDAP_FALLBACK_LOCAL", True)
    alice = make_user(staff_number="A0001")
    code = issue_sign_in_code(alice)
    db.session.commit()
    page = app.test_client().get("/login/code?lang=en").get_data(as_text=True)
    assert "used only while the directory cannot be reached" in page and 'name="code"' in page
    assert redeem_sign_in_code("A0001", code).id == alice.id

