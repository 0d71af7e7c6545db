"""personal single-use sign-in codes (instead of a shared default password)

Revision ID: 0004_security_sign_in_codes
Revises: 0003_autosave_revision
Create Date: 2026-12-04 18:30:00

"""
from alembic import op
import sqlalchemy as sa

from app.core.types import UTCDateTime


revision = '0004_security_sign_in_codes'
down_revision = '0003_autosave_revision'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'sign_in_code',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('code_hash', sa.String(length=64), nullable=False),
        sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('expires_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('used_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], name=op.f('fk_sign_in_code_created_by_id_user'),
                                ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_sign_in_code_user_id_user'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_sign_in_code')),
        sa.UniqueConstraint('code_hash', name=op.f('uq_sign_in_code_code_hash')),
    )
    with op.batch_alter_table('sign_in_code', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sign_in_code_user_id'), ['user_id'], unique=False)


def downgrade():
    with op.batch_alter_table('sign_in_code', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sign_in_code_user_id'))
    op.drop_table('sign_in_code')
