"""Migrations are reviewed code: one head, and upgrade on an empty database yields the models' schema."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import current_app


def test_one_migration_head(app):
    with app.app_context():
        config = current_app.extensions["migrate"].migrate.get_config()
        assert len(ScriptDirectory.from_config(config).get_heads()) == 1


def test_upgrade_yields_exactly_the_models_schema(db):
    # The session fixture built the schema with `flask db upgrade` on an empty database.
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), db.metadata)
    assert diff == []



def test_upgrade_from_0001_keeps_users_and_downgrade_reverses_it(db):
    """A database at the first release upgrades in place (existing users keep their own passwords)
    and the newest migration can be undone and redone."""
    import sqlalchemy as sa
    from flask_migrate import downgrade, upgrade

    db.session.remove()
    downgrade(revision="0001")
    try:
        with db.engine.begin() as conn:
            conn.execute(sa.text(
                "INSERT INTO \"user\" (staff_number, name, active, is_admin, failed_logins, created_at, updated_at) "
                "VALUES ('0001', '王芳', :yes, :no, 0, :now, :now)"),
                {"yes": True, "no": False, "now": "2026-01-01 00:00:00+00:00"})
    finally:
        upgrade()
    with db.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT must_change_password FROM \"user\"")).scalar_one() in (False, 0)
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), db.metadata)
    assert diff == []


def test_0025_review_rules_fill_from_the_old_options_and_downgrade_never_shows_more(db):
    """Upgrade: every name in review_show gets review_when, the others never (NULL show: marks).
    Downgrade: show = the names not never, when = after_close if any of them waits for the close."""
    import json

    import sqlalchemy as sa
    from flask_migrate import downgrade, upgrade

    db.session.remove()
    downgrade(revision="0024_dash2_skills_snapshot")
    try:
        with db.engine.begin() as conn:
            for code, when, show in (("e-old-null", "immediately", None),
                                     ("e-after", "after_close", json.dumps(["feedback", "marks"])),
                                     ("e-never", "never", json.dumps(["marks", "correct_answer"]))):
                conn.execute(sa.text(
                    "INSERT INTO exam (code, title_zh, title_en, time_limit_seconds, attempts_allowed, pass_mark, "
                    "grace_period_seconds, shuffle_options, active, review_when, review_show, created_at, updated_at) "
                    "VALUES (:code, 'z', 'e', 600, 1, 60, 0, :yes, :yes, :when, :show, :now, :now)"),
                    {"code": code, "when": when, "show": show, "yes": True, "now": "2026-01-01 00:00:00+00:00"})
    finally:
        upgrade()
    never = {"marks": "never", "correctness": "never", "response": "never", "correct_answer": "never",
             "feedback": "never"}
    exam = sa.table("exam", sa.column("code", sa.String), sa.column("review_rules", sa.JSON))
    with db.engine.connect() as conn:
        rules = dict(conn.execute(sa.select(exam.c.code, exam.c.review_rules).where(exam.c.code.like("e-%"))).all())
    assert rules["e-old-null"] == dict(never, marks="immediately")
    assert rules["e-after"] == dict(never, marks="after_close", feedback="after_close")
    assert rules["e-never"] == never
    with db.engine.begin() as conn:  # a matrix the old columns cannot say
        conn.execute(exam.update().where(exam.c.code == "e-after").values(
            review_rules=dict(never, marks="immediately", correct_answer="after_close")))
    db.session.remove()
    downgrade(revision="0024_dash2_skills_snapshot")
    try:
        old = sa.table("exam", sa.column("code", sa.String), sa.column("review_when", sa.String),
                       sa.column("review_show", sa.JSON))
        with db.engine.connect() as conn:
            rows = {c: (w, s) for c, w, s in conn.execute(sa.select(old.c.code, old.c.review_when, old.c.review_show)
                                                          .where(old.c.code.like("e-%"))).all()}
        assert rows["e-old-null"] == ("immediately", ["marks"])
        assert rows["e-after"] == ("after_close", ["marks", "correct_answer"])
        assert rows["e-never"] == ("never", [])
    finally:
        with db.engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM exam WHERE code LIKE 'e-%'"))
        upgrade()
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), db.metadata)
    assert diff == []
