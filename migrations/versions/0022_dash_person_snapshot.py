"""today's standing of each eligible person per plan (rollout_person_snapshot), for the whole-city drill-down

Revision ID: 0022_dash_person_snapshot
Revises: 0018_asof_deactivated_at
Create Date: 2026-12-05 03:40:00

"""
from alembic import op
import sqlalchemy as sa

from app.core.types import UTCDateTime


revision = "0022_dash_person_snapshot"
down_revision = "0021_prac_task_files"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'rollout_person_snapshot',
        sa.Column('plan_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('department_id', sa.Integer(), nullable=False),
        sa.Column('dept_rank', sa.Integer(), nullable=False),
        sa.Column('staff_number', sa.String(length=40), nullable=False),
        sa.Column('position', sa.String(length=100), nullable=True),
        sa.Column('started', sa.Boolean(), nullable=False),
        sa.Column('certified', sa.Boolean(), nullable=False),
        sa.Column('taken_at', UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['department_id'], ['department.id'],
                                name=op.f('fk_rollout_person_snapshot_department_id_department'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['plan_id'], ['rollout_plan.id'],
                                name=op.f('fk_rollout_person_snapshot_plan_id_rollout_plan'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['user.id'],
                                name=op.f('fk_rollout_person_snapshot_user_id_user'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('plan_id', 'user_id', name=op.f('pk_rollout_person_snapshot')),
    )
    with op.batch_alter_table('rollout_person_snapshot', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rollout_person_snapshot_department_id'), ['department_id'], unique=False)
        batch_op.create_index('ix_rollout_person_snapshot_status_order',
                              ['plan_id', 'certified', 'started', 'dept_rank', 'staff_number'], unique=False)
        batch_op.create_index('ix_rollout_person_snapshot_department_order',
                              ['plan_id', 'dept_rank', 'staff_number'], unique=False)


def downgrade():
    with op.batch_alter_table('rollout_person_snapshot', schema=None) as batch_op:
        batch_op.drop_index('ix_rollout_person_snapshot_department_order')
        batch_op.drop_index('ix_rollout_person_snapshot_status_order')
        batch_op.drop_index(batch_op.f('ix_rollout_person_snapshot_department_id'))
    op.drop_table('rollout_person_snapshot')
