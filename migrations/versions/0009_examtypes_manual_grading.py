"""manual grading of essays: attempt_item.graded_by_id, graded_at, grade_note

Revision ID: 0009_examtypes_manual_grading
Revises: 0008_people_staff_transfer
Create Date: 2026-12-04 19:40:00

"""
from alembic import op
import sqlalchemy as sa

from app.core.types import UTCDateTime


revision = '0009_examtypes_manual_grading'
down_revision = '0008_people_staff_transfer'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('attempt_item', schema=None) as batch_op:
        batch_op.add_column(sa.Column('graded_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('graded_at', UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('grade_note', sa.Text(), nullable=True))
        batch_op.create_foreign_key('fk_attempt_item_graded_by_id_user', 'user', ['graded_by_id'], ['id'],
                                    ondelete='SET NULL')


def downgrade():
    with op.batch_alter_table('attempt_item', schema=None) as batch_op:
        batch_op.drop_constraint('fk_attempt_item_graded_by_id_user', type_='foreignkey')
        batch_op.drop_column('grade_note')
        batch_op.drop_column('graded_at')
        batch_op.drop_column('graded_by_id')
