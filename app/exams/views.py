"""Exam pages and the autosave API. Load, check, act: an attempt that is not yours is a 404."""
from __future__ import annotations

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import _
from flask_login import current_user, login_required
from sqlalchemy import select

from app.core.errors import DomainError
from app.exams import services
from app.exams.models import IN_PROGRESS, SEQUENTIAL, Attempt, Exam
from app.extensions import db

bp = Blueprint("exams", __name__)


def _exam_or_404(code: str) -> Exam:
    exam = db.session.execute(select(Exam).where(Exam.code == code, Exam.active.is_(True))).scalar_one_or_none()
    if exam is None:
        abort(404)
    return exam


def _own_attempt_or_404(attempt_id: int) -> Attempt:
    attempt = db.session.get(Attempt, attempt_id)
    if attempt is None or attempt.user_id != current_user.id:
        abort(404)
    return attempt


def _finalise_if_overdue(attempt: Attempt) -> None:
    if attempt.is_overdue:
        services.finish_attempt(attempt, by="deadline")
        db.session.commit()


@bp.route("/exams/<code>")
@login_required
def exam(code: str):
    """Exam rules and the start (or resume) button."""
    exam = _exam_or_404(code)
    settings = services.candidate_settings(exam, current_user.id)
    current = services.in_progress_attempt(exam.id, current_user.id)
    db.session.commit()
    used = services.attempts_used(exam.id, current_user.id)
    questions = sum(row.count for row in exam.blueprint)
    return render_template("exams/exam.html", exam=exam, settings=settings, current=current, used=used,
                           questions=questions)


@bp.route("/exams/<code>/start", methods=["POST"])
@login_required
def start(code: str):
    """Start a new attempt (or resume the open one) and go to it."""
    exam = _exam_or_404(code)
    attempt_id = services.start_attempt(current_user, exam).id  # read before the commit expires it
    db.session.commit()
    return redirect(url_for("exams.attempt", attempt_id=attempt_id))


MAX_BODY_BYTES = 16 * 1024  # an answer is a few hundred bytes; anything larger is refused


def _page_context(attempt: Attempt) -> dict:
    """Questions of the attempt with their panel state (answered, flagged, revision)."""
    payload = services.candidate_payload(attempt)
    exam = attempt.exam
    return {"payload": payload, "per_page": exam.questions_per_page,
            "sequential": exam.navigation == SEQUENTIAL and exam.questions_per_page > 0,
            "pages": services.page_count(exam.questions_per_page, len(payload["questions"]))}


@bp.route("/attempts/<int:attempt_id>")
@login_required
def attempt(attempt_id: int):
    """The exam page: the questions of one page (``?page=n``; all when the exam shows all on one page),
    the question panel, saved answers and the countdown. A finished attempt shows its result."""
    attempt = _own_attempt_or_404(attempt_id)
    _finalise_if_overdue(attempt)
    if attempt.state != IN_PROGRESS:
        return redirect(url_for("exams.result", attempt_id=attempt.id))
    context = _page_context(attempt)
    wanted = request.args.get("page", type=int) or 1
    if context["sequential"]:
        page = services.page_of(attempt.furthest_position, context["per_page"])
    else:
        page = min(max(1, wanted), context["pages"])
    first, last = services.page_bounds(page, context["per_page"], len(context["payload"]["questions"]))
    shown = [q for q in context["payload"]["questions"] if first <= q["position"] <= last]
    return render_template("exams/attempt.html", attempt=attempt, page=page, shown=shown, **context)


def _save_posted_answers(attempt: Attempt) -> int:
    """Save the answers a form posted (the no-JavaScript path). Returns how many were not applied
    because another window had changed them since the page was loaded (the stored answer is kept).

    Each question posts ``q<position>`` (option ids) and ``r<position>`` (the revision the page was
    rendered with); an answer is applied only when that revision is still current, or it equals the
    stored one. Stops quietly at time up; skips questions sequential navigation closed.
    """
    kept = 0
    for item in attempt.items:
        values = request.form.getlist(f"q{item.position}")
        revision = request.form.get(f"r{item.position}", type=int)
        if not values or revision is None:
            continue
        response = {"choices": values} if request.form.get(f"q{item.position}-multiple") else {"choice": values[0]}
        try:
            services.save_answer(attempt, item.position, response, revision)
        except services.SaveConflict:
            kept += 1
        except DomainError as exc:
            if exc.code == "time_up":
                break
            if exc.code not in ("sequential", "bad_response", "bad_request"):
                raise
    return kept


@bp.route("/api/attempts/<int:attempt_id>/answers", methods=["POST"])
@login_required
def save_answer(attempt_id: int):
    """Autosave one answer. JSON in: ``{"position": int, "response": {...}, "revision": int}`` where
    ``revision`` is the item revision the page last saw (0 before any save).

    200 ``{"status": "saved", "revision", "saved_at", "remaining_seconds"}`` only when stored;
    409 ``{"status": "conflict", "code": "conflict", "revision", "saved_response", "selected"}`` when
    another window changed the answer; 409 code ``time_up`` / ``sequential``; 400 with a message for
    malformed input. Error bodies: ``{"status": "error", "code", "error", "message"}``.
    """
    try:
        if (request.content_length or 0) > MAX_BODY_BYTES:
            raise DomainError(_("The request is too large."), code="bad_request", status=400)
        data = request.get_json(silent=True)
        if not isinstance(data, dict):
            raise DomainError(_("The request body must be a JSON object."), code="bad_request", status=400)
        for field in ("position", "revision", "response"):
            if field not in data:
                raise DomainError(_("Field '%(field)s' is missing.", field=field), code="bad_request", status=400)
        # the lean path: the attempt is not loaded; the service's statements check the owner
        result = services.save_answer_for(attempt_id, current_user.id, data["position"], data["response"],
                                          data["revision"])
    except services.SaveConflict as conflict:
        db.session.rollback()
        return jsonify(status="conflict", code="conflict", error="conflict", message=conflict.message,
                       revision=conflict.revision, saved_response=conflict.saved_response,
                       selected=conflict.selected), 409
    except DomainError as exc:
        db.session.rollback()
        return jsonify(status="error", code=exc.code, error=exc.code, message=exc.message), exc.status
    db.session.commit()
    return jsonify(status=result.status, revision=result.revision, saved_at=result.saved_at.isoformat(),
                   remaining_seconds=result.remaining_seconds)


