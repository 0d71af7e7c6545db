"""Officer dashboard, drill-down and person record. Every figure is scoped in the query to the viewer's
departments; every query argument is checked (400 with a clear message) before any query runs."""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, abort, flash, make_response, redirect, render_template, request, url_for
from flask_babel import _
from flask_login import current_user

from app.auth.models import User
from app.core.errors import DomainError
from app.core.inputs import parse_id, parse_page, parse_query_date
from app.core.permissions import admin_required, officer_required, refuse_out_of_scope
from app.core.time import local_today
from app.exams import overrides as grants
from app.exams.forms import GRADE_LABELS
from app.exams.models import Exam
from app.extensions import db
from app.org.models import Department
from app.org.services import can_see_department, department_path, scope_roots
from app.rollout import chart, editing, exports, services, skills, trend
from app.rollout.forms import (ExemptionForm, PlanForm, WaveForm, kept_milestone_rows, plan_input_from, wave_input_from,
                               wave_milestones_from)
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
    if plan is None:  # an active plan outside the viewer's scope is a refusal; any other id is simply absent
        other = db.session.get(RolloutPlan, plan_id)
        refuse_out_of_scope(RolloutPlan, plan_id if other is not None and other.active else None, "plan")
    return plan


@bp.route("/")
@officer_required
def dashboard():
    """Per-department figures against the plan, as a tree with subtotals."""
    plans = services.plans_for(current_user)
    plan = _plan(plans)
    as_of = _as_of(plan)
    # Whole-city views of today come from today's snapshot while it is fresh (``?live=1`` counts now).
    served = services.dashboard_figures(plan, current_user, as_of, live=request.args.get("live") == "1") \
        if plan else services.ServedFigures([])
    rows = services.flatten(served.forest)
    # Over FULL_TABLE_ROWS departments (the city: 1,000) the table shows the top two levels, each
    # collapsed department with a link that opens it (?expand=id, repeatable); ?all=1 shows every one.
    expanded = {i for i in (parse_id(raw) for raw in request.args.getlist("expand")[:50]) if i is not None}
    show_all = request.args.get("all") == "1" or len(rows) <= services.FULL_TABLE_ROWS
    table = [(r, False) for r in rows] if show_all else services.table_rows(served.forest, expanded)
    uncovered = services.uncovered_scope(plan, current_user) if plan else []
    trend_data = _scope_trend(plan, as_of, rows, taken_at=served.taken_at) if plan else None
    targets = trend_data["targets"] if trend_data else None  # a scope inside one wave: the wave's milestones
    return render_template("rollout/dashboard.html", plans=plans, plan=plan, rows=rows, table=table,
                           expanded=sorted(expanded), collapsed_view=not show_all, as_of=as_of,
                           taken_at=served.taken_at, uncovered=uncovered, quota=services.annual_quota(),
                           targets=targets, target=targets.target(as_of) if targets else None, trend=trend_data)


def _scope_name(rows) -> str:
    return "、".join(r.department.name for r in rows if r.level == 0) or _("your departments")


def _scope_trend(plan: RolloutPlan, as_of: dt.date, rows: list, *, with_missing: bool = True,
                 taken_at: dt.datetime | None = None) -> dict:
    """Trend of the viewer's top departments together (their subtrees), its forecast, the departments
    projected to miss the next milestone, and the chart (see :mod:`app.rollout.trend`), measured
    against the scope's milestones (``targets``: :func:`app.rollout.services.scope_targets`, a wave's
    when the whole scope is in one). ``taken_at``: the figures come from today's snapshot taken then,
    and so may the missing list (its first :data:`MISSING_SHOWN`, :func:`app.rollout.trend.stored_missing`)."""
    roots = [r for r in rows if r.level == 0]
    live = (sum(r.eligible for r in roots), sum(r.certified for r in roots))
    root_ids = [r.department.id for r in roots]
    targets = services.scope_targets(plan, root_ids, [r.department.id for r in rows])
    data = _trend(plan, as_of, root_ids, live, _scope_name(rows), rows if with_missing else [], targets.wave,
                  taken_at=taken_at)
    return {**data, "targets": targets}


