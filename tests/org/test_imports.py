"""Organisation and staff CSV imports: upsert, idempotence, the closure table, all-or-nothing errors."""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from app.auth.models import OfficerScope, User, UserSession
from app.content.report import ContentError
from app.core.security import verify_password
from app.core.time import utcnow
from app.org.imports import import_departments, import_staff
from app.org.models import Department, DepartmentClosure
from app.org.services import department_path, subtree_ids
from tests.conftest import ROOT
from tests.factories import make_department, make_user

EXAMPLES = ROOT / "docs" / "examples"
DEPT_HEADER = "code,name,parent_code,name_en,sort_order\n"
STAFF_HEADER = "staff_number,name,department_code,position,grade,email,active,is_admin,officer_of,password\n"


@pytest.fixture()
def runner(app, db):
    """A CLI runner on the app, which registers the ``org`` group itself."""
    assert "org" in app.cli.commands
    return app.test_cli_runner()


def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def dept(db, code: str) -> Department:
    return db.session.execute(select(Department).where(Department.code == code)).scalar_one()


def user(db, number: str) -> User:
    return db.session.execute(select(User).where(User.staff_number == number)).scalar_one()


def codes(db, ids_select) -> set[str]:
    return set(db.session.execute(select(Department.code).where(Department.id.in_(ids_select))).scalars())


def scope_codes(db, number: str) -> set[str]:
    return set(db.session.execute(
        select(Department.code).join(OfficerScope, OfficerScope.department_id == Department.id)
        .join(User, User.id == OfficerScope.user_id).where(User.staff_number == number)
    ).scalars())


def state(db) -> tuple:
    """Every row the imports may touch, to compare before and after a failed import."""
    def rows(query):
        return sorted(tuple(r) for r in db.session.execute(query).all())

    db.session.expire_all()
    return (
        rows(select(Department.code, Department.name, Department.name_en, Department.parent_id,
                    Department.depth, Department.sort_order)),
        rows(select(DepartmentClosure.ancestor_id, DepartmentClosure.descendant_id, DepartmentClosure.depth)),
        rows(select(User.staff_number, User.name, User.department_id, User.position, User.grade, User.email,
                    User.active, User.is_admin, User.password_hash)),
        rows(select(OfficerScope.user_id, OfficerScope.department_id)),
    )


def assert_tree_consistent(db) -> None:
    """The closure table and ``Department.depth`` agree exactly with the parent links."""
    parents = dict(db.session.execute(select(Department.id, Department.parent_id)).all())
    expected = set()
    for dept_id in parents:
        node, depth = dept_id, 0
        while node is not None:
            expected.add((node, dept_id, depth))
            node, depth = parents[node], depth + 1
    actual = set(db.session.execute(
        select(DepartmentClosure.ancestor_id, DepartmentClosure.descendant_id, DepartmentClosure.depth)).all())
    assert actual == expected
    depth_of = {d: max(depth for a, x, depth in expected if x == d) for d in parents}
    assert dict(db.session.execute(select(Department.id, Department.depth)).all()) == depth_of


# --- good files ------------------------------------------------------------------------------


def test_example_files_import_and_a_second_run_changes_nothing(db):
    summary = import_departments(EXAMPLES / "departments.csv")
    assert (summary.rows, summary.created, summary.updated, summary.unchanged) == (13, 13, 0, 0)
    assert summary.encoding == "utf-8-sig" and summary.delimiter == ","
    # CITY-CZJ-YSC-ZHK comes before its parent CITY-CZJ-YSC in the file.
    assert [d.code for d in department_path(dept(db, "CITY-CZJ-YSC-ZHK"))] == [
        "CITY", "CITY-CZJ", "CITY-CZJ-YSC", "CITY-CZJ-YSC-ZHK"]
    assert dept(db, "CITY-RSJ").name == "市人力资源和社会保障局" and dept(db, "CITY-RSJ").sort_order == 2
    assert_tree_consistent(db)

    staff = import_staff(EXAMPLES / "staff.csv", default_password="chushi-mima-2026")
    assert (staff.rows, staff.created, staff.updated, staff.unchanged) == (12, 12, 0, 0)
    assert staff.passwords_set == 12 and staff.without_password == 0
    chen = user(db, "0010001")
    assert chen.name == "陈建国" and chen.department.code == "CITY-CZJ" and chen.position == "局长"
    assert verify_password(chen.password_hash, "chushi-mima-2026")
    assert chen.password_hash.startswith("$argon2id$")
    assert user(db, "0020001").is_admin and not user(db, "0020003").active
    assert scope_codes(db, "0020002") == {"CITY-RSJ", "CITY-JTJ"}  # full-width ；
    db.session.commit()

    before = state(db)
    again = import_departments(EXAMPLES / "departments.csv")
    assert (again.created, again.updated, again.unchanged, again.changed) == (0, 0, 13, False)
    again = import_staff(EXAMPLES / "staff.csv", default_password="another-password")
    assert (again.created, again.updated, again.unchanged, again.changed) == (0, 0, 12, False)
    assert state(db) == before


