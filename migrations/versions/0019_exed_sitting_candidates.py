"""Sittings with assigned candidates: exam_sitting.name (room or place) and exam_sitting_candidate

Revision ID: 0019_exed_sitting_candidates
Revises: 0018_asof_deactivated_at
Create Date: 2026-12-05 03:45:00

A person is assigned to at most one sitting per exam (unique exam_id, user_id); the seat is counted
in exam_sitting.seats_taken when assigned. Existing sittings get an empty name and no candidates.
"""
from alembic import op
import sqlalchemy as sa

from app.core.types import UTCDateTime


revision = '0019_exed_sitting_candidates'
down_revision = '0018_asof_deactivated_at'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('exam_sitting', schema=None) as batch_op:
        batch_op.add_column(sa.Column('name', sa.String(length=200), server_default='', nullable=False))
    op.create_table(
        'exam_sitting_candidate',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('sitting_id', sa.Integer(), nullable=False),
        sa.Column('exam_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('assigned_by_id', sa.Integer(), nullable=True),
        sa.Column('assigned_at', UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['assigned_by_id'], ['user.id'],
                                name=op.f('fk_exam_sitting_candidate_assigned_by_id_user'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['exam_id'], ['exam.id'],
                                name=op.f('fk_exam_sitting_candidate_exam_id_exam'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['sitting_id'], ['exam_sitting.id'],
                                name=op.f('fk_exam_sitting_candidate_sitting_id_exam_sitting'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['user.id'],
                                name=op.f('fk_exam_sitting_candidate_user_id_user'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_exam_sitting_candidate')),
        sa.UniqueConstraint('exam_id', 'user_id', name=op.f('uq_exam_sitting_candidate_exam_id_user_id')),
    )
    with op.batch_alter_table('exam_sitting_candidate', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_exam_sitting_candidate_sitting_id'), ['sitting_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_exam_sitting_candidate_user_id'), ['user_id'], unique=False)


def downgrade():
    with op.batch_alter_table('exam_sitting_candidate', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_exam_sitting_candidate_user_id'))
        batch_op.drop_index(batch_op.f('ix_exam_sitting_candidate_sitting_id'))
    op.drop_table('exam_sitting_candidate')
    with op.batch_alter_table('exam_sitting', schema=None) as batch_op:
        batch_op.drop_column('name')
