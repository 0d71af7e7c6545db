"""Sign-in codes in the browser: admins for anyone, officers for people within their scope (scoped
in the query; anyone else is a 404). The codes are shown once: as a printable page, a PDF of slips
or a CSV, produced by the POST that issues them and never stored in readable form."""
from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from app.auth.models import User
from app.certification.services import public_base_url
from app.core.inputs import parse_id
from app.core.permissions import officer_required, refuse_out_of_scope
from app.extensions import db
from app.org.codes import MAX_CODES_PER_REQUEST, issuable_people, issue_codes, slips_csv, slips_pdf
from app.org.models import Department
from app.org.services import can_see_department, visible_department_ids

bp = Blueprint("signin_codes", __name__, url_prefix="/people")

LIST_LIMIT = 500
"""People listed with a checkbox on the bulk page (a larger department uses "everyone without a password")."""
FORMATS = ("html", "pdf", "csv")


def _handout(slips, fmt: str):
    """The response that shows the new codes, once."""
    if fmt == "csv":
        response = Response(slips_csv(slips), mimetype="text/csv")
        response.headers["Content-Disposition"] = "attachment; filename=sign-in-codes.csv"
        return response
    url = public_base_url(current_app.config) + url_for("auth.code_login")
    if fmt == "pdf":
        response = Response(slips_pdf(slips, sign_in_url=url, font_path=current_app.config.get("CERTIFICATE_FONT_PATH")),
                            mimetype="application/pdf")
        response.headers["Content-Disposition"] = "attachment; filename=sign-in-codes.pdf"
        return response
    return render_template("org/code_slips.html", slips=slips, sign_in_url=url)


def _format() -> str:
    fmt = request.form.get("format", "html")
    if fmt not in FORMATS:
        abort(400, description=_("“%(value)s” is not a valid choice for %(name)s.", value=fmt[:40], name="format"))
    return fmt


@bp.route("/<int:user_id>/sign-in-code", methods=["POST"])
@officer_required
def issue_one(user_id: int):
    """Issue (or re-issue) one person's sign-in code; their password, if any, stops working."""
    fmt = _format()
    if db.session.execute(issuable_people(current_user, user_ids=[user_id]).with_only_columns(User.id)).first() is None:
        refuse_out_of_scope(User, user_id, "user")
    slips = issue_codes(current_user, [user_id], source="person")
    db.session.commit()
    return _handout(slips, fmt)


def _departments():
    return list(db.session.execute(select(Department).where(
        Department.active.is_(True), Department.id.in_(visible_department_ids(current_user)))
        .order_by(Department.code)).scalars())


@bp.route("/sign-in-codes")
@officer_required
def bulk():
    """Choose a department (within scope): issue codes to everyone there without a password, or to the
    people ticked in the list."""
    department_id = parse_id(request.args.get("department"))
    department, people, total = None, [], 0
    if department_id is not None:
        if not can_see_department(current_user, department_id):
            refuse_out_of_scope(Department, department_id, "department")
        department = db.session.get(Department, department_id)
        query = issuable_people(current_user, department_id=department_id)
        total = db.session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
        people = list(db.session.execute(query.limit(LIST_LIMIT)).scalars())
    return render_template("org/code_bulk.html", departments=_departments(), department=department, people=people,
                           total=total, limit=LIST_LIMIT, most=MAX_CODES_PER_REQUEST)


@bp.route("/sign-in-codes", methods=["POST"])
@officer_required
def bulk_issue():
    """Issue the codes and hand them out (PDF slips, CSV or a printable page) in this one response."""
    fmt = _format()
    department_id = parse_id(request.form.get("department"))
    if department_id is None or not can_see_department(current_user, department_id):
        refuse_out_of_scope(Department, department_id, "department")
    if request.form.get("mode") == "without_password":
        ids = list(db.session.execute(issuable_people(current_user, department_id=department_id)
                                      .where(User.password_hash.is_(None))
                                      .with_only_columns(User.id).limit(MAX_CODES_PER_REQUEST + 1)).scalars())
    else:
        ids = []
        for value in request.form.getlist("user_id"):
            user_id = parse_id(value)
            if user_id is None:
                abort(400)
            ids.append(user_id)
        if ids:  # only people of this department's subtree within scope
            ids = list(db.session.execute(issuable_people(current_user, department_id=department_id, user_ids=ids)
                                          .with_only_columns(User.id)).scalars())
    if not ids:
        flash(_("Nobody to issue codes for: everyone there has a password, or nobody was ticked."), "error")
        return redirect(url_for("signin_codes.bulk", department=department_id))
    if len(ids) > MAX_CODES_PER_REQUEST:
        flash(_("At most %(n)s people at once: choose a smaller department.", n=MAX_CODES_PER_REQUEST), "error")
        return redirect(url_for("signin_codes.bulk", department=department_id))
    slips = issue_codes(current_user, ids, source=f"department:{department_id}")
    db.session.commit()
    return _handout(slips, fmt)
