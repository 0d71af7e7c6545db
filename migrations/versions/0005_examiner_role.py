"""examiner role: user.is_examiner

Revision ID: 0005_examiner_role
Revises: 0004_security_sign_in_codes
Create Date: 2026-12-04 19:30:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0005_examiner_role'
down_revision = '0004_security_sign_in_codes'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('is_examiner', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade():
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_column('is_examiner')
