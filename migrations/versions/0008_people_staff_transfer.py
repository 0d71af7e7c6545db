"""staff transfers kept as history (staff_transfer)

Revision ID: 0008_people_staff_transfer
Revises: 0007_overrides_accommodations
Create Date: 2026-12-04 19:40:00

"""
from alembic import op
import sqlalchemy as sa

from app.core.types import UTCDateTime


revision = '0008_people_staff_transfer'
down_revision = '0007_overrides_accommodations'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'staff_transfer',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('from_department_id', sa.Integer(), nullable=True),
        sa.Column('to_department_id', sa.Integer(), nullable=False),
        sa.Column('effective_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('source', sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(['from_department_id'], ['department.id'],
                                name=op.f('fk_staff_transfer_from_department_id_department')),
        sa.ForeignKeyConstraint(['to_department_id'], ['department.id'],
                                name=op.f('fk_staff_transfer_to_department_id_department')),
        sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_staff_transfer_user_id_user'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_transfer')),
    )
    with op.batch_alter_table('staff_transfer', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_staff_transfer_user_id'), ['user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_staff_transfer_to_department_id'), ['to_department_id'], unique=False)


def downgrade():
    with op.batch_alter_table('staff_transfer', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_staff_transfer_to_department_id'))
        batch_op.drop_index(batch_op.f('ix_staff_transfer_user_id'))
    op.drop_table('staff_transfer')