MISSING_SHOWN = 20  # departments projected to miss, listed on the page (all of them in the XLSX export)


def _trend(plan: RolloutPlan, as_of: dt.date, department_ids: list[int], live: tuple[int, int], scope: str,
           rows: list, wave=None, *, taken_at: dt.datetime | None = None) -> dict:
    """``wave``: the wave whose milestones a single department follows (target line and forecast);
    ``taken_at``: the snapshot the rows were served from (its stored "projected to miss" list is used)."""
    points = trend.trend_series(plan, department_ids, as_of, live, wave)
    result = trend.forecast(plan, as_of, points, services.milestones_for(plan, wave))
    stored = trend.stored_missing(plan, taken_at, MISSING_SHOWN) if rows and taken_at is not None else None
    if stored is None:
        missing = trend.departments_missing(plan, as_of, rows) if rows else []
        stored = (missing, len(missing))
    return {"points": points, "forecast": result, "scope": scope, "missing": stored[0], "missing_count": stored[1],
            "svg": chart.trend_svg(plan, points, result, scope=scope, wave=wave)}


@bp.route("/departments/<int:department_id>")
@officer_required
def department(department_id: int):
    """The people in this department's subtree with their progress: filters, sorting, paging (404 outside scope)."""
    plans = services.plans_for(current_user)
    plan = _plan(plans)
    department = db.session.get(Department, department_id)
    if department is not None and not can_see_department(current_user, department_id):
        refuse_out_of_scope(Department, department_id, "department")  # (before the plan: a probe is audited)
    if department is None or plan is None:
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
                                 descending=descending, live=request.args.get("live") == "1",
                                 **args) if covered else None
    if result is not None and page > result.pages:
        abort(400, description=_("Page %(page)s does not exist: there are %(pages)s pages.",
                                 page=page, pages=result.pages))
    figures = None
    if result is not None and result.counts["eligible"]:
        counts = result.counts  # the subtree's completion from the drill-down's own counts (no second aggregate)
        wave = services.plan_targets(plan).wave(department.id)  # a wave's department: its own milestones
        target = services.target_percent(plan, as_of, wave)
        figures = services.DepartmentFigures(department=department, level=0, eligible=counts["eligible"],
                                             started=counts["eligible"] - counts["not_started"],
                                             certified=counts["certified"], target=target)
    path = [d for d in department_path(department) if can_see_department(current_user, d.id)]
    trend_data = (_trend(plan, as_of, [department.id], (figures.eligible, figures.certified), department.name, [],
                         wave) if figures else None)
    query = {"plan": plan.id, "as_of": as_of.isoformat(), "status": args["status"], "sort": args["sort"],
             "dir": "desc" if descending else "asc", "position": args["position"] or "",
             "overdue": "1" if args["overdue"] else "", "exhausted": "1" if args["exhausted"] else ""}
    return render_template("rollout/department.html", plan=plan, department=department, figures=figures,
                           result=result, covered=covered, as_of=as_of, path=path, query=query,
                           statuses=services.STATUS_FILTERS, labels=exports.person_status_labels(plan), trend=trend_data)


@bp.route("/people/<int:user_id>")
@officer_required
def person(user_id: int):
    """One person's training record (404 outside the officer's scope)."""
    record = services.person_record(current_user, user_id)
    if record is None:
        refuse_out_of_scope(User, user_id, "user")
    plans = services.plans_for(current_user)
    plan = _plan(plans) if request.args.get("plan") else None
    as_of = _as_of(plan) if plan else local_today()
    return _render_person(record, plan, as_of)


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
        if department is None:
            abort(404)
        if not can_see_department(current_user, department_id):
            refuse_out_of_scope(Department, department_id, "department")
        tops = [department]
    else:
        department = None
        tops = scope_roots(current_user)
    ids = [d.id for d in tops] + [child.id for d in tops for child in d.children]
    result = skills.skills_map(plan, current_user, as_of, department_ids=ids, served=request.args.get("live") != "1")
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
                               result=data["forecast"], missing=data["missing"], rows=rows, targets=data["targets"])
    return _download(body, "application/pdf", f"rollout-summary-{plan.id}-{as_of.isoformat()}.pdf")


