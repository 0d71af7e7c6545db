"""exam autosave by server-issued revision; flags; pages and navigation

Revision ID: 0003_autosave_revision
Revises: 0002
Create Date: 2026-12-04 18:30:00

attempt_item.response_seq (the client's sequence number) is replaced by revision (issued by the
server). An existing stored answer starts at revision 1 so that a page loaded before the upgrade,
which knows no revision, cannot overwrite it silently.
"""
from alembic import op
import sqlalchemy as sa


revision = '0003_autosave_revision'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('attempt_item', schema=None) as batch_op:
        batch_op.add_column(sa.Column('revision', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('flagged', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.execute("UPDATE attempt_item SET revision = 1 WHERE response IS NOT NULL")
    with op.batch_alter_table('attempt_item', schema=None) as batch_op:
        batch_op.drop_column('response_seq')
    with op.batch_alter_table('attempt', schema=None) as batch_op:
        batch_op.add_column(sa.Column('furthest_position', sa.Integer(), server_default='1', nullable=False))
    with op.batch_alter_table('exam', schema=None) as batch_op:
        batch_op.add_column(sa.Column('questions_per_page', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('navigation', sa.String(length=20), server_default='free', nullable=False))


def downgrade():
    with op.batch_alter_table('exam', schema=None) as batch_op:
        batch_op.drop_column('navigation')
        batch_op.drop_column('questions_per_page')
    with op.batch_alter_table('attempt', schema=None) as batch_op:
        batch_op.drop_column('furthest_position')
    with op.batch_alter_table('attempt_item', schema=None) as batch_op:
        batch_op.add_column(sa.Column('response_seq', sa.Integer(), server_default='0', nullable=False))
    op.execute("UPDATE attempt_item SET response_seq = revision")
    with op.batch_alter_table('attempt_item', schema=None) as batch_op:
        batch_op.drop_column('flagged')
        batch_op.drop_column('revision')
