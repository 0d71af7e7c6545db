"""Exam pages and the autosave API. Load, check, act: an attempt that is not yours is a 404."""
from __future__ import annotations

from flask import Blueprint, abort, flash, g, jsonify, redirect, render_template, request, session, url_for
from flask_babel import _
from flask_login import current_user, login_required
from sqlalchemy import select

from app.audit.services import record
from app.core.errors import DomainError
from app.core.errors import audit_denial
from app.core.inputs import check_form, own_body_limit
from app.core.permissions import examiner_required, refuse_out_of_scope, scope_target
from app.exams import admission, fastlane, review, services
from app.exams.models import IN_PROGRESS, SEQUENTIAL, Attempt, Exam
from app.exams.forms import GRADE_LABELS
from app.exams.kept import percent_text, user_kept_grade, user_reached_pass_mark
from app.exams.responses import response_from_form
from app.extensions import csrf, db, limiter, login_manager
from app.questions.forms import TYPE_LABELS

bp = Blueprint("exams", __name__)


def _exam_or_404(code: str) -> Exam:
    exam = db.session.execute(select(Exam).where(Exam.code == code, Exam.active.is_(True))).scalar_one_or_none()
    if exam is None:
        abort(404)
    return exam


def _own_attempt_or_404(attempt_id: int) -> Attempt:
    attempt = db.session.get(Attempt, attempt_id)
    if attempt is None or attempt.user_id != current_user.id:  # another person's attempt: refused, audited
        refuse_out_of_scope(Attempt, attempt_id, "attempt")
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
    refusal = review.start_refusal(current_user, exam) or admission.network_refusal(exam, request.remote_addr)
    from app.core.time import utcnow
    kept = user_kept_grade(exam, current_user.id)
    return render_template("exams/exam.html", exam=exam, settings=settings, current=current, used=used,
                           questions=questions, refusal=refusal.message if refusal else None,
                           sittings=admission.sittings_of(exam.id), now=utcnow(),
                           my_sitting=admission.assigned_sitting(exam.id, current_user.id),
                           kept=percent_text(kept),
                           grade_label=GRADE_LABELS.get(exam.grade_method, exam.grade_method))


def _access_code_user() -> str:
    return f"access-code:{current_user.get_id()}"


#: Wrong access codes per candidate (only wrong ones count): then 429 until the window passes.
ACCESS_CODE_LIMIT = "10 per 10 minutes"


@bp.route("/exams/<code>/start", methods=["POST"])
@limiter.limit(ACCESS_CODE_LIMIT, key_func=_access_code_user, deduct_when=lambda response: bool(g.get("wrong_access_code")))
@login_required
def start(code: str):
    """Start a new attempt (or resume the open one) and go to it. The form may carry ``access_code``
    and ``sitting`` (an id); an admission refusal (network, access code, sitting) is shown on the
    exam page with its reason."""
    exam = _exam_or_404(code)
    sitting = request.form.get("sitting", "")
    ticket = admission.Admission(remote_addr=request.remote_addr, access_code=request.form.get("access_code"),
                                 sitting_id=int(sitting) if sitting.isascii() and sitting.isdigit() and len(sitting) < 10 else None)
    try:
        attempt_id = services.start_attempt(current_user, exam, ticket).id  # read before the commit expires it
    except DomainError as exc:
        if exc.code not in ADMISSION_CODES:
            raise
        db.session.rollback()
        g.wrong_access_code = exc.code == "access_code"
        flash(exc.message, "error")
        return redirect(url_for("exams.exam", code=exam.code))
    db.session.commit()
    return redirect(url_for("exams.attempt", attempt_id=attempt_id))