@bp.route("/departments/<int:department_id>/people.csv")
@officer_required
def export_csv(department_id: int):
    """CSV of the drill-down (same filters and sort as the page, every page); 404 outside scope."""
    plan = _plan(services.plans_for(current_user))
    if db.session.get(Department, department_id) is not None and not can_see_department(current_user, department_id):
        refuse_out_of_scope(Department, department_id, "department")
    if plan is None or db.session.get(Department, department_id) is None:
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


def _render_person(record: services.PersonRecord, plan: RolloutPlan | None, as_of: dt.date):
    """The person record with the officer's actions: the plans the viewer sees that hold the person
    (to exempt from, or lift), the active exams (for an extra attempt or time), the person's
    exemptions and overrides, and the audit history of these actions."""

    actions = editing.person_actions(current_user, record.user)
    plans = services.plans_for(current_user)
    skills_plan = plan or (plans[0] if plans else None)
    person_skills = (skills.person_skills(skills_plan, current_user, record.user.id, as_of) if skills_plan else None)
    return render_template("rollout/person.html", record=record, plan=plan, as_of=as_of, actions=actions,
                           skills_plan=skills_plan, person_skills=person_skills, grade_labels=GRADE_LABELS)


# --- officer actions on one person (issue 7 item 5) ---------------------------------------------

PERSON_ACTIONS = ("exempt", "lift", "extra_attempt", "extra_time")


@bp.route("/people/<int:user_id>/actions", methods=["POST"])
@officer_required
def person_action(user_id: int):
    """Exempt the person from a plan with a reason, lift an exemption, or grant an extra attempt or
    extra time on an exam. Officers: only people within their scope (404 otherwise, scoped in the
    query) and plans they can see; each change audited. Bad input: 400 with the record and a message."""

    record = services.person_record(current_user, user_id)
    if record is None:
        refuse_out_of_scope(User, user_id, "user")
    person = record.user
    action = request.form.get("action", "")
    plans = services.plans_for(current_user)
    try:
        if action not in PERSON_ACTIONS:
            raise DomainError(_("Unknown action."), code="bad_input")
        if action in ("exempt", "lift"):
            plan = next((p for p in plans if str(p.id) == request.form.get("plan_id", "")), None)
            if plan is None:
                raise DomainError(_("Plan: choose a plan."), code="bad_input")
            if action == "exempt":
                editing.exempt(current_user, plan, person, request.form.get("reason"), ip=request.remote_addr)
                message = _("%(name)s is exempted from %(plan)s.", name=person.name, plan=plan.tr("name"))
            else:
                if not editing.lift_exemption(current_user, plan, person, ip=request.remote_addr):
                    raise DomainError(_("This person is not exempted from that plan."), code="bad_input")
                message = _("The exemption from %(plan)s is lifted.", plan=plan.tr("name"))
        else:
            exam_id = request.form.get("exam_id", "")
            exam = db.session.get(Exam, int(exam_id)) if exam_id.isascii() and exam_id.isdigit() and len(exam_id) <= 9 \
                else None
            if exam is None or not exam.active:
                raise DomainError(_("Exam: choose an exam."), code="bad_input")
            reason = grants.reason_text(request.form.get("reason"))
            if action == "extra_attempt":
                total = grants.grant_extra_attempt(current_user, exam, person, reason, ip=request.remote_addr)
                message = _("Extra attempt granted: %(total)s attempts allowed.", total=total)
            else:
                minutes = grants.whole_number(request.form.get("minutes"), _("Extra minutes"), 1,
                                              grants.MAX_EXTRA_MINUTES, blank_ok=False)
                grants.grant_extra_time(current_user, exam, person, minutes, reason, ip=request.remote_addr)
                message = _("Extra time granted.")
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        record = services.person_record(current_user, user_id)
        return _render_person(record, None, local_today()), 400
    db.session.commit()
    flash(message, "success")
    return redirect(url_for("rollout.person", user_id=person.id) + "#actions")


