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