ADMISSION_CODES = ("network", "access_code", "sitting_required", "sitting_closed", "sitting_full", "sitting_assigned")


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

    Each question posts its partial's fields (``q<position>...``, read by
    :func:`app.exams.responses.response_from_form`) and ``r<position>`` (the revision the page was
    rendered with); an answer is applied only when that revision is still current, or it equals the
    stored one. Stops quietly at time up; skips questions sequential navigation closed.
    """
    kept = 0
    for item in attempt.items:
        revision = request.form.get(f"r{item.position}", type=int)
        response = response_from_form(request.form, item.position)
        if response is None or revision is None:
            continue
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
def save_answer(attempt_id: int):
    """Autosave one answer. JSON in: ``{"position": int, "response": {...}, "revision": int}`` where
    ``revision`` is the item revision the page last saw (0 before any save).

    200 ``{"status": "saved", "revision", "saved_at", "remaining_seconds"}`` only when stored;
    409 ``{"status": "conflict", "code": "conflict", "revision", "saved_response", "selected"}`` when
    another window changed the answer; 409 code ``time_up`` / ``sequential``; 400 with a message for
    malformed input. Error bodies: ``{"status": "error", "code", "error", "message"}``. Not signed in: 401.

    The login is checked by the save itself on PostgreSQL (:func:`services.save_answer_fast`), so
    the user is loaded (Flask-Login) only when that path hands over to the general one.
    """
    if not session.get("_user_id"):
        return login_manager.unauthorized()
    try:
        if (request.content_length or 0) > MAX_BODY_BYTES:
            raise DomainError(_("The request is too large."), code="bad_request", status=400)
        data = request.get_json(silent=True)
        if not isinstance(data, dict):
            raise DomainError(_("The request body must be a JSON object."), code="bad_request", status=400)
        for field in ("position", "revision", "response"):
            if field not in data:
                raise DomainError(_("Field '%(field)s' is missing.", field=field), code="bad_request", status=400)
        # PostgreSQL: one statement checks the login session, the attempt and the revision and writes
        # (not again when the fast lane in front of the app already ran it: app.exams.fastlane)
        result = None if request.environ.get(fastlane.TRIED) else services.save_answer_fast(
            session.get("_user_id"), attempt_id, data["position"], data["response"], data["revision"])
        general = result is None
        if general:  # anything but a plain store: the general path, after the usual login checks
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if current_user.must_change_password:
                return jsonify(error="password_change_required"), 403
            result = services.save_answer_for(attempt_id, current_user.id, data["position"], data["response"],
                                              data["revision"])
    except services.SaveConflict as conflict:
        db.session.rollback()
        return jsonify(status="conflict", code="conflict", error="conflict", message=conflict.message,
                       revision=conflict.revision, saved_response=conflict.saved_response,
                       selected=conflict.selected), 409
    except DomainError as exc:
        target = scope_target(Attempt, attempt_id, "attempt") if exc.code == "not_found" else None
        db.session.rollback()
        if target is not None:  # another person's attempt: the same 404, audited
            audit_denial(target, 404)
        return jsonify(status="error", code=exc.code, error=exc.code, message=exc.message), exc.status
    if general:  # the fast path committed its own connection
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
                           unanswered=[q for q in questions if not q["answered"]],
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
    from app.learning.queries import course_overview

    steps = review.next_steps(attempt)
    overview = course_overview(current_user, attempt.exam.course) if attempt.exam.course is not None else None
    from app.exams.practical import checking_count

    exam = attempt.exam
    return render_template("exams/result.html", attempt=attempt, breakdown=services.breakdown_by_item(attempt),
                           band=services.grade_band(attempt.score, attempt.passed), certificates=certificates,
                           steps=steps, overview=overview, checking_files=checking_count(attempt.id),
                           kept=percent_text(user_kept_grade(exam, current_user.id)),
                           kept_passed=user_reached_pass_mark(exam, current_user.id),
                           grade_label=GRADE_LABELS.get(exam.grade_method, exam.grade_method))


@bp.route("/attempts/<int:attempt_id>/review")
@login_required
def review_page(attempt_id: int):
    """The candidate's review of a finished attempt, showing only what the exam's review options allow
    now; while the review is closed, a page that says when it opens (or that it never does)."""
    attempt = _own_attempt_or_404(attempt_id)
    _finalise_if_overdue(attempt)
    if attempt.state == IN_PROGRESS:
        return redirect(url_for("exams.attempt", attempt_id=attempt.id))
    state = review.review_state(attempt)
    questions = review.review_questions(attempt, state.show) if state.open else []
    return render_template("exams/review.html", attempt=attempt, state=state, questions=questions)


# --------------------------------------------------------------------------- item analysis and results
# (examiners and admins; results also for training officers, only for candidates in their scope)
from flask import Response as _Response  # noqa: E402

from app.core.permissions import examiner_required as _examiner_required  # noqa: E402
from app.exams import results as _results  # noqa: E402
from app.exams import statistics as _statistics  # noqa: E402


def _report_exam_or_404(code: str) -> Exam:
    exam = db.session.execute(select(Exam).where(Exam.code == code)).scalar_one_or_none()
    if exam is None:
        abort(404)
    return exam


def _results_viewer() -> None:
    if not _results.can_view_results(current_user):
        abort(403)


def _download(data: bytes, filename: str, fmt: str) -> _Response:
    mimetype = ("text/csv; charset=utf-8" if fmt == "csv"
                else "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    return _Response(data, mimetype=mimetype,
                     headers={"Content-Disposition": f'attachment; filename="{filename}.{fmt}"'})


@bp.route("/reports/exams/")
@login_required
def report_index():
    """Exams with links to their results (and item analysis for examiners and admins)."""
    _results_viewer()
    exams = db.session.execute(select(Exam).order_by(Exam.code)).scalars().all()
    return render_template("exams/results_index.html", exams=exams,
                           examiner=_results.sees_everyone(current_user))


@bp.route("/reports/exams/<code>/statistics")
@bp.route("/reports/exams/<code>/statistics.<fmt>", endpoint="statistics_export")
@_examiner_required
def statistics(code: str, fmt: str | None = None):
    """Item analysis (Moodle's quiz statistics) of one exam; ``?attempts=first|all``, ``?from=`` and
    ``?to=`` (local dates, inclusive) select a sitting. ``fmt`` csv or xlsx downloads it."""
    if fmt not in (None, "csv", "xlsx"):
        abort(404)
    exam = _report_exam_or_404(code)
    form = _results.statistics_form(request.args)
    analysis, versions = _statistics.analyse_exam(exam.id, form["attempts"], form["started_from"], form["started_before"])
    if fmt:
        data = _results.statistics_export(exam, analysis, fmt)
        return _download(data, f"{exam.code}-statistics", fmt)
    return render_template("exams/statistics.html", exam=exam, analysis=analysis, form=form,
                           items=_results.standard_item_names(analysis), flag_labels=_results.flag_labels(),
                           type_labels=TYPE_LABELS, definitions=_results.statistics_definitions())


@bp.route("/reports/exams/<code>/results")
@bp.route("/reports/exams/<code>/results.<fmt>", endpoint="results_export")
@login_required
def results(code: str, fmt: str | None = None):
    """Results of one exam within the viewer's scope: per candidate, per department and per standard
    item (``?view=candidates|departments|items``); ``fmt`` csv (the candidates) or xlsx (all three)."""
    _results_viewer()
    if fmt not in (None, "csv", "xlsx"):
        abort(404)
    exam = _report_exam_or_404(code)
    candidates = _results.candidate_results(exam.id, current_user)
    departments = _results.department_results(candidates)
    items = _results.standard_item_results(exam.id, current_user, float(exam.pass_mark))
    if fmt:
        data = _results.results_export(exam, candidates, departments, items, fmt)
        return _download(data, f"{exam.code}-results", fmt)
    view = request.args.get("view", "candidates")
    if view not in ("candidates", "departments", "items"):
        view = "candidates"
    return render_template("exams/results.html", exam=exam, view=view, candidates=candidates,
                           departments=departments, items=items)


@bp.route("/reports/attempts/<int:attempt_id>")
@login_required
def attempt_review(attempt_id: int):
    """One finished attempt with the candidate's answers, for admins, examiners and officers whose scope
    holds the candidate (404 for anyone else, so an attempt's existence does not leak)."""
    attempt = db.session.get(Attempt, attempt_id)
    if attempt is None or attempt.state == IN_PROGRESS:
        abort(404)
    if not _results.can_view_attempt(current_user, attempt):
        refuse_out_of_scope(Attempt, attempt_id, "attempt")
    return render_template("exams/results_attempt.html", attempt=attempt,
                           answers=_results.attempt_answers(attempt))


# --- overrides and accommodations (issue 6 item 9, issue 7 item 5) ---------------------------

def _grant_or_403() -> None:
    from app.exams import overrides

    if not overrides.can_grant(current_user):
        abort(403)


@bp.route("/exams/<code>/overrides", methods=["GET", "POST"])
@examiner_required
def overrides(code: str):
    """Admins and examiners: list this exam's overrides and add one for a person (staff number) or a
    department (code) and its subtree."""
    from app.auth.models import User as Person
    from app.exams import overrides as grants
    from app.org.models import Department

    exam = _exam_or_404(code)
    form = request.form if request.method == "POST" else {}
    if request.method == "POST":
        try:
            staff_number = (form.get("staff_number") or "").strip()[:40]
            department_code = (form.get("department_code") or "").strip()[:40]
            person = department = None
            if staff_number and department_code or not (staff_number or department_code):
                raise DomainError(_("Choose either a person or a department."), code="bad_input")
            if staff_number:
                person = db.session.execute(select(Person).where(Person.staff_number == staff_number)).scalar_one_or_none()
                if person is None:
                    raise DomainError(_("Staff number: no person %(value)s.", value=staff_number), code="bad_input")
            else:
                department = db.session.execute(
                    select(Department).where(Department.code == department_code)).scalar_one_or_none()
                if department is None:
                    raise DomainError(_("Department code: no department %(value)s.", value=department_code),
                                      code="bad_input")
            minutes = grants.whole_number(form.get("time_limit_minutes"), _("Time limit (minutes)"), 1,
                                          grants.MAX_LIMIT_MINUTES)
            closes_at = grants.local_datetime_input(form.get("closes_at"), _("Closes"))
            attempts = grants.whole_number(form.get("attempts_allowed"), _("Attempts allowed"), 1, grants.MAX_ATTEMPTS)
            reason = grants.reason_text(form.get("reason"))
            grants.set_override(current_user, exam, person=person, department=department,
                                time_limit_seconds=minutes * 60 if minutes else None, closes_at=closes_at,
                                attempts_allowed=attempts, reason=reason, ip=request.remote_addr)
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "error")
            return render_template("exams/overrides.html", exam=exam, rows=grants.overrides_of(exam), form=form), 400
        db.session.commit()
        flash(_("Override saved."), "success")
        return redirect(url_for("exams.overrides", code=exam.code))
    return render_template("exams/overrides.html", exam=exam, rows=grants.overrides_of(exam), form=form)


@bp.route("/exams/<code>/overrides/<int:override_id>/delete", methods=["POST"])
@examiner_required
def delete_override(code: str, override_id: int):
    """Admins and examiners: remove one override of this exam (audited)."""
    from app.exams import overrides as grants
    from app.exams.models import ExamOverride

    exam = _exam_or_404(code)
    override = db.session.get(ExamOverride, override_id)
    if override is None or override.exam_id != exam.id:
        abort(404)
    grants.remove_override(current_user, override, ip=request.remote_addr)
    db.session.commit()
    flash(_("Override removed."), "success")
    return redirect(url_for("exams.overrides", code=exam.code))


@bp.route("/people/<int:user_id>/exam-rules", methods=["GET", "POST"])
@login_required
def person_rules(user_id: int):
    """One person's accommodation and exam overrides. Admins and examiners: anyone; officers: people
    within their scope (404 outside it). POST ``action`` = ``accommodation`` | ``extra_attempt`` |
    ``extra_time``; each change is audited."""
    from app.exams import overrides as grants

    _grant_or_403()
    person = grants.person_for(current_user, user_id)
    if person is None:
        from app.auth.models import User as Person

        refuse_out_of_scope(Person, user_id, "user")
    exams = list(db.session.execute(select(Exam).where(Exam.active.is_(True)).order_by(Exam.code)).scalars())
    status = 200
    if request.method == "POST":
        form = request.form
        action = form.get("action", "")
        try:
            reason = grants.reason_text(form.get("reason"))
            if action == "accommodation":
                percent = grants.whole_number(form.get("extra_percent"), _("Extra time (percent)"), 0, grants.MAX_PERCENT) or 0
                minutes = grants.whole_number(form.get("extra_minutes"), _("Extra minutes"), 0,
                                              grants.MAX_EXTRA_MINUTES) or 0
                grants.set_accommodation(current_user, person, percent, minutes, reason, ip=request.remote_addr)
                message = _("Accommodation saved.")
            elif action in ("extra_attempt", "extra_time"):
                exam = next((e for e in exams if str(e.id) == form.get("exam_id", "")), None)
                if exam is None:
                    raise DomainError(_("Exam: choose an exam."), code="bad_input")
                if action == "extra_attempt":
                    total = grants.grant_extra_attempt(current_user, exam, person, reason, ip=request.remote_addr)
                    message = _("Extra attempt granted: %(total)s attempts allowed.", total=total)
                else:
                    minutes = grants.whole_number(form.get("minutes"), _("Extra minutes"), 1, grants.MAX_EXTRA_MINUTES,
                                                  blank_ok=False)
                    grants.grant_extra_time(current_user, exam, person, minutes, reason, ip=request.remote_addr)
                    message = _("Extra time granted.")
            else:
                raise DomainError(_("Unknown action."), code="bad_input")
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "error")
            status = 400
        else:
            db.session.commit()
            flash(message, "success")
            return redirect(url_for("exams.person_rules", user_id=person.id))
    rows = [{"exam": e, "settings": services.candidate_settings(e, person.id),
             "used": services.attempts_used(e.id, person.id)} for e in exams]
    return render_template("exams/overrides_person.html", person=person, rows=rows,
                           accommodation=grants.accommodation_of(person.id),
                           in_scope_view=current_user.is_admin or current_user.is_officer), status