# --- plan pages for administrators (issue 7 item 1) ---------------------------------------------

admin_bp = Blueprint("plans", __name__, url_prefix="/admin/plans")


def _plan_or_404(plan_id: int) -> RolloutPlan:
    plan = db.session.get(RolloutPlan, plan_id)
    if plan is None:
        abort(404)
    return plan


def _plan_page(form, plan, rows, errors, status=200):
    posted = request.method == "POST"
    audience = set(_posted_ids("audience") if posted else [d.id for d in plan.audience] if plan else [])
    excluded = set(_posted_ids("exclude") if posted else [d.id for d in plan.exclusions] if plan else [])
    positions = set(request.form.getlist("position") if posted else (plan.positions or []) if plan else [])
    grades = set(request.form.getlist("grade") if posted else (plan.grades or []) if plan else [])
    other = lambda text: [t.strip() for t in (text or "").splitlines() if t.strip()]  # noqa: E731
    summary = editing.audience_summary(
        sorted(audience), sorted(excluded),
        sorted(positions) + (other(form.positions_other.data) if posted else []),
        sorted(grades) + (other(form.grades_other.data) if posted else []))

    form.certification_id.choices = [(0, _("— none: the courses below only"))] + [
        (c.id, f"{c.code} · {c.tr('title')}" + ("" if c.active else f" ({_('retired')})"))
        for c in editing.certifications()]
    return render_template("rollout/plan_edit.html", form=form, plan=plan, rows=rows + [{"due_on": "", "target": "", "remove": False}] * 2,
                           errors=errors, forest=editing.department_forest(), known_positions=editing.known_positions(),
                           known_grades=editing.known_grades(), courses=editing.courses(),
                           chosen_courses=set(_posted_ids("course") if request.method == "POST" else
                                              [c.id for c in plan.courses] if plan else []),
                           audience=audience, excluded=excluded, chosen_positions=positions, chosen_grades=grades,
                           summary=summary), status


def _posted_ids(name: str) -> list[int]:
    return [int(v) for v in request.form.getlist(name) if v.isascii() and v.isdigit() and len(v) <= 9]


@admin_bp.route("/")
@admin_required
def plans():
    """Every plan with its dates, audience and state; links to create and edit."""

    return render_template("rollout/plans.html", plans=editing.all_plans())


@admin_bp.route("/new", methods=["GET", "POST"])
@admin_required
def new():
    """Create a plan (the same service as ``flask rollout load-plan``)."""
    return _edit(None)


@admin_bp.route("/<int:plan_id>/edit", methods=["GET", "POST"])
@admin_required
def edit(plan_id: int):
    """Edit a plan's name, requirement, dates, audience tree, positions, due-date rule and milestones."""
    return _edit(_plan_or_404(plan_id))


def _edit(plan: RolloutPlan | None):

    form = PlanForm(obj=plan if request.method == "GET" else None)
    if request.method == "GET":
        if plan is not None:
            form.positions_other.data = "\n".join(p for p in (plan.positions or [])
                                                  if p not in editing.known_positions())
            form.grades_other.data = "\n".join(g for g in (plan.grades or []) if g not in editing.known_grades())
            rows = [{"due_on": m.due_on.isoformat(), "target": f"{m.target_percent:f}".rstrip("0").rstrip("."),
                     "remove": False} for m in plan.milestones]
        else:
            form.active.data = True
            rows = []
        return _plan_page(form, plan, rows, {})
    form.certification_id.choices = [(0, "—")]
    valid = form.validate()  # CSRF and field types (dates, days)
    data, rows = plan_input_from(form, request.form)
    if request.form.get("more") or request.form.get("preview"):
        # "add a milestone row" / "update the summary" without JavaScript: show the form again, save nothing
        more = [{"due_on": "", "target": "", "remove": False}] if request.form.get("more") else []
        return _plan_page(form, plan, rows + more, {})
    errors = {name: list(field.errors) for name, field in form._fields.items() if field.errors}
    for name, messages in editing.validate(data, plan).items():
        errors.setdefault(name, messages)  # a field's type error (not a date) says enough on its own
    if valid and not errors:
        try:
            saved = editing.save_plan(current_user, data, plan, ip=request.remote_addr)
        except editing.PlanInvalid as invalid:  # changed meanwhile (e.g. the key taken by another save)
            db.session.rollback()
            errors = invalid.errors
        else:
            db.session.commit()
            said = {"created": _("Plan created."), "updated": _("Plan updated."),
                    "unchanged": _("Nothing changed.")}[saved.action]
            flash(_("%(said)s New enrolments: %(n)s.", said=said, n=saved.assigned.created), "success")
            return redirect(url_for("plans.edit", plan_id=saved.plan.id))
    flash(_("The plan was not saved: see the messages by the fields."), "error")
    return _plan_page(form, plan, rows, errors, 400)