def test_departments_update_name_and_sort_order_empty_cells_keep(db, tmp_path):
    import_departments(EXAMPLES / "departments.csv")
    path = write(tmp_path, "d.csv", DEPT_HEADER + "CITY-CZJ,滨江市财政局,CITY,,\nCITY-JTJ,市交通运输局,CITY,,9\n")
    summary = import_departments(path)
    assert (summary.updated, summary.unchanged, summary.moved, summary.closure_rebuilt) == (2, 0, 0, False)
    czj, jtj = dept(db, "CITY-CZJ"), dept(db, "CITY-JTJ")
    assert (czj.name, czj.name_en, czj.sort_order) == ("滨江市财政局", "Finance Bureau", 1)
    assert jtj.sort_order == 9
    assert "updated department CITY-JTJ: sort_order" in summary.changes


# --- the closure table after a move ----------------------------------------------------------


def test_moving_a_department_moves_its_subtree_in_the_closure_table(db, tmp_path):
    import_departments(EXAMPLES / "departments.csv")
    ysc, czj, rsj = dept(db, "CITY-CZJ-YSC"), dept(db, "CITY-CZJ"), dept(db, "CITY-RSJ")
    assert {"CITY-CZJ-YSC", "CITY-CZJ-YSC-ZHK", "CITY-CZJ-YSC-BMYSK"} <= codes(db, subtree_ids([czj.id]))

    # 预算处 moves from 财政局 to 人社局, a new section is added under it (before it in the file),
    # and 交通运输局 becomes a root.
    path = write(tmp_path, "move.csv", DEPT_HEADER
                 + "CITY-CZJ-YSC-XMK,项目预算科,CITY-CZJ-YSC,,2\n"
                 + "CITY-CZJ-YSC,预算处,CITY-RSJ,Budget Division,2\n"
                 + "CITY-JTJ,市交通运输局,,Transport Bureau,3\n")
    summary = import_departments(path)
    assert (summary.created, summary.updated, summary.moved, summary.closure_rebuilt) == (1, 2, 2, True)
    db.session.commit()

    moved = {"CITY-CZJ-YSC", "CITY-CZJ-YSC-ZHK", "CITY-CZJ-YSC-BMYSK", "CITY-CZJ-YSC-XMK"}
    assert codes(db, subtree_ids([czj.id])) == {"CITY-CZJ", "CITY-CZJ-BGS", "CITY-CZJ-ZZRSC"}
    assert moved <= codes(db, subtree_ids([rsj.id]))
    assert codes(db, subtree_ids([ysc.id])) == moved
    assert [d.code for d in department_path(dept(db, "CITY-CZJ-YSC-XMK"))] == [
        "CITY", "CITY-RSJ", "CITY-CZJ-YSC", "CITY-CZJ-YSC-XMK"]
    jtj = dept(db, "CITY-JTJ")
    assert jtj.parent_id is None and jtj.depth == 0 and dept(db, "CITY-JTJ-RSC").depth == 1
    assert "CITY-JTJ" not in codes(db, subtree_ids([dept(db, "CITY").id]))
    assert_tree_consistent(db)

    again = import_departments(path)
    assert (again.unchanged, again.closure_rebuilt) == (3, False)


def test_new_departments_without_moves_keep_the_closure_right(db, tmp_path):
    root = make_department("滨江市", code="CITY")
    make_department("市财政局", root, code="CITY-CZJ")
    path = write(tmp_path, "d.csv", DEPT_HEADER + "B-2,二科,B,,\nB,某处,CITY-CZJ,,\nC,另一局,CITY,,\n")
    summary = import_departments(path)
    assert (summary.created, summary.closure_rebuilt) == (3, False)
    assert_tree_consistent(db)
    assert codes(db, subtree_ids([dept(db, "CITY-CZJ").id])) == {"CITY-CZJ", "B", "B-2"}


