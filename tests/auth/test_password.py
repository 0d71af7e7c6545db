"""Changing one's password: the old one stops working and other sessions end."""
from tests.factories import csrf_token, make_user


def _login(client, user, password):
    token = csrf_token(client, "/login")
    return client.post("/login", data={"staff_number": user.staff_number, "password": password, "csrf_token": token})


def test_change_password_ends_other_sessions_and_old_password(app, db):
    user = make_user()
    db.session.commit()
    here, elsewhere = app.test_client(), app.test_client()
    assert _login(here, user, "correct-horse-42").status_code == 302
    assert _login(elsewhere, user, "correct-horse-42").status_code == 302
    token = csrf_token(here, "/account/password")
    wrong = here.post("/account/password", data={"current": "not-it-at-all", "new": "a-new-passphrase",
                                                 "confirm": "a-new-passphrase", "csrf_token": token})
    assert wrong.status_code == 200 and "/login" not in wrong.headers.get("Location", "")
    changed = here.post("/account/password", data={"current": "correct-horse-42", "new": "a-new-passphrase",
                                                   "confirm": "a-new-passphrase", "csrf_token": token})
    assert changed.status_code == 302
    assert here.get("/courses/").status_code == 200            # this session stays
    assert elsewhere.get("/courses/").status_code == 302       # the other one is logged out
    assert _login(app.test_client(), user, "correct-horse-42").status_code == 401
    assert _login(app.test_client(), user, "a-new-passphrase").status_code == 302


def test_new_password_must_be_long_enough_and_confirmed(app, db, client, login_as):
    user = make_user()
    db.session.commit()
    login_as(user)
    token = csrf_token(client, "/account/password")
    for new, confirm in (("short", "short"), ("long-enough-1", "long-enough-2")):
        response = client.post("/account/password", data={"current": "correct-horse-42", "new": new,
                                                          "confirm": confirm, "csrf_token": token})
        assert response.status_code == 200
    assert _login(app.test_client(), user, "correct-horse-42").status_code == 302  # unchanged


def _change(client, current, new):
    token = csrf_token(client, "/account/password")
    return client.post("/account/password", data={"current": current, "new": new, "confirm": new,
                                                  "csrf_token": token})


def test_initial_password_must_be_changed_before_anything_else(app, db, client):
    user = make_user()
    user.must_change_password = True
    db.session.commit()
    assert _login(client, user, "correct-horse-42").status_code == 302
    for path in ("/", "/courses/", "/certificates/"):
        response = client.get(path)
        assert response.status_code == 302 and response.headers["Location"].endswith("/account/password"), path
    api = client.get("/api/attempts/1/status")
    assert api.status_code == 403 and api.get_json() == {"error": "password_change_required"}
    page = client.get("/account/password?lang=zh_CN").get_data(as_text=True)
    assert "请先设置您自己的密码" in page
    assert client.get("/verify").status_code == 200  # public pages stay reachable

    same = _change(client, "correct-horse-42", "correct-horse-42")
    assert same.status_code == 200 and client.get("/courses/").status_code == 302
    assert _change(client, "correct-horse-42", "my-own-passphrase").status_code == 302
    assert client.get("/courses/").status_code == 200
    db.session.refresh(user)
    assert not user.must_change_password


def test_cli_reset_password_issues_a_code_and_ends_sessions(app, db, client):
    user = make_user()
    db.session.commit()
    assert _login(client, user, "correct-horse-42").status_code == 302
    runner = app.test_cli_runner()
    result = runner.invoke(args=["users", "reset-password", user.staff_number])
    assert result.exit_code == 0, result.output
    assert "sign-in code" in result.output
    assert client.get("/courses/").status_code == 302               # the open session has ended
    fresh = app.test_client()
    assert _login(fresh, user, "correct-horse-42").status_code == 401  # the old password is gone
    missing = runner.invoke(args=["users", "reset-password", "nobody"])
    assert missing.exit_code == 1 and "no user with staff number 'nobody'" in missing.output