@admin_bp.route("/<int:plan_id>/waves", methods=["GET", "POST"])
@admin_required
def waves(plan_id: int):
    """The plan's waves: list, add one (name, dates, departments of the audience)."""

    plan = _plan_or_404(plan_id)
    form = WaveForm()
    errors: dict = {}
    status = 200
    if request.method == "POST":
        if form.validate():
            current = editing.wave_inputs_of(plan)
            data = editing.plan_input_of(plan)
            data.waves = current + [wave_input_from(form, request.form)]
            try:
                editing.save_plan(current_user, data, plan, ip=request.remote_addr)
            except editing.PlanInvalid as invalid:
                db.session.rollback()
                index = len(current)
                errors = {name.replace(f"waves-{index}-", ""): messages for name, messages in invalid.errors.items()}
            else:
                db.session.commit()
                flash(_("Wave added."), "success")
                return redirect(url_for("plans.waves", plan_id=plan.id))
        errors = {**{name: list(f.errors) for name, f in form._fields.items() if f.errors}, **errors}
        status = 400
        flash(_("The wave was not added: see the messages by the fields."), "error")
    rows = kept_milestone_rows(request.form, "wm") if request.method == "POST" else []
    return _waves_page(plan, form, errors, rows, status)


_BLANK_ROW = {"due_on": "", "target": "", "remove": False}


def _target_text(value) -> str:
    """A stored target (Decimal, percent) as typed: ``60``, ``62.5``."""
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _waves_page(plan: RolloutPlan, form: WaveForm, errors: dict, rows: list[dict], status: int = 200, *,
                wave_id: int | None = None, wave_rows: list[dict] | None = None, wave_errors: dict | None = None):
    """The waves page: the add form (``rows``: its milestone rows as posted) and, for each wave, its
    milestone rows as stored plus a blank one — or, for ``wave_id``, ``wave_rows`` as posted with
    ``wave_errors`` beside them."""
    rows = rows + [_BLANK_ROW] * max(1, 3 - len(rows))
    milestone_rows = {w.id: [{"due_on": m.due_on.isoformat(), "target": _target_text(m.target_percent), "remove": False}
                             for m in w.milestones] + [_BLANK_ROW] for w in plan.waves}
    if wave_id is not None:
        milestone_rows[wave_id] = wave_rows or [_BLANK_ROW]
    return render_template("rollout/plan_waves.html", plan=plan, form=form, errors=errors, rows=rows,
                           wave_rows=milestone_rows, wave_errors={wave_id: wave_errors or {}}, open_wave=wave_id,
                           forest=editing.department_forest(), chosen=set(_posted_ids("wave_department"))), status


