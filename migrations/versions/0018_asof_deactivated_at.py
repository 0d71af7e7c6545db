"""user.deactivated_at: when a person was deactivated, so past rollout figures still count leavers

Revision ID: 0018_asof_deactivated_at
Revises: 0017_lessons_lesson_items
Create Date: 2026-12-04 23:15:00

Existing inactive users keep NULL: when they left is unknown, and the figures then treat them as
gone before any date (as before this column).
"""
from alembic import op
import sqlalchemy as sa

from app.core.types import UTCDateTime


revision = '0018_asof_deactivated_at'
down_revision = '0017_lessons_lesson_items'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('deactivated_at', UTCDateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_column('deactivated_at')
