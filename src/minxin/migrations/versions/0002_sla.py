"""sla: admin calendar days, SLA policies, order deadlines and alerts

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27

A branch off the core revision (``branch_labels = ("sla",)``); ``minxin.db.migrate.upgrade`` goes
to all heads. ``uq_sla_alerts_…`` is the scanner's exactly-once guarantee; the ``(state, warn_at)``
and ``(state, due_at)`` indexes serve its two range scans.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import minxin.db.types

revision = "0002"
down_revision = "0001"
branch_labels = ("sla",)
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table('sla_calendar_days',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('source', sa.String(length=10), nullable=False),
    sa.Column('updated_by', sa.String(length=100), nullable=False),
    sa.Column('updated_at', minxin.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sla_calendar_days')),
    sa.UniqueConstraint('day', name=op.f('uq_sla_calendar_days_day'))
    )
    with op.batch_alter_table('sla_calendar_days', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sla_calendar_days_year'), ['year'], unique=False)

    op.create_table('sla_policies',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('category_code', sa.String(length=64), nullable=True),
    sa.Column('appeal_type', sa.String(length=20), nullable=True),
    sa.Column('urgency', sa.String(length=20), nullable=True),
    sa.Column('dispatch', sa.String(length=20), nullable=True),
    sa.Column('sign', sa.String(length=20), nullable=True),
    sa.Column('handle', sa.String(length=20), nullable=True),
    sa.Column('callback', sa.String(length=20), nullable=True),
    sa.Column('counting_rule', sa.String(length=20), nullable=True),
    sa.Column('warn_ratio', sa.Float(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('updated_by', sa.String(length=100), nullable=False),
    sa.Column('updated_at', minxin.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sla_policies')),
    sa.UniqueConstraint('code', name=op.f('uq_sla_policies_code')),
    sa.UniqueConstraint('key', name=op.f('uq_sla_policies_key'))
    )
    op.create_table('sla_deadlines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('round', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('unit_code', sa.String(length=64), nullable=False),
    sa.Column('policy_code', sa.String(length=64), nullable=False),
    sa.Column('duration', sa.String(length=20), nullable=False),
    sa.Column('started_at', minxin.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('due_at', minxin.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('warn_at', minxin.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('paused_since', minxin.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('met_at', minxin.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('ended_at', minxin.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('verdict', sa.String(length=10), nullable=True),
    sa.Column('unofficial', sa.Boolean(), nullable=False),
    sa.Column('unofficial_years', _JSON, nullable=False),
    sa.Column('explanation', _JSON, nullable=False),
    sa.Column('updated_at', minxin.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['work_orders.id'], name=op.f('fk_sla_deadlines_order_id_work_orders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sla_deadlines')),
    sa.UniqueConstraint('order_id', 'round', 'kind', 'seq', name=op.f('uq_sla_deadlines_order_id_round_kind_seq'))
    )
    with op.batch_alter_table('sla_deadlines', schema=None) as batch_op:
        batch_op.create_index('ix_sla_deadlines_state_due_at', ['state', 'due_at'], unique=False)
        batch_op.create_index('ix_sla_deadlines_state_warn_at', ['state', 'warn_at'], unique=False)

    op.create_table('sla_alerts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('deadline_id', sa.Integer(), nullable=False),
    sa.Column('round', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('unit_code', sa.String(length=64), nullable=False),
    sa.Column('due_at', minxin.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('level', sa.String(length=10), nullable=False),
    sa.Column('recorded_at', minxin.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['deadline_id'], ['sla_deadlines.id'], name=op.f('fk_sla_alerts_deadline_id_sla_deadlines')),
    sa.ForeignKeyConstraint(['order_id'], ['work_orders.id'], name=op.f('fk_sla_alerts_order_id_work_orders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sla_alerts')),
    sa.UniqueConstraint('order_id', 'round', 'kind', 'seq', 'due_at', 'level', name=op.f('uq_sla_alerts_order_id_round_kind_seq_due_at_level'))
    )
    with op.batch_alter_table('sla_alerts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sla_alerts_deadline_id'), ['deadline_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sla_alerts_recorded_at'), ['recorded_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('sla_alerts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sla_alerts_recorded_at'))
        batch_op.drop_index(batch_op.f('ix_sla_alerts_deadline_id'))

    op.drop_table('sla_alerts')
    with op.batch_alter_table('sla_deadlines', schema=None) as batch_op:
        batch_op.drop_index('ix_sla_deadlines_state_warn_at')
        batch_op.drop_index('ix_sla_deadlines_state_due_at')

    op.drop_table('sla_deadlines')
    op.drop_table('sla_policies')
    with op.batch_alter_table('sla_calendar_days', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sla_calendar_days_year'))

    op.drop_table('sla_calendar_days')