@admin_bp.route("/<int:plan_id>/waves/<int:wave_id>/milestones", methods=["POST"])
@admin_required
def wave_milestones(plan_id: int, wave_id: int):
    """Change one wave's own milestones (rows ``wm-<i>-due_on`` / ``-target`` / ``-remove``; "Add a row"
    re-renders without saving) through :func:`app.rollout.editing.set_wave_milestones`. Audited."""
    plan = _plan_or_404(plan_id)
    if not any(w.id == wave_id for w in plan.waves):
        abort(404)
    form = WaveForm(formdata=None)  # the add form, empty (CSRF is checked for every POST by CSRFProtect)
    milestones, rows = wave_milestones_from(request.form)
    if request.form.get("more"):  # "add a milestone row" without JavaScript: show the rows again, save nothing
        return _waves_page(plan, form, {}, [], wave_id=wave_id, wave_rows=rows + [_BLANK_ROW])
    try:
        saved = editing.set_wave_milestones(current_user, plan, wave_id, milestones, ip=request.remote_addr)
    except editing.PlanInvalid as invalid:
        db.session.rollback()
        flash(_("The milestones were not saved: see the messages by the fields."), "error")
        return _waves_page(plan, form, {}, [], 400, wave_id=wave_id, wave_rows=rows + [_BLANK_ROW],
                           wave_errors=invalid.errors)
    db.session.commit()
    flash(_("Milestones saved.") if saved.action != "unchanged" else _("Nothing changed."), "success")
    return redirect(url_for("plans.waves", plan_id=plan.id))


@admin_bp.route("/<int:plan_id>/waves/<int:wave_id>/delete", methods=["POST"])
@admin_required
def delete_wave(plan_id: int, wave_id: int):
    """Remove one wave (its people fall back to the plan's dates for new enrolments). Audited."""

    plan = _plan_or_404(plan_id)
    if not any(w.id == wave_id for w in plan.waves):
        abort(404)
    data = editing.plan_input_of(plan)
    data.waves = editing.wave_inputs_of(plan, without=wave_id)
    try:
        editing.save_plan(current_user, data, plan, ip=request.remote_addr)
    except editing.PlanInvalid as invalid:  # the plan itself no longer passes (e.g. its certification was retired)
        db.session.rollback()
        flash(" ".join(m for messages in invalid.errors.values() for m in messages), "error")
        return redirect(url_for("plans.edit", plan_id=plan.id))
    db.session.commit()
    flash(_("Wave removed."), "success")
    return redirect(url_for("plans.waves", plan_id=plan.id))


@admin_bp.route("/<int:plan_id>/exemptions", methods=["GET", "POST"])
@admin_required
def exemptions(plan_id: int):
    """The plan's exemptions; find a person of the audience by staff number or name and exempt them
    with a reason (required)."""

    plan = _plan_or_404(plan_id)
    form = ExemptionForm()
    query = (request.values.get("q") or "").strip()[:100]
    errors: dict = {}
    status = 200
    if request.method == "POST":
        if form.validate():
            person = db.session.get(User, form.user_id.data)
            try:
                if person is None:
                    raise DomainError(_("This person is not in the plan's audience."), code="bad_input")
                editing.exempt(current_user, plan, person, form.reason.data, ip=request.remote_addr)
            except DomainError as exc:
                db.session.rollback()
                errors = {"user_id": [exc.message]}
            else:
                db.session.commit()
                flash(_("%(name)s is exempted from %(plan)s.", name=person.name, plan=plan.tr("name")), "success")
                return redirect(url_for("plans.exemptions", plan_id=plan.id))
        errors = {**{name: list(f.errors) for name, f in form._fields.items() if f.errors}, **errors}
        if "user_id" in errors:
            errors["user_id"] = [_("Choose a person from the search results.")] if not errors.get("user_id") or \
                form.user_id.errors else errors["user_id"]
        status = 400
    found = editing.search_audience(plan, query) if query else []
    return render_template("rollout/plan_exemptions.html", plan=plan, form=form, errors=errors, query=query,
                           found=found, rows=editing.exemptions_of_plan(plan)), status


@admin_bp.route("/<int:plan_id>/exemptions/<int:user_id>/lift", methods=["POST"])
@admin_required
def lift(plan_id: int, user_id: int):
    """Lift one person's exemption from the plan (audited); they are enrolled again if the plan is active."""

    plan = _plan_or_404(plan_id)
    person = db.session.get(User, user_id)
    if person is None or not editing.lift_exemption(current_user, plan, person, ip=request.remote_addr):
        abort(404)
    db.session.commit()
    flash(_("The exemption from %(plan)s is lifted.", plan=plan.tr("name")), "success")
    return redirect(url_for("plans.exemptions", plan_id=plan.id))
