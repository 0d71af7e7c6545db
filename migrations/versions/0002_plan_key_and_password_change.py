"""rollout plans keyed for YAML files; users who must change their password

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 08:20:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    # Plans loaded with `flask rollout load-plan` are matched by this key; plans made otherwise have none.
    with op.batch_alter_table('rollout_plan', schema=None) as batch_op:
        batch_op.add_column(sa.Column('key', sa.String(length=80), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_rollout_plan_key'), ['key'])
    # Existing users chose their own passwords: false for every existing row.
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('must_change_password', sa.Boolean(), server_default=sa.false(),
                                      nullable=False))


def downgrade():
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_column('must_change_password')
    with op.batch_alter_table('rollout_plan', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_rollout_plan_key'), type_='unique')
        batch_op.drop_column('key')
