"""Helpers shared by the ``flask`` command groups."""
from __future__ import annotations

import sys
from typing import NoReturn

import click

from app.extensions import db


def fail(errors: list[str]) -> NoReturn:
    """Roll back the session, print every error line to stderr, then the count, and exit with status 1.

    ``errors`` are complete lines, usually ``file:line: message``. Used by every import command so that
    a rejected input always ends the same way: nothing written, every problem named.
    """
    db.session.rollback()
    for line in errors:
        click.echo(line, err=True)
    click.echo(f"{len(errors)} error(s); nothing was changed.", err=True)
    sys.exit(1)


def refresh_statistics(*tables: str) -> None:
    """Run ``ANALYZE`` on ``tables`` (names as in the models) after a bulk import, on PostgreSQL only.

    Freshly loaded tables have no planner statistics until autovacuum gets to them, and plans
    cached while a table was empty stay in use: right after importing 20,000 staff, re-importing
    the same file took 15.4 s, and 1.5 s after ANALYZE (docs/performance.md). ANALYZE
    takes tens of milliseconds and invalidates those plans. Call after the commit; a no-op on SQLite.
    """
    from sqlalchemy import text

    if db.engine.dialect.name != "postgresql" or not tables:
        return
    db.session.execute(text("ANALYZE " + ", ".join(f'"{name}"' for name in tables)))
    db.session.commit()
