"""Caching and transport headers: nothing of a signed-in user's stays in a shared or browser cache,
and HTTPS answers ask the browser to stay on HTTPS."""
from __future__ import annotations

import pytest

from tests.factories import csrf_token
from tests.test_access import world  # noqa: F401  (fixture)

SIGNED_IN_PAGES = [
    "/courses/", "/courses/{slug}", "/courses/{slug}/lessons/{lesson}", "/exams/{exam}", "/certificates/",
    "/account/password", "/verify", "/verify/{code}", "/dashboard/", "/admin/", "/attempts/{attempt}",
    "/no-such-page", "/",
]


def _login(app, user):
    client = app.test_client()
    token = csrf_token(client, "/login")
    response = client.post("/login", data={"staff_number": user.staff_number, "password": "correct-horse-42",
                                           "csrf_token": token})
    assert response.status_code == 302
    assert response.headers.get("Cache-Control") == "no-store"
    return client


@pytest.mark.parametrize("role", ["learner", "admin"])
def test_every_response_to_a_signed_in_user_is_no_store(app, world, role):  # noqa: F811
    users, values = world
    client = _login(app, users[role])
    for template in SIGNED_IN_PAGES:
        url = template.format(**values)
        response = client.get(url)
        assert response.headers.get("Cache-Control") == "no-store", (url, response.status_code)


def test_json_responses_are_no_store_even_anonymous(app, world):  # noqa: F811
    users, values = world
    client = app.test_client()
    for url in ("/healthz", f"/api/attempts/{values['attempt']}/status"):
        response = client.get(url)
        assert response.is_json, url
        assert response.headers.get("Cache-Control") == "no-store", url


def test_static_files_stay_cacheable(app, world):  # noqa: F811
    users, _ = world
    client = _login(app, users["learner"])
    response = client.get("/static/app.css")
    assert response.status_code == 200
    assert "no-store" not in response.headers.get("Cache-Control", "")


def test_hsts_only_over_https(app, db):
    client = app.test_client()
    assert "Strict-Transport-Security" not in client.get("/login").headers
    # Without a trusted proxy a client's X-Forwarded-Proto is not believed.
    assert "Strict-Transport-Security" not in client.get("/login", headers={"X-Forwarded-Proto": "https"}).headers
    secure = client.get("/login", base_url="https://localhost")
    assert secure.headers["Strict-Transport-Security"].startswith("max-age=")
    assert int(secure.headers["Strict-Transport-Security"].split("=")[1].split(";")[0]) >= 31536000
