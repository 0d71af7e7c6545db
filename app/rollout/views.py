"""Officer dashboard and drill-down. Every figure is scoped in the query to the viewer's departments."""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, abort, render_template, request
from flask_login import current_user

from app.core.permissions import officer_required
from app.core.time import local_today
from app.extensions import db
from app.org.models import Department
from app.org.services import can_see_department, department_path
from app.rollout import services
from app.rollout.models import RolloutPlan

bp = Blueprint("rollout", __name__, url_prefix="/dashboard")


def _as_of() -> dt.date:
    raw = request.args.get("as_of")
    if raw:
        try:
            return dt.date.fromisoformat(raw)
        except ValueError:
            abort(400)
    return local_today()


def _plan(plans: list[RolloutPlan]) -> RolloutPlan | None:
    plan_id = request.args.get("plan", type=int)
    if plan_id is None:
        return plans[0] if plans else None
    plan = next((p for p in plans if p.id == plan_id), None)
    if plan is None:
        abort(404)
    return plan


@bp.route("/")
@officer_required
def dashboard():
    """Per-department completion against the plan, as a tree with subtotals."""
    plans = services.plans_for(current_user)
    plan = _plan(plans)
    as_of = _as_of()
    rows = services.flatten(services.department_figures(plan, current_user, as_of)) if plan else []
    return render_template("rollout/dashboard.html", plans=plans, plan=plan, rows=rows, as_of=as_of,
                           target=services.target_percent(plan, as_of) if plan else None)


@bp.route("/departments/<int:department_id>")
@officer_required
def department(department_id: int):
    """Who in this department's subtree has not finished, with their progress (404 outside scope)."""
    plans = services.plans_for(current_user)
    plan = _plan(plans)
    department = db.session.get(Department, department_id)
    if department is None or plan is None or not can_see_department(current_user, department_id):
        abort(404)
    as_of = _as_of()
    page = max(1, request.args.get("page", 1, type=int))
    per_page = 100
    staff = services.unfinished_staff(plan, current_user, department_id, as_of, limit=per_page + 1,
                                      offset=(page - 1) * per_page)
    forest = services.department_figures(plan, current_user, as_of)
    figures = next((f for f in services.flatten(forest) if f.department.id == department_id), None)
    path = [d for d in department_path(department) if can_see_department(current_user, d.id)]
    return render_template("rollout/department.html", plan=plan, department=department, figures=figures,
                           staff=staff[:per_page], has_more=len(staff) > per_page, page=page, as_of=as_of, path=path)
