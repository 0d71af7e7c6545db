"""Question bank pages for examiners and admins: list, question (preview, key, history), edit, retire,
import with a dry run, export. Thin: parse, load or 404, call :mod:`app.questions.bank`, commit once."""
from __future__ import annotations

import os

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import _
from flask_login import current_user
from jinja2 import TemplateNotFound

from app.core.inputs import parse_page
from app.core.permissions import examiner_required
from app.extensions import db
from app.questions import bank
from app.questions.forms import ConfirmImportForm, EditQuestionForm, FORMAT_CHOICES, StatusForm, TYPE_LABELS, \
    UploadForm, difficulty_label
from app.questions.formats import FORMAT_NAMES
from app.questions.models import DIFFICULTIES, Question
from app.questions.types import REGISTRY

bp = Blueprint("questions", __name__, url_prefix="/bank")


def _filter() -> bank.BankFilter:
    """The list filters from the query string; a bad value is a 400 naming the field."""
    f = bank.BankFilter(**{name: (request.args.get(name) or "").strip()
                           for name in ("item", "area", "qtype", "difficulty", "tag", "text")},
                        status=(request.args.get("status") or "active").strip())
    problems = f.problems()
    if problems:
        abort(400, description=" ".join(f"{k}: {v}" for k, v in problems.items()))
    return f


def _question(question_id: int) -> Question:
    question = db.session.get(Question, question_id)
    if question is None or question.current_version is None:
        abort(404)
    return question


def _template_exists(name: str) -> bool:
    try:
        current_app.jinja_env.get_template(name)
    except TemplateNotFound:
        return False
    return True


def _common() -> dict:
    return {"types": sorted(REGISTRY), "type_labels": TYPE_LABELS,
            "difficulties": DIFFICULTIES, "difficulty_label": difficulty_label}


@bp.route("/")
@examiner_required
def index():
    """The filtered, paged list (two queries: count and page)."""
    f = _filter()
    page = bank.list_questions(f, parse_page(request.args.get("page"), 1))
    areas, items = bank.filter_choices()
    args = {k: v for k, v in vars(f).items() if v}
    return render_template("questions/bank.html", f=f, result=page, areas=areas, items=items, args=args,
                           formats=FORMAT_CHOICES, **_common())


@bp.route("/questions/<int:question_id>")
@examiner_required
def question(question_id: int):
    """Candidate preview, examiner view (key, feedback) and version history."""
    q = _question(question_id)
    preview = bank.candidate_preview(q.current_version)
    return render_template("questions/bank_question.html", q=q, preview=preview,
                           partial=preview["template"] if _template_exists(preview["template"]) else None,
                           key=bank.examiner_view(q.current_version), status_form=StatusForm(), **_common())


@bp.route("/questions/<int:question_id>/edit", methods=["GET", "POST"])
@examiner_required
def edit(question_id: int):
    """Edit: a changed text, key or feedback makes a new version; errors are shown per field."""
    q = _question(question_id)
    form = EditQuestionForm(data=vars(bank.edit_data(q)) if request.method == "GET" else None)
    form.item.choices = [("", _("(none)"))] + [(code, code) for code, *_t in bank.filter_choices()[1]]
    if form.validate_on_submit():
        data = bank.EditData(**{name: getattr(form, name).data or "" for name in bank.EditData.__dataclass_fields__})
        try:
            new_version = bank.edit_question(q, data, current_user.id)
        except bank.EditError as refused:
            for name, message in refused.errors.items():
                getattr(form, name).errors = list(getattr(form, name).errors) + [message]
        else:
            db.session.commit()
            flash(_("Saved as a new version.") if new_version else _("Saved (the content did not change, "
                                                                       "so no new version was needed)."), "success")
            return redirect(url_for("questions.question", question_id=question_id))
    return render_template("questions/bank_edit.html", q=q, form=form, **_common())