# --- regrade after a key fix (examiners and admins) -------------------------------------------


from app.core.inputs import parse_id  # noqa: E402
from app.exams.regrade import exam_questions, load_exam, regrade_exam  # noqa: E402


def _regrade_exam_or_404(code: str) -> Exam:
    exam = load_exam(code)
    if exam is None:
        abort(404)
    return exam


def _regrade_question_ids(values) -> list[int]:
    return [parse_id(raw) for raw in values.getlist("question") if raw != ""]


def _regrade_page(exam: Exam, question_ids: list[int], report, status: int = 200):
    return render_template("exams/regrade.html", exam=exam, report=report, chosen=set(question_ids),
                           questions=exam_questions(exam)), status


@bp.route("/admin/exams/<code>/regrade")
@examiner_required
def regrade(code: str):
    """Dry run of a regrade: who would change (score, pass, certificates), with a confirm button.
    ``?question=<id>`` (repeatable) chooses the questions; none: every question changed since shown."""
    exam = _regrade_exam_or_404(code)
    question_ids = _regrade_question_ids(request.args)
    try:
        report = regrade_exam(exam, question_ids, dry_run=True)
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return _regrade_page(exam, question_ids, None, exc.status)
    db.session.rollback()
    return _regrade_page(exam, question_ids, report)


