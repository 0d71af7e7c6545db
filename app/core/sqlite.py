"""SQLite connection settings: foreign keys on, WAL journal, a busy timeout (no effect on PostgreSQL)."""
from __future__ import annotations

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine


def _on_connect(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def install(app: Flask) -> None:
    """Attach the connect hook to the app's engine when it is SQLite."""
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        return
    from app.extensions import db

    with app.app_context():
        engine: Engine = db.engine
        event.listen(engine, "connect", _on_connect)
