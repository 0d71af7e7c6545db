"""Personal single-use sign-in codes instead of a shared default password, and the password policy."""
from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from sqlalchemy import select

from app.auth.models import SignInCode, User
from app.auth.services import (
    LoginRefused, PasswordPolicyError, authenticate, check_password_policy, issue_sign_in_code,
    redeem_sign_in_code, reset_with_sign_in_code,
)
from tests.conftest import TEST_PASSWORD
from tests.factories import csrf_token, make_user


def test_a_code_signs_in_once_and_is_stored_only_hashed(app, db):
    user = make_user()
    code = issue_sign_in_code(user)
    db.session.commit()
    assert re.fullmatch(r"[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}", code)
    stored = db.session.execute(select(SignInCode)).scalars().all()
    assert len(stored) == 1 and code.replace("-", "") not in stored[0].code_hash
    assert redeem_sign_in_code(user.staff_number, code.lower().replace("-", " ")).id == user.id
    db.session.commit()
    assert db.session.get(User, user.id).must_change_password
    with pytest.raises(LoginRefused):
        redeem_sign_in_code(user.staff_number, code)


def test_a_code_expires(app, db):
    user = make_user()
    code = issue_sign_in_code(user)
    db.session.commit()
    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=app.config["SIGN_IN_CODE_HOURS"], minutes=1)
    with time_machine.travel(later, tick=False), pytest.raises(LoginRefused):
        redeem_sign_in_code(user.staff_number, code)


def test_a_new_code_replaces_the_old_one_and_codes_are_personal(app, db):
    user, other = make_user(), make_user()
    first = issue_sign_in_code(user)
    second = issue_sign_in_code(user)
    db.session.commit()
    with pytest.raises(LoginRefused):
        redeem_sign_in_code(user.staff_number, first)
    with pytest.raises(LoginRefused):
        redeem_sign_in_code(other.staff_number, second)  # someone else's code
    db.session.commit()
    assert redeem_sign_in_code(user.staff_number, second).id == user.id


def test_wrong_codes_count_towards_the_lockout(app, db):
    user = make_user()
    code = issue_sign_in_code(user)
    db.session.commit()
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        with pytest.raises(LoginRefused):
            redeem_sign_in_code(user.staff_number, "AAAA-BBBB-CCCC")
        db.session.commit()
    with pytest.raises(LoginRefused):
        redeem_sign_in_code(user.staff_number, code)  # right code, but locked
    db.session.commit()
    assert db.session.execute(select(SignInCode.used_at)).scalar_one() is None  # not spent by the refusal


def test_reset_removes_the_old_password_and_ends_sessions(app, db):
    user = make_user()
    db.session.commit()
    code = reset_with_sign_in_code(user)
    db.session.commit()
    with pytest.raises(LoginRefused):
        authenticate(user.staff_number, TEST_PASSWORD)
    db.session.rollback()
    assert redeem_sign_in_code(user.staff_number, code).id == user.id


@pytest.mark.parametrize("password, fragment", [
    ("short7!", "8"),
    ("12345678", "common"),
    ("password", "common"),
    ("Password1", "common"),
    ("aaaaaaaaaaaa", "common"),
    ("my-T0042001-pass", "staff number"),
    ("张伟力张伟力张伟力", "name"),
])
def test_password_policy_refuses_with_a_clear_message(app, db, password, fragment):
    user = make_user(staff_number="T0042001", name="张伟力")
    with app.test_request_context("/?lang=en"), pytest.raises(PasswordPolicyError) as caught:
        check_password_policy(password, user)
    assert any(fragment in message for message in caught.value.messages), caught.value.messages


def test_long_unicode_passphrases_are_accepted_whole(app, db):
    from app.auth.services import set_password
    from app.core.security import verify_password

    user = make_user()
    passphrase = "我家门前有两棵树，一棵是枣树，另一棵也是枣树。" * 8 + "终"
    assert len(passphrase.encode()) > 500
    check_password_policy(passphrase, user)
    set_password(user, passphrase)
    assert verify_password(user.password_hash, passphrase)
    assert not verify_password(user.password_hash, passphrase[:-1])  # nothing truncated


def _cli(app, *args):
    return app.test_cli_runner().invoke(args=list(args))


def test_reset_password_command_prints_a_code_and_the_code_page_leads_to_choosing_a_password(app, db):
    user = make_user()
    db.session.commit()
    result = _cli(app, "users", "reset-password", user.staff_number)
    assert result.exit_code == 0, result.output
    code = re.search(r"[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}", result.output).group(0)
    client = app.test_client()
    token = csrf_token(client, "/login/code")
    response = client.post("/login/code", data={"staff_number": user.staff_number, "code": code, "csrf_token": token})
    assert response.status_code == 302
    page = client.get("/account/password?lang=en").get_data(as_text=True)
    assert 'name="current"' not in page  # nobody knows a current password
    token = csrf_token(client, "/account/password")
    weak = client.post("/account/password", data={"new": "12345678", "confirm": "12345678", "csrf_token": token})
    assert weak.status_code == 200 and "common" in weak.get_data(as_text=True)
    chosen = "雨后的西湖边有三只白鹭"
    done = client.post("/account/password", data={"new": chosen, "confirm": chosen, "csrf_token": token})
    assert done.status_code == 302
    assert client.get("/courses/").status_code == 200
    again = app.test_client()
    token = csrf_token(again, "/login/code")
    reuse = again.post("/login/code", data={"staff_number": user.staff_number, "code": code, "csrf_token": token})
    assert reuse.status_code == 401
    token = csrf_token(again, "/login")
    assert again.post("/login", data={"staff_number": user.staff_number, "password": chosen,
                                      "csrf_token": token}).status_code == 302


def test_code_page_answers_alike_for_unknown_staff_and_wrong_code(app, db):
    user = make_user()
    issue_sign_in_code(user)
    db.session.commit()
    pages = []
    for staff_number in (user.staff_number, "NO-SUCH-NUMBER"):
        client = app.test_client()
        token = csrf_token(client, "/login/code")
        response = client.post("/login/code", data={"staff_number": staff_number, "code": "AAAA-BBBB-CCCC",
                                                    "csrf_token": token})
        text = re.sub(r'(csrf[-_]token"[^>]*(?:content|value)=")[^"]+', r"\1", response.get_data(as_text=True))
        pages.append((response.status_code, text.replace(staff_number, "STAFF")))
    assert pages[0] == pages[1] and pages[0][0] == 401


def test_password_authority_rule():
    from app.auth.services import DIRECTORY, DIRECTORY_WITH_FALLBACK, LOCAL, codes_allowed, password_authority

    assert password_authority("", False) == password_authority(None, True) == LOCAL
    assert password_authority("ldap://dir", False) == DIRECTORY
    assert password_authority("ldaps://dir", True) == DIRECTORY_WITH_FALLBACK
    assert [codes_allowed(a) for a in (LOCAL, DIRECTORY, DIRECTORY_WITH_FALLBACK)] == [True, False, True]