def _set_active(question_id: int, active: bool):
    form = StatusForm()
    if not form.validate_on_submit():
        abort(400, description=_("The form has expired; reload the page and try again."))
    _question(question_id)
    if bank.set_active(question_id, active, current_user.id):
        db.session.commit()
        flash(_("The question is active again.") if active else
              _("The question is retired: new exam forms no longer draw it."), "success")
    return redirect(url_for("questions.question", question_id=question_id))


@bp.route("/questions/<int:question_id>/retire", methods=["POST"])
@examiner_required
def retire(question_id: int):
    """Retire: kept with its versions, never drawn into new forms."""
    return _set_active(question_id, False)


@bp.route("/questions/<int:question_id>/reactivate", methods=["POST"])
@examiner_required
def reactivate(question_id: int):
    """Make a retired question available again."""
    return _set_active(question_id, True)


@bp.route("/import", methods=["GET", "POST"])
@examiner_required
def upload():
    """Upload a file: a dry run shows what would change; the file is staged in the database for the
    confirm step (any web node may receive the confirmation)."""
    form = UploadForm()
    outcome = confirm = None
    if form.validate_on_submit():
        data = form.file.data.read(bank.max_upload_bytes() + 1)
        name = os.path.basename(form.file.data.filename or "upload")[:200]
        if len(data) > bank.max_upload_bytes():
            form.file.errors = [_("The file is larger than %(size)s MB.",
                                  size=round(bank.max_upload_bytes() / 1024 / 1024, 1))]
        else:
            outcome = bank.upload(form.fmt.data, data, name, dry_run=True, user_id=current_user.id)
            if not outcome.errors and (outcome.created or outcome.updated):
                token = bank.stage_upload(current_user.id, form.fmt.data, name, data)
                db.session.commit()
                confirm = ConfirmImportForm(token=token, fmt=form.fmt.data, filename=name)
    return render_template("questions/bank_import.html", form=form, outcome=outcome, confirm=confirm,
                           max_mb=round(bank.max_upload_bytes() / 1024 / 1024, 1))


@bp.route("/import/confirm", methods=["POST"])
@examiner_required
def confirm_import():
    """Import a file that passed its dry run, all or nothing."""
    form = ConfirmImportForm()
    if not form.validate_on_submit():
        abort(400, description=_("The form has expired; reload the page and try again."))
    staged = bank.take_staged_upload(current_user.id, form.token.data)
    if staged is None:
        flash(_("That upload is no longer available; upload the file again."), "error")
        return redirect(url_for("questions.upload"))
    fmt, filename, data = staged.fmt, staged.filename, staged.data
    outcome = bank.upload(fmt, data, filename, dry_run=False, user_id=current_user.id)
    if outcome.errors:
        flash(_("Nothing was imported: the file has %(n)s errors.", n=len(outcome.errors)), "error")
        return redirect(url_for("questions.upload"))
    db.session.commit()
    flash(_("Imported: %(created)s new, %(updated)s updated, %(unchanged)s unchanged.",
            created=len(outcome.created), updated=len(outcome.updated), unchanged=outcome.unchanged), "success")
    return redirect(url_for("questions.index"))


@bp.route("/export")
@examiner_required
def export():
    """The filtered list as a download in the chosen format (questions the format cannot hold are left out)."""
    f = _filter()
    fmt = request.args.get("fmt", "gift")
    if fmt not in FORMAT_NAMES:
        abort(400, description=_("“%(value)s” is not a valid choice for %(name)s.", value=fmt[:40], name="fmt"))
    text, written, problems = bank.export_selection(f, fmt)
    bank.audit("export", current_user.id, format=fmt, written=written, left_out=len(problems))
    db.session.commit()  # the audit event
    mimetype = "application/xml" if fmt == "xml" else "text/plain"
    response = Response(text, mimetype=mimetype)
    response.headers["Content-Disposition"] = f"attachment; filename=questions.{bank.EXTENSIONS[fmt]}"
    response.headers["X-Questions-Written"] = str(written)
    response.headers["X-Questions-Left-Out"] = str(len(problems))
    return response
