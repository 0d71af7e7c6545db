"""Staff import from HR files (issue 8 item 1): XLSX and encodings alike, transfers kept as history,
deactivating those missing (only when asked), all or nothing with row and column, hostile workbooks."""
from __future__ import annotations

import datetime as dt
import io
import time
import zipfile

import openpyxl
import pytest
from sqlalchemy import select

from app.auth.login import open_session
from app.auth.models import User, UserSession
from app.content.report import ContentError
from app.org.imports import check_xlsx, import_staff
from app.org.models import Department, StaffTransfer
from tests.factories import make_department, make_user
from tests.org.test_imports import state

HEADER = ["staff_number", "name", "department_code", "position", "active", "effective_date"]
ROWS = [
    ["000777", "老用户", "X", "处长", "", "2026-09-01"],   # transfer CITY-CZJ -> X, dated
    ["000888", "另一个", "CITY", "科员", "否", ""],         # deactivated by the file
    ["000999", "新人", "CITY-CZJ", "", "", ""],             # created
]


@pytest.fixture()
def world(db):
    """CITY > CITY-CZJ > X; 000777 in CITY-CZJ (with an open session), 000888 in CITY, 000555 (not in
    the file), admin 000001 (not in the file)."""
    root = make_department("滨江市", code="CITY")
    czj = make_department("市财政局", root, code="CITY-CZJ")
    make_department("某处", czj, code="X")
    make_user(czj, staff_number="000777", name="老用户")
    make_user(root, staff_number="000888", name="另一个")
    make_user(root, staff_number="000555", name="离职者")
    make_user(root, staff_number="000001", name="管理员", is_admin=True)
    db.session.commit()
    return db


def user(db, number):
    db.session.expire_all()
    return db.session.execute(select(User).where(User.staff_number == number)).scalar_one()


def csv_bytes(rows, encoding="utf-8", header=HEADER):
    text = "\n".join(",".join(row) for row in [header] + rows) + "\n"
    return text.encode(encoding)


