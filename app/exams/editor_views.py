"""The exam editor pages (examiners and admins): list, create, edit, and the live pool check (JSON).

Thin: the form's values go to :mod:`app.exams.editor` (validate → save), the view commits once and
records an audit event. Rows and sittings are added and removed by the server (buttons named
``action``), so the page works without JavaScript; ``static/exam-editor.js`` only adds the live check.
"""
from __future__ import annotations

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.audit.services import record
from app.core.errors import DomainError
from app.core.inputs import parse_id
from app.core.permissions import examiner_required
from app.exams import editor
from app.exams.admission import (
    assign_candidates, assigned_counts, parse_staff_numbers, remove_candidates, sitting_candidates, sitting_label,
    sittings_of,
)
from app.exams.forms import ExamEditForm, review_fields
from app.exams.models import DEFAULT_REVIEW_RULES, MANAGED_BY_FILE, Exam, ExamSitting, full_review_rules
from app.extensions import db
from app.org.services import department_tree

bp = Blueprint("exam_editor", __name__)
ADMISSION_FIELDS = ("allowed_networks", "access_code", "clear_access_code", "sittings")


def _item_choices() -> list[tuple[str, str]]:
    from app.standards.models import StandardItem

    items = db.session.execute(select(StandardItem).order_by(StandardItem.standard_id, StandardItem.position,
                                                             StandardItem.code)).scalars()
    return [("", _("(choose)"))] + [(i.code, f"{i.code} · {i.tr('title')}") for i in items]


def _course_choices() -> list[tuple[str, str]]:
    from app.learning.models import Course

    courses = db.session.execute(select(Course).order_by(Course.slug)).scalars()
    return [("", _("(no course)"))] + [(c.slug, c.tr("title")) for c in courses]


