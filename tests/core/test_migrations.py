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
