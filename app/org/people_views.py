"""Administration of people: search and view staff, (de)activate, roles and scopes, HR file upload.

Thin views over :mod:`app.org.services` and :mod:`app.org.imports`; admins only. The upload is
checked and previewed by a dry run (rolled back); the confirmation re-uploads the same file (its
SHA-256 must match the preview's), so nothing is ever stored on disk.
"""
from __future__ import annotations

import hashlib
import math
from pathlib import Path

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from app.audit.services import record
from app.auth.models import User
from app.content.report import ContentError
from app.core.permissions import admin_required
from app.extensions import db
from app.org.models import Department
from app.org.services import PEOPLE_PAGE_SIZE, search_people, set_user_active, set_user_roles, user_transfers
from app.org.views import bp

PREVIEW_LINES = 20
INT32_MAX = 2**31 - 1


def _user_or_404(user_id: int) -> User:
    if not 0 < user_id <= INT32_MAX:
        abort(404)
    return db.session.get(User, user_id) or abort(404)


@bp.route("/people/")
@admin_required
def people():
    """Search staff by number or name; 50 per page with the total count."""
    text = request.args.get("q", "", type=str).replace("\x00", "")[:100]
    status = request.args.get("status", "all")
    status = status if status in ("all", "active", "inactive") else "all"
    page = request.args.get("page", 1, type=int) or 1
    page = min(max(page, 1), 1_000_000)
    rows, total = search_people(text, page, status=status)
    pages = max(1, math.ceil(total / PEOPLE_PAGE_SIZE))
    return render_template("org/people.html", rows=rows, total=total, page=page, pages=pages, q=text, status=status)


@bp.route("/people/<int:user_id>")
@admin_required
def person(user_id: int):
    """One person: department, roles, officer scopes, transfer history, the latest audit events about
    them; forms to change them."""
    user = _user_or_404(user_id)
    departments = list(db.session.execute(select(Department).where(Department.active.is_(True))
                                          .order_by(Department.code)).scalars())
    scopes = {scope.department_id for scope in user.officer_scopes}
    from app.audit.services import events_for

    return render_template("org/person.html", user=user, departments=departments, scopes=scopes,
                           transfers=user_transfers(user), events=events_for(f"user:{user.id}", 20))


@bp.route("/people/<int:user_id>/active", methods=["POST"])
@admin_required
def set_active(user_id: int):
    """Deactivate (ends their sessions) or reactivate a person."""
    user = _user_or_404(user_id)
    active = request.form.get("active") == "1"
    try:
        changed = set_user_active(user, active, actor=current_user)
    except ValueError:
        flash(_("You cannot deactivate yourself."), "error")
        return redirect(url_for("org.person", user_id=user.id))
    db.session.commit()
    if changed:
        flash(_("%(name)s is active again.", name=user.name) if active else
              _("%(name)s is deactivated; their sessions have ended.", name=user.name), "info")
    return redirect(url_for("org.person", user_id=user.id))


@bp.route("/people/<int:user_id>/roles", methods=["POST"])
@admin_required
def set_roles(user_id: int):
    """Set administrator and examiner roles and officer scopes."""
    user = _user_or_404(user_id)
    ids = []
    for value in request.form.getlist("officer_of"):
        if not value.isdigit() or not 0 < int(value) <= INT32_MAX:
            abort(400)
        ids.append(int(value))
    try:
        changed = set_user_roles(user, is_admin=request.form.get("is_admin") == "1",
                                 is_examiner=request.form.get("is_examiner") == "1", officer_of=ids,
                                 actor=current_user)
    except ValueError:
        db.session.rollback()
        flash(_("You cannot remove your own administrator role, or a department does not exist."), "error")
        return redirect(url_for("org.person", user_id=user.id))
    db.session.commit()
    flash(_("Roles saved.") if changed else _("Nothing changed."), "info")
    return redirect(url_for("org.person", user_id=user.id))


@bp.route("/people/import", methods=["GET", "POST"])
@admin_required
def import_people():
    """Upload an HR file (CSV or XLSX): preview by a dry run; confirm by uploading the same file again."""
    from app.org.imports import check_upload, import_staff

    if request.method == "GET":
        return render_template("org/import.html", summary=None, errors=None)
    upload = request.files.get("file")
    deactivate_missing = request.form.get("deactivate_missing") == "1"
    if upload is None or not upload.filename:
        return render_template("org/import.html", summary=None, errors=[_("Choose a CSV or XLSX file.")]), 400
    name = Path(upload.filename.replace("\\", "/")).name[:100] or "upload"
    data = upload.stream.read(UPLOAD_LIMIT + 1)
    digest = hashlib.sha256(data).hexdigest()
    confirm = request.form.get("confirm")
    try:
        check_upload(name, data, UPLOAD_LIMIT)
        if confirm and confirm != digest:
            raise ContentError([_("This is not the file you previewed; preview it again.")])
        summary = import_staff(Path(name), data=data, deactivate_missing=deactivate_missing)
    except ContentError as exc:
        db.session.rollback()
        return render_template("org/import.html", summary=None, errors=exc.errors[:200],
                               more=max(0, len(exc.errors) - 200)), 400
    if not confirm:
        db.session.rollback()
        return render_template("org/import.html", summary=summary, errors=None, digest=digest,
                               deactivate_missing=deactivate_missing, preview=summary.changes[:PREVIEW_LINES])
    record(current_user.id, "staff.import", f"file:{name}",
           {"rows": summary.rows, "created": summary.created, "updated": summary.updated,
            "transferred": summary.transferred, "deactivated": summary.deactivated + summary.deactivated_missing,
            "codes_issued": len(summary.sign_in_codes), "sha256": digest})
    db.session.commit()
    flash(_("Import done: %(created)s created, %(updated)s updated, %(transferred)s transferred, "
            "%(deactivated)s deactivated.", created=summary.created, updated=summary.updated,
            transferred=summary.transferred, deactivated=summary.deactivated + summary.deactivated_missing), "info")
    if summary.sign_in_codes:  # shown once, to hand out: only their hashes are stored
        return render_template("org/import.html", summary=None, errors=None, codes=summary.sign_in_codes,
                               codes_expire_at=summary.codes_expire_at)
    return redirect(url_for("org.people"))


UPLOAD_LIMIT = 5 * 1024 * 1024