# --- errors: every one named, nothing changed ------------------------------------------------


@pytest.fixture()
def org_world(db):
    """A small tree and two users already in the database (committed)."""
    root = make_department("滨江市", code="CITY")
    czj = make_department("市财政局", root, code="CITY-CZJ")
    x = make_department("某处", czj, code="X")
    make_department("某科", x, code="X-1")
    make_user(czj, staff_number="000777", name="老用户", officer_of=[czj])
    make_user(root, staff_number="000888", name="另一个")
    db.session.commit()
    return db


DEPARTMENT_ERRORS = [
    ("code,name\nA,甲\n", [(1, "parent_code", "required column is missing")]),
    ("code,parent_code\nA,\n", [(1, "name", "required column is missing")]),
    ("code,name,parent_code,parnet\nA,甲,,\n", [(1, "parnet", "unknown column")]),
    ("code,name,parent_code,name\nA,甲,,\n", [(1, "name", "appears twice")]),
    (DEPT_HEADER + "NEW,新部门,CITY,,\n,无编码,CITY,,\n", [(3, "code", "is empty")]),
    (DEPT_HEADER + "NEW,,CITY,,\n", [(2, "name", "is empty")]),
    (DEPT_HEADER + "NEW A,新部门,CITY,,\n", [(2, "code", "contains a space")]),
    (DEPT_HEADER + "N" * 41 + ",新部门,CITY,,\n", [(2, "code", "at most 40")]),
    (DEPT_HEADER + "NEW,新部门,CITY,,\nCITY-CZJ,财政局,CITY,,\nNEW,又一个,CITY,,\n",
     [(4, "code", "duplicate code 'NEW' (first on line 2)")]),
    (DEPT_HEADER + "NEW,新部门,NOWHERE,,\n", [(2, "parent_code", "unknown department 'NOWHERE'")]),
    (DEPT_HEADER + "NEW,新部门,NEW,,\n", [(2, "parent_code", "cannot be its own parent")]),
    (DEPT_HEADER + "A,甲,B,,\nB,乙,C,,\nC,丙,A,,\n", [(2, "parent_code", "cycle: A → B → C → A")]),
    # X is stored under CITY-CZJ; the file puts CITY-CZJ under X-1 (X's child): a cycle through the DB.
    (DEPT_HEADER + "CITY-CZJ,市财政局,X-1,,\n", [(2, "parent_code", "cycle: CITY-CZJ → X-1 → X → CITY-CZJ")]),
    (DEPT_HEADER + "NEW,新部门,CITY,,第一\n", [(2, "sort_order", "not a whole number")]),
    (DEPT_HEADER + "NEW,新部门,CITY,,99999999999\n", [(2, "sort_order", "out of range")]),
    (DEPT_HEADER + "NEW," + "长" * 201 + ",CITY,,\n", [(2, "name", "at most 200")]),
    (DEPT_HEADER + "NEW,新部门,CITY,,1,多余\n", [(2, None, "outside the header's columns")]),
]


@pytest.mark.parametrize("text, expected", DEPARTMENT_ERRORS)
def test_department_errors_name_file_line_and_field_and_change_nothing(org_world, tmp_path, text, expected):
    db = org_world
    path = write(tmp_path, "departments.csv", text)
    before = state(db)
    with pytest.raises(ContentError) as info:
        import_departments(path)
    errors = info.value.errors
    assert len(errors) == len(expected), errors
    for (line, column, message), error in zip(expected, errors):
        prefix = f"{path}:{line}: " + (f"field '{column}': " if column else "")
        assert error.startswith(prefix) and message in error, error
    db.session.rollback()
    assert state(db) == before


def test_every_error_of_a_file_is_reported_at_once(org_world, tmp_path):
    path = write(tmp_path, "d.csv", DEPT_HEADER
                 + "CITY-CZJ,改名的财政局,CITY,,\n"  # a valid update: must not be written
                 + ",无编码,CITY,,\n"
                 + "NEW,,NOWHERE,,x\n"
                 + "NEW,重复,CITY,,\n")
    before = state(org_world)
    with pytest.raises(ContentError) as info:
        import_departments(path)
    found = {(e.split(":")[1], e.split("'")[1]) for e in info.value.errors}
    assert found == {("3", "code"), ("4", "name"), ("4", "sort_order"), ("4", "parent_code"), ("5", "code")}
    org_world.session.rollback()
    assert state(org_world) == before


