"""Department tree maintenance and officer scoping.

Every officer-facing query restricts departments with :func:`visible_department_ids`, so an
officer never sees a department outside the subtrees in their scopes (admins see all).
"""
from __future__ import annotations

from sqlalchemy import Select, delete, func, insert, select, update

from app.audit.services import record
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
    login session of theirs. Sets ``deactivated_at`` (UTC, now) on deactivation and clears it on
    reactivation (past rollout figures count the person up to that instant). Returns True if the state changed (False if it already was so). Raises
    ValueError when ``actor`` tries to deactivate themself. Audited. Flushes; caller commits."""
    from app.auth.services import revoke_sessions
    from app.core.time import utcnow

    if not active and actor is not None and actor.id == user.id:
        raise ValueError("you cannot deactivate yourself")
    result = db.session.execute(
        update(User).where(User.id == user.id, User.active.is_(not active))
        .values(active=active, updated_at=utcnow(), deactivated_at=None if active else utcnow())
        .execution_options(synchronize_session=False))
    db.session.refresh(user)
    if result.rowcount == 0:
        return False
    if not active:
        revoke_sessions(user)
    record(actor.id if actor else None, "user.deactivate" if not active else "user.reactivate", f"user:{user.id}",
           {"staff_number": user.staff_number})
    return True


def set_user_roles(user: User, *, is_admin: bool, is_examiner: bool, officer_of: list[int],
                   actor: User | None = None) -> list[str]:
    """Set ``user``'s roles: the two flags and officer scopes (exactly the departments ``officer_of``,
    ids that must exist). Returns the names of what changed (``"is_admin"``, ``"is_examiner"``,
    ``"officer_of"``), audited with old and new values. Raises ValueError when ``actor`` would remove
    their own administrator role or an id is unknown. Flushes; caller commits."""
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
        record(actor.id if actor else None, "user.roles", f"user:{user.id}",
               {"staff_number": user.staff_number, **details})
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


# --- department tree administration ----------------------------------------------------------

class DepartmentError(ValueError):
    """A department change was refused; ``message`` is translated and says why (nothing changed)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def _check_department_name(name: str) -> str:
    from flask_babel import gettext as _

    name = (name or "").strip()
    if not name:
        raise DepartmentError(_("Name: please enter a name."))
    if len(name) > 200:
        raise DepartmentError(_("Name: at most %(n)s characters.", n=200))
    return name


def add_department(code: str, name: str, parent: Department | None, *, actor: User | None = None,
                   name_en: str | None = None) -> Department:
    """Add a department under ``parent`` (None: a new root), through :func:`create_department` (as the
    import does). ``code``: 1-40 characters without spaces, commas or semicolons, unique. Raises
    DepartmentError (bad or taken code, empty name, retired parent). Audited. Flushes."""
    from flask_babel import gettext as _

    from app.org.imports import BAD_CODE_CHARS

    code = (code or "").strip()
    if not code or len(code) > 40 or BAD_CODE_CHARS.search(code):
        raise DepartmentError(_("Code: 1 to 40 characters without spaces, commas or semicolons."))
    name = _check_department_name(name)
    if db.session.execute(select(Department.id).where(Department.code == code)).first() is not None:
        raise DepartmentError(_("Code: %(code)s is already used by another department.", code=code))
    if parent is not None and not parent.active:
        raise DepartmentError(_("%(name)s is retired: a department cannot be added under it.", name=parent.name))
    siblings = select(func.coalesce(func.max(Department.sort_order), 0)).where(
        Department.parent_id == parent.id if parent is not None else Department.parent_id.is_(None))
    department = create_department(code, name, parent, name_en=(name_en or "").strip() or None,
                                   sort_order=db.session.execute(siblings).scalar_one() + 1)
    record(actor.id if actor else None, "department.create", f"department:{department.id}",
           {"code": code, "name": name, "parent": parent.code if parent is not None else None})
    return department


def rename_department(department: Department, name: str, name_en: str | None = None, *,
                      actor: User | None = None) -> bool:
    """Set the Chinese name (required) and English name (empty: none). Returns True if anything
    changed. Raises DepartmentError for an empty or too long name. Audited. Flushes."""
    name = _check_department_name(name)
    name_en = (name_en or "").strip()[:200] or None
    if (department.name, department.name_en) == (name, name_en):
        return False
    record(actor.id if actor else None, "department.rename", f"department:{department.id}",
           {"code": department.code, "name": [department.name, name], "name_en": [department.name_en, name_en]})
    department.name, department.name_en = name, name_en
    db.session.flush()
    return True


