"""The staff import gives each new person without a password a personal sign-in code (no shared
default password needed); the CLI writes the codes to a CSV for printing slips."""
from __future__ import annotations

import csv
import re

from sqlalchemy import func, select

from app.auth.models import SignInCode, User
from app.auth.services import redeem_sign_in_code
from tests.factories import make_department, make_user

CODE = re.compile(r"^[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}$")


def _staff_file(tmp_path):
    path = tmp_path / "staff.csv"
    path.write_text("staff_number,name,department_code\n0010001,陈建国,CITY\n0010002,王丽华,CITY\n000777,老用户,CITY\n",
                    encoding="utf-8")
    return path


def test_import_issues_one_personal_code_per_new_person(app, db, tmp_path):
    from app.org.imports import import_staff

    make_department("滨江市", code="CITY")
    make_user(staff_number="000777", name="老用户")
    db.session.commit()
    summary = import_staff(_staff_file(tmp_path))
    db.session.commit()
    assert [number for number, _name, _code in summary.sign_in_codes] == ["0010001", "0010002"]
    codes = [code for _n, _name, code in summary.sign_in_codes]
    assert all(CODE.match(code) for code in codes) and len(set(codes)) == 2
    assert db.session.execute(select(func.count()).select_from(SignInCode)).scalar_one() == 2
    assert redeem_sign_in_code("0010002", codes[1]).name == "王丽华"
    assert db.session.execute(select(User.password_hash).where(User.staff_number == "0010001")).scalar_one() is None


def test_cli_writes_the_codes_to_a_csv_and_a_dry_run_issues_none(app, db, tmp_path):
    make_department("滨江市", code="CITY")
    db.session.commit()
    runner = app.test_cli_runner()
    out = tmp_path / "codes.csv"
    dry = runner.invoke(args=["org", "import-staff", str(_staff_file(tmp_path)), "--dry-run", "--codes-csv", str(out)])
    assert dry.exit_code == 0, dry.output
    assert not out.exists()
    assert db.session.execute(select(func.count()).select_from(SignInCode)).scalar_one() == 0
    done = runner.invoke(args=["org", "import-staff", str(_staff_file(tmp_path)), "--codes-csv", str(out)])
    assert done.exit_code == 0, done.output
    rows = list(csv.DictReader(out.open(encoding="utf-8-sig")))
    assert [r["staff_number"] for r in rows] == ["0010001", "0010002", "000777"]
    assert all(CODE.match(r["sign_in_code"]) and r["expires_at"] for r in rows)
    assert "3 sign-in code(s)" in done.output
    db.session.expire_all()
    assert redeem_sign_in_code("0010001", rows[0]["sign_in_code"]).name == "陈建国"
