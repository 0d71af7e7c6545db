"""Officer dashboard, drill-down and person record. Every figure is scoped in the query to the viewer's
departments; every query argument is checked (400 with a clear message) before any query runs."""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, abort, render_template, request
from flask_babel import _
from flask_login import current_user

from app.core.inputs import parse_page, parse_query_date
from app.core.permissions import officer_required
from app.core.time import local_today
from app.extensions import db
from app.org.models import Department
from app.org.services import can_see_department, department_path
from app.rollout import services
from app.rollout.models import RolloutPlan

bp = Blueprint("rollout", __name__, url_prefix="/dashboard")

MAX_PAGE = 100_000
PER_PAGE = 50


def _as_of(plan: RolloutPlan | None) -> dt.date:
    """``?as_of=YYYY-MM-DD`` (default today), between a year before the plan's start and five years
    from today; anything else is a 400 that says what is accepted (:func:`app.core.inputs.parse_query_date`)."""
    today = local_today()
    earliest = (plan.starts_on if plan else today) - dt.timedelta(days=366)
    return parse_query_date(request.args.get("as_of"), today, earliest=earliest,
                            latest=today + dt.timedelta(days=5 * 366))


def _page() -> int:
    """``?page=N``: a whole number from 1 to MAX_PAGE (default 1), else a 400 (:func:`app.core.inputs.parse_page`)."""
    return parse_page(request.args.get("page"), 1, maximum=MAX_PAGE)


def _choice(name: str, allowed: tuple, default: str) -> str:
    value = request.args.get(name, default) or default
    if value not in allowed:
        abort(400, description=_("“%(value)s” is not a valid choice for %(name)s.", value=value[:40], name=name))
    return value


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
    """Per-department figures against the plan, as a tree with subtotals."""
    plans = services.plans_for(current_user)
    plan = _plan(plans)
    as_of = _as_of(plan)
    rows = services.flatten(services.department_figures(plan, current_user, as_of)) if plan else []
    uncovered = services.uncovered_scope(plan, current_user) if plan else []
    return render_template("rollout/dashboard.html", plans=plans, plan=plan, rows=rows, as_of=as_of,
                           uncovered=uncovered, quota=services.annual_quota(),
                           target=services.target_percent(plan, as_of) if plan else None)


@bp.route("/departments/<int:department_id>")
@officer_required
def department(department_id: int):
    """The people in this department's subtree with their progress: filters, sorting, paging (404 outside scope)."""
    plans = services.plans_for(current_user)
    plan = _plan(plans)
    department = db.session.get(Department, department_id)
    if department is None or plan is None or not can_see_department(current_user, department_id):
        abort(404)
    as_of = _as_of(plan)
    page = _page()
    args = {
        "status": _choice("status", services.STATUS_FILTERS, "unfinished"),
        "sort": _choice("sort", services.SORT_KEYS, "status"),
        "position": request.args.get("position", "").strip()[:100] or None,
        "overdue": request.args.get("overdue") == "1",
        "exhausted": request.args.get("exhausted") == "1",
    }
    descending = _choice("dir", ("asc", "desc"), "asc") == "desc"
    covered = services.covers_department(plan, department_id)
    result = services.drill_down(plan, current_user, department_id, as_of, page=page, per_page=PER_PAGE,
                                 descending=descending, **args) if covered else None
    if result is not None and page > result.pages:
        abort(400, description=_("Page %(page)s does not exist: there are %(pages)s pages.",
                                 page=page, pages=result.pages))
    figures = None
    if result is not None and result.counts["eligible"]:
        counts = result.counts  # the subtree's completion from the drill-down's own counts (no second aggregate)
        figures = services.DepartmentFigures(department=department, level=0, eligible=counts["eligible"],
                                             started=counts["eligible"] - counts["not_started"],
                                             certified=counts["certified"], target=services.target_percent(plan, as_of))
    path = [d for d in department_path(department) if can_see_department(current_user, d.id)]
    query = {"plan": plan.id, "as_of": as_of.isoformat(), "status": args["status"], "sort": args["sort"],
             "dir": "desc" if descending else "asc", "position": args["position"] or "",
             "overdue": "1" if args["overdue"] else "", "exhausted": "1" if args["exhausted"] else ""}
    return render_template("rollout/department.html", plan=plan, department=department, figures=figures,
                           result=result, covered=covered, as_of=as_of, path=path, query=query,
                           statuses=services.STATUS_FILTERS)


@bp.route("/people/<int:user_id>")
@officer_required
def person(user_id: int):
    """One person's training record (404 outside the officer's scope)."""
    record = services.person_record(current_user, user_id)
    if record is None:
        abort(404)
    plans = services.plans_for(current_user)
    plan = _plan(plans) if request.args.get("plan") else None
    as_of = _as_of(plan) if plan else local_today()
    return render_template("rollout/person.html", record=record, plan=plan, as_of=as_of)
