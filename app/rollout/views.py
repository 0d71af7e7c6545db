"""Officer dashboard, drill-down and person record. Every figure is scoped in the query to the viewer's
departments; every query argument is checked (400 with a clear message) before any query runs."""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, abort, make_response, render_template, request
from flask_babel import _
from flask_login import current_user

from app.core.inputs import parse_id, parse_page, parse_query_date
from app.core.permissions import officer_required
from app.core.time import local_today
from app.extensions import db
from app.org.models import Department
from app.org.services import can_see_department, department_path, scope_roots
from app.rollout import chart, exports, services, skills, trend
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
                           target=services.target_percent(plan, as_of) if plan else None,
                           trend=_scope_trend(plan, as_of, rows) if plan else None)


def _scope_name(rows) -> str:
    return "、".join(r.department.name for r in rows if r.level == 0) or _("your departments")


def _scope_trend(plan: RolloutPlan, as_of: dt.date, rows: list, *, with_missing: bool = True) -> dict:
    """Trend of the viewer's top departments together (their subtrees), its forecast, the departments
    projected to miss the next milestone, and the chart (see :mod:`app.rollout.trend`)."""
    roots = [r for r in rows if r.level == 0]
    live = (sum(r.eligible for r in roots), sum(r.certified for r in roots))
    return _trend(plan, as_of, [r.department.id for r in roots], live, _scope_name(rows), rows if with_missing else [])


def _trend(plan: RolloutPlan, as_of: dt.date, department_ids: list[int], live: tuple[int, int], scope: str,
           rows: list) -> dict:
    points = trend.trend_series(plan, department_ids, as_of, live)
    result = trend.forecast(plan, as_of, points)
    return {"points": points, "forecast": result, "scope": scope,
            "missing": trend.departments_missing(plan, as_of, rows) if rows else [],
            "svg": chart.trend_svg(plan, points, result, scope=scope)}


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
    trend_data = (_trend(plan, as_of, [department.id], (figures.eligible, figures.certified), department.name, [])
                  if figures else None)
    query = {"plan": plan.id, "as_of": as_of.isoformat(), "status": args["status"], "sort": args["sort"],
             "dir": "desc" if descending else "asc", "position": args["position"] or "",
             "overdue": "1" if args["overdue"] else "", "exhausted": "1" if args["exhausted"] else ""}
    return render_template("rollout/department.html", plan=plan, department=department, figures=figures,
                           result=result, covered=covered, as_of=as_of, path=path, query=query,
                           statuses=services.STATUS_FILTERS, trend=trend_data)


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
    skills_plan = plan or (plans[0] if plans else None)
    person_skills = (skills.person_skills(skills_plan, current_user, user_id, as_of) if skills_plan else None)
    return render_template("rollout/person.html", record=record, plan=plan, as_of=as_of, skills_plan=skills_plan,
                           person_skills=person_skills)


@bp.route("/skills")
@officer_required
def skills_page():
    """Skills map: a department (default: the viewer's top departments) and its sub-departments × the
    standard items, share of exam points earned (404 for a department outside scope)."""
    plans = services.plans_for(current_user)
    plan = _plan(plans)
    if plan is None:
        abort(404)
    as_of = _as_of(plan)
    department_id = parse_id(request.args.get("department"))  # a 400 for anything but a plain id
    if department_id is not None:
        department = db.session.get(Department, department_id)
        if department is None or not can_see_department(current_user, department_id):
            abort(404)
        tops = [department]
    else:
        department = None
        tops = scope_roots(current_user)
    ids = [d.id for d in tops] + [child.id for d in tops for child in d.children]
    result = skills.skills_map(plan, current_user, as_of, department_ids=ids)
    path = [d for d in department_path(department) if can_see_department(current_user, d.id)] if department else []
    return render_template("rollout/skills.html", plans=plans, plan=plan, as_of=as_of, result=result,
                           department=department, path=path, min_people=skills.MIN_PEOPLE,
                           definition=exports.skills_definition())


def _download(body: bytes, mimetype: str, filename: str):
    response = make_response(body)
    response.mimetype = mimetype
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@bp.route("/export.xlsx")
@officer_required
def export_xlsx():
    """XLSX of the dashboard for the chosen plan and date, the viewer's departments only."""
    plan = _plan(services.plans_for(current_user))
    if plan is None:
        abort(404)
    as_of = _as_of(plan)
    return _download(exports.workbook(plan, current_user, as_of),
                     "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                     f"rollout-{plan.id}-{as_of.isoformat()}.xlsx")


@bp.route("/summary.pdf")
@officer_required
def export_pdf():
    """One-page PDF summary (figures, trend chart, forecast, departments behind) of the viewer's scope."""
    plan = _plan(services.plans_for(current_user))
    if plan is None:
        abort(404)
    as_of = _as_of(plan)
    rows = services.flatten(services.department_figures(plan, current_user, as_of))
    data = _scope_trend(plan, as_of, rows)
    body = exports.summary_pdf(plan, current_user, as_of, scope=data["scope"], points=data["points"],
                               result=data["forecast"], missing=data["missing"], rows=rows)
    return _download(body, "application/pdf", f"rollout-summary-{plan.id}-{as_of.isoformat()}.pdf")


@bp.route("/departments/<int:department_id>/people.csv")
@officer_required
def export_csv(department_id: int):
    """CSV of the drill-down (same filters and sort as the page, every page); 404 outside scope."""
    plan = _plan(services.plans_for(current_user))
    if plan is None or db.session.get(Department, department_id) is None \
            or not can_see_department(current_user, department_id):
        abort(404)
    as_of = _as_of(plan)
    filters = {
        "status": _choice("status", services.STATUS_FILTERS, "unfinished"),
        "sort": _choice("sort", services.SORT_KEYS, "status"),
        "position": request.args.get("position", "").strip()[:100] or None,
        "overdue": request.args.get("overdue") == "1",
        "exhausted": request.args.get("exhausted") == "1",
        "descending": _choice("dir", ("asc", "desc"), "asc") == "desc",
    }
    body = exports.drill_down_csv(plan, current_user, department_id, as_of, **filters)
    return _download(body, "text/csv", f"people-{department_id}-{as_of.isoformat()}.csv")
