"""exam.review_rules: per-what review timing (Moodle's review matrix) replaces review_when + review_show

Revision ID: 0025_review_rules
Revises: 0021_prac_task_files
Create Date: 2026-12-05 04:30:00

Upgrade fills each exam's rules from its old options: every name in ``review_show`` (NULL: ``[marks]``)
gets the old ``review_when``, every other name ``never``. So what a candidate sees, and from when, does
not change; one case does: ``when`` immediately/after_close with an EMPTY ``show`` used to open a review
page with the bare questions, and now (every rule ``never``) shows none.

Downgrade cannot express a matrix in one ``when``; it never shows more, or sooner, than the rules did:
``show`` = the names not ``never``; ``when`` = ``after_close`` if any of them is after_close, else
``immediately`` if any, else ``never`` (so "marks immediately, key after close" becomes "marks and key
after close").
"""
import json

from alembic import op
import sqlalchemy as sa


revision = "0025_review_rules"
down_revision = "0024_dash2_skills_snapshot"
branch_labels = None
depends_on = None

SHOW = ("marks", "correctness", "response", "correct_answer", "feedback")
WHEN = ("immediately", "after_close", "never")


def _as_list(value):
    """A JSON column's value as Python (a string on drivers that hand back text)."""
    if isinstance(value, str):
        value = json.loads(value)
    return value


def upgrade():
    with op.batch_alter_table("exam", schema=None) as batch_op:
        batch_op.add_column(sa.Column("review_rules", sa.JSON(), nullable=True))
    exam = sa.table("exam", sa.column("id", sa.Integer), sa.column("review_when", sa.String),
                    sa.column("review_show", sa.JSON), sa.column("review_rules", sa.JSON))
    conn = op.get_bind()
    for exam_id, when, show in conn.execute(sa.select(exam.c.id, exam.c.review_when, exam.c.review_show)).all():
        show = _as_list(show)
        show = ["marks"] if show is None else [s for s in show if s in SHOW]
        when = when if when in WHEN else "immediately"
        rules = {what: (when if what in show else "never") for what in SHOW}
        conn.execute(exam.update().where(exam.c.id == exam_id).values(review_rules=rules))
    with op.batch_alter_table("exam", schema=None) as batch_op:
        batch_op.alter_column("review_rules", existing_type=sa.JSON(), nullable=False)
        batch_op.drop_column("review_show")
        batch_op.drop_column("review_when")


def downgrade():
    with op.batch_alter_table("exam", schema=None) as batch_op:
        batch_op.add_column(sa.Column("review_when", sa.String(length=20), server_default="immediately", nullable=False))
        batch_op.add_column(sa.Column("review_show", sa.JSON(), nullable=True))
    exam = sa.table("exam", sa.column("id", sa.Integer), sa.column("review_when", sa.String),
                    sa.column("review_show", sa.JSON), sa.column("review_rules", sa.JSON))
    conn = op.get_bind()
    for exam_id, rules in conn.execute(sa.select(exam.c.id, exam.c.review_rules)).all():
        rules = _as_list(rules) or {}
        shown = [what for what in SHOW if rules.get(what) in ("immediately", "after_close")]
        whens = {rules[what] for what in shown}
        when = "after_close" if "after_close" in whens else ("immediately" if shown else "never")
        conn.execute(exam.update().where(exam.c.id == exam_id).values(review_when=when, review_show=shown))
    with op.batch_alter_table("exam", schema=None) as batch_op:
        batch_op.drop_column("review_rules")
