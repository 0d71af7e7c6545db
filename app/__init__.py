"""CivicSkills: training, timed exams and certification for civil servants.

:func:`create_app` builds the WSGI app. It registers extensions, blueprints, CLI groups and
error handlers, and never touches the database or starts the scheduler (see docs/architecture.md).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask


def create_app(config: type | None = None) -> Flask:
    """Create the Flask app from a config class (default: chosen by CIVICSKILLS_ENV)."""
    from flask import Flask

    from config import ProductionConfig, config_from_env

    config = config or config_from_env()
    if config is ProductionConfig or (isinstance(config, type) and issubclass(config, ProductionConfig)):
        config.validate()
    app = Flask(__name__, instance_path=str(Path(__file__).resolve().parent.parent / "instance"))
    app.config.from_object(config)
    os.makedirs(app.instance_path, exist_ok=True)
    from app.exams import fastlane

    fastlane.install(app)  # autosave without the request cycle when nothing is unusual (PostgreSQL)
    proxies = int(app.config.get("TRUSTED_PROXY_COUNT", 0))
    if proxies > 0:  # only then are X-Forwarded-* headers believed (set by our own proxies)
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies, x_port=proxies)

    from app.core import i18n, inputs, security, sqlite, templating
    from app.extensions import csrf, db, limiter, migrate

    inputs.init_app(app)  # the bounded <int:> converter must exist before any route is added

    db.init_app(app)
    sqlite.install(app)
    migrate.init_app(app, db, directory=str(Path(__file__).resolve().parent.parent / "migrations"))
    csrf.init_app(app)
    limiter.init_app(app)
    i18n.init_app(app)
    security.init_app(app)
    templating.init_app(app)

    from app import models  # noqa: F401  (register every model with the metadata)
    from app.audit import views as audit_views
    from app.auth import views as auth_views
    from app.auth.login import init_login
    from app.certification import views as cert_views
    from app.core import errors, views as core_views
    from app.exams import editor_views, grading_views, views as exam_views
    from app.learning import views as learning_views
    from app.notifications import views as notification_views
    from app.org import code_views, views as org_views
    from app.questions import views as question_views
    from app.rollout import views as rollout_views
    from app.scheduler import views as scheduler_views

    init_login(app)
    for blueprint in (
        core_views.bp, auth_views.bp, learning_views.bp, exam_views.bp,
        cert_views.bp, rollout_views.bp, rollout_views.admin_bp, org_views.bp, grading_views.bp, question_views.bp,
        editor_views.bp, notification_views.bp, scheduler_views.bp, audit_views.bp, code_views.bp,
    ):
        app.register_blueprint(blueprint)
    errors.init_app(app)

    from app import cli

    cli.init_app(app)
    if not app.debug and not app.testing and app.config.get("RATELIMIT_STORAGE_URI", "").startswith("memory://") \
            and os.environ.get("CIVICSKILLS_ENV") == "production":
        app.logger.warning("RATELIMIT_STORAGE_URI is memory://: login rate limits are per worker process; "
                           "set it to a shared store such as redis://127.0.0.1:6379/0")
    return app
