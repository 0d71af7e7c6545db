"""Exam pages and the autosave API. Load, check, act: an attempt that is not yours is a 404."""
from __future__ import annotations

from flask import Blueprint, abort, jsonify, redirect, render_template, request, url_for
from flask_babel import _
from flask_login import current_user, login_required
from sqlalchemy import select

from app.core.errors import DomainError
from app.exams import services
from app.exams.models import IN_PROGRESS, Attempt, Exam
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
    attempt = services.start_attempt(current_user, exam)
    db.session.commit()
    return redirect(url_for("exams.attempt", attempt_id=attempt.id))


@bp.route("/attempts/<int:attempt_id>")
@login_required
def attempt(attempt_id: int):
    """The exam page: questions, saved answers, countdown. A finished attempt shows its result."""
    attempt = _own_attempt_or_404(attempt_id)
    _finalise_if_overdue(attempt)
    if attempt.state != IN_PROGRESS:
        return redirect(url_for("exams.result", attempt_id=attempt.id))
    payload = services.candidate_payload(attempt)
    return render_template("exams/attempt.html", attempt=attempt, payload=payload)


@bp.route("/api/attempts/<int:attempt_id>/answers", methods=["POST"])
@login_required
def save_answer(attempt_id: int):
    """Autosave one answer. JSON in: ``{"position": int, "response": {...}, "seq": int}``.

    200 ``{"status": "saved"|"stale", "seq", "saved_at", "remaining_seconds"}``; 409 when time is up.
    """
    attempt = _own_attempt_or_404(attempt_id)
    data = request.get_json(silent=True)
    if not isinstance(data, dict) or not isinstance(data.get("position"), int):
        raise DomainError(_("Malformed request."), code="bad_request", status=400)
    result = services.save_answer(attempt, data["position"], data.get("response"), data.get("seq"))
    db.session.commit()
    return jsonify(status=result.status, seq=result.seq, saved_at=result.saved_at.isoformat(),
                   remaining_seconds=result.remaining_seconds)


@bp.route("/api/attempts/<int:attempt_id>/status")
@login_required
def status(attempt_id: int):
    """``{"state", "remaining_seconds"}``: the server's clock for the countdown."""
    attempt = _own_attempt_or_404(attempt_id)
    _finalise_if_overdue(attempt)
    return jsonify(state=attempt.state, remaining_seconds=attempt.remaining_seconds if attempt.state == IN_PROGRESS else 0)


@bp.route("/attempts/<int:attempt_id>/submit", methods=["POST"])
@login_required
def submit(attempt_id: int):
    """Finish the attempt. Answers posted with the form (the no-JavaScript path) are saved first."""
    attempt = _own_attempt_or_404(attempt_id)
    if attempt.state == IN_PROGRESS and not attempt.is_overdue:
        for item in attempt.items:
            values = request.form.getlist(f"q{item.position}")
            if not values:
                continue
            response = {"choices": values} if request.form.get(f"q{item.position}-multiple") else {"choice": values[0]}
            try:
                services.save_answer(attempt, item.position, response, item.response_seq + 1)
            except DomainError as exc:
                if exc.code == "time_up":
                    break
                raise
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
