"""Department tree maintenance and officer scoping.

Every officer-facing query restricts departments with :func:`visible_department_ids`, so an
officer never sees a department outside the subtrees in their scopes (admins see all).
"""
from __future__ import annotations

from sqlalchemy import Select, delete, insert, select

from app.auth.models import OfficerScope, User
from app.extensions import db
from app.org.models import Department, DepartmentClosure


def create_department(code: str, name: str, parent: Department | None = None, *,
                      name_en: str | None = None, sort_order: int = 0) -> Department:
    """Add a department under ``parent`` (None: a root) and its closure rows. Flushes; caller commits."""
    department = Department(
        code=code, name=name, name_en=name_en, parent=parent,
        depth=(parent.depth + 1) if parent else 0, sort_order=sort_order,
    )
    db.session.add(department)
    db.session.flush()
    rows = [{"ancestor_id": department.id, "descendant_id": department.id, "depth": 0}]
    if parent is not None:
        for ancestor_id, depth in db.session.execute(
            select(DepartmentClosure.ancestor_id, DepartmentClosure.depth).where(
                DepartmentClosure.descendant_id == parent.id
            )
        ):
            rows.append({"ancestor_id": ancestor_id, "descendant_id": department.id, "depth": depth + 1})
    db.session.execute(insert(DepartmentClosure), rows)
    return department


def rebuild_closure() -> int:
    """Recompute the whole closure table and every ``Department.depth`` (0 for a root) from the
    ``parent_id`` links; returns the closure row count. Flushes.

    Raises ValueError if the tree has a cycle.
    """
    departments = list(db.session.execute(select(Department)).scalars())
    parents = {d.id: d.parent_id for d in departments}
    rows = []
    depths: dict[int, int] = {}
    for dept_id in parents:
        seen = set()
        node, depth = dept_id, 0
        while node is not None:
            if node in seen:
                raise ValueError(f"department tree has a cycle at department id {node}")
            seen.add(node)
            rows.append({"ancestor_id": node, "descendant_id": dept_id, "depth": depth})
            node, depth = parents[node], depth + 1
        depths[dept_id] = depth - 1
    for department in departments:
        if department.depth != depths[department.id]:
            department.depth = depths[department.id]
    db.session.execute(delete(DepartmentClosure))
    if rows:
        db.session.execute(insert(DepartmentClosure), rows)
    db.session.flush()
    return len(rows)


def subtree_ids(department_ids) -> Select:
    """SELECT of department ids in the subtrees rooted at ``department_ids`` (ids or a select)."""
    return select(DepartmentClosure.descendant_id).where(DepartmentClosure.ancestor_id.in_(department_ids))


def visible_department_ids(user: User) -> Select:
    """SELECT of department ids ``user`` may see: all for admins, their scopes' subtrees for officers."""
    if user.is_admin:
        return select(Department.id)
    return subtree_ids(select(OfficerScope.department_id).where(OfficerScope.user_id == user.id))


def can_see_department(user: User, department_id: int) -> bool:
    """True if ``department_id`` is within ``user``'s visible departments."""
    return db.session.execute(
        select(Department.id).where(Department.id == department_id, Department.id.in_(visible_department_ids(user)))
    ).first() is not None


def scope_roots(user: User) -> list[Department]:
    """The top departments an officer watches (admins: the tree's roots), by code."""
    if user.is_admin:
        query = select(Department).where(Department.parent_id.is_(None))
    else:
        query = select(Department).join(OfficerScope, OfficerScope.department_id == Department.id).where(
            OfficerScope.user_id == user.id
        )
    return list(db.session.execute(query.order_by(Department.sort_order, Department.code)).scalars())


def department_path(department: Department) -> list[Department]:
    """Ancestors from the root down to ``department`` (inclusive)."""
    rows = db.session.execute(
        select(Department)
        .join(DepartmentClosure, DepartmentClosure.ancestor_id == Department.id)
        .where(DepartmentClosure.descendant_id == department.id)
        .order_by(DepartmentClosure.depth.desc())
    ).scalars()
    return list(rows)


def grant_officer_scope(user: User, department: Department) -> OfficerScope:
    """Let ``user`` watch ``department``'s subtree (idempotent). Flushes."""
    existing = db.session.execute(
        select(OfficerScope).where(OfficerScope.user_id == user.id, OfficerScope.department_id == department.id)
    ).scalar_one_or_none()
    if existing:
        return existing
    scope = OfficerScope(user=user, department=department)
    db.session.add(scope)
    db.session.flush()
    return scope
