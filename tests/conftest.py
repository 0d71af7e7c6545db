"""Test fixtures: one database per run (built by Alembic), emptied after every test.

Set TEST_DATABASE_URL to run on PostgreSQL (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test);
the default is a SQLite file in a temporary folder.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT.parent / "shared" / "fixtures" / "moodle"

if not os.environ.get("TEST_DATABASE_URL"):
    _tmp = tempfile.mkdtemp(prefix="civicskills-test-")
    os.environ["TEST_DATABASE_URL"] = f"sqlite:///{_tmp}/test.db"
os.environ["CIVICSKILLS_ENV"] = "testing"

from app import create_app  # noqa: E402
from app.extensions import db as _db  # noqa: E402
from config import TestingConfig  # noqa: E402

TEST_PASSWORD = "correct-horse-42"


def drop_everything(engine: sa.Engine) -> None:
    """Drop every table (and PostgreSQL's alembic_version) so migrations start from empty."""
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(sa.text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(sa.text("CREATE SCHEMA public"))
        return
    meta = sa.MetaData()
    meta.reflect(bind=engine)
    with engine.begin() as conn:
        conn.execute(sa.text("PRAGMA foreign_keys=OFF"))
        meta.drop_all(bind=conn)


class IsolatedClient(FlaskClient):
    """A test client whose every request runs in its own app context (own ``g`` and DB session),
    as in production, even while the test itself holds an app context."""

    def open(self, *args, **kwargs):
        with self.application.app_context():
            return super().open(*args, **kwargs)


# Two runs against one PostgreSQL database would drop each other's schema: the second waits.
_RUN_LOCK_KEY = 0x43495649  # "CIVI"


@pytest.fixture(scope="session")
def app():
    """The Flask app, with the schema built by `flask db upgrade` on an empty database.

    On PostgreSQL the run holds a session advisory lock for its whole length, so a second test
    run against the same database waits instead of dropping the first one's tables.
    """
    application = create_app(TestingConfig)
    application.test_client_class = IsolatedClient
    with application.app_context():
        lock = None
        if _db.engine.dialect.name == "postgresql":
            lock = _db.engine.connect()
            lock.execute(sa.text("SELECT pg_advisory_lock(:key)"), {"key": _RUN_LOCK_KEY})
            lock.commit()  # the lock is session-level: it outlives the transaction
        drop_everything(_db.engine)
        from flask_migrate import upgrade

        upgrade()
        _db.session.remove()
    yield application
    if lock is not None:
        lock.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": _RUN_LOCK_KEY})
        lock.close()


def _empty_tables(engine: sa.Engine) -> None:
    tables = [t.name for t in _db.metadata.sorted_tables]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(sa.text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))
        else:
            conn.execute(sa.text("PRAGMA foreign_keys=OFF"))
            for table in tables:
                conn.execute(sa.text(f'DELETE FROM "{table}"'))
            conn.execute(sa.text("PRAGMA foreign_keys=ON"))


@pytest.fixture()
def db(app):
    """An app context with an empty database; every table is emptied after the test."""
    with app.app_context():
        yield _db
        _db.session.rollback()
        _db.session.remove()
        _empty_tables(_db.engine)
        # ids start again at 1 (RESTART IDENTITY): drop the autosave's per-process cache of attempts'
        # items, as a restarted worker would (tests/exams/test_autosave_fast.py covers a stale one)
        from app.exams import services

        services._ITEM_MAPS.clear()
        services._VERSION_HASHES.clear()


@pytest.fixture()
def client(app, db):
    """A test client (cookies kept between requests)."""
    return app.test_client()


@pytest.fixture()
def login_as(client):
    """``login_as(user)`` logs the client in through the real login form; returns the response."""
    from tests.factories import csrf_token

    def _login(user, password: str = TEST_PASSWORD):
        token = csrf_token(client, "/login")
        return client.post("/login", data={"staff_number": user.staff_number, "password": password,
                                           "csrf_token": token})

    return _login


@pytest.fixture()
def content(db):
    """The real shipped content (courses/ and question_bank/) synced into the database."""
    from app.content.services import sync_content

    report = sync_content(ROOT / "courses", ROOT / "question_bank")
    db.session.commit()
    return report
