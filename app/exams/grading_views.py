"""The examiners' grading queue (examiners and admins): pending essay responses per exam, and one page
per response to give a mark and a rubric note. Load, check, call :mod:`app.exams.grading`, commit once."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import _
from flask_login import current_user

from app.core.errors import DomainError
from app.core.permissions import examiner_required
from app.exams import grading
from app.exams.models import AttemptItem
from app.extensions import db

bp = Blueprint("grading", __name__, url_prefix="/grading")


@bp.route("/")
@examiner_required
def queue():
    """Responses waiting for a grader, per exam, oldest first."""
    return render_template("exams/grading_queue.html", groups=grading.grading_queue())


@bp.route("/responses/<int:item_id>", methods=["GET", "POST"])
@examiner_required
def response(item_id: int):
    """One response: the question, the candidate's answer, the rubric; POST ``mark`` (0..points) and ``note``."""
    item = db.session.get(AttemptItem, item_id)
    if item is None or not grading.grader_view(item)["manual"]:
        abort(404)
    status = 200
    if request.method == "POST":
        try:
            finalised = grading.grade_response(item.id, current_user.id, request.form.get("mark"),
                                               request.form.get("note"))
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "error")
            status = exc.status
        else:
            db.session.commit()
            flash(_("Mark saved. The attempt is complete and its result is out.") if finalised
                  else _("Mark saved."), "success")
            return redirect(url_for("grading.queue"))
        item = db.session.get(AttemptItem, item_id)
    return render_template("exams/grading_response.html", item=item, view=grading.grader_view(item),
                           form=request.form), status