@bp.route("/admin/exams/<code>/regrade", methods=["POST"])
@examiner_required
def regrade_apply(code: str):
    """Commit the regrade of the posted questions and show what changed (audited)."""
    exam = _regrade_exam_or_404(code)
    question_ids = _regrade_question_ids(request.form)
    try:
        report = regrade_exam(exam, question_ids, dry_run=False)
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return _regrade_page(exam, question_ids, None, exc.status)
    record(current_user.id, "exam.regrade", f"exam:{exam.code}",
           {"questions": question_ids, "attempts_changed": len(report.changes), "report": report.lines()[:200]})
    db.session.commit()
    flash(_("Regrade done: %(n)s attempt(s) changed.", n=len(report.changes)), "success")
    return _regrade_page(exam, question_ids, report)


# --- practical tasks (issue 9): starter download, upload, the uploaded file ----------------------

from flask import Response as _FileResponse  # noqa: E402

from app.exams import practical as _practical  # noqa: E402


def _file_response(data: bytes, filename: str, content_type: str) -> _FileResponse:
    """An attachment download (never rendered inline), not cached."""
    from urllib.parse import quote

    ascii_name = "".join(ch if ch.isascii() and ch.isalnum() or ch in "-_." else "_" for ch in filename) or "file"
    response = _FileResponse(data, mimetype=content_type)
    response.headers["Content-Disposition"] = (f"attachment; filename=\"{ascii_name}\"; "
                                               f"filename*=UTF-8''{quote(filename)}")
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.route("/attempts/<int:attempt_id>/items/<int:position>/starter")
@login_required
def practical_starter(attempt_id: int, position: int):
    """The starter file of a practical task: the attempt's owner only, while the attempt is open
    (404 otherwise, also for an item that is not a practical task)."""
    attempt = _own_attempt_or_404(attempt_id)
    _finalise_if_overdue(attempt)
    try:
        data, name, content_type = _practical.starter_download(attempt, position)
    except DomainError:
        abort(404)
    return _file_response(data, name, content_type)


