"""Column types that behave the same on SQLite and PostgreSQL."""
from __future__ import annotations


from sqlalchemy import DateTime
from sqlalchemy.types import TypeDecorator

from app.core.time import UTC


class UTCDateTime(TypeDecorator):
    """A timestamp stored in UTC and always returned as an aware UTC datetime.

    PostgreSQL stores ``timestamp with time zone``; SQLite stores naive UTC text. Binding a naive
    datetime raises ValueError, so local times can never slip in unconverted.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column; use app.core.time.utcnow()")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