def test_line_numbers_count_physical_lines_of_quoted_values(org_world, tmp_path):
    path = write(tmp_path, "d.csv", DEPT_HEADER + 'NEW,"新部门, 含逗号\n跨两行",CITY,,\n\nBAD,坏,NOWHERE,,\n')
    with pytest.raises(ContentError) as info:
        import_departments(path)
    assert info.value.errors == [f"{path}:5: field 'parent_code': unknown department 'NOWHERE' "
                                 "(neither in this file nor in the database)"]


STAFF_ERRORS = [
    ("staff_number,name\n1,甲\n", [(1, "department_code", "required column is missing")]),
    ("staff_number,name,department_code,offcer_of\n1,甲,CITY,\n", [(1, "offcer_of", "unknown column")]),
    (STAFF_HEADER + ",甲,CITY,,,,,,,\n", [(2, "staff_number", "is empty")]),
    (STAFF_HEADER + "0001,甲,CITY,,,,,,,\n0001,乙,CITY,,,,,,,\n",
     [(3, "staff_number", "duplicate staff number '0001' (first on line 2)")]),
    (STAFF_HEADER + "000777,,CITY,,,,,,,\n", [(2, "name", "is empty")]),
    (STAFF_HEADER + "0001,甲,,,,,,,,\n", [(2, "department_code", "is empty")]),
    (STAFF_HEADER + "0001,甲,NOWHERE,,,,,,,\n", [(2, "department_code", "unknown department 'NOWHERE'")]),
    (STAFF_HEADER + "000777,老用户,CITY,,,,maybe,,,\n", [(2, "active", "not one of 是/否")]),
    (STAFF_HEADER + "0001,甲,CITY,,,,,对,,\n", [(2, "is_admin", "not one of 是/否")]),
    (STAFF_HEADER + "000777,老用户,CITY,,,,,,CITY；NOPE;X,\n", [(2, "officer_of", "unknown department(s) 'NOPE'")]),
    (STAFF_HEADER + "000777,老用户,CITY,,,,,,,short\n", [(2, "password", "at least 8 characters")]),
    (STAFF_HEADER + "0001,甲,CITY,,,not-an-email,,,,\n", [(2, "email", "not an e-mail address")]),
    (STAFF_HEADER + "0001,甲,CITY,,,,,,,\n0002,乙,CITY,,,,,,,\n0003," + "名" * 101 + ",CITY,,,,,,,\n",
     [(4, "name", "at most 100")]),
]


@pytest.mark.parametrize("text, expected", STAFF_ERRORS)
def test_staff_errors_name_file_line_and_field_and_change_nothing(org_world, tmp_path, text, expected):
    db = org_world
    path = write(tmp_path, "staff.csv", text)
    before = state(db)
    with pytest.raises(ContentError) as info:
        import_staff(path, default_password="default-pass-1")
    errors = info.value.errors
    assert len(errors) == len(expected), errors
    for (line, column, message), error in zip(expected, errors):
        assert error.startswith(f"{path}:{line}: field '{column}': ") and message in error, error
    assert "short" not in " ".join(errors)  # passwords are never echoed
    db.session.rollback()
    assert state(db) == before


def test_a_short_default_password_is_an_error(org_world, tmp_path):
    path = write(tmp_path, "staff.csv", STAFF_HEADER + "0001,甲,CITY,,,,,,,\n")
    before = state(org_world)
    with pytest.raises(ContentError) as info:
        import_staff(path, default_password="1234567")
    assert info.value.errors == ["default password: must be at least 8 characters"]
    org_world.session.rollback()
    assert state(org_world) == before


def test_files_that_cannot_be_read(org_world, tmp_path):
    utf16 = tmp_path / "utf16.csv"
    utf16.write_bytes(("staff_number,name,department_code\n0001,甲,CITY\n").encode("utf-16"))
    with pytest.raises(ContentError, match="UTF-16"):
        import_staff(utf16)
    garbage = tmp_path / "garbage.csv"
    garbage.write_bytes(b"code,name,parent_code\n\xff\xff,\x80,\n")
    with pytest.raises(ContentError, match="cannot decode the file as UTF-8 or GB18030"):
        import_departments(garbage)
    empty = write(tmp_path, "empty.csv", "")
    with pytest.raises(ContentError, match="header line is missing"):
        import_departments(empty)
    with pytest.raises(ContentError, match="cannot read file"):
        import_departments(tmp_path / "missing.csv")


# --- encodings and delimiters ----------------------------------------------------------------