def _upload_request_limit() -> int:
    """Request body limit of the upload routes in bytes: the upload limit plus 64 KiB of form (the
    app-wide ``MAX_CONTENT_LENGTH`` is lower)."""
    return _practical.max_upload_bytes() + 64 * 1024


def _open_upload_body() -> int:
    """For the two upload routes (``own_body_limit``: nothing has read the body yet), after the owner
    check: refuse a body declared larger than :func:`_upload_request_limit` unread (DomainError 413
    ``too_large``), then read the form and check it (NUL bytes: 400; the CSRF token, form field or
    ``X-CSRFToken`` header: CSRFError 400 — the routes are exempt from the app-wide CSRF check, which
    would read the body before any view code). Returns the upload limit in bytes."""
    limit = _practical.max_upload_bytes()
    if (request.content_length or 0) > _upload_request_limit():
        raise DomainError(_("The file is too large: at most %(size)s MB.", size=round(limit / 1024 / 1024, 1)),
                          code="too_large", status=413)
    check_form()
    csrf.protect()
    return limit


def _upload_conflict_message() -> str:
    return _("Another window uploaded a different file for this task since this page was loaded. "
             "Upload again to replace it.")


@bp.route("/api/attempts/<int:attempt_id>/items/<int:position>/upload", methods=["POST"])
@csrf.exempt
@own_body_limit(_upload_request_limit)
@login_required
def practical_upload(attempt_id: int, position: int):
    """Upload (or replace) the file of a practical task. Multipart in: ``file`` and ``revision`` (the
    item revision the page last saw, 0 before any upload); CSRF in the ``X-CSRFToken`` header.

    200 ``{"status": "saved", "revision", "filename", "size", "sha256", "saved_at", "remaining_seconds"}``
    only when stored; 409 ``conflict`` (another window stored a different file: ``revision``,
    ``filename``), ``time_up``, ``sequential``; 413 ``too_large``; 400 with a translated reason when the
    file is refused (wrong type, macros, a WPS .wps/.et file, damaged...) — nothing is stored then.
    The owner is checked before the body is read (:func:`_open_upload_body`).
    """
    owned = db.session.execute(select(Attempt.id).where(Attempt.id == attempt_id,
                                                       Attempt.user_id == current_user.id)).first()
    if owned is None:  # someone else's attempt (or none): 404 before the body is even read
        target = scope_target(Attempt, attempt_id, "attempt")
        db.session.rollback()
        if target is not None:
            audit_denial(target, 404)
        return jsonify(status="error", code="not_found", error="not_found",
                       message=_("The page you asked for does not exist.")), 404
    try:
        limit = _open_upload_body()
        upload = request.files.get("file")
        if upload is None:
            raise DomainError(_("Choose a file to upload."), code="bad_request", status=400)
        raw_revision = request.form.get("revision", "")
        if not raw_revision.isdigit() or len(raw_revision) > 10:
            raise DomainError(_("Field '%(field)s' must be a whole number.", field="revision"),
                              code="bad_request", status=400)
        data = upload.stream.read(limit + 1)
        result = _practical.store_upload(attempt_id, current_user.id, position, upload.filename, data,
                                         int(raw_revision))
    except services.SaveConflict as conflict:
        db.session.rollback()
        stored = ((conflict.saved_response or {}).get("upload") or {})
        return jsonify(status="conflict", code="conflict", error="conflict", message=_upload_conflict_message(),
                       revision=conflict.revision, filename=stored.get("filename", "")), 409
    except DomainError as exc:
        db.session.rollback()
        return jsonify(status="error", code=exc.code, error=exc.code, message=exc.message), exc.status
    db.session.commit()
    return jsonify(result.as_json())


