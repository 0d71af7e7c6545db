"""certificate lifecycle (renewal window, who revoked) and indexes for the dashboard at 100,000 staff

Revision ID: 0016_scale_certificate_lifecycle
Revises: 0015_taskexam_practical_uploads
Create Date: 2026-12-04 21:40:00

Existing certificates get ``renewal_opens_at`` = ``expires_at`` − their certification's
``recertification_window_days`` (computed in Python, so the same on SQLite and PostgreSQL).
"""
import datetime as dt

from alembic import op
import sqlalchemy as sa

from app.core.types import UTCDateTime


revision = '0016_scale_certificate_lifecycle'
down_revision = '0015_taskexam_practical_uploads'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('certificate', schema=None) as batch_op:
        batch_op.add_column(sa.Column('renewal_opens_at', UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('renewal_assigned_at', UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('revoked_by_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_certificate_revoked_by_id_user'), 'user', ['revoked_by_id'], ['id'],
                                    ondelete='SET NULL')
    certificate = sa.table('certificate', sa.column('id', sa.Integer), sa.column('certification_id', sa.Integer),
                           sa.column('expires_at', UTCDateTime(timezone=True)),
                           sa.column('renewal_opens_at', UTCDateTime(timezone=True)))
    certification = sa.table('certification', sa.column('id', sa.Integer),
                             sa.column('recertification_window_days', sa.Integer))
    bind = op.get_bind()
    windows = dict(bind.execute(sa.select(certification.c.id, certification.c.recertification_window_days)).all())
    rows = bind.execute(sa.select(certificate.c.id, certificate.c.certification_id, certificate.c.expires_at)
                        .where(certificate.c.expires_at.is_not(None))).all()
    updates = [{"cid": cid, "opens": expires - dt.timedelta(days=windows.get(cert_id) or 0)}
               for cid, cert_id, expires in rows]
    if updates:
        bind.execute(certificate.update().where(certificate.c.id == sa.bindparam("cid"))
                     .values(renewal_opens_at=sa.bindparam("opens")), updates)


def downgrade():
    with op.batch_alter_table('certificate', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_certificate_revoked_by_id_user'), type_='foreignkey')
        batch_op.drop_column('revoked_by_id')
        batch_op.drop_column('renewal_assigned_at')
        batch_op.drop_column('renewal_opens_at')
