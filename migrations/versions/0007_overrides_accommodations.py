"""exam overrides for departments, accommodations, audit log

Revision ID: 0007_overrides_accommodations
Revises: 0006_review_options
Create Date: 2026-12-04 19:40:00

"""
from alembic import op
import sqlalchemy as sa

from app.core.types import UTCDateTime

revision = '0007_overrides_accommodations'
down_revision = '0006_review_options'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('exam_override', schema=None) as batch_op:
        batch_op.alter_column('user_id', existing_type=sa.Integer(), nullable=True)
        batch_op.add_column(sa.Column('department_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('reason', sa.String(length=500), server_default='', nullable=False))
        batch_op.add_column(sa.Column('granted_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('granted_at', UTCDateTime(), nullable=True))
        batch_op.create_index(batch_op.f('ix_exam_override_department_id'), ['department_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_exam_override_department_id_department'), 'department',
                                    ['department_id'], ['id'], ondelete='CASCADE')
        batch_op.create_foreign_key(batch_op.f('fk_exam_override_granted_by_id_user'), 'user',
                                    ['granted_by_id'], ['id'], ondelete='SET NULL')
        batch_op.create_unique_constraint(batch_op.f('uq_exam_override_exam_id_department_id'), ['exam_id', 'department_id'])
        batch_op.create_check_constraint('person_or_department', '(user_id IS NULL) <> (department_id IS NULL)')

    op.create_table('accommodation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('extra_percent', sa.Integer(), server_default='0', nullable=False),
    sa.Column('extra_minutes', sa.Integer(), server_default='0', nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('granted_by_id', sa.Integer(), nullable=True),
    sa.Column('granted_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['granted_by_id'], ['user.id'], name=op.f('fk_accommodation_granted_by_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_accommodation_user_id_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_accommodation')),
    sa.UniqueConstraint('user_id', name=op.f('uq_accommodation_user_id'))
    )

    op.create_table('audit_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', UTCDateTime(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=80), nullable=False),
    sa.Column('target', sa.String(length=200), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.Column('ip', sa.String(length=45), nullable=True),
    sa.ForeignKeyConstraint(['actor_id'], ['user.id'], name=op.f('fk_audit_event_actor_id_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_event'))
    )
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_event_action'), ['action'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_event_actor_id'), ['actor_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_event_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_event_target'), ['target'], unique=False)


def downgrade():
    op.drop_table('audit_event')
    op.drop_table('accommodation')
    op.execute('DELETE FROM exam_override WHERE user_id IS NULL')
    with op.batch_alter_table('exam_override', schema=None) as batch_op:
        batch_op.drop_constraint('person_or_department', type_='check')
        batch_op.drop_constraint(batch_op.f('uq_exam_override_exam_id_department_id'), type_='unique')
        batch_op.drop_constraint(batch_op.f('fk_exam_override_granted_by_id_user'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_exam_override_department_id_department'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_exam_override_department_id'))
        batch_op.drop_column('granted_at')
        batch_op.drop_column('granted_by_id')
        batch_op.drop_column('reason')
        batch_op.drop_column('department_id')
        batch_op.alter_column('user_id', existing_type=sa.Integer(), nullable=False)
