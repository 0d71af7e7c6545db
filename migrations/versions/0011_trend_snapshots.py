"""daily rollout figures per plan, department and local day (rollout_snapshot)

Revision ID: 0011_trend_snapshots
Revises: 0010_bank_staged_uploads
Create Date: 2026-12-04 21:40:00

"""
from alembic import op
import sqlalchemy as sa

from app.core.types import UTCDateTime


revision = '0011_trend_snapshots'
down_revision = '0010_bank_staged_uploads'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'rollout_snapshot',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('plan_id', sa.Integer(), nullable=False),
        sa.Column('department_id', sa.Integer(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('eligible', sa.Integer(), nullable=False),
        sa.Column('started', sa.Integer(), nullable=False),
        sa.Column('certified', sa.Integer(), nullable=False),
        sa.Column('sat', sa.Integer(), nullable=False),
        sa.Column('passed', sa.Integer(), nullable=False),
        sa.Column('hours_met', sa.Integer(), nullable=False),
        sa.Column('target', sa.Numeric(precision=5, scale=1), nullable=False),
        sa.Column('taken_at', UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['department_id'], ['department.id'],
                                name=op.f('fk_rollout_snapshot_department_id_department'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['plan_id'], ['rollout_plan.id'],
                                name=op.f('fk_rollout_snapshot_plan_id_rollout_plan'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_rollout_snapshot')),
        sa.UniqueConstraint('plan_id', 'department_id', 'day', name=op.f('uq_rollout_snapshot_plan_id_department_id_day')),
    )
    with op.batch_alter_table('rollout_snapshot', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rollout_snapshot_department_id'), ['department_id'], unique=False)


def downgrade():
    with op.batch_alter_table('rollout_snapshot', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rollout_snapshot_department_id'))
    op.drop_table('rollout_snapshot')
