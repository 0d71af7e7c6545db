"""Home page (routes each role to what it needs) and health check."""
from __future__ import annotations

from flask import Blueprint, jsonify, redirect, url_for
from flask_login import current_user
from sqlalchemy import text

from app.extensions import db

bp = Blueprint("core", __name__)


@bp.route("/")
def home():
    """Anonymous users go to login; officers and admins to the dashboard; learners to their courses."""
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    if current_user.is_admin or current_user.is_officer:
        return redirect(url_for("rollout.dashboard"))
    return redirect(url_for("learning.my_courses"))


@bp.route("/healthz")
def healthz():
    """Liveness and database check for load balancers: ``{"status": "ok"}``."""
    db.session.execute(text("SELECT 1"))
    return jsonify(status="ok")