@bp.route("/api/attempts/<int:attempt_id>/flags", methods=["POST"])
@login_required
def flag(attempt_id: int):
    """Flag a question for review. JSON in ``{"position": int, "flagged": bool}``; 200 ``{"flagged"}``;
    400 malformed; 409 code ``time_up``."""
    attempt = _own_attempt_or_404(attempt_id)
    try:
        data = request.get_json(silent=True)
        if not isinstance(data, dict):
            raise DomainError(_("The request body must be a JSON object."), code="bad_request", status=400)
        flagged = services.set_flag(attempt, data.get("position"), data.get("flagged"))
    except DomainError as exc:
        db.session.rollback()
        return jsonify(status="error", code=exc.code, error=exc.code, message=exc.message), exc.status
    db.session.commit()
    return jsonify(status="saved", flagged=flagged)


@bp.route("/api/attempts/<int:attempt_id>/status")
@login_required
def status(attempt_id: int):
    """``{"state", "remaining_seconds"}``: the server's clock for the countdown."""
    attempt = _own_attempt_or_404(attempt_id)
    _finalise_if_overdue(attempt)
    return jsonify(state=attempt.state, remaining_seconds=attempt.remaining_seconds if attempt.state == IN_PROGRESS else 0)


@bp.route("/attempts/<int:attempt_id>/navigate", methods=["POST"])
@login_required
def navigate(attempt_id: int):
    """The page's buttons without JavaScript: save the posted answers, toggle a flag
    (``toggle_flag=<position>``), then go to ``go=<page>`` or ``go=summary``."""
    attempt = _own_attempt_or_404(attempt_id)
    _finalise_if_overdue(attempt)
    if attempt.state != IN_PROGRESS:
        return redirect(url_for("exams.result", attempt_id=attempt.id))
    kept = _save_posted_answers(attempt)
    toggle = request.form.get("toggle_flag", type=int)
    here = request.form.get("page", type=int) or 1
    target = request.form.get("go", "")
    try:
        if toggle is not None:
            item = next((i for i in attempt.items if i.position == toggle), None)
            if item is not None:
                services.set_flag(attempt, toggle, not item.flagged)
        page = here if toggle is not None else None
        if page is None and target.isdigit():
            page = services.reach_page(attempt, int(target))
    except DomainError as exc:
        if exc.code != "time_up":
            raise
        return redirect(url_for("exams.result", attempt_id=attempt.id))
    db.session.commit()
    if kept:
        flash(_("Answers changed in another window after this page was loaded were not overwritten: %(num)s. "
                "The saved answers were kept.", num=kept), "warning")
    if page is None and target == "summary":
        return redirect(url_for("exams.summary", attempt_id=attempt.id))
    return redirect(url_for("exams.attempt", attempt_id=attempt.id, page=page or here))


@bp.route("/attempts/<int:attempt_id>/summary")
@login_required
def summary(attempt_id: int):
    """Before the final submit: every question's state, unanswered and flagged ones listed; Submit and Back."""
    attempt = _own_attempt_or_404(attempt_id)
    _finalise_if_overdue(attempt)
    if attempt.state != IN_PROGRESS:
        return redirect(url_for("exams.result", attempt_id=attempt.id))
    context = _page_context(attempt)
    questions = context["payload"]["questions"]
    current = services.page_of(attempt.furthest_position, context["per_page"]) if context["sequential"] else None
    return render_template("exams/summary.html", attempt=attempt, current_page=current,
                           unanswered=[q for q in questions if not q["selected"]],
                           flagged=[q for q in questions if q["flagged"]], **context)


@bp.route("/attempts/<int:attempt_id>/submit", methods=["POST"])
@login_required
def submit(attempt_id: int):
    """Finish the attempt. Answers posted with the form (the no-JavaScript path) are saved first,
    each only if the revision it was rendered with is still current (a stale form never overwrites)."""
    attempt = _own_attempt_or_404(attempt_id)
    if attempt.state == IN_PROGRESS and not attempt.is_overdue:
        _save_posted_answers(attempt)
    services.finish_attempt(attempt, by="candidate")
    db.session.commit()
    return redirect(url_for("exams.result", attempt_id=attempt.id))


@bp.route("/attempts/<int:attempt_id>/result")
@login_required
def result(attempt_id: int):
    """Score, pass/fail, band and the breakdown per standard item."""
    attempt = _own_attempt_or_404(attempt_id)
    _finalise_if_overdue(attempt)
    if attempt.state == IN_PROGRESS:
        return redirect(url_for("exams.attempt", attempt_id=attempt.id))
    from app.certification.models import Certificate

    certificates = list(db.session.execute(select(Certificate).where(Certificate.attempt_id == attempt.id)).scalars())
    return render_template("exams/result.html", attempt=attempt, breakdown=services.breakdown_by_item(attempt),
                           band=services.grade_band(attempt.score, attempt.passed), certificates=certificates)
