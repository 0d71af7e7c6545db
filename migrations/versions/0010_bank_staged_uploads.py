"""bank uploads wait for confirmation in the database: staged_upload

Revision ID: 0010_bank_staged_uploads
Revises: 0009_examtypes_manual_grading
Create Date: 2026-12-04 22:00:00

"""
from alembic import op
import sqlalchemy as sa

from app.core.types import UTCDateTime


revision = '0010_bank_staged_uploads'
down_revision = '0009_examtypes_manual_grading'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'staged_upload',
        sa.Column('token', sa.String(length=32), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('fmt', sa.String(length=20), nullable=False),
        sa.Column('filename', sa.String(length=200), nullable=False),
        sa.Column('data', sa.LargeBinary(), nullable=False),
        sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_staged_upload_user_id_user'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('token', name=op.f('pk_staged_upload')),
    )
    with op.batch_alter_table('staged_upload', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_staged_upload_user_id'), ['user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_staged_upload_created_at'), ['created_at'], unique=False)


def downgrade():
    op.drop_table('staged_upload')