def move_department(department: Department, new_parent: Department | None, *, actor: User | None = None) -> bool:
    """Move ``department`` (with its whole subtree) under ``new_parent`` (None: make it a root).

    The closure table is updated in three statements (the standard closure-table move): delete the
    pairs linking the subtree to its old ancestors, insert the cross product of the new parent's
    ancestors and the subtree (``INSERT … SELECT``), shift the subtree's depths. Returns False if the
    parent is unchanged. Raises DepartmentError when ``new_parent`` is the department itself or inside
    its subtree (that would make a cycle), or is retired. Audited. Flushes.
    """
    from flask_babel import gettext as _
    from sqlalchemy.orm import aliased

    old_parent_id = department.parent_id
    if (new_parent.id if new_parent is not None else None) == old_parent_id:
        return False
    subtree = select(DepartmentClosure.descendant_id).where(DepartmentClosure.ancestor_id == department.id)
    if new_parent is not None:
        inside = db.session.execute(select(DepartmentClosure.depth).where(
            DepartmentClosure.ancestor_id == department.id,
            DepartmentClosure.descendant_id == new_parent.id)).first()
        if inside is not None:
            raise DepartmentError(_("%(target)s is %(name)s itself or one of its sub-departments: a department "
                                    "cannot be moved under its own subtree.", target=new_parent.name,
                                    name=department.name))
        if not new_parent.active:
            raise DepartmentError(_("%(name)s is retired: a department cannot be moved under it.",
                                    name=new_parent.name))
    old_ancestors = list(db.session.execute(select(DepartmentClosure.ancestor_id).where(
        DepartmentClosure.descendant_id == department.id, DepartmentClosure.depth > 0)).scalars())
    if old_ancestors:
        db.session.execute(delete(DepartmentClosure).where(
            DepartmentClosure.descendant_id.in_(subtree), DepartmentClosure.ancestor_id.in_(old_ancestors))
            .execution_options(synchronize_session=False))
    new_depth = 0
    if new_parent is not None:
        above, below = aliased(DepartmentClosure), aliased(DepartmentClosure)
        db.session.execute(insert(DepartmentClosure).from_select(
            ["ancestor_id", "descendant_id", "depth"],
            select(above.ancestor_id, below.descendant_id, above.depth + below.depth + 1)
            .where(above.descendant_id == new_parent.id, below.ancestor_id == department.id)))
        new_depth = new_parent.depth + 1
    shift = new_depth - department.depth
    if shift:
        db.session.execute(update(Department).where(Department.id.in_(subtree))
                           .values(depth=Department.depth + shift).execution_options(synchronize_session=False))
    old_parent = db.session.get(Department, old_parent_id) if old_parent_id else None
    db.session.execute(update(Department).where(Department.id == department.id)
                       .values(parent_id=new_parent.id if new_parent is not None else None)
                       .execution_options(synchronize_session=False))
    record(actor.id if actor else None, "department.move", f"department:{department.id}",
           {"code": department.code, "parent": [old_parent.code if old_parent else None,
                                                 new_parent.code if new_parent is not None else None]})
    db.session.flush()
    db.session.expire_all()
    return True


def active_staff_in_subtree(department: Department) -> int:
    """Number of active staff in ``department`` and every department below it (one COUNT)."""
    return db.session.execute(select(func.count()).select_from(User).where(
        User.active.is_(True), User.department_id.in_(subtree_ids([department.id])))).scalar_one()


def retire_department(department: Department, *, actor: User | None = None) -> int:
    """Retire ``department`` and every sub-department (``active = false``; rows stay, so history and
    reports keep their names). Refused with DepartmentError naming the count while any active staff
    member is in the subtree. Returns how many departments were retired (0 if already retired).
    Audited. Flushes."""
    from flask_babel import gettext as _

    staff = active_staff_in_subtree(department)
    if staff:
        raise DepartmentError(_("%(name)s cannot be retired: %(n)s active staff member(s) are in it or its "
                                "sub-departments. Move or deactivate them first.", name=department.name, n=staff))
    retired = db.session.execute(update(Department).where(
        Department.id.in_(subtree_ids([department.id])), Department.active.is_(True))
        .values(active=False).execution_options(synchronize_session=False)).rowcount
    if retired:
        record(actor.id if actor else None, "department.retire", f"department:{department.id}",
               {"code": department.code, "departments": retired})
    db.session.expire_all()
    return retired


def reactivate_department(department: Department, *, actor: User | None = None) -> bool:
    """Make a retired department active again (not its sub-departments). Refused with DepartmentError
    while its parent is retired. Returns True if it changed. Audited. Flushes."""
    from flask_babel import gettext as _

    if department.parent is not None and not department.parent.active:
        raise DepartmentError(_("Reactivate %(parent)s first: %(name)s is under it.",
                                parent=department.parent.name, name=department.name))
    changed = db.session.execute(update(Department).where(Department.id == department.id,
                                                          Department.active.is_(False))
                                 .values(active=True).execution_options(synchronize_session=False)).rowcount
    if changed:
        record(actor.id if actor else None, "department.reactivate", f"department:{department.id}",
               {"code": department.code})
    db.session.expire_all()
    return bool(changed)


def department_tree() -> list[tuple[Department, int, list]]:
    """The whole tree for the admin page: ``[(department, active staff directly in it, children), ...]``
    for the roots, children recursively in the same shape, ordered by sort order and code.
    Two queries (departments; staff counts grouped by department)."""
    departments = list(db.session.execute(select(Department).order_by(Department.sort_order, Department.code))
                       .scalars())
    counts = dict(db.session.execute(select(User.department_id, func.count()).where(User.active.is_(True))
                                     .group_by(User.department_id)).all())
    children: dict[int | None, list] = {}
    nodes = {}
    for department in departments:
        nodes[department.id] = (department, counts.get(department.id, 0), [])
    for department in departments:
        parent = department.parent_id if department.parent_id in nodes else None
        children.setdefault(parent, []).append(nodes[department.id])
    for department_id, node in nodes.items():
        node[2].extend(children.get(department_id, []))
    return children.get(None, [])


def move_targets(department: Department) -> list[Department]:
    """Active departments ``department`` may be moved under: everything outside its own subtree."""
    return list(db.session.execute(select(Department).where(
        Department.active.is_(True), Department.id.not_in(subtree_ids([department.id])))
        .order_by(Department.code)).scalars())
