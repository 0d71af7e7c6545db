"""review options, retake after pass and require-lessons exam settings

Revision ID: 0006_review_options
Revises: 0005_examiner_role
Create Date: 2026-12-04 19:40:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0006_review_options'
down_revision = '0005_examiner_role'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('exam', schema=None) as batch_op:
        batch_op.add_column(sa.Column('review_when', sa.String(length=20), server_default='immediately', nullable=False))
        batch_op.add_column(sa.Column('review_show', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('allow_retake_after_pass', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('require_lessons', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade():
    with op.batch_alter_table('exam', schema=None) as batch_op:
        batch_op.drop_column('require_lessons')
        batch_op.drop_column('allow_retake_after_pass')
        batch_op.drop_column('review_show')
        batch_op.drop_column('review_when')