def test_gb18030_file_imports(db, tmp_path):
    text = DEPT_HEADER + "CITY,滨江市,,,\nCITY-GAJ,市公安局,CITY,,1\nCITY-GAJ-ZZB,政治部,CITY-GAJ,,\n"
    path = write(tmp_path, "wps-export.csv", text.replace("\n", "\r\n"), encoding="gb18030")
    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode("utf-8")
    summary = import_departments(path)
    assert summary.encoding == "gb18030" and summary.created == 3
    assert "read as GB18030" in summary.lines()[0]
    assert dept(db, "CITY-GAJ-ZZB").name == "政治部"
    staff = write(tmp_path, "staff.csv", "staff_number,name,department_code\r\n007,欧阳娜娜,CITY-GAJ\r\n",
                  encoding="gb18030")
    assert import_staff(staff).encoding == "gb18030"
    assert user(db, "007").name == "欧阳娜娜"


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_bom_and_delimiters_are_recognised(db, tmp_path, delimiter):
    rows = [["code", "name", "parent_code", "name_en"], ["CITY", "滨江市", "", "Binjiang, the city"]]
    text = "\n".join(delimiter.join(f'"{v}"' if "," in v and delimiter == "," else v for v in row)
                     for row in rows) + "\n"
    path = tmp_path / "d.csv"
    path.write_bytes(text.encode("utf-8-sig"))
    summary = import_departments(path)
    assert summary.delimiter == delimiter and summary.encoding == "utf-8-sig"
    assert dept(db, "CITY").name_en == "Binjiang, the city"


def test_values_are_stripped_and_staff_numbers_keep_leading_zeros(db, tmp_path):
    make_department("滨江市", code="CITY")
    path = write(tmp_path, "staff.csv", "  staff_number , Name ,department_code\n"
                                         " 000123 ,　张三　, CITY \n0045,李四,CITY\n")
    summary = import_staff(path)
    assert summary.created == 2 and summary.without_password == 2
    assert user(db, "000123").name == "张三" and user(db, "0045").department.code == "CITY"
    assert user(db, "0045").password_hash is None
    assert any("2 sign-in code(s) issued" in line for line in summary.lines())  # instead of no way in


# --- staff rules -----------------------------------------------------------------------------


def test_officer_scopes_are_replaced_exactly(org_world, tmp_path):
    db = org_world
    assert scope_codes(db, "000777") == {"CITY-CZJ"}
    path = write(tmp_path, "s.csv", STAFF_HEADER + "000777,老用户,CITY-CZJ,,,,,,X；X-1;X,\n")
    summary = import_staff(path)
    assert summary.updated == 1 and "updated staff 000777: officer_of" in summary.changes
    assert scope_codes(db, "000777") == {"X", "X-1"}
    db.session.commit()
    assert import_staff(path).unchanged == 1

    # Without the officer_of column scopes are left alone; an empty cell removes them all.
    no_column = write(tmp_path, "n.csv", "staff_number,name,department_code\n000777,老用户,CITY-CZJ\n")
    assert import_staff(no_column).unchanged == 1 and scope_codes(db, "000777") == {"X", "X-1"}
    empty = write(tmp_path, "e.csv", "staff_number,name,department_code,officer_of\n000777,老用户,CITY-CZJ,\n")
    assert import_staff(empty).updated == 1
    db.session.commit()
    assert scope_codes(db, "000777") == set()

    # A new user gets exactly the listed scopes.
    new = write(tmp_path, "new.csv", "staff_number,name,department_code,officer_of\n0900,新官,CITY,CITY-CZJ ; X\n")
    import_staff(new)
    db.session.commit()
    assert scope_codes(db, "0900") == {"CITY-CZJ", "X"}


def test_flags_accept_chinese_and_english_words_and_empty_keeps(org_world, tmp_path):
    db = org_world
    path = write(tmp_path, "s.csv", "staff_number,name,department_code,active,is_admin\n"
                                    "000777,老用户,CITY-CZJ,否,YES\n000888,另一个,CITY,,\n"
                                    "0101,甲,CITY,False,1\n0102,乙,CITY,TRUE,否\n0103,丙,CITY,,\n")
    summary = import_staff(path)
    assert (summary.created, summary.updated, summary.unchanged, summary.deactivated) == (3, 1, 1, 1)
    assert "(1 deactivated)" in summary.lines()[1]
    flags = {n: (user(db, n).active, user(db, n).is_admin) for n in ("000777", "000888", "0101", "0102", "0103")}
    assert flags == {"000777": (False, True), "000888": (True, False), "0101": (False, True),
                     "0102": (True, False), "0103": (True, False)}


