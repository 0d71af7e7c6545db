"""The audit log viewer for administrators: filters, paging and CSV export (read only)."""
from __future__ import annotations

import math

from flask import Blueprint, Response, abort, render_template, request
from flask_babel import gettext as _

from app.audit.services import PAGE_SIZE, AuditFilter, export_csv, parse_ip_filter, search_events
from app.core.inputs import parse_page, parse_query_date
from app.core.permissions import admin_required
from app.core.time import local_date_end_utc, local_date_start_utc, local_zone

bp = Blueprint("audit", __name__, url_prefix="/admin/audit")


def _text(name: str, limit: int = 80) -> str:
    return request.args.get(name, "", type=str).replace("\x00", "").strip()[:limit]


def _filters() -> tuple[AuditFilter, dict]:
    """Filters from the query string: ``from`` / ``to`` local dates (YYYY-MM-DD, inclusive; a bad date
    is a 400 saying so), ``actor`` staff number, ``action`` prefix, ``target`` (exact or ``kind:``),
    ``contains`` (text anywhere in the target), ``ip`` (address or its start; a bad one is a 400 saying
    what is accepted); and the values to show."""
    start = parse_query_date(request.args.get("from"))
    end = parse_query_date(request.args.get("to"))
    try:
        ip = parse_ip_filter(request.args.get("ip", "", type=str).replace("\x00", ""))
    except ValueError as bad:
        abort(400, description=str(bad))
    values = {"from": start.isoformat() if start else "", "to": end.isoformat() if end else "",
              "actor": _text("actor", 40), "action": _text("action"), "target": _text("target", 200),
              "contains": _text("contains", 200), "ip": ip}
    filters = AuditFilter(start=local_date_start_utc(start) if start else None,
                          end=local_date_end_utc(end) if end else None,
                          actor=values["actor"], action=values["action"], target=values["target"],
                          target_text=values["contains"], ip=ip)
    return filters, values


@bp.route("/")
@admin_required
def index():
    """Newest events first, 50 a page, filtered by local date range, actor, action prefix, target (exact,
    prefix or text it contains) and IP address."""
    filters, values = _filters()
    page = parse_page(request.args.get("page"))
    rows, total = search_events(filters, page)
    pages = max(1, math.ceil(total / PAGE_SIZE))
    return render_template("audit/index.html", rows=rows, total=total, page=page, pages=pages, values=values)


@bp.route("/export.csv")
@admin_required
def export():
    """The filtered events as CSV (UTF-8 with BOM; cells that a spreadsheet would run as a formula are
    prefixed with an apostrophe)."""
    filters, _values = _filters()
    response = Response(export_csv(filters, local_zone()), mimetype="text/csv")
    response.headers["Content-Disposition"] = "attachment; filename=audit-log.csv"
    return response


def action_label(action: str) -> str:
    """A short translated description of an action code (the code itself when unknown)."""
    labels = {
        "auth.login": _("Signed in"), "auth.login_failed": _("Sign-in refused"), "auth.lockout": _("Account locked"),
        "auth.ldap_unavailable": _("LDAP directory unavailable"), "auth.code_issued": _("Sign-in code issued"),
        "access.denied": _("Access denied"), "attempt.start": _("Exam attempt started"),
        "attempt.finish": _("Exam attempt submitted"), "attempt.auto_finish": _("Exam attempt finished automatically"),
        "attempt.late_answer_refused": _("Late answer refused"), "grade.manual": _("Answer graded by a person"),
        "exam.regrade": _("Exam regraded"), "certificate.revoke": _("Certificate revoked"),
        "user.roles": _("Roles or scopes changed"), "user.deactivate": _("Deactivated"),
        "user.reactivate": _("Reactivated"), "staff.import": _("Staff imported"),
        "department.import": _("Departments imported"), "department.create": _("Department added"),
        "department.rename": _("Department renamed"), "department.move": _("Department moved"),
        "department.retire": _("Department retired"), "department.reactivate": _("Department reactivated"),
    }
    return labels.get(action, action)


@bp.app_template_filter("audit_action")
def _audit_action(action: str) -> str:
    return action_label(action)
