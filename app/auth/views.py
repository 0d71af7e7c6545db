"""Login and logout."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, g, jsonify, redirect, render_template, request, session, url_for
from flask_babel import _
from flask_login import current_user, login_required, login_user, logout_user

from app.auth.forms import ChoosePasswordForm, CodeLoginForm, LoginForm, PasswordForm
from app.auth.login import open_session, revoke_session
from app.auth.services import (DIRECTORY, LoginRefused, authenticate, change_password, choose_password,
                               current_password_authority, redeem_sign_in_code)
from app.extensions import db, limiter

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    if target and not urlsplit(target).netloc and target.startswith("/") and not target.startswith("//"):
        return target
    return url_for("core.home")


# What a user who must change their password may still reach: the change form itself, logging out,
# the public verify pages and the health check.
PASSWORD_CHANGE_ALLOWED = frozenset({
    "auth.password", "auth.logout", "auth.login", "auth.code_login", "static", "core.healthz",
    "certification.verify", "certification.verify_form",
})

# Endpoints that refuse a pending password change themselves (403 ``password_change_required``),
# so this hook does not load the user for them: autosave checks it inside its one statement.
CHECKS_PASSWORD_CHANGE_ITSELF = frozenset({"exams.save_answer"})


@bp.before_app_request
def require_password_change():
    """Send a user whose password was set by someone else (staff import) to change it first.

    Pages redirect to ``/account/password``; JSON API calls get 403 ``{"error": "password_change_required"}``.
    """
    if request.endpoint in CHECKS_PASSWORD_CHANGE_ITSELF:
        return None
    if (not current_user.is_authenticated or not current_user.must_change_password
            or request.endpoint in PASSWORD_CHANGE_ALLOWED or current_password_authority() == DIRECTORY):
        return None  # (with the directory as the only authority no local password is ever used)
    if request.path.startswith("/api/"):
        return jsonify(error="password_change_required"), 403
    return redirect(url_for("auth.password"))


def rotate_csrf_token() -> None:
    """Forget the CSRF secret of the anonymous session, so a token seen or planted before sign-in
    does not work after it; Flask-WTF makes a new one on the next form."""
    session.pop("csrf_token", None)
    g.pop("csrf_token", None)


@bp.app_context_processor
def _password_authority():
    """``password_authority()`` for templates: ``local``, ``directory`` or ``directory_fallback``
    (:func:`app.auth.services.password_authority`), deciding what the sign-in code pages offer."""
    return {"password_authority": current_password_authority}


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def login():
    """Show the login form; on success open a server-side session."""
    if current_user.is_authenticated:
        return redirect(url_for("core.home"))
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = authenticate(form.staff_number.data, form.password.data)
        except LoginRefused as refused:
            db.session.commit()  # keep the failure count and the audit event
            if refused.reason == "unavailable":
                flash(_("The sign-in directory (LDAP) cannot be reached just now, so passwords cannot be "
                        "checked. Please try again in a few minutes or tell the system administrator."), "error")
                return render_template("auth/login.html", form=form), 503
            # One answer for a wrong password, an unknown staff number and a locked account.
            flash(_("Staff number or password is incorrect, or the account is locked for a while after "
                    "too many failed attempts. Check and try again later."), "error")
            return render_template("auth/login.html", form=form), 401
        _sign_in(user)
        return redirect(_safe_next(request.args.get("next")))
    return render_template("auth/login.html", form=form)


def _sign_in(user) -> None:
    """Open a server-side session for ``user``, commit, and start a fresh CSRF secret."""
    open_session(user, request.user_agent.string)
    db.session.commit()
    rotate_csrf_token()
    login_user(user)


@bp.route("/login/code", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def code_login():
    """Sign in once with a personal sign-in code (new staff, forgotten password), then choose a password."""
    if current_user.is_authenticated:
        return redirect(url_for("core.home"))
    form = CodeLoginForm()
    if form.validate_on_submit():
        try:
            user = redeem_sign_in_code(form.staff_number.data, form.code.data)
        except LoginRefused as refused:
            db.session.commit()  # keep the failure count
            if refused.reason == "directory":  # the page says why (it shows no form then)
                return render_template("auth/code_login.html", form=form), 403
            flash(_("Staff number or sign-in code is not valid. A code works once and expires; ask the "
                    "training office (the system administrator) for a new one."), "error")
            return render_template("auth/code_login.html", form=form), 401
        _sign_in(user)
        return redirect(url_for("auth.password"))
    return render_template("auth/code_login.html", form=form)


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    """Revoke this login session; the cookie is useless afterwards even if replayed."""
    revoke_session(current_user.get_id())
    db.session.commit()
    logout_user()
    flash(_("You have logged out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def password():
    """Change one's own password (or choose one after signing in with a code, when there is no
    current password to confirm); other login sessions of this user are ended."""
    if current_password_authority() == DIRECTORY:  # the password is the directory's: nothing to set here
        return render_template("auth/password.html", form=None, forced=False, choosing=False,
                               directory=True), (409 if request.method == "POST" else 200)
    choosing = not current_user.password_hash
    form = ChoosePasswordForm() if choosing else PasswordForm()
    forced = current_user.must_change_password
    if choosing and form.validate_on_submit():
        choose_password(current_user, form.new.data, current_user.get_id())
        db.session.commit()
        flash(_("Your password has been set."), "success")
        return redirect(url_for("core.home"))
    if not choosing and form.validate_on_submit():
        if change_password(current_user, form.current.data, form.new.data, current_user.get_id()):
            db.session.commit()
            flash(_("Your password has been changed. Other devices where you were logged in have been logged out."),
                  "success")
            return redirect(url_for("core.home"))
        form.current.errors.append(_("The current password is not correct."))
    return render_template("auth/password.html", form=form, forced=forced, choosing=choosing)
