"""today's skills map of each plan, every department (rollout_skills_snapshot), served to administrators

Revision ID: 0024_dash2_skills_snapshot
Revises: 0023_dash2_forecast_snapshot
Create Date: 2026-12-05 04:35:00

"""
from alembic import op
import sqlalchemy as sa

from app.core.types import UTCDateTime


revision = "0024_dash2_skills_snapshot"
down_revision = "0023_dash2_forecast_snapshot"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'rollout_skills_snapshot',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('plan_id', sa.Integer(), nullable=False),
        sa.Column('department_id', sa.Integer(), nullable=False),
        sa.Column('item_id', sa.Integer(), nullable=True),
        sa.Column('earned', sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column('possible', sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column('people', sa.Integer(), nullable=False),
        sa.Column('taken_at', UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['department_id'], ['department.id'],
                                name=op.f('fk_rollout_skills_snapshot_department_id_department'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['item_id'], ['standard_item.id'],
                                name=op.f('fk_rollout_skills_snapshot_item_id_standard_item'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['plan_id'], ['rollout_plan.id'],
                                name=op.f('fk_rollout_skills_snapshot_plan_id_rollout_plan'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_rollout_skills_snapshot')),
    )
    with op.batch_alter_table('rollout_skills_snapshot', schema=None) as batch_op:
        batch_op.create_index('ix_rollout_skills_snapshot_plan_department', ['plan_id', 'department_id'], unique=False)


def downgrade():
    with op.batch_alter_table('rollout_skills_snapshot', schema=None) as batch_op:
        batch_op.drop_index('ix_rollout_skills_snapshot_plan_department')
    op.drop_table('rollout_skills_snapshot')
