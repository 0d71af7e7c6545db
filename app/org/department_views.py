"""Department tree administration (admins): view the tree, add, rename, move, retire, reactivate.

Thin views over the department services in :mod:`app.org.services`; every change is audited there.
"""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from app.core.inputs import parse_id
from app.core.permissions import admin_required
from app.extensions import db
from app.org.models import Department
from app.org.services import (DepartmentError, active_staff_in_subtree, add_department, department_path,
                              department_tree, move_department, move_targets, reactivate_department,
                              rename_department, retire_department)
from app.org.views import bp


def _department_or_404(department_id: int) -> Department:
    return db.session.get(Department, department_id) or abort(404)


def _form_department(name: str) -> Department | None:
    """The department whose id is posted in field ``name`` (empty: None); 400 for a malformed or unknown id."""
    raw = request.form.get(name, "")
    if raw == "":
        return None
    department_id = parse_id(raw)
    department = db.session.get(Department, department_id) if department_id else None
    if department is None:
        abort(400, description=_("The department you chose does not exist."))
    return department


@bp.route("/departments/")
@admin_required
def departments():
    """The department tree with active staff per department, and a form to add a top-level department."""
    return render_template("org/departments.html", roots=department_tree())


@bp.route("/departments/<int:department_id>")
@admin_required
def department(department_id: int):
    """One department: its path, staff count, and forms to rename, move, add a sub-department, retire."""
    item = _department_or_404(department_id)
    return render_template("org/department.html", department=item, path=department_path(item),
                           staff=active_staff_in_subtree(item), targets=move_targets(item),
                           children=list(db.session.execute(select(Department).where(Department.parent_id == item.id)
                                                            .order_by(Department.sort_order, Department.code)).scalars()))


def _done(department_id: int | None, message: str | None = None):
    db.session.commit()
    if message:
        flash(message, "success")
    return redirect(url_for("org.department", department_id=department_id) if department_id
                    else url_for("org.departments"))


def _refused(error: DepartmentError, department_id: int | None):
    db.session.rollback()
    flash(error.message, "error")
    return redirect(url_for("org.department", department_id=department_id) if department_id
                    else url_for("org.departments"))


@bp.route("/departments/add", methods=["POST"])
@admin_required
def add_department_view():
    """Add a department (``parent_id`` empty: a new top-level department)."""
    parent = _form_department("parent_id")
    try:
        created = add_department(request.form.get("code", "")[:100], request.form.get("name", "")[:400], parent,
                                 name_en=request.form.get("name_en", "")[:400], actor=current_user)
    except DepartmentError as error:
        return _refused(error, parent.id if parent else None)
    return _done(created.id, _("%(name)s was added.", name=created.name))


@bp.route("/departments/<int:department_id>/rename", methods=["POST"])
@admin_required
def rename_department_view(department_id: int):
    """Rename (Chinese and English names)."""
    item = _department_or_404(department_id)
    try:
        changed = rename_department(item, request.form.get("name", "")[:400], request.form.get("name_en", "")[:400],
                                    actor=current_user)
    except DepartmentError as error:
        return _refused(error, item.id)
    return _done(item.id, _("Name saved.") if changed else _("Nothing changed."))


@bp.route("/departments/<int:department_id>/move", methods=["POST"])
@admin_required
def move_department_view(department_id: int):
    """Move under another department (empty: make it top-level); refused under its own subtree."""
    item = _department_or_404(department_id)
    target = _form_department("parent_id")
    try:
        changed = move_department(item, target, actor=current_user)
    except DepartmentError as error:
        return _refused(error, item.id)
    return _done(item.id, _("Department moved.") if changed else _("Nothing changed."))


@bp.route("/departments/<int:department_id>/retire", methods=["POST"])
@admin_required
def retire_department_view(department_id: int):
    """Retire (with its sub-departments) when nobody active works there; reactivate with ``active=1``."""
    item = _department_or_404(department_id)
    try:
        if request.form.get("active") == "1":
            changed = reactivate_department(item, actor=current_user)
            return _done(item.id, _("Department reactivated.") if changed else _("Nothing changed."))
        retired = retire_department(item, actor=current_user)
    except DepartmentError as error:
        return _refused(error, item.id)
    return _done(item.id, _("%(n)s department(s) retired.", n=retired) if retired else _("Nothing changed."))
