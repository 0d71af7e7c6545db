"""Lockout that holds under concurrency, and answers that do not tell which staff numbers exist."""
from __future__ import annotations

import threading

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from app.auth.models import User
from app.auth.services import LoginRefused, authenticate
from tests.conftest import TEST_PASSWORD
from tests.factories import csrf_token, make_user


def _wrong_logins_in_threads(app, staff_number: str, count: int) -> list[str]:
    """``count`` threads, each with its own app context (own DB session and connection), try a wrong
    password at the same moment; returns the refusal reasons."""
    barrier = threading.Barrier(count)
    reasons: list[str] = []
    errors: list[BaseException] = []
    from app.extensions import db

    def attempt():
        with app.app_context():
            try:
                barrier.wait(timeout=30)
                authenticate(staff_number, "wrong-password")
            except LoginRefused as refused:
                db.session.commit()
                reasons.append(refused.reason)
            except BaseException as error:  # noqa: BLE001  (reported below)
                errors.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=attempt) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    return reasons


def test_thirty_concurrent_wrong_passwords_record_thirty_failures_and_lock(app, db):
    """A read-then-write counter loses updates under concurrency; a single UPDATE does not."""
    user = make_user()
    db.session.commit()
    reasons = _wrong_logins_in_threads(app, user.staff_number, 30)
    assert len(reasons) == 30
    db.session.expire_all()
    failed, locked_until = db.session.execute(
        select(User.failed_logins, User.locked_until).where(User.id == user.id)).one()
    assert failed == 30
    assert locked_until is not None
    with pytest.raises(LoginRefused):
        authenticate(user.staff_number, TEST_PASSWORD)  # the right password while locked


def test_right_password_while_locked_is_refused_and_after_the_lock_works(app, db):
    import datetime as dt

    import time_machine

    user = make_user()
    db.session.commit()
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        with pytest.raises(LoginRefused):
            authenticate(user.staff_number, "wrong-password")
        db.session.commit()
    with pytest.raises(LoginRefused):
        authenticate(user.staff_number, TEST_PASSWORD)
    db.session.commit()
    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=app.config["LOGIN_LOCKOUT_SECONDS"] + 5)
    with time_machine.travel(later, tick=False):
        assert authenticate(user.staff_number, TEST_PASSWORD).id == user.id
        db.session.commit()
    db.session.expire_all()
    assert db.session.get(User, user.id).failed_logins == 0


def _post_login(client, staff_number, password):
    token = csrf_token(client, "/login")
    return client.post("/login", data={"staff_number": staff_number, "password": password, "csrf_token": token})


@pytest.fixture()
def verify_calls(monkeypatch):
    """Counts argon2 verifications (the costly part of a login)."""
    calls = []
    real = PasswordHasher.verify

    def counting(self, hash_, password):
        calls.append(1)
        return real(self, hash_, password)

    monkeypatch.setattr(PasswordHasher, "verify", counting)
    return calls


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_locked_unknown_and_wrong_password_answer_alike(app, db, verify_calls, lang):
    """Same status, same text, same number of argon2 verifications: the answer does not reveal whether
    the staff number exists or is locked."""
    locked = make_user()
    known = make_user()
    db.session.commit()
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        with pytest.raises(LoginRefused):
            authenticate(locked.staff_number, "wrong-password")
        db.session.commit()

    answers = {}
    for case, staff_number, password in (
        ("locked", locked.staff_number, TEST_PASSWORD),
        ("unknown", "NO-SUCH-NUMBER", TEST_PASSWORD),
        ("wrong", known.staff_number, "wrong-password"),
    ):
        client = app.test_client()
        client.get(f"/login?lang={lang}")
        del verify_calls[:]
        response = _post_login(client, staff_number, password)
        answers[case] = (response.status_code, _page_text(response, staff_number), len(verify_calls))
    assert answers["locked"] == answers["unknown"] == answers["wrong"]
    assert answers["wrong"][0] == 401 and answers["wrong"][2] == 1
    assert 'class="flash' in answers["wrong"][1]


def _page_text(response, staff_number: str) -> str:
    """The whole page, without what differs by design: the echoed staff number and the CSRF token."""
    import re

    text = response.get_data(as_text=True).replace(staff_number, "STAFF")
    return re.sub(r'(csrf[-_]token"[^>]*(?:content|value)=")[^"]+', r"\1", text)
