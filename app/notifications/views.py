"""In-app notices (/notices, the header bell) and the officer's "send a reminder" on the drill-down."""
from __future__ import annotations

import re

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import _
from flask_login import current_user, login_required

from app.audit.services import record
from app.core.inputs import MAX_ID, parse_id, parse_page
from app.core.permissions import officer_required, refuse_out_of_scope
from app.extensions import db
from app.notifications import services
from app.notifications.jobs import department_in_scope, remind_people
from app.notifications.models import Message
from app.org.models import Department
from app.rollout.models import RolloutPlan
from app.rollout.services import plans_for

bp = Blueprint("notifications", __name__)

PER_PAGE = 30
MAX_REMIND = 500


@bp.app_context_processor
def _bell():
    """``unread_notices()`` for the header bell: the signed-in user's unread count (one indexed COUNT)."""
    def unread_notices() -> int:
        if not getattr(current_user, "is_authenticated", False):
            return 0
        return services.unread_count(current_user.id)

    return {"unread_notices": unread_notices}


@bp.route("/notices")
@login_required
def notices():
    """The signed-in user's in-app notices, newest first, 30 a page."""
    page = parse_page(request.args.get("page"), 1)
    rows, total = services.notices_for(current_user.id, page=page, per_page=PER_PAGE)
    pages = max(1, -(-total // PER_PAGE))
    if page > pages:
        abort(400, description=_("Page %(page)s does not exist: there are %(pages)s pages.", page=page, pages=pages))
    return render_template("notifications/notices.html", rows=rows, total=total, page=page, pages=pages)


@bp.route("/notices/<int:message_id>/read", methods=["POST"])
@login_required
def mark_read(message_id: int):
    """Mark one of the user's own notices read (404 for anyone else's)."""
    if not services.owns_notice(current_user.id, message_id):
        refuse_out_of_scope(Message, message_id, "message")
    services.mark_read(current_user.id, message_id)
    db.session.commit()
    return redirect(url_for("notifications.notices"))


@bp.route("/notices/read", methods=["POST"])
@login_required
def mark_all_read():
    """Mark all of the user's notices read."""
    services.mark_read(current_user.id)
    db.session.commit()
    return redirect(url_for("notifications.notices"))


@bp.route("/dashboard/departments/<int:department_id>/remind", methods=["POST"])
@officer_required
def remind(department_id: int):
    """Send a reminder (in-app and e-mail) to the people ticked on the drill-down: only people of this
    department's subtree within the officer's scope (in the query); others are ignored and counted;
    each person at most once a day; each reminder audited."""
    if department_in_scope(current_user, department_id) is None:
        refuse_out_of_scope(Department, department_id, "department")
    plan_id = parse_id(request.form.get("plan"))
    plan = next((p for p in plans_for(current_user) if p.id == plan_id), None)
    if plan is None:  # an active plan the officer does not see is a refusal; any other id is simply absent
        other = db.session.get(RolloutPlan, plan_id) if plan_id is not None else None
        refuse_out_of_scope(RolloutPlan, plan_id if other is not None and other.active else None, "plan")
    raw = request.form.getlist("person")[:MAX_REMIND + 1]
    if len(raw) > MAX_REMIND:
        abort(400, description=_("Choose at most %(n)s people at a time.", n=MAX_REMIND))
    ids = []
    for value in raw:
        if not (value.isascii() and value.isdigit() and 1 <= int(value) <= MAX_ID):
            abort(400, description=_("“%(value)s” is not a person on this page.", value=value[:20]))
        ids.append(int(value))
    as_of = request.form.get("as_of", "")
    back = redirect(url_for("rollout.department", department_id=department_id, plan=plan.id,
                            as_of=as_of if re.fullmatch(r"\d{4}-\d{2}-\d{2}", as_of) else None))
    if not ids:
        flash(_("Tick the people to remind first."), "error")
        return back
    result = remind_people(current_user, plan, department_id, ids)
    for person in result["sent"] + result["already"]:
        record(current_user.id, "notifications.remind", f"user:{person.id}",
               {"plan": plan.id, "department": department_id, "new": person in result["sent"]}, request.remote_addr)
    if result["ignored"]:
        record(current_user.id, "notifications.remind_refused", f"department:{department_id}",
               {"plan": plan.id, "user_ids": result["ignored"]}, request.remote_addr)
    db.session.commit()
    if result["sent"]:
        flash(_("Reminder sent (in-app and by e-mail where an address is known): %(n)s people.",
                n=len(result["sent"])), "success")
    if result["already"]:
        flash(_("Already reminded today, not sent again: %(n)s people.", n=len(result["already"])), "note")
    if result["ignored"]:
        flash(_("Not within your departments, not reminded: %(n)s people.", n=len(result["ignored"])), "error")
    return back
