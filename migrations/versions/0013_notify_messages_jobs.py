"""messages (e-mail and in-app notices), job runs and job locks

Revision ID: 0013_notify_messages_jobs
Revises: 0012_editor_exam_editor
Create Date: 2026-12-04 21:40:00

"""
from alembic import op
import sqlalchemy as sa

from app.core.types import UTCDateTime


revision = '0013_notify_messages_jobs'
down_revision = '0012_editor_exam_editor'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'message',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('recipient_id', sa.Integer(), nullable=False),
        sa.Column('channel', sa.String(length=10), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('event_key', sa.String(length=120), nullable=False),
        sa.Column('subject', sa.String(length=300), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('link', sa.String(length=500), nullable=True),
        sa.Column('locale', sa.String(length=10), nullable=False),
        sa.Column('address', sa.String(length=200), nullable=True),
        sa.Column('sender_id', sa.Integer(), nullable=True),
        sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('claimed_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('sent_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('error', sa.Text(), nullable=True),
        sa.Column('read_at', UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['recipient_id'], ['user.id'], name=op.f('fk_message_recipient_id_user'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['sender_id'], ['user.id'], name=op.f('fk_message_sender_id_user'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_message')),
        sa.UniqueConstraint('recipient_id', 'channel', 'kind', 'event_key',
                            name=op.f('uq_message_recipient_id_channel_kind_event_key')),
    )
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.create_index('ix_message_unsent', ['channel', 'sent_at'], unique=False)
        batch_op.create_index('ix_message_recipient_read', ['recipient_id', 'channel', 'read_at'], unique=False)
    op.create_table(
        'job_run',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('job_id', sa.String(length=80), nullable=False),
        sa.Column('started_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('finished_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('outcome', sa.String(length=10), nullable=False),
        sa.Column('count', sa.Integer(), nullable=True),
        sa.Column('detail', sa.Text(), nullable=True),
        sa.Column('host', sa.String(length=120), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_job_run')),
    )
    with op.batch_alter_table('job_run', schema=None) as batch_op:
        batch_op.create_index('ix_job_run_job_started', ['job_id', 'started_at'], unique=False)
    op.create_table(
        'job_lock',
        sa.Column('job_id', sa.String(length=80), nullable=False),
        sa.Column('holder', sa.String(length=64), nullable=True),
        sa.Column('locked_until', UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('job_id', name=op.f('pk_job_lock')),
    )


def downgrade():
    op.drop_table('job_lock')
    with op.batch_alter_table('job_run', schema=None) as batch_op:
        batch_op.drop_index('ix_job_run_job_started')
    op.drop_table('job_run')
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.drop_index('ix_message_recipient_read')
        batch_op.drop_index('ix_message_unsent')
    op.drop_table('message')
