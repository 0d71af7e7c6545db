"""practical tasks in exams: blueprint_row.qtype and the practical_upload table

Revision ID: 0015_taskexam_practical_uploads
Revises: 0014_plans_editing
Create Date: 2026-12-04 21:55:00

"""
from alembic import op
import sqlalchemy as sa

from app.core.types import UTCDateTime


revision = '0015_taskexam_practical_uploads'
down_revision = '0014_plans_editing'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('blueprint_row', schema=None) as batch_op:
        batch_op.add_column(sa.Column('qtype', sa.String(length=30), nullable=True))

    op.create_table(
        'practical_upload',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('attempt_item_id', sa.Integer(), nullable=False),
        sa.Column('filename', sa.String(length=255), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('content', sa.LargeBinary(), nullable=False),
        sa.Column('content_type', sa.String(length=100), nullable=False),
        sa.Column('uploaded_at', UTCDateTime(), nullable=False),
        sa.Column('revision', sa.Integer(), nullable=False),
        sa.Column('state', sa.String(length=20), server_default='stored', nullable=False),
        sa.Column('claimed_at', UTCDateTime(), nullable=True),
        sa.Column('tries', sa.Integer(), server_default='0', nullable=False),
        sa.Column('graded_at', UTCDateTime(), nullable=True),
        sa.Column('fraction', sa.Numeric(precision=6, scale=5), nullable=True),
        sa.Column('result', sa.JSON(), nullable=True),
        sa.Column('error', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['attempt_item_id'], ['attempt_item.id'],
                                name=op.f('fk_practical_upload_attempt_item_id_attempt_item'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_practical_upload')),
        sa.UniqueConstraint('attempt_item_id', name=op.f('uq_practical_upload_attempt_item_id')),
    )
    with op.batch_alter_table('practical_upload', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_practical_upload_state'), ['state'], unique=False)


def downgrade():
    with op.batch_alter_table('practical_upload', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_practical_upload_state'))
    op.drop_table('practical_upload')
    with op.batch_alter_table('blueprint_row', schema=None) as batch_op:
        batch_op.drop_column('qtype')
