"""Locale selection: ?lang= switch (remembered in the session), the user's preference, then DEFAULT_LOCALE."""
from __future__ import annotations

from flask import Flask, current_app, has_request_context, request, session
from flask_babel import get_locale

from app.extensions import babel


def select_locale() -> str:
    """Return the locale for this request: 'zh_CN' or 'en'."""
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():
        return current_app.config["DEFAULT_LOCALE"]
    wanted = request.args.get("lang")
    if wanted in languages:
        session["lang"] = wanted
        return wanted
    if session.get("lang") in languages:
        return session["lang"]
    from flask_login import current_user

    if getattr(current_user, "is_authenticated", False) and current_user.locale in languages:
        return current_user.locale
    return current_app.config["DEFAULT_LOCALE"]


def select_timezone() -> str:
    """The display zone (``TIMEZONE`` setting)."""
    return current_app.config["TIMEZONE"]


def html_lang() -> str:
    """Value for <html lang>: 'zh-CN' or 'en'."""
    locale = get_locale()
    return "en" if locale and locale.language == "en" else "zh-CN"


def init_app(app: Flask) -> None:
    """Initialise Flask-Babel with our selectors."""
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