def test_passwords_are_initial_only_and_must_be_changed(org_world, tmp_path):
    db = org_world
    old = user(db, "000888")
    old_hash = old.password_hash
    live = UserSession(token_hash="a" * 64, user_id=old.id, created_at=utcnow(), expires_at=utcnow())
    db.session.add(live)
    db.session.commit()
    path = write(tmp_path, "s.csv", STAFF_HEADER
                 + "0201,有密码,CITY,,,,,,,own-password-1\n"
                 + "0202,用默认,CITY,,,,,,,\n"
                 + "000777,老用户,CITY-CZJ,,,,,,CITY-CZJ,\n"
                 + "000888,另一个,CITY,,,,,,,reset-password-2\n")
    summary = import_staff(path, default_password="default-pass-1")
    db.session.commit()
    assert (summary.created, summary.updated, summary.unchanged, summary.passwords_set) == (2, 0, 2, 2)
    assert summary.passwords_ignored == 1
    assert any("1 password cell(s) of existing staff were ignored" in line for line in summary.lines())
    assert verify_password(user(db, "0201").password_hash, "own-password-1")
    assert verify_password(user(db, "0202").password_hash, "default-pass-1")
    assert user(db, "0201").must_change_password and user(db, "0202").must_change_password
    # An existing person's password is never overwritten by a file, and their session goes on.
    assert user(db, "000888").password_hash == old_hash and not user(db, "000888").must_change_password
    assert db.session.get(UserSession, live.id).revoked_at is None
    untouched = user(db, "000777")  # empty cell, existing user: the default is not applied
    assert not verify_password(untouched.password_hash, "default-pass-1")
    assert "password" not in " ".join(summary.changes)

    again = import_staff(path, default_password="default-pass-1")
    assert (again.created, again.updated, again.unchanged, again.passwords_set) == (0, 0, 4, 0)


def test_staff_update_moves_department_and_keeps_empty_optional_values(org_world, tmp_path):
    db = org_world
    first = write(tmp_path, "a.csv", STAFF_HEADER + "000777,老用户,CITY-CZJ,科员,科员级,a@b.example,,,,\n")
    import_staff(first)
    second = write(tmp_path, "b.csv", STAFF_HEADER + "000777,新名字,X,,,,,,,\n")
    summary = import_staff(second)
    u = user(db, "000777")
    assert summary.changes == ["updated staff 000777: name, department (CITY-CZJ → X)"]
    assert (u.name, u.department.code, u.position, u.grade, u.email) == ("新名字", "X", "科员", "科员级", "a@b.example")


# --- the CLI ---------------------------------------------------------------------------------


def test_cli_imports_dry_run_writes_nothing_and_errors_exit_1(runner, db, tmp_path):
    dry = runner.invoke(args=["org", "import-departments", str(EXAMPLES / "departments.csv"), "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "department: 13 created" in dry.output and "nothing was written" in dry.output
    assert db.session.execute(select(Department)).first() is None

    done = runner.invoke(args=["org", "import-departments", str(EXAMPLES / "departments.csv"), "-v"])
    assert done.exit_code == 0 and "created department CITY-RSJ 市人力资源和社会保障局" in done.output
    staff = runner.invoke(args=["org", "import-staff", str(EXAMPLES / "staff.csv"),
                                "--default-password", "chushi-mima-2026"])
    assert staff.exit_code == 0, staff.output
    assert "staff: 12 created, 0 updated, 0 unchanged; 12 password(s) set" in staff.output
    db.session.expire_all()
    assert verify_password(user(db, "0030003").password_hash, "chushi-mima-2026")

    again = runner.invoke(args=["org", "import-staff", str(EXAMPLES / "staff.csv")])
    assert again.exit_code == 0 and "no changes" in again.output

    bad = write(tmp_path, "bad.csv", STAFF_HEADER + "0010001,陈建国,NOWHERE,,,,,,,\n0999,,CITY,,,,,,,\n")
    before = state(db)
    result = runner.invoke(args=["org", "import-staff", str(bad)])
    assert result.exit_code == 1
    assert f"{bad}:2: field 'department_code': unknown department 'NOWHERE'" in result.output
    assert f"{bad}:3: field 'name': is empty" in result.output
    assert "2 error(s); nothing was changed." in result.output
    assert state(db) == before
