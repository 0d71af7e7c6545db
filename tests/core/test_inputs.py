"""Bad input gets a localized 400/404/413, never a 500 or Werkzeug's English text."""
from __future__ import annotations

import datetime as dt

import pytest
from werkzeug.exceptions import BadRequest

from app.core.inputs import MAX_ID, parse_id, parse_page, parse_query_date
from tests.factories import csrf_token, make_user

WERKZEUG_ENGLISH = ("The browser (or proxy) sent a request", "The data value transmitted exceeds",
                    "The requested URL was not found", "Bad Request")


def test_parse_query_date_accepts_real_dates_in_range(app):
    assert parse_query_date("2026-06-30") == dt.date(2026, 6, 30)
    assert parse_query_date(None, dt.date(2026, 1, 1)) == dt.date(2026, 1, 1)
    assert parse_query_date("") is None


@pytest.mark.parametrize("raw", ["9999-12-31", "0001-01-01", "garbage", "2026-02-30", "20260630", "2026-6-3",
                                 "1999-12-31", "2100-01-01", "２０２６-０１-０１"])
def test_parse_query_date_refuses_nonsense_and_extremes(app, raw):
    with pytest.raises(BadRequest):
        parse_query_date(raw)


@pytest.mark.parametrize("raw", ["0", "-1", "abc", "1.5", "99999999999999999999", "100001", "١٢", " 2"])
def test_parse_page_refuses_nonsense(app, raw):
    with pytest.raises(BadRequest):
        parse_page(raw)


def test_parse_page_and_id(app):
    assert parse_page(None) == 1 and parse_page("7") == 7 and parse_page("100000") == 100000
    assert parse_id(str(MAX_ID)) == MAX_ID and parse_id("") is None
    with pytest.raises(BadRequest):
        parse_id(str(MAX_ID + 1))


@pytest.mark.parametrize("url", ["/attempts/99999999999999999999", "/attempts/2147483648",
                                 "/certificates/4294967296.pdf", "/dashboard/departments/99999999999999999999"])
def test_ids_beyond_the_integer_range_are_404(client, url):
    user = make_user()
    from app.extensions import db

    db.session.commit()
    token = csrf_token(client, "/login")
    client.post("/login", data={"staff_number": user.staff_number, "password": "correct-horse-42", "csrf_token": token})
    assert client.get(url).status_code == 404


@pytest.mark.parametrize("lang, expected", [
    ("zh_CN", {"/verify?code=a%00b": "请求无法处理", "/login?x=%00": "请求无法处理",
               "/dashboard/?as_of=9999-12-31": "日期须在", "/dashboard/?page=abc": "页码“abc”无效"}),
    ("en", {"/verify?code=a%00b": "could not be understood", "/login?x=%00": "could not be understood",
            "/dashboard/?as_of=9999-12-31": "must be between", "/dashboard/?page=abc": "page number “abc”"}),
])
def test_nul_byte_and_bad_date_get_a_localized_400(client, lang, expected):
    client.get(f"/login?lang={lang}")
    for url, text in expected.items():
        response = client.get(url)
        page = response.get_data(as_text=True)
        assert response.status_code == 400, url
        assert text in page, url
        assert not any(english in page for english in WERKZEUG_ENGLISH), url


def test_nul_byte_in_a_form_is_400_and_changes_nothing(client, db):
    user = make_user()
    db.session.commit()
    token = csrf_token(client, "/login")
    response = client.post("/login", data={"staff_number": user.staff_number + "\x00",
                                           "password": "correct-horse-42", "csrf_token": token})
    assert response.status_code == 400


def test_api_errors_are_json(client, db):
    response = client.get("/api/attempts/1/status?x=%00")
    assert response.status_code == 400 and response.is_json
    assert response.get_json()["message"]


@pytest.mark.parametrize("lang, expected", [("zh_CN", "内容过大"), ("en", "too large")])
def test_too_large_a_request_gets_a_localized_413(app, client, lang, expected):
    client.get(f"/login?lang={lang}")
    token = csrf_token(client, "/login")
    big = "x" * (app.config["MAX_CONTENT_LENGTH"] + 1)
    response = client.post("/login", data={"staff_number": "a", "password": big, "csrf_token": token})
    page = response.get_data(as_text=True)
    assert response.status_code == 413
    assert expected in page
    assert not any(text in page for text in WERKZEUG_ENGLISH)
    api = client.post("/api/attempts/1/answers", data=big, content_type="application/json")
    assert api.status_code == 413 and api.is_json
