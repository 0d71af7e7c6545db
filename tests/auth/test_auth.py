"""Login, logout that really ends the session, lockout, argon2id hashes, CSRF."""
from sqlalchemy import select

from app.auth.models import User
from tests.factories import csrf_token, make_department, make_user


def test_password_is_stored_as_argon2id(db):
    user = make_user()
    assert user.password_hash.startswith("$argon2id$")


def test_cookie_captured_before_logout_is_refused_after_it(app, client, login_as, db):
    user = make_user(make_department())
    db.session.commit()
    assert login_as(user).status_code == 302
    assert client.get("/courses/").status_code == 200
    captured = client.get_cookie("session").value
    token = csrf_token(client, "/courses/")
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    replay = app.test_client()
    replay.set_cookie("session", captured)
    response = replay.get("/courses/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_wrong_password_then_lockout(client, db, app):
    user = make_user()
    db.session.commit()
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        token = csrf_token(client, "/login")
        response = client.post("/login", data={"staff_number": user.staff_number, "password": "wrong-password",
                                               "csrf_token": token})
        assert response.status_code == 401
    token = csrf_token(client, "/login")
    from tests.conftest import TEST_PASSWORD

    response = client.post("/login", data={"staff_number": user.staff_number, "password": TEST_PASSWORD,
                                           "csrf_token": token})
    assert response.status_code == 401  # locked even with the right password
    db.session.expire_all()
    assert db.session.execute(select(User.locked_until).where(User.id == user.id)).scalar_one() is not None


def test_login_form_without_csrf_token_is_refused(client, db):
    user = make_user()
    db.session.commit()
    from tests.conftest import TEST_PASSWORD

    response = client.post("/login", data={"staff_number": user.staff_number, "password": TEST_PASSWORD})
    assert response.status_code == 400


def test_login_page_is_chinese_with_english_switch(client, db):
    page = client.get("/login").get_data(as_text=True)
    assert 'lang="zh-CN"' in page and "登录" in page and 'href="?lang=en"' in page
    english = client.get("/login?lang=en").get_data(as_text=True)
    assert 'lang="en"' in english and "Log in" in english


def test_a_hash_with_older_parameters_is_upgraded_at_login(app, db, client, login_as):
    """Hashes made with argon2-cffi's default profile (64 MiB) still log in, and are replaced by a hash
    with the site's current parameters, of the same password."""
    from argon2 import PasswordHasher

    from app.core.security import password_needs_rehash, verify_password
    from tests.conftest import TEST_PASSWORD
    from tests.factories import csrf_token, make_user

    user = make_user()
    old_hash = PasswordHasher(time_cost=1, memory_cost=2048, parallelism=2).hash(TEST_PASSWORD)
    user.password_hash = old_hash
    db.session.commit()
    assert password_needs_rehash(old_hash)
    assert login_as(user).status_code == 302
    db.session.refresh(user)
    assert user.password_hash != old_hash and not password_needs_rehash(user.password_hash)
    assert verify_password(user.password_hash, TEST_PASSWORD)
    again = user.password_hash
    fresh = app.test_client()
    token = csrf_token(fresh, "/login")
    assert fresh.post("/login", data={"staff_number": user.staff_number, "password": TEST_PASSWORD,
                                      "csrf_token": token}).status_code == 302
    db.session.refresh(user)
    assert user.password_hash == again  # current parameters: left alone


def test_csrf_token_is_rotated_at_sign_in(client, db):
    """A token an attacker planted or read before login is useless afterwards."""
    from tests.conftest import TEST_PASSWORD

    user = make_user()
    db.session.commit()
    before = csrf_token(client, "/login")
    assert client.post("/login", data={"staff_number": user.staff_number, "password": TEST_PASSWORD,
                                       "csrf_token": before}).status_code == 302
    stale = client.post("/logout", data={"csrf_token": before})
    assert stale.status_code == 400
    assert client.get("/courses/").status_code == 200  # still signed in
    after = csrf_token(client, "/courses/")
    assert after != before
    assert client.post("/logout", data={"csrf_token": after}).status_code == 302


def test_login_help_names_who_can_actually_reset_a_password(client, db):
    """Officers cannot reset passwords today: the page must send people to the administrator."""
    english = client.get("/login?lang=en").get_data(as_text=True)
    assert "administrator" in english and "training officer" not in english
    chinese = client.get("/login?lang=zh_CN").get_data(as_text=True)
    assert "管理员" in chinese and "培训专员" not in chinese
