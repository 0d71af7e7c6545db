"""Sign-in codes issued in the browser: admins for anyone, officers only within scope (404 outside,
nothing changed), one person or a department's people, shown once as a page, PDF slips or CSV; the
codes work at /login/code, are stored only hashed and never reach the audit log."""
from __future__ import annotations

import csv
import io
import json
import re

import pytest
from sqlalchemy import func, select

from app.audit.models import AuditEvent
from app.auth.models import SignInCode, User
from app.auth.services import issue_sign_in_codes
from tests.factories import csrf_token, make_department, make_user

CODE = re.compile(r"[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}")


@pytest.fixture()
def org(db):
    city = make_department("滨江市", code="CITY")
    finance = make_department("市财政局", city, code="CZJ")
    office = make_department("办公室", finance, code="CZJ-BGS")
    education = make_department("市教育局", city, code="JYJ")
    people = {
        "admin": make_user(city, is_admin=True, staff_number="ADM001"),
        "officer": make_user(finance, officer_of=[finance], staff_number="OFF001"),
        "fresh1": make_user(office, staff_number="N00001", name="新人甲"),
        "fresh2": make_user(finance, staff_number="N00002", name="新人乙"),
        "veteran": make_user(office, staff_number="V00001", name="老员工"),
        "outsider": make_user(education, staff_number="X00001", name="外单位"),
    }
    for key in ("fresh1", "fresh2", "outsider"):
        people[key].password_hash = None
    db.session.commit()
    return {"finance": finance, "education": education, **people}


def _client(app, user):
    client = app.test_client()
    token = csrf_token(client, "/login")
    assert client.post("/login", data={"staff_number": user.staff_number, "password": "correct-horse-42",
                                       "csrf_token": token}).status_code == 302
    return client, csrf_token(client, "/courses/")


def _redeem(app, number: str, code: str) -> int:
    client = app.test_client()
    token = csrf_token(client, "/login/code")
    return client.post("/login/code", data={"staff_number": number, "code": code, "csrf_token": token}).status_code


def test_admin_issues_one_code_shown_once_that_works_and_replaces_the_password(app, db, org):
    client, token = _client(app, org["admin"])
    veteran_client, _token = _client(app, org["veteran"])
    page = client.post(f"/people/{org['veteran'].id}/sign-in-code", data={"csrf_token": token})
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    (code,) = set(CODE.findall(text))
    assert "老员工" in text and "市财政局 › 办公室" in text and "/login/code" in text
    assert veteran_client.get("/courses/").status_code == 302  # their sessions ended
    db.session.expire_all()
    assert db.session.get(User, org["veteran"].id).password_hash is None
    stored = db.session.execute(select(SignInCode.code_hash)).scalars().all()
    assert len(stored) == 1 and code not in stored[0] and code.replace("-", "") not in stored[0]
    assert _redeem(app, "V00001", code) == 302
    assert _redeem(app, "V00001", code) == 401  # single use
    events = db.session.execute(select(AuditEvent).where(AuditEvent.action == "auth.code_issued")).scalars().all()
    assert [(e.actor_id, e.target) for e in events] == [(org["admin"].id, f"user:{org['veteran'].id}")]
    assert events[0].detail["password_reset"] is True
    everything = json.dumps([[e.target, e.detail] for e in db.session.execute(select(AuditEvent)).scalars()])
    assert code not in everything and code.replace("-", "") not in everything


def test_officer_issues_within_scope_only(app, db, org):
    client, token = _client(app, org["officer"])
    assert client.post(f"/people/{org['fresh1'].id}/sign-in-code", data={"csrf_token": token,
                                                                         "format": "csv"}).status_code == 200
    assert client.post(f"/people/{org['outsider'].id}/sign-in-code", data={"csrf_token": token}).status_code == 404
    assert client.get(f"/people/sign-in-codes?department={org['education'].id}").status_code == 404
    response = client.post("/people/sign-in-codes", data={"csrf_token": token, "department": org["education"].id,
                                                          "mode": "without_password"})
    assert response.status_code == 404
    # ticking someone outside scope in an in-scope department's form issues nothing for them
    response = client.post("/people/sign-in-codes", data={
        "csrf_token": token, "department": org["finance"].id, "mode": "selected", "format": "csv",
        "user_id": [str(org["outsider"].id), str(org["fresh2"].id)]})
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert [row[0] for row in rows[1:]] == ["N00002"]
    db.session.expire_all()
    codes_for = set(db.session.execute(select(SignInCode.user_id)).scalars())
    assert org["outsider"].id not in codes_for and codes_for == {org["fresh1"].id, org["fresh2"].id}
    assert db.session.get(User, org["outsider"].id).must_change_password is False


def test_bulk_without_password_gives_csv_and_pdf_slips(app, db, org):
    client, token = _client(app, org["officer"])
    page = client.get(f"/people/sign-in-codes?department={org['finance'].id}").get_data(as_text=True)
    assert "N00001" in page and "V00001" in page and "X00001" not in page
    response = client.post("/people/sign-in-codes", data={"csrf_token": token, "department": org["finance"].id,
                                                          "mode": "without_password", "format": "csv"})
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0] == ["staff_number", "name", "department", "sign_in_code", "expires_at"]
    assert [row[0] for row in rows[1:]] == ["N00001", "N00002"]  # not the veteran, who has a password
    assert rows[1][2] == "滨江市 › 市财政局 › 办公室" and CODE.fullmatch(rows[1][3])
    assert _redeem(app, "N00001", rows[1][3]) == 302
    db.session.expire_all()
    assert db.session.get(User, org["veteran"].id).password_hash is not None
    response = client.post("/people/sign-in-codes", data={"csrf_token": token, "department": org["finance"].id,
                                                          "mode": "without_password", "format": "pdf"})
    assert response.status_code == 200 and response.data.startswith(b"%PDF")
    pypdf = pytest.importorskip("pypdf")
    reader = pypdf.PdfReader(io.BytesIO(response.data))
    text = "".join(page.extract_text() for page in reader.pages)
    # N00001 spent a code but has not chosen a password yet: still "without a password"
    assert "N00001" in text and "N00002" in text and len(CODE.findall(text)) == 2
    assert "新人乙" in text and "/login/code" in text
    assert db.session.execute(select(func.count()).select_from(SignInCode)
                              .where(SignInCode.used_at.is_(None))).scalar_one() == 2


def test_bulk_issue_makes_no_orm_object_per_code(db, org):
    users = [make_user(org["finance"]) for _ in range(50)]
    db.session.commit()
    codes = issue_sign_in_codes([u.id for u in users])
    assert len(codes) == 50 and len(set(codes.values())) == 50
    assert not [obj for obj in db.session.identity_map.values() if isinstance(obj, SignInCode)]
    assert not [obj for obj in db.session.new if isinstance(obj, SignInCode)]
    assert db.session.execute(select(func.count()).select_from(SignInCode)).scalar_one() == 50
