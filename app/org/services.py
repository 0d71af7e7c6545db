"""Department tree maintenance and officer scoping.

Every officer-facing query restricts departments with :func:`visible_department_ids`, so an
officer never sees a department outside the subtrees in their scopes (admins see all).
"""
from __future__ import annotations

from sqlalchemy import Select, delete, func, insert, select, update

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


# --- people administration ------------------------------------------------------------------

PEOPLE_PAGE_SIZE = 50


def search_people(text: str = "", page: int = 1, per_page: int = PEOPLE_PAGE_SIZE,
                  status: str = "all") -> tuple[list[tuple[User, str | None]], int]:
    """One page of people matching ``text`` (substring of staff number or name, case-insensitive),
    ordered by staff number; ``status`` is ``"all"``, ``"active"`` or ``"inactive"``.

    Returns ``([(user, department name), ...], total matches)``: one query for the page (users joined
    to their department) and one for the count. ``page`` starts at 1; past the end gives an empty list.
    """
    where = []
    text = (text or "").strip()
    if text:
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        where.append((User.staff_number.ilike(pattern, escape="\\")) | (User.name.ilike(pattern, escape="\\")))
    if status == "active":
        where.append(User.active.is_(True))
    elif status == "inactive":
        where.append(User.active.is_(False))
    total = db.session.execute(select(func.count()).select_from(User).where(*where)).scalar_one()
    rows = db.session.execute(
        select(User, Department.name).outerjoin(Department, Department.id == User.department_id).where(*where)
        .order_by(User.staff_number).limit(per_page).offset((max(page, 1) - 1) * per_page)
    ).all()
    return [(user, name) for user, name in rows], total


def set_user_active(user: User, active: bool, *, actor: User | None = None) -> bool:
    """Deactivate or reactivate ``user`` by one conditional UPDATE; deactivation also ends every open
    login session of theirs. Returns True if the state changed (False if it already was so). Raises
    ValueError when ``actor`` tries to deactivate themself. Audited. Flushes; caller commits."""
    from app.auth.services import revoke_sessions
    from app.core.time import utcnow
    from app.org.audit import audit

    if not active and actor is not None and actor.id == user.id:
        raise ValueError("you cannot deactivate yourself")
    result = db.session.execute(
        update(User).where(User.id == user.id, User.active.is_(not active))
        .values(active=active, updated_at=utcnow()).execution_options(synchronize_session=False))
    db.session.refresh(user)
    if result.rowcount == 0:
        return False
    if not active:
        revoke_sessions(user)
    audit("user.deactivate" if not active else "user.reactivate", actor=actor, target=f"user:{user.staff_number}")
    return True


def set_user_roles(user: User, *, is_admin: bool, is_examiner: bool, officer_of: list[int],
                   actor: User | None = None) -> list[str]:
    """Set ``user``'s roles: the two flags and officer scopes (exactly the departments ``officer_of``,
    ids that must exist). Returns the names of what changed (``"is_admin"``, ``"is_examiner"``,
    ``"officer_of"``), audited with old and new values. Raises ValueError when ``actor`` would remove
    their own administrator role or an id is unknown. Flushes; caller commits."""
    from app.org.audit import audit

    if actor is not None and actor.id == user.id and user.is_admin and not is_admin:
        raise ValueError("you cannot remove your own administrator role")
    wanted = set(officer_of)
    known = set(db.session.execute(select(Department.id).where(Department.id.in_(wanted))).scalars())
    if known != wanted:
        raise ValueError(f"unknown department id(s): {sorted(wanted - known)}")
    changed, details = [], {}
    for attr, value in (("is_admin", is_admin), ("is_examiner", is_examiner)):
        if getattr(user, attr) != value:
            details[attr] = [getattr(user, attr), value]
            setattr(user, attr, value)
            changed.append(attr)
    current = {scope.department_id for scope in user.officer_scopes}
    if current != wanted:
        for scope in list(user.officer_scopes):
            if scope.department_id not in wanted:
                user.officer_scopes.remove(scope)
        for department_id in sorted(wanted - current):
            user.officer_scopes.append(OfficerScope(department_id=department_id))
        details["officer_of"] = [sorted(current), sorted(wanted)]
        changed.append("officer_of")
    db.session.flush()
    if changed:
        audit("user.roles", actor=actor, target=f"user:{user.staff_number}", **details)
    return changed


def user_transfers(user: User) -> list[tuple]:
    """``user``'s transfers, newest first: ``[(StaffTransfer, from name or None, to name), ...]``."""
    from sqlalchemy.orm import aliased

    from app.org.models import StaffTransfer

    source, target = aliased(Department), aliased(Department)
    return [tuple(row) for row in db.session.execute(
        select(StaffTransfer, source.name, target.name)
        .outerjoin(source, source.id == StaffTransfer.from_department_id)
        .join(target, target.id == StaffTransfer.to_department_id)
        .where(StaffTransfer.user_id == user.id).order_by(StaffTransfer.effective_at.desc()))]
