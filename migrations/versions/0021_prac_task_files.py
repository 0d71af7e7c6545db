"""practical_task_file: each practical question version keeps its own task.yaml and starter file

Revision ID: 0021_prac_task_files
Revises: 0018_asof_deactivated_at
Create Date: 2026-12-05 03:40:00

Existing practical question versions get their files at the next `flask content sync` (the release
step after `flask db upgrade`): sync fills in the current version's files when its fingerprint still
matches the task folder. Older versions whose folder has changed since cannot be recovered.
"""
from alembic import op
import sqlalchemy as sa


revision = "0021_prac_task_files"
down_revision = "0020_plans_requirements_waves"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'practical_task_file',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('question_version_id', sa.Integer(), nullable=False),
        sa.Column('role', sa.String(length=20), nullable=False),
        sa.Column('name', sa.String(length=255), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('content', sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(['question_version_id'], ['question_version.id'],
                                name=op.f('fk_practical_task_file_question_version_id_question_version'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_practical_task_file')),
        sa.UniqueConstraint('question_version_id', 'role',
                            name=op.f('uq_practical_task_file_question_version_id_role')),
    )
    with op.batch_alter_table('practical_task_file', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_practical_task_file_question_version_id'), ['question_version_id'],
                              unique=False)


def downgrade():
    with op.batch_alter_table('practical_task_file', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_practical_task_file_question_version_id'))
    op.drop_table('practical_task_file')
