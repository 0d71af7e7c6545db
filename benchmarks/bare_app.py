"""The bare comparison app: Flask + gunicorn + PostgreSQL, one upsert per request, nothing else.

No login, no CSRF, no validation: the floor our autosave is compared with (issue 6, item 12). Each
``POST /api/answers`` with JSON ``{"client": int, "position": int, "response": {...}}`` runs
BEGIN, one ``INSERT … ON CONFLICT DO UPDATE … RETURNING revision``, COMMIT (3 round trips) and
answers ``{"status": "saved", "revision": int}``.

Served like the real app (``benchmarks/exam_day.py`` starts it)::

    BARE_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/bench_exam \\
        gunicorn -w 4 -b 127.0.0.1:8101 --chdir benchmarks bare_app:app

The table is created by :func:`create_table` (the benchmark calls it before starting gunicorn).
"""
from __future__ import annotations

import json
import os

from flask import Flask, jsonify, request
from sqlalchemy import create_engine, text

TABLE = """CREATE TABLE IF NOT EXISTS bare_answer (
    client integer NOT NULL, position integer NOT NULL, response jsonb NOT NULL, revision integer NOT NULL,
    PRIMARY KEY (client, position))"""
UPSERT = text(
    "INSERT INTO bare_answer (client, position, response, revision) VALUES (:client, :position, CAST(:response AS jsonb), 1) "
    "ON CONFLICT (client, position) DO UPDATE SET response = EXCLUDED.response, revision = bare_answer.revision + 1 "
    "RETURNING revision"
)


def create_table(url: str) -> None:
    """Create (or empty) the ``bare_answer`` table in the database at SQLAlchemy ``url``."""
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(TABLE))
        conn.execute(text("TRUNCATE bare_answer"))
    engine.dispose()


app = Flask(__name__)
engine = create_engine(os.environ.get("BARE_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/bench_exam"),
                       pool_pre_ping=False, pool_size=2, max_overflow=0)


@app.post("/api/answers")
def save():
    """Upsert one answer; 200 ``{"status": "saved", "revision"}``."""
    data = request.get_json()
    with engine.begin() as conn:
        revision = conn.execute(UPSERT, {"client": data["client"], "position": data["position"],
                                         "response": json.dumps(data["response"])}).scalar_one()
    return jsonify(status="saved", revision=revision)
