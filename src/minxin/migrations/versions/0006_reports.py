"""reports: order facts, KPI cells and monthly rollups, scorecard configs, import batches

Revision ID: 0006
Revises: 0001
Create Date: 2026-11-27

A branch off the core revision (``branch_labels = ("reports",)``); ``minxin.db.migrate.upgrade``
goes to all heads. The counter columns are the ``KpiPartial`` fields as of this revision
(docs/kpis.md §3); a new partial field needs a new migration and ``minxin report rebuild``.
``ix_order_facts_open`` is partial (open orders only): the ``as_of`` adjustments read it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import minxin.db.types

revision = "0006"
down_revision = "0001"
branch_labels = ("reports",)
depends_on = None


def upgrade() -> None:
    op.create_table('import_batches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('filename', sa.String(length=500), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('rows', sa.Integer(), nullable=False),
    sa.Column('skipped', sa.Integer(), nullable=False),
    sa.Column('created_at', minxin.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('options', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_import_batches'))
    )
    op.create_table('kpi_cell_hist',
    sa.Column('cell_id', sa.Integer(), nullable=False),
    sa.Column('bucket', sa.SmallInteger(), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('sum_seconds', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('cell_id', 'bucket', name='pk_kpi_cell_hist')
    )
    op.create_table('kpi_cells',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('unit', sa.String(length=64), nullable=False),
    sa.Column('category', sa.String(length=64), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('appeal_type', sa.String(length=20), nullable=False),
    sa.Column('region', sa.String(length=64), nullable=False),
    sa.Column('orders_all', sa.Integer(), nullable=False),
    sa.Column('merged', sa.Integer(), nullable=False),
    sa.Column('void', sa.Integer(), nullable=False),
    sa.Column('orders', sa.Integer(), nullable=False),
    sa.Column('praise', sa.Integer(), nullable=False),
    sa.Column('direct_answered', sa.Integer(), nullable=False),
    sa.Column('dispatched', sa.Integer(), nullable=False),
    sa.Column('dispatch_judged', sa.Integer(), nullable=False),
    sa.Column('dispatch_on_time', sa.Integer(), nullable=False),
    sa.Column('sign_judged', sa.Integer(), nullable=False),
    sa.Column('sign_on_time', sa.Integer(), nullable=False),
    sa.Column('completion_judged', sa.Integer(), nullable=False),
    sa.Column('completion_on_time', sa.Integer(), nullable=False),
    sa.Column('replied', sa.Integer(), nullable=False),
    sa.Column('finished', sa.Integer(), nullable=False),
    sa.Column('callbacks', sa.Integer(), nullable=False),
    sa.Column('callbacks_unreachable', sa.Integer(), nullable=False),
    sa.Column('satisfied', sa.Integer(), nullable=False),
    sa.Column('basically_satisfied', sa.Integer(), nullable=False),
    sa.Column('dissatisfied', sa.Integer(), nullable=False),
    sa.Column('resolution_answered', sa.Integer(), nullable=False),
    sa.Column('resolved', sa.Integer(), nullable=False),
    sa.Column('fairness_excluded', sa.Integer(), nullable=False),
    sa.Column('fairness_excluded_answered', sa.Integer(), nullable=False),
    sa.Column('fairness_excluded_content', sa.Integer(), nullable=False),
    sa.Column('fairness_excluded_resolution_answered', sa.Integer(), nullable=False),
    sa.Column('fairness_excluded_resolved', sa.Integer(), nullable=False),
    sa.Column('reopened', sa.Integer(), nullable=False),
    sa.Column('reopen_events', sa.Integer(), nullable=False),
    sa.Column('returned', sa.Integer(), nullable=False),
    sa.Column('return_events', sa.Integer(), nullable=False),
    sa.Column('evidence_required', sa.Integer(), nullable=False),
    sa.Column('evidence_present', sa.Integer(), nullable=False),
    sa.Column('handled', sa.Integer(), nullable=False),
    sa.Column('handling_seconds', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kpi_cells')),
    sa.UniqueConstraint('day', 'unit', 'category', 'channel', 'appeal_type', 'region', name='uq_kpi_cells_key')
    )
    op.create_table('kpi_monthly',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('dim', sa.String(length=12), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('unit', sa.String(length=64), nullable=False),
    sa.Column('value', sa.String(length=64), nullable=False),
    sa.Column('orders_all', sa.Integer(), nullable=False),
    sa.Column('merged', sa.Integer(), nullable=False),
    sa.Column('void', sa.Integer(), nullable=False),
    sa.Column('orders', sa.Integer(), nullable=False),
    sa.Column('praise', sa.Integer(), nullable=False),
    sa.Column('direct_answered', sa.Integer(), nullable=False),
    sa.Column('dispatched', sa.Integer(), nullable=False),
    sa.Column('dispatch_judged', sa.Integer(), nullable=False),
    sa.Column('dispatch_on_time', sa.Integer(), nullable=False),
    sa.Column('sign_judged', sa.Integer(), nullable=False),
    sa.Column('sign_on_time', sa.Integer(), nullable=False),
    sa.Column('completion_judged', sa.Integer(), nullable=False),
    sa.Column('completion_on_time', sa.Integer(), nullable=False),
    sa.Column('replied', sa.Integer(), nullable=False),
    sa.Column('finished', sa.Integer(), nullable=False),
    sa.Column('callbacks', sa.Integer(), nullable=False),
    sa.Column('callbacks_unreachable', sa.Integer(), nullable=False),
    sa.Column('satisfied', sa.Integer(), nullable=False),
    sa.Column('basically_satisfied', sa.Integer(), nullable=False),
    sa.Column('dissatisfied', sa.Integer(), nullable=False),
    sa.Column('resolution_answered', sa.Integer(), nullable=False),
    sa.Column('resolved', sa.Integer(), nullable=False),
    sa.Column('fairness_excluded', sa.Integer(), nullable=False),
    sa.Column('fairness_excluded_answered', sa.Integer(), nullable=False),
    sa.Column('fairness_excluded_content', sa.Integer(), nullable=False),
    sa.Column('fairness_excluded_resolution_answered', sa.Integer(), nullable=False),
    sa.Column('fairness_excluded_resolved', sa.Integer(), nullable=False),
    sa.Column('reopened', sa.Integer(), nullable=False),
    sa.Column('reopen_events', sa.Integer(), nullable=False),
    sa.Column('returned', sa.Integer(), nullable=False),
    sa.Column('return_events', sa.Integer(), nullable=False),
    sa.Column('evidence_required', sa.Integer(), nullable=False),
    sa.Column('evidence_present', sa.Integer(), nullable=False),
    sa.Column('handled', sa.Integer(), nullable=False),
    sa.Column('handling_seconds', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kpi_monthly')),
    sa.UniqueConstraint('dim', 'month', 'unit', 'value', name='uq_kpi_monthly_key')
    )
    op.create_table('kpi_monthly_hist',
    sa.Column('monthly_id', sa.Integer(), nullable=False),
    sa.Column('bucket', sa.SmallInteger(), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('sum_seconds', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('monthly_id', 'bucket', name='pk_kpi_monthly_hist')
    )
    op.create_table('order_facts',
    sa.Column('number', sa.String(length=64), nullable=False),
    sa.Column('source', sa.String(length=8), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=True),
    sa.Column('unit', sa.String(length=64), nullable=False),
    sa.Column('category', sa.String(length=64), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('appeal_type', sa.String(length=20), nullable=False),
    sa.Column('region', sa.String(length=64), nullable=False),
    sa.Column('urgency', sa.String(length=20), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('content', sa.Text(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=True),
    sa.Column('created_at', minxin.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('dispatched_at', minxin.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('signed_at', minxin.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('replied_at', minxin.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('closed_at', minxin.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('dispatch_due_at', minxin.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('sign_due_at', minxin.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('handle_due_at', minxin.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('callback_at', minxin.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('satisfaction', sa.String(length=30), nullable=True),
    sa.Column('resolved', sa.Boolean(), nullable=True),
    sa.Column('reopen_count', sa.Integer(), nullable=False),
    sa.Column('returned_count', sa.Integer(), nullable=False),
    sa.Column('has_evidence', sa.Boolean(), nullable=False),
    sa.Column('requires_evidence', sa.Boolean(), nullable=False),
    sa.Column('excluded_from_satisfaction', sa.Boolean(), nullable=False),
    sa.Column('callback_reachable', sa.Boolean(), nullable=True),
    sa.Column('handling_seconds', sa.Integer(), nullable=True),
    sa.Column('sign_working_seconds', sa.Float(), nullable=True),
    sa.Column('dispatch_late_after', minxin.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('sign_late_after', minxin.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('number', name=op.f('pk_order_facts'))
    )
    with op.batch_alter_table('order_facts', schema=None) as batch_op:
        batch_op.create_index('ix_order_facts_created_at', ['created_at'], unique=False)
        batch_op.create_index('ix_order_facts_open', ['created_at'], unique=False, postgresql_where=sa.text('replied_at IS NULL AND closed_at IS NULL'), sqlite_where=sa.text('replied_at IS NULL AND closed_at IS NULL'))
        batch_op.create_index('ix_order_facts_open_unit', ['unit', 'created_at'], unique=False, postgresql_where=sa.text('replied_at IS NULL AND closed_at IS NULL'), sqlite_where=sa.text('replied_at IS NULL AND closed_at IS NULL'))
        batch_op.create_index('ix_order_facts_unit_created', ['unit', 'created_at'], unique=False)

    op.create_table('scorecard_configs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('config', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('source_text', sa.Text(), nullable=False),
    sa.Column('created_at', minxin.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scorecard_configs')),
    sa.UniqueConstraint('version', name=op.f('uq_scorecard_configs_version'))
    )


def downgrade() -> None:
    op.drop_table('scorecard_configs')
    with op.batch_alter_table('order_facts', schema=None) as batch_op:
        batch_op.drop_index('ix_order_facts_unit_created')
        batch_op.drop_index('ix_order_facts_open_unit', postgresql_where=sa.text('replied_at IS NULL AND closed_at IS NULL'), sqlite_where=sa.text('replied_at IS NULL AND closed_at IS NULL'))
        batch_op.drop_index('ix_order_facts_open', postgresql_where=sa.text('replied_at IS NULL AND closed_at IS NULL'), sqlite_where=sa.text('replied_at IS NULL AND closed_at IS NULL'))
        batch_op.drop_index('ix_order_facts_created_at')

    op.drop_table('order_facts')
    op.drop_table('kpi_monthly_hist')
    op.drop_table('kpi_monthly')
    op.drop_table('kpi_cells')
    op.drop_table('kpi_cell_hist')
    op.drop_table('import_batches')