def xlsx_bytes(rows, header=HEADER):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def write(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def outcome(db):
    """What the sample import did, comparable between file formats."""
    db.session.expire_all()
    people = {u.staff_number: (u.name, u.department_id, u.position, u.active)
              for u in db.session.execute(select(User)).scalars()}
    transfers = [(t.from_department_id, t.to_department_id, t.effective_at)
                 for t in db.session.execute(select(StaffTransfer)).scalars()]
    return people, transfers


def test_sample_file_creates_updates_deactivates_and_transfers_with_history(world, tmp_path):
    db = world
    session_token = open_session(user(db, "000888"))
    db.session.commit()
    summary = import_staff(write(tmp_path, "hr.csv", csv_bytes(ROWS)))
    db.session.commit()
    assert (summary.created, summary.updated, summary.deactivated, summary.transferred) == (1, 2, 1, 1)
    assert summary.deactivated_missing == 0  # not asked: 000555 stays active
    assert user(db, "000555").active and user(db, "000999").active
    assert not user(db, "000888").active
    ids = dict(db.session.execute(select(Department.code, Department.id)).all())
    moved = user(db, "000777")
    assert moved.department_id == ids["X"] and moved.position == "处长"
    transfer = db.session.execute(select(StaffTransfer)).scalar_one()
    assert (transfer.user_id, transfer.from_department_id, transfer.to_department_id) == \
        (moved.id, ids["CITY-CZJ"], ids["X"])
    assert transfer.effective_at == dt.datetime(2026, 9, 1, tzinfo=dt.timezone.utc)
    assert "updated staff 000777: position, department (CITY-CZJ → X)" in summary.changes \
        or any(c.startswith("updated staff 000777") and "CITY-CZJ → X" in c for c in summary.changes)
    # The deactivated person's open session has ended.
    row = db.session.execute(select(UserSession).where(UserSession.user_id == user(db, "000888").id)).scalar_one()
    assert row.revoked_at is not None and session_token


def test_deactivate_missing_only_when_asked_and_never_administrators(world, tmp_path):
    db = world
    token = open_session(user(db, "000555"))
    db.session.commit()
    summary = import_staff(write(tmp_path, "hr.csv", csv_bytes(ROWS)), deactivate_missing=True)
    db.session.commit()
    assert summary.deactivated_missing == 1 and summary.kept_admins == 1
    assert not user(db, "000555").active
    assert user(db, "000001").active  # an administrator absent from the file keeps access
    assert "deactivated staff 000555 (not in the file)" in summary.changes
    assert db.session.execute(select(UserSession.revoked_at)
                              .where(UserSession.user_id == user(db, "000555").id)).scalar_one() is not None
    assert token


def test_deactivate_missing_refuses_a_file_without_rows(world, tmp_path):
    db = world
    before = state(db)
    with pytest.raises(ContentError, match="no data rows"):
        import_staff(write(tmp_path, "empty.csv", csv_bytes([])), deactivate_missing=True)
    db.session.rollback()
    assert state(db) == before


@pytest.mark.parametrize("name,make", [
    ("utf8.csv", lambda: csv_bytes(ROWS)),
    ("bom.csv", lambda: b"\xef\xbb\xbf" + csv_bytes(ROWS)),
    ("gbk.csv", lambda: csv_bytes(ROWS, "gb18030")),
    ("hr.xlsx", lambda: xlsx_bytes(ROWS)),
    ("no-suffix", lambda: xlsx_bytes(ROWS)),  # told apart by content, not by name
])
def test_gb18030_bom_and_xlsx_import_alike(world, tmp_path, name, make):
    db = world
    summary = import_staff(write(tmp_path, name, make()))
    db.session.commit()
    people, transfers = outcome(db)
    assert summary.rows == 3 and (summary.created, summary.updated, summary.transferred) == (1, 2, 1)
    assert people["000999"][0] == "新人" and people["000888"][3] is False
    assert [t[2] for t in transfers] == [dt.datetime(2026, 9, 1, tzinfo=dt.timezone.utc)]
    expected = {"utf8.csv": "utf-8-sig", "bom.csv": "utf-8-sig", "gbk.csv": "gb18030"}.get(name, "xlsx")
    assert summary.encoding == expected


def test_xlsx_numbers_and_dates_read_as_text(world, tmp_path):
    db = world
    rows = [[1234, "数字工号", "CITY", None, None, dt.datetime(2026, 10, 2)]]
    import_staff(write(tmp_path, "n.xlsx", xlsx_bytes(rows)))
    db.session.commit()
    assert user(db, "1234").name == "数字工号"


@pytest.mark.parametrize("make,suffix", [(csv_bytes, "csv"), (xlsx_bytes, "xlsx")])
def test_a_bad_row_names_row_and_column_and_changes_nothing(world, tmp_path, make, suffix):
    db = world
    before = state(db)
    transfers_before = db.session.execute(select(StaffTransfer.id)).all()
    rows = ROWS + [["000444", "坏日期", "CITY", "", "", "2026-13-45"], ["000333", "坏部门", "NOWHERE", "", "", ""]]
    with pytest.raises(ContentError) as caught:
        import_staff(write(tmp_path, f"bad.{suffix}", make(rows)), deactivate_missing=True)
    db.session.rollback()
    errors = caught.value.errors
    assert any(":5: field 'effective_date':" in e and "2026-13-45" in e for e in errors), errors
    assert any(":6: field 'department_code':" in e and "NOWHERE" in e for e in errors), errors
    assert state(db) == before
    assert db.session.execute(select(StaffTransfer.id)).all() == transfers_before
    assert user(db, "000555").active


def test_cli_users_import_dry_run_previews_and_writes_nothing(world, tmp_path, app):
    db = world
    before = state(db)
    path = write(tmp_path, "hr.xlsx", xlsx_bytes(ROWS))
    result = app.test_cli_runner().invoke(args=["users", "import", str(path), "--dry-run", "--deactivate-missing"])
    assert result.exit_code == 0, result.output
    assert "1 created, 2 updated (1 deactivated, 1 transferred)" in result.output
    assert "1 active staff not in the file deactivated (1 administrator(s) not in the file kept active)" in result.output
    assert "created staff 000999 新人" in result.output  # the preview of changes
    assert "dry run: nothing was written." in result.output
    assert state(db) == before
    result = app.test_cli_runner().invoke(args=["org", "import-staff", str(path)])  # the old name still works
    assert result.exit_code == 0, result.output
    assert user(db, "000999").active and user(db, "000555").active


def test_cli_users_import_bad_row_exits_1_with_row_and_column(world, tmp_path, app):
    path = write(tmp_path, "bad.csv", csv_bytes([["000999", "", "CITY", "", "", ""]]))
    result = app.test_cli_runner().invoke(args=["users", "import", str(path)])
    assert result.exit_code == 1
    assert f"{path}:2: field 'name': is empty" in result.output


def zip_bomb() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (300 * 2**20))
    return out.getvalue()


@pytest.mark.parametrize("data,message", [
    (lambda: zip_bomb(), "too large once unpacked"),
    (lambda: b"MZ\x90\x00" + b"\0" * 2000, "not an XLSX workbook"),
    (lambda: b"PK\x03\x04" + b"garbage" * 100, "not a readable XLSX workbook"),
])
def test_hostile_workbooks_are_refused_quickly_and_change_nothing(world, tmp_path, data, message):
    db = world
    raw = data()
    before = state(db)
    started = time.perf_counter()
    with pytest.raises(ContentError, match=message):
        import_staff(tmp_path / "upload.xlsx", data=raw)
    assert time.perf_counter() - started < 2
    db.session.rollback()
    assert state(db) == before


def test_a_member_compressed_too_well_is_a_zip_bomb():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"a" * (20 * 2**20))
    with pytest.raises(ContentError, match="zip bomb"):
        check_xlsx("u.xlsx", out.getvalue())
