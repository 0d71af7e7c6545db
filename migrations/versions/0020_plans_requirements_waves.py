"""Plans: courses-only requirement, wave milestones, history of override attempt allowances

Revision ID: 0020_plans_requirements_waves
Revises: 0018_asof_deactivated_at
Create Date: 2026-12-05 03:40:00

- rollout_plan.certification_id becomes nullable (a plan may require only courses).
- plan_wave_milestone: a wave's own milestones (date, target percent).
- enrolment_due_change: the due date an enrolment had before a later change (the renewal
  assignment), so "overdue" at a past date uses the due date in force then.
- exam_override_change: each change of an override's attempts_allowed, with the value before it,
  so "attempts exhausted" at a past date uses the allowance in force then. Existing overrides that
  set attempts get one row (changed at their granted_at, value before NULL); overrides without a
  granted_at are taken as always in force.
"""
from alembic import op
import sqlalchemy as sa

from app.core.types import UTCDateTime


revision = "0020_plans_requirements_waves"
down_revision = "0019_exed_sitting_candidates"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('rollout_plan', schema=None) as batch_op:
        batch_op.alter_column('certification_id', existing_type=sa.Integer(), nullable=True)
    op.create_table(
        'plan_wave_milestone',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('wave_id', sa.Integer(), nullable=False),
        sa.Column('due_on', sa.Date(), nullable=False),
        sa.Column('target_percent', sa.Numeric(precision=5, scale=2), nullable=False),
        sa.ForeignKeyConstraint(['wave_id'], ['plan_wave.id'], name=op.f('fk_plan_wave_milestone_wave_id_plan_wave'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_plan_wave_milestone')),
        sa.UniqueConstraint('wave_id', 'due_on', name=op.f('uq_plan_wave_milestone_wave_id_due_on')),
    )
    with op.batch_alter_table('plan_wave_milestone', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_plan_wave_milestone_wave_id'), ['wave_id'], unique=False)
    op.create_table(
        'exam_override_change',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('exam_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('department_id', sa.Integer(), nullable=True),
        sa.Column('changed_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('attempts_before', sa.Integer(), nullable=True),
        sa.Column('attempts_after', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['department_id'], ['department.id'],
                                name=op.f('fk_exam_override_change_department_id_department'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['exam_id'], ['exam.id'], name=op.f('fk_exam_override_change_exam_id_exam'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_exam_override_change_user_id_user'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_exam_override_change')),
    )
    with op.batch_alter_table('exam_override_change', schema=None) as batch_op:
        batch_op.create_index('ix_exam_override_change_lookup', ['exam_id', 'user_id', 'department_id', 'changed_at'],
                              unique=False)
    op.create_table(
        'enrolment_due_change',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('enrolment_id', sa.Integer(), nullable=False),
        sa.Column('changed_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('due_before', sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(['enrolment_id'], ['enrolment.id'],
                                name=op.f('fk_enrolment_due_change_enrolment_id_enrolment'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_enrolment_due_change')),
    )
    with op.batch_alter_table('enrolment_due_change', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_enrolment_due_change_enrolment_id'), ['enrolment_id'], unique=False)
    op.execute(
        "INSERT INTO exam_override_change (exam_id, user_id, department_id, changed_at, attempts_before, attempts_after) "
        "SELECT exam_id, user_id, department_id, granted_at, NULL, attempts_allowed FROM exam_override "
        "WHERE attempts_allowed IS NOT NULL AND granted_at IS NOT NULL")


def downgrade():
    with op.batch_alter_table('enrolment_due_change', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_enrolment_due_change_enrolment_id'))
    op.drop_table('enrolment_due_change')
    with op.batch_alter_table('exam_override_change', schema=None) as batch_op:
        batch_op.drop_index('ix_exam_override_change_lookup')
    op.drop_table('exam_override_change')
    with op.batch_alter_table('plan_wave_milestone', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_plan_wave_milestone_wave_id'))
    op.drop_table('plan_wave_milestone')
    with op.batch_alter_table('rollout_plan', schema=None) as batch_op:
        batch_op.alter_column('certification_id', existing_type=sa.Integer(), nullable=False)
