"""exam editor: exam.shuffle_questions, grade_method, managed_by, allowed_networks, access_code_hash;
exam_sitting (date/time slots with seats) and attempt.sitting_id

Revision ID: 0012_editor_exam_editor
Revises: 0011_trend_snapshots
Create Date: 2026-12-04 21:45:00

"""
from alembic import op
import sqlalchemy as sa

from app.core.types import UTCDateTime

revision = '0012_editor_exam_editor'
down_revision = '0011_trend_snapshots'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('exam', schema=None) as batch_op:
        batch_op.add_column(sa.Column('shuffle_questions', sa.Boolean(), server_default=sa.true(), nullable=False))
        batch_op.add_column(sa.Column('grade_method', sa.String(length=10), server_default='highest', nullable=False))
        batch_op.add_column(sa.Column('managed_by', sa.String(length=10), server_default='file', nullable=False))
        batch_op.add_column(sa.Column('allowed_networks', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('access_code_hash', sa.String(length=255), nullable=True))

    op.create_table('exam_sitting',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('exam_id', sa.Integer(), nullable=False),
    sa.Column('starts_at', UTCDateTime(), nullable=False),
    sa.Column('ends_at', UTCDateTime(), nullable=False),
    sa.Column('capacity', sa.Integer(), nullable=False),
    sa.Column('seats_taken', sa.Integer(), server_default='0', nullable=False),
    sa.CheckConstraint('seats_taken >= 0 AND seats_taken <= capacity', name=op.f('ck_exam_sitting_seats_within_capacity')),
    sa.ForeignKeyConstraint(['exam_id'], ['exam.id'], name=op.f('fk_exam_sitting_exam_id_exam'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_exam_sitting'))
    )
    with op.batch_alter_table('exam_sitting', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_exam_sitting_exam_id'), ['exam_id'], unique=False)

    with op.batch_alter_table('attempt', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sitting_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_attempt_sitting_id'), ['sitting_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_attempt_sitting_id_exam_sitting'), 'exam_sitting',
                                    ['sitting_id'], ['id'], ondelete='SET NULL')


def downgrade():
    with op.batch_alter_table('attempt', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_attempt_sitting_id_exam_sitting'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_attempt_sitting_id'))
        batch_op.drop_column('sitting_id')
    with op.batch_alter_table('exam_sitting', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_exam_sitting_exam_id'))
    op.drop_table('exam_sitting')
    with op.batch_alter_table('exam', schema=None) as batch_op:
        batch_op.drop_column('access_code_hash')
        batch_op.drop_column('allowed_networks')
        batch_op.drop_column('managed_by')
        batch_op.drop_column('grade_method')
        batch_op.drop_column('shuffle_questions')
