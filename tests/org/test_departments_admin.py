"""Department tree administration: add, rename, move (closure table kept right, no cycles), retire
(refused while active staff remain, with the count), reactivate; every change audited; the pages."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from app.audit.models import AuditEvent
from app.org.models import Department, DepartmentClosure
from app.org.services import (DepartmentError, add_department, move_department, rebuild_closure,
                              reactivate_department, rename_department, retire_department)
from tests.factories import csrf_token, make_department, make_user


def _closure(db) -> set[tuple[int, int, int]]:
    return set(db.session.execute(select(DepartmentClosure.ancestor_id, DepartmentClosure.descendant_id,
                                         DepartmentClosure.depth)).all())


def _depths(db) -> dict[int, int]:
    return dict(db.session.execute(select(Department.id, Department.depth)).all())


@pytest.fixture()
def tree(db):
    city = make_department("滨江市", code="CITY")
    finance = make_department("市财政局", city, code="CZJ")
    office = make_department("办公室", finance, code="CZJ-BGS")
    section = make_department("文书科", office, code="CZJ-BGS-WS")
    education = make_department("市教育局", city, code="JYJ")
    admin = make_user(city, is_admin=True)
    db.session.commit()
    return {"city": city, "finance": finance, "office": office, "section": section, "education": education,
            "admin": admin}


def test_move_keeps_the_closure_table_and_depths_equal_to_a_rebuild(db, tree):
    assert move_department(tree["office"], tree["education"], actor=tree["admin"])
    db.session.commit()
    closure, depths = _closure(db), _depths(db)
    assert (tree["education"].id, tree["section"].id, 2) in closure
    assert not any(a == tree["finance"].id and d == tree["section"].id for a, d, _ in closure)
    rebuild_closure()
    assert _closure(db) == closure and _depths(db) == depths
    assert depths[tree["section"].id] == 3
    assert move_department(tree["office"], None, actor=tree["admin"])  # to the top
    db.session.commit()
    assert _depths(db)[tree["section"].id] == 1 and db.session.get(Department, tree["office"].id).parent_id is None
    closure = _closure(db)
    rebuild_closure()
    assert _closure(db) == closure
    event = db.session.execute(select(AuditEvent).where(AuditEvent.action == "department.move")
                               .order_by(AuditEvent.id)).scalars().first()
    assert event.actor_id == tree["admin"].id and event.detail["parent"] == ["CZJ", "JYJ"]


def test_moving_under_its_own_subtree_is_refused_and_changes_nothing(db, tree):
    before = _closure(db)
    for target in (tree["finance"], tree["office"], tree["section"]):
        with pytest.raises(DepartmentError) as refused:
            move_department(tree["finance"], target, actor=tree["admin"])
        assert target.name in refused.value.message and "市财政局" in refused.value.message
    assert _closure(db) == before


def test_retire_is_refused_while_active_staff_remain_and_names_the_count(db, tree):
    make_user(tree["section"])
    make_user(tree["office"])
    make_user(tree["office"], active=False)
    with pytest.raises(DepartmentError) as refused:
        retire_department(tree["finance"], actor=tree["admin"])
    assert " 2 " in refused.value.message and "市财政局" in refused.value.message
    assert retire_department(tree["education"], actor=tree["admin"]) == 1
    db.session.commit()
    assert not db.session.get(Department, tree["education"].id).active
    with pytest.raises(DepartmentError):
        add_department("NEW", "新科", db.session.get(Department, tree["education"].id), actor=tree["admin"])
    assert reactivate_department(db.session.get(Department, tree["education"].id), actor=tree["admin"])
    actions = [e.action for e in db.session.execute(select(AuditEvent).order_by(AuditEvent.id)).scalars()]
    assert actions == ["department.retire", "department.reactivate"]


def test_add_and_rename_validate_and_audit(db, tree):
    with pytest.raises(DepartmentError):
        add_department("CZJ", "重复", tree["city"])
    with pytest.raises(DepartmentError):
        add_department("A B", "空格", tree["city"])
    with pytest.raises(DepartmentError):
        add_department("OK1", "  ", tree["city"])
    created = add_department("CZJ-KJK", "会计科", tree["finance"], actor=tree["admin"])
    assert created.depth == 2
    assert (tree["city"].id, created.id, 2) in _closure(db)
    assert rename_department(created, "会计管理科", "Accounting", actor=tree["admin"])
    assert not rename_department(created, "会计管理科", "Accounting", actor=tree["admin"])
    events = list(db.session.execute(select(AuditEvent).order_by(AuditEvent.id)).scalars())
    assert [e.action for e in events] == ["department.create", "department.rename"]
    assert events[1].detail["name"] == ["会计科", "会计管理科"]


def _admin_client(app, admin):
    client = app.test_client()
    token = csrf_token(client, "/login")
    client.post("/login", data={"staff_number": admin.staff_number, "password": "correct-horse-42", "csrf_token": token})
    return client, csrf_token(client, "/admin/departments/")


def test_pages_show_the_tree_and_refuse_with_clear_messages(app, db, tree):
    make_user(tree["section"])
    db.session.commit()
    client, token = _admin_client(app, tree["admin"])
    page = client.get("/admin/departments/").get_data(as_text=True)
    assert "市财政局" in page and "文书科" in page
    response = client.post(f"/admin/departments/{tree['finance'].id}/move",
                           data={"csrf_token": token, "parent_id": str(tree["section"].id)}, follow_redirects=True)
    assert "文书科" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Department, tree["finance"].id).parent_id == tree["city"].id
    response = client.post(f"/admin/departments/{tree['finance'].id}/retire", data={"csrf_token": token},
                           follow_redirects=True)
    assert db.session.get(Department, tree["finance"].id).active
    client.post("/admin/departments/add", data={"csrf_token": token, "parent_id": str(tree["education"].id),
                                                "code": "JYJ-RSC", "name": "人事处"})
    assert db.session.execute(select(Department).where(Department.code == "JYJ-RSC")).scalar_one().parent_id == \
        tree["education"].id
    assert client.post("/admin/departments/add", data={"csrf_token": token, "parent_id": "999999", "code": "Z",
                                                       "name": "Z"}).status_code == 400
    assert client.post(f"/admin/departments/{tree['office'].id}/rename",
                       data={"csrf_token": token, "name": "综合办公室"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(Department, tree["office"].id).name == "综合办公室"
    assert client.get(f"/admin/departments/{tree['office'].id}").status_code == 200
