"""departments projected to miss the next milestone, stored with today's snapshot (rollout_forecast_snapshot)

Revision ID: 0023_dash2_forecast_snapshot
Revises: 0022_dash_person_snapshot
Create Date: 2026-12-05 04:45:00

"""
from alembic import op
import sqlalchemy as sa

from app.core.types import UTCDateTime


revision = "0023_dash2_forecast_snapshot"
down_revision = "0022_dash_person_snapshot"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'rollout_forecast_snapshot',
        sa.Column('plan_id', sa.Integer(), nullable=False),
        sa.Column('department_id', sa.Integer(), nullable=False),
        sa.Column('rank', sa.Integer(), nullable=False),
        sa.Column('current', sa.Numeric(precision=5, scale=1), nullable=True),
        sa.Column('projected', sa.Numeric(precision=5, scale=1), nullable=False),
        sa.Column('target', sa.Numeric(precision=5, scale=2), nullable=False),
        sa.Column('slope_per_week', sa.Float(), nullable=False),
        sa.Column('taken_at', UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['department_id'], ['department.id'],
                                name=op.f('fk_rollout_forecast_snapshot_department_id_department'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['plan_id'], ['rollout_plan.id'],
                                name=op.f('fk_rollout_forecast_snapshot_plan_id_rollout_plan'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('plan_id', 'department_id', name=op.f('pk_rollout_forecast_snapshot')),
    )
    with op.batch_alter_table('rollout_forecast_snapshot', schema=None) as batch_op:
        batch_op.create_index('ix_rollout_forecast_snapshot_plan_rank', ['plan_id', 'rank'], unique=False)


def downgrade():
    with op.batch_alter_table('rollout_forecast_snapshot', schema=None) as batch_op:
        batch_op.drop_index('ix_rollout_forecast_snapshot_plan_rank')
    op.drop_table('rollout_forecast_snapshot')
