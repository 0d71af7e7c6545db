"""Admin people pages: deactivation ends sessions, roles, HR upload preview then confirm, hostile uploads."""
from __future__ import annotations

import io
import time

from sqlalchemy import select

from app.auth.models import User, UserSession
from app.org.models import StaffTransfer
from tests.factories import csrf_token, make_department, make_user
from tests.org.test_people_import import ROWS, csv_bytes, state, xlsx_bytes, zip_bomb


def sign_in(app, person):
    client = app.test_client()
    token = csrf_token(client, "/login")
    assert client.post("/login", data={"staff_number": person.staff_number, "password": "correct-horse-42",
                                       "csrf_token": token}).status_code == 302
    return client, csrf_token(client, "/courses/")


def setup(db):
    root = make_department("滨江市", code="CITY")
    czj = make_department("市财政局", root, code="CITY-CZJ")
    make_department("某处", czj, code="X")
    admin = make_user(root, staff_number="000001", name="管理员", is_admin=True)
    staff = make_user(czj, staff_number="000777", name="老用户")
    make_user(root, staff_number="000888", name="另一个")
    db.session.commit()
    return admin, staff, czj


def test_deactivation_ends_sessions_and_reactivation_restores_sign_in(app, db):
    admin, staff, _ = setup(db)
    staff_client, _token = sign_in(app, staff)
    assert staff_client.get("/courses/").status_code == 200
    client, token = sign_in(app, admin)
    response = client.post(f"/admin/people/{staff.id}/active", data={"csrf_token": token, "active": "0"})
    assert response.status_code == 302
    assert staff_client.get("/courses/").status_code == 302  # their open session has ended
    db.session.expire_all()
    assert not db.session.get(User, staff.id).active
    assert db.session.execute(select(UserSession.revoked_at).where(UserSession.user_id == staff.id)).scalar_one()
    client.post(f"/admin/people/{staff.id}/active", data={"csrf_token": token, "active": "1"})
    db.session.expire_all()
    assert db.session.get(User, staff.id).active


def test_admin_cannot_deactivate_themself(app, db):
    admin, _, _ = setup(db)
    client, token = sign_in(app, admin)
    client.post(f"/admin/people/{admin.id}/active", data={"csrf_token": token, "active": "0"})
    db.session.expire_all()
    assert db.session.get(User, admin.id).active


def test_roles_and_scopes_are_set(app, db):
    admin, staff, czj = setup(db)
    client, token = sign_in(app, admin)
    client.post(f"/admin/people/{staff.id}/roles", data={"csrf_token": token, "is_examiner": "1",
                                                        "officer_of": [str(czj.id)]})
    db.session.expire_all()
    person = db.session.get(User, staff.id)
    assert person.is_examiner and not person.is_admin
    assert [s.department_id for s in person.officer_scopes] == [czj.id]


def test_people_search_pages_and_counts(app, db):
    admin, _, _ = setup(db)
    client, _token = sign_in(app, admin)
    page = client.get("/admin/people/?q=0007").get_data(as_text=True)
    assert "老用户" in page and "另一个" not in page
    assert "1 people found" in page or "找到 1 人" in page


def test_upload_previews_then_confirm_imports_the_same_file(app, db):
    admin, _, _ = setup(db)
    client, token = sign_in(app, admin)
    before = state(db)
    data = xlsx_bytes(ROWS)
    response = client.post("/admin/people/import", data={"csrf_token": token, "file": (io.BytesIO(data), "hr.xlsx")},
                           content_type="multipart/form-data")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "created staff 000999 新人" in page
    assert state(db) == before  # the preview wrote nothing
    import re
    digest = re.search(r'name="confirm" value="([0-9a-f]{64})"', page).group(1)
    other = client.post("/admin/people/import", data={"csrf_token": token, "confirm": digest,
                                                      "file": (io.BytesIO(csv_bytes(ROWS[:1])), "hr.csv")},
                        content_type="multipart/form-data")
    assert other.status_code == 400 and state(db) == before  # a different file is not imported
    response = client.post("/admin/people/import", data={"csrf_token": token, "confirm": digest,
                                                         "file": (io.BytesIO(data), "hr.xlsx")},
                           content_type="multipart/form-data")
    assert response.status_code == 200 and "000999" in response.get_data(as_text=True)  # codes shown once
    db.session.expire_all()
    assert db.session.execute(select(User).where(User.staff_number == "000999")).scalar_one()
    assert db.session.execute(select(StaffTransfer)).scalar_one()


def test_upload_bad_row_names_row_and_column(app, db):
    admin, _, _ = setup(db)
    client, token = sign_in(app, admin)
    before = state(db)
    bad = csv_bytes([["000999", "新人", "NOWHERE", "", "", ""]])
    response = client.post("/admin/people/import", data={"csrf_token": token, "file": (io.BytesIO(bad), "hr.csv")},
                           content_type="multipart/form-data")
    assert response.status_code == 400
    assert "hr.csv:2: field &#39;department_code&#39;" in response.get_data(as_text=True)
    assert state(db) == before


def test_hostile_uploads_are_refused_quickly_with_nothing_stored(app, db):
    admin, _, _ = setup(db)
    client, token = sign_in(app, admin)
    before = state(db)
    for name, data in (("bomb.xlsx", zip_bomb()), ("fake.xlsx", b"MZ\x90\x00" + b"\0" * 4000),
                       ("doc.csv", b"%PDF-1.7\n" + b"x" * 100), ("../../etc/passwd.csv", b"\x7fELF\x00\x00")):
        started = time.perf_counter()
        response = client.post("/admin/people/import", data={"csrf_token": token, "file": (io.BytesIO(data), name)},
                               content_type="multipart/form-data")
        assert response.status_code == 400, name
        assert time.perf_counter() - started < 3, name
    big = client.post("/admin/people/import", data={"csrf_token": token,
                                                    "file": (io.BytesIO(b"a," * (3 * 2**20)), "big.csv")},
                      content_type="multipart/form-data")
    assert big.status_code in (400, 413)
    assert state(db) == before
