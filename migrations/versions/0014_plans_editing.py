"""plans in the browser: audience exclusions, positions, grades, extra courses, due-date rule, waves, exemption actor

Revision ID: 0014_plans_editing
Revises: 0013_notify_messages_jobs
Create Date: 2026-12-04 21:45:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0014_plans_editing'
down_revision = '0013_notify_messages_jobs'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('rollout_plan', schema=None) as batch_op:
        batch_op.add_column(sa.Column('positions', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('grades', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('due_rule', sa.String(length=20), server_default='fixed', nullable=False))
        batch_op.add_column(sa.Column('due_days', sa.Integer(), nullable=True))
    with op.batch_alter_table('exemption', schema=None) as batch_op:
        batch_op.add_column(sa.Column('created_by_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_exemption_created_by_id_user', 'user', ['created_by_id'], ['id'],
                                    ondelete='SET NULL')
    op.create_table(
        'plan_exclusion',
        sa.Column('plan_id', sa.Integer(), nullable=False),
        sa.Column('department_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['department_id'], ['department.id'],
                                name=op.f('fk_plan_exclusion_department_id_department'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['plan_id'], ['rollout_plan.id'], name=op.f('fk_plan_exclusion_plan_id_rollout_plan'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('plan_id', 'department_id', name=op.f('pk_plan_exclusion')),
    )
    op.create_table(
        'plan_course',
        sa.Column('plan_id', sa.Integer(), nullable=False),
        sa.Column('course_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['course_id'], ['course.id'], name=op.f('fk_plan_course_course_id_course'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['plan_id'], ['rollout_plan.id'], name=op.f('fk_plan_course_plan_id_rollout_plan'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('plan_id', 'course_id', name=op.f('pk_plan_course')),
    )
    op.create_table(
        'plan_wave',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('plan_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('starts_on', sa.Date(), nullable=False),
        sa.Column('ends_on', sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(['plan_id'], ['rollout_plan.id'], name=op.f('fk_plan_wave_plan_id_rollout_plan'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_plan_wave')),
    )
    with op.batch_alter_table('plan_wave', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_plan_wave_plan_id'), ['plan_id'], unique=False)
    op.create_table(
        'plan_wave_department',
        sa.Column('wave_id', sa.Integer(), nullable=False),
        sa.Column('department_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['department_id'], ['department.id'],
                                name=op.f('fk_plan_wave_department_department_id_department'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['wave_id'], ['plan_wave.id'], name=op.f('fk_plan_wave_department_wave_id_plan_wave'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('wave_id', 'department_id', name=op.f('pk_plan_wave_department')),
    )


def downgrade():
    op.drop_table('plan_wave_department')
    with op.batch_alter_table('plan_wave', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_plan_wave_plan_id'))
    op.drop_table('plan_wave')
    op.drop_table('plan_course')
    op.drop_table('plan_exclusion')
    with op.batch_alter_table('exemption', schema=None) as batch_op:
        batch_op.drop_constraint('fk_exemption_created_by_id_user', type_='foreignkey')
        batch_op.drop_column('created_by_id')
    with op.batch_alter_table('rollout_plan', schema=None) as batch_op:
        batch_op.drop_column('due_days')
        batch_op.drop_column('due_rule')
        batch_op.drop_column('grades')
        batch_op.drop_column('positions')