@bp.route("/attempts/<int:attempt_id>/items/<int:position>/upload", methods=["POST"])
@csrf.exempt
@own_body_limit(_upload_request_limit)
@login_required
def practical_upload_form(attempt_id: int, position: int):
    """The practical upload without JavaScript: the attempt form posted as multipart by the task's
    Upload button (``formaction`` here, ``formenctype`` multipart), with ``file<position>``,
    ``r<position>`` (the item revision the page showed), ``csrf_token`` and the page's other answers.

    Load, check, act as the JSON route: the owner before the body is read (404), the same request
    limit and CSRF check (:func:`_open_upload_body`), an attempt past its time goes to the result.
    The page's posted answers are saved first (as the page buttons do, :func:`_save_posted_answers`),
    then :func:`app.exams.practical.store_upload` — the same service, checks and limits — in a
    savepoint, so a refused file stores nothing and loses none of those answers. One commit; then a
    redirect (303) back to the question with a flash: "Saved: name (size KB)", or "Not saved:" with
    the specific reason (too large, wrong or unsafe file, no file chosen, another window's upload,
    a question sequential navigation has closed).
    """
    attempt = _own_attempt_or_404(attempt_id)  # before the body is read
    back = url_for("exams.attempt", attempt_id=attempt.id,
                   page=services.page_of(position, attempt.exam.questions_per_page), _anchor=f"q{position}")
    try:
        limit = _open_upload_body()
    except DomainError as exc:
        flash(_("Not saved: %(reason)s", reason=exc.message), "error")
        return redirect(back, code=303)
    _finalise_if_overdue(attempt)
    if attempt.state != IN_PROGRESS:
        return redirect(url_for("exams.result", attempt_id=attempt.id), code=303)
    kept = _save_posted_answers(attempt)
    upload = request.files.get(f"file{position}")
    raw_revision = request.form.get(f"r{position}", "")
    message, category = None, "error"
    if upload is None or not upload.filename:
        message = _("Not saved: %(reason)s", reason=_("Choose a file to upload."))
    elif not raw_revision.isdigit() or len(raw_revision) > 10:
        message = _("Not saved: %(reason)s",
                    reason=_("Field '%(field)s' must be a whole number.", field="revision"))
    else:
        savepoint = db.session.begin_nested()
        try:
            result = _practical.store_upload(attempt.id, current_user.id, position, upload.filename,
                                             upload.stream.read(limit + 1), int(raw_revision))
            savepoint.commit()
            message, category = _("Saved: %(name)s (%(size)s KB)", name=result.filename,
                                  size=round(result.size / 1024, 1)), "success"
        except services.SaveConflict:
            savepoint.rollback()
            message = _("Not saved: %(reason)s", reason=_upload_conflict_message())
        except DomainError as exc:
            savepoint.rollback()
            if exc.code == "time_up":
                db.session.commit()
                flash(_("Not saved: %(reason)s", reason=exc.message), "error")
                return redirect(url_for("exams.result", attempt_id=attempt.id), code=303)
            message = _("Not saved: %(reason)s", reason=exc.message)
    db.session.commit()
    flash(message, category)
    if kept:
        flash(_("Answers changed in another window after this page was loaded were not overwritten: %(num)s. "
                "The saved answers were kept.", num=kept), "warning")
    return redirect(back, code=303)


@bp.route("/attempts/<int:attempt_id>/items/<int:position>/file")
@login_required
def practical_file(attempt_id: int, position: int):
    """The file uploaded for a practical task: its owner at any time; admins and examiners once the
    attempt is submitted (for review). 404 for anyone else and when there is no file."""
    attempt = db.session.get(Attempt, attempt_id)
    if attempt is None:
        abort(404)
    owner = attempt.user_id == current_user.id
    staff = (current_user.is_admin or current_user.is_examiner) and attempt.state != IN_PROGRESS
    if not (owner or staff):
        refuse_out_of_scope(Attempt, attempt_id, "attempt")
    try:
        item = _practical.practical_item(attempt, position)
    except DomainError:
        abort(404)
    upload = _practical.uploaded_file(item)
    if upload is None:
        abort(404)
    return _file_response(upload.content, upload.filename, upload.content_type)
