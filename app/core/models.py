"""Model mixins shared by feature packages."""
from __future__ import annotations

import datetime as dt

from flask_babel import get_locale
from sqlalchemy.orm import Mapped, mapped_column

from app.core.time import utcnow
from app.core.types import UTCDateTime


class TimestampMixin:
    """Adds ``created_at`` and ``updated_at`` (aware UTC)."""

    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


def current_language() -> str:
    """'zh' or 'en' for the request's locale (zh outside a request)."""
    try:
        locale = get_locale()
    except Exception:  # outside a request or app context
        return "zh"
    return "en" if locale is not None and locale.language == "en" else "zh"


class BilingualMixin:
    """For models with ``<field>_zh`` / ``<field>_en`` columns: :meth:`tr` picks the request's language."""

    def tr(self, field: str) -> str:
        """Return ``field`` in the current language, falling back to Chinese when English is empty."""
        zh = getattr(self, f"{field}_zh") or ""
        if current_language() == "en":
            return getattr(self, f"{field}_en", None) or zh
        return zh
