"""per-lesson standard items: lesson.items (JSON list of item codes, NULL = not tagged)

Revision ID: 0017_lessons_lesson_items
Revises: 0016_scale_certificate_lifecycle
Create Date: 2026-12-04 23:15:00

Existing lessons stay untagged (NULL) until the next ``flask content sync`` stores the tags from
course.yaml; untagged lessons count as teaching every item of their course.
"""
from alembic import op
import sqlalchemy as sa


revision = '0017_lessons_lesson_items'
down_revision = '0016_scale_certificate_lifecycle'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('lesson', schema=None) as batch_op:
        batch_op.add_column(sa.Column('items', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('lesson', schema=None) as batch_op:
        batch_op.drop_column('items')