def _number(value) -> str:
    """A Decimal as typed: 30.00 -> '30', 12.50 -> '12.5'."""
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _initial_data(exam: Exam | None) -> dict:
    """The form's values for a new exam (defaults) or an existing one (local date-times)."""
    if exam is None:
        return {"time_limit_minutes": "30", "pass_mark": "60", "attempts_allowed": "3", "grade_method": "highest",
                "grace_period_seconds": "0", "shuffle_questions": True, "shuffle_options": True,
                "navigation": "free", "questions_per_page": "0",
                **{f"review_{what}": when for what, when in DEFAULT_REVIEW_RULES.items()}, "rows": [{"item": "", "difficulty": "any", "count": "", "points": ""}],
                "sittings": []}
    rows = []
    for row in exam.blueprint:
        code = row.standard_item.code if row.standard_item_id else "area " + row.standard_area.code
        rows.append({"item": code, "difficulty": row.difficulty or "any", "count": str(row.count),
                     "points": _number(row.points)})
    return {
        "code": exam.code, "title_zh": exam.title_zh, "title_en": exam.title_en,
        "course": exam.course.slug if exam.course else "",
        "time_limit_minutes": str(exam.time_limit_seconds // 60), "pass_mark": _number(exam.pass_mark),
        "attempts_allowed": str(exam.attempts_allowed), "grade_method": exam.grade_method,
        "grace_period_seconds": str(exam.grace_period_seconds), "opens_at": editor.local_input(exam.opens_at),
        "closes_at": editor.local_input(exam.closes_at), "shuffle_questions": exam.shuffle_questions,
        "shuffle_options": exam.shuffle_options, "navigation": exam.navigation,
        "questions_per_page": str(exam.questions_per_page),
        **{f"review_{what}": when for what, when in full_review_rules(exam.review_rules).items()},
        "allow_retake_after_pass": exam.allow_retake_after_pass, "require_lessons": exam.require_lessons,
        "rows": rows, "allowed_networks": "\n".join(exam.allowed_networks or []),
        "sittings": [{"sitting_id": str(s.id), "starts_at": editor.local_input(s.starts_at),
                      "ends_at": editor.local_input(s.ends_at), "capacity": str(s.capacity), "place": s.name or ""}
                     for s in sittings_of(exam.id)],
    }


def _posted(form: ExamEditForm) -> dict:
    """The form's values as the editor services read them (strings, lists of row dicts)."""
    data = dict(form.data)
    data.pop("csrf_token", None)
    data["rows"] = [dict(entry) for entry in data.get("rows") or []]
    data["sittings"] = [dict(entry) for entry in data.get("sittings") or []]
    return data


def _rows_action(data: dict, action: str, readonly: bool) -> bool:
    """Apply an add/remove button (``add_row``, ``remove_row-<i>``, ``add_sitting``, ``remove_sitting-<i>``)
    to ``data``; True if it was one (the page is shown again, nothing saved). A read-only (course.yaml)
    exam's blueprint rows are not touched."""
    blank_row = {"item": "", "difficulty": "any", "count": "", "points": ""}
    if action == "add_row" or action.startswith("remove_row-"):
        if not readonly and action == "add_row":
            data["rows"].append(blank_row)
        elif not readonly:
            index = action[len("remove_row-"):]
            if index.isascii() and index.isdigit() and int(index) < len(data["rows"]):
                del data["rows"][int(index)]
        return True
    if action == "add_sitting":
        data["sittings"].append({"sitting_id": "", "starts_at": "", "ends_at": "", "capacity": "", "place": ""})
        return True
    if action.startswith("remove_sitting-"):
        index = action[len("remove_sitting-"):]
        if index.isascii() and index.isdigit() and int(index) < len(data["sittings"]):
            del data["sittings"][int(index)]
        return True
    return False


def _pool_notes(form: ExamEditForm) -> list[str | None]:
    """Each row's pool sentence (None for rows without a known item, count), from one grouped query."""
    keys, where = [], []
    for index, entry in enumerate(form.rows):
        item = editor.item_by_code(str(entry.item.data or "")[:40])
        count = editor._whole(entry.count.data, 1, 500)
        if item is None or count is None:
            continue
        difficulty = entry.difficulty.data if entry.difficulty.data in ("easy", "medium", "hard") else None
        keys.append((item.id, None, difficulty))
        where.append((index, count))
    notes: list[str | None] = [None] * len(form.rows)
    for (index, count), size in zip(where, editor.pool_sizes(keys)):
        notes[index] = editor.PoolCheck(size, count)
    return notes


def _form_count(form: ExamEditForm, exam: Exam | None, readonly: bool) -> editor.FormCount | None:
    """How many distinct forms the rows allow: a course.yaml exam's stored blueprint, or the rows on the
    page when every one names a known item and a whole count (else None: nothing shown yet)."""
    if readonly:  # rows naming a question type (practical tasks) are not counted: no count shown
        if any(r.qtype for r in exam.blueprint):
            return None
        rows = [(r.standard_item_id, r.standard_area_id, r.difficulty, r.count) for r in exam.blueprint]
        return editor.count_forms(rows) if rows else None
    rows = []
    for entry in form.rows:
        item = editor.item_by_code(str(entry.item.data or "")[:40])
        count = editor._whole(entry.count.data, 1, 500)
        if item is None or count is None:
            return None
        difficulty = entry.difficulty.data if entry.difficulty.data in ("easy", "medium", "hard") else None
        rows.append((item.id, None, difficulty, count))
    return editor.count_forms(rows) if rows else None


def _render(form: ExamEditForm, exam: Exam | None, status: int = 200):
    for entry in form.rows:
        entry.item.choices = _item_choices()
        if entry.item.data and entry.item.data not in dict(entry.item.choices):
            entry.item.choices.append((entry.item.data, entry.item.data))
    form.course.choices = _course_choices()
    readonly = exam is not None and exam.managed_by == MANAGED_BY_FILE
    seats = {str(s.id): s for s in exam.sittings} if exam is not None else {}
    total = None
    try:
        from decimal import Decimal

        total = sum((Decimal(str(e.count.data)) * Decimal(str(e.points.data)) for e in form.rows), Decimal(0))
    except Exception:  # noqa: BLE001  (a row not filled in yet: no total shown)
        total = None
    assigned = assigned_counts(exam.id) if exam is not None else {}
    return render_template("exams/editor.html", form=form, exam=exam, readonly=readonly, seats=seats, assigned=assigned,
                           notes=_pool_notes(form), total=total, review_fields=review_fields(form), forms=_form_count(form, exam, readonly),
                           in_progress=editor.in_progress_count(exam.id) if exam else 0), status


def _save(form: ExamEditForm, exam: Exam | None):
    """Validate and save the posted form; returns a response."""
    data = _posted(form)
    readonly = exam is not None and exam.managed_by == MANAGED_BY_FILE
    if readonly:  # the disabled definition fields are not posted: keep showing the stored ones
        data = dict(_initial_data(exam), **{k: data[k] for k in ADMISSION_FIELDS})
    action = request.form.get("action", "save")
    if _rows_action(data, action, readonly):
        return _render(ExamEditForm(formdata=None, data=data), exam)
    spec, errors = (None, editor.Errors()) if readonly else editor.validate_exam_spec(data, exam)
    admission, admission_errors = editor.validate_admission(data, exam)
    errors.update(admission_errors)
    if errors:
        db.session.rollback()
        shown = ExamEditForm(formdata=None, data=data)
        shown.attach(errors)
        return _render(shown, exam, 400)
    created = exam is None
    changed = []
    detail = {}
    old_rules = None if exam is None else full_review_rules(exam.review_rules)
    try:
        if not readonly:
            exam, outcome = editor.save_exam(spec, exam)
            if outcome != "unchanged":
                changed.append("definition")
            if full_review_rules(exam.review_rules) != old_rules:  # the review matrix, before → after
                detail["review_rules"] = {"from": old_rules, "to": full_review_rules(exam.review_rules)}
        changed += editor.save_admission(exam, admission)
    except IntegrityError:  # another examiner took the code a moment ago
        db.session.rollback()
        shown = ExamEditForm(formdata=None, data=data)
        shown.attach({"code": [_("An exam with this code exists already.")]})
        return _render(shown, None if created else exam, 400)
    if changed:
        record(current_user.id, "exam.create" if created else "exam.update", f"exam:{exam.id}",
               {"code": exam.code, "changed": changed, **detail}, ip=request.remote_addr)
    db.session.commit()
    flash(_("Exam created.") if created else (_("Exam saved.") if changed else _("Nothing changed.")), "success")
    return redirect(url_for("exam_editor.edit", code=exam.code))


@bp.route("/admin/exams/")
@examiner_required
def index():
    """Every exam with who owns its definition (file or browser), its window and links to edit it."""
    exams = editor.editor_exams()
    return render_template("exams/editor_list.html", exams=exams)


@bp.route("/admin/exams/new", methods=["GET", "POST"])
@examiner_required
def new():
    """Create an exam in the browser (it is then ``managed_by = browser``)."""
    if request.method == "POST":
        form = ExamEditForm()
        if not form.validate_on_submit():
            abort(400)
        return _save(form, None)
    return _render(ExamEditForm(formdata=None, data=_initial_data(None)), None)


@bp.route("/admin/exams/<code>/edit", methods=["GET", "POST"])
@examiner_required
def edit(code: str):
    """Edit an exam: the whole definition of a browser exam; the admission settings of any exam."""
    exam = db.session.execute(select(Exam).where(Exam.code == code[:80])).scalar_one_or_none()
    if exam is None:
        abort(404)
    if request.method == "POST":
        form = ExamEditForm()
        if not form.validate_on_submit():
            abort(400)
        return _save(form, exam)
    return _render(ExamEditForm(formdata=None, data=_initial_data(exam)), exam)


@bp.route("/admin/exams/pool")
@examiner_required
def pool():
    """Live check of one blueprint row: ``?item=<code>&difficulty=any|easy|medium|hard&count=<n>`` →
    200 ``{"ok", "pool", "count", "needed", "message"}``; 400 ``{"error": "bad_request", "message"}``."""
    check, problem = editor.check_pool(request.args.get("item", ""), request.args.get("difficulty", "any"),
                                       request.args.get("count", ""))
    if check is None:
        return jsonify(error="bad_request", message=problem), 400
    return jsonify(ok=check.ok, pool=check.pool, count=check.count, needed=check.needed, message=check.message())


@bp.route("/admin/exams/forms")
@examiner_required
def forms():
    """Live count of distinct forms for the rows on the page: repeated ``item``, ``difficulty`` and
    ``count`` parameters, one of each per row → 200 ``{"forms", "readable", "overlap", "few", "message"}``
    (``forms`` as a string: it may exceed a JavaScript number); 400 ``{"error": "bad_request", "message"}``."""
    count, problem = editor.check_forms(request.args.getlist("item"), request.args.getlist("difficulty"),
                                        request.args.getlist("count"))
    if count is None:
        return jsonify(error="bad_request", message=problem), 400
    return jsonify(forms=str(count.forms), readable=count.readable(), overlap=count.overlap, few=count.few,
                   message=count.message())


# --- assigned candidates of a sitting ---------------------------------------------------------------

def _sitting_or_404(code: str, sitting_id: int) -> tuple[Exam, ExamSitting]:
    exam = db.session.execute(select(Exam).where(Exam.code == code[:80])).scalar_one_or_none()
    sitting = db.session.get(ExamSitting, sitting_id) if exam is not None else None
    if sitting is None or sitting.exam_id != exam.id:
        abort(404)
    return exam, sitting


def _department_options() -> list[tuple[int, str]]:
    """Every department as ``(id, label)`` in tree order, the label indented by depth with its staff count."""
    out = []

    def walk(nodes, depth):
        for department, staff, children in nodes:
            out.append((department.id, "\u3000" * depth + department.name + f" ({staff})"))
            walk(children, depth + 1)

    walk(department_tree(), 0)
    return out


def _render_sitting(exam: Exam, sitting: ExamSitting, status: int = 200, staff_numbers: str = "",
                    department_id: int | None = None, error: str | None = None):
    candidates = sitting_candidates(sitting.id)
    db.session.refresh(sitting)
    return render_template("exams/sitting_candidates.html", exam=exam, sitting=sitting, candidates=candidates,
                           label=sitting_label(sitting), departments=_department_options(),
                           staff_numbers=staff_numbers, department_id=department_id, error=error,
                           walk_ins=max(0, sitting.seats_taken - len(candidates))), status


@bp.route("/admin/exams/<code>/sittings/<int:sitting_id>")
@examiner_required
def sitting_candidates_page(code: str, sitting_id: int):
    """A sitting's assigned candidates: the list with counts, a form to assign more (staff numbers and/or
    a department subtree) and checkboxes to remove people."""
    exam, sitting = _sitting_or_404(code, sitting_id)
    return _render_sitting(exam, sitting)


@bp.route("/admin/exams/<code>/sittings/<int:sitting_id>", methods=["POST"])
@examiner_required
def sitting_candidates_update(code: str, sitting_id: int):
    """``action=assign`` (``staff_numbers`` text, ``department`` id or '') or ``action=remove``
    (``user_id`` repeated): through :func:`app.exams.admission.assign_candidates` /
    :func:`~app.exams.admission.remove_candidates` (all or nothing, audited); one commit. A refusal
    shows the page again with the reason (status of the refusal) and the typed values."""
    exam, sitting = _sitting_or_404(code, sitting_id)
    action = request.form.get("action", "")
    text = request.form.get("staff_numbers", "")[:200_000]
    department_id = parse_id(request.form.get("department") or None)
    try:
        if action == "assign":
            result = assign_candidates(sitting, parse_staff_numbers(text), department_id, current_user.id,
                                       ip=request.remote_addr)
            message = _("%(n)s people assigned.", n=len(result.added))
            if result.already:
                message += " " + _("%(n)s were in this sitting already.", n=result.already)
        elif action == "remove":
            ids = [parse_id(v) for v in request.form.getlist("user_id")]
            if any(i is None for i in ids):
                abort(400)
            message = _("%(n)s people removed from this sitting.",
                        n=remove_candidates(sitting, ids, current_user.id, ip=request.remote_addr))
        else:
            abort(400)
    except DomainError as refused:
        db.session.rollback()
        return _render_sitting(exam, sitting, refused.status, staff_numbers=text, department_id=department_id,
                               error=refused.message)
    db.session.commit()
    flash(message, "success")
    return redirect(url_for("exam_editor.sitting_candidates_page", code=exam.code, sitting_id=sitting.id))
