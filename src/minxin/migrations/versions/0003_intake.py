"""intake: routing rules and their history, intake suggestions, classifier model registry

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-28

A branch off the core revision (``branch_labels = ("intake",)``); ``minxin.db.migrate.upgrade``
goes to all heads. ``routing_rule_changes`` is append-only (database triggers), like the order
events. ``ix_intake_suggestions_dispatch_state`` serves the auto-dispatch job's scan for
``pending`` rows; ``ix_intake_suggestions_month`` the monthly report.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import minxin.db.types
from minxin.db.append_only import drop_append_only, make_append_only

revision = "0003"
down_revision = "0001"
branch_labels = ("intake",)
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
_TS = minxin.db.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table('intake_models',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version', sa.String(length=64), nullable=False),
    sa.Column('path', sa.String(length=1000), nullable=False),
    sa.Column('created_at', _TS, nullable=False),
    sa.Column('registered_at', _TS, nullable=False),
    sa.Column('registered_by', sa.String(length=100), nullable=False),
    sa.Column('training', _JSON, nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('thresholds', _JSON, nullable=False),
    sa.Column('default_threshold', sa.Float(), nullable=False),
    sa.Column('note', sa.String(length=500), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_intake_models')),
    sa.UniqueConstraint('version', name=op.f('uq_intake_models_version'))
    )
    with op.batch_alter_table('intake_models', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_intake_models_active'), ['active'], unique=False)

    op.create_table('routing_rules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('category_code', sa.String(length=64), nullable=False),
    sa.Column('region_code', sa.String(length=12), nullable=False),
    sa.Column('unit_code', sa.String(length=64), nullable=False),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=True),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('note', sa.String(length=500), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('created_at', _TS, nullable=False),
    sa.Column('edited_by', sa.String(length=100), nullable=False),
    sa.Column('edited_at', _TS, nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_routing_rules'))
    )
    with op.batch_alter_table('routing_rules', schema=None) as batch_op:
        batch_op.create_index('ix_routing_rules_lookup', ['category_code', 'region_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_routing_rules_unit_code'), ['unit_code'], unique=False)

    op.create_table('routing_rule_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rule_id', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=20), nullable=False),
    sa.Column('changes', _JSON, nullable=False),
    sa.Column('why', sa.String(length=500), nullable=False),
    sa.Column('by', sa.String(length=100), nullable=False),
    sa.Column('at', _TS, nullable=False),
    sa.ForeignKeyConstraint(['rule_id'], ['routing_rules.id'], name=op.f('fk_routing_rule_changes_rule_id_routing_rules')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_routing_rule_changes'))
    )
    with op.batch_alter_table('routing_rule_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_routing_rule_changes_rule_id'), ['rule_id'], unique=False)
    make_append_only("routing_rule_changes")

    op.create_table('intake_suggestions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('created_at', _TS, nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('model_version', sa.String(length=64), nullable=True),
    sa.Column('categories', _JSON, nullable=False),
    sa.Column('given_category_code', sa.String(length=64), nullable=True),
    sa.Column('decided_category_code', sa.String(length=64), nullable=True),
    sa.Column('decided_confidence', sa.Float(), nullable=True),
    sa.Column('threshold', sa.Float(), nullable=True),
    sa.Column('applied_category', sa.Boolean(), nullable=False),
    sa.Column('region_code', sa.String(length=12), nullable=True),
    sa.Column('region_confidence', sa.Float(), nullable=True),
    sa.Column('unit_code', sa.String(length=64), nullable=True),
    sa.Column('rule_id', sa.Integer(), nullable=True),
    sa.Column('rule_explanation', sa.String(length=2000), nullable=False),
    sa.Column('runners_up', _JSON, nullable=False),
    sa.Column('urgency_level', sa.String(length=20), nullable=False),
    sa.Column('urgency_reasons', _JSON, nullable=False),
    sa.Column('handoff', _JSON, nullable=False),
    sa.Column('applied_urgency', sa.Boolean(), nullable=False),
    sa.Column('auto_dispatch', sa.Boolean(), nullable=False),
    sa.Column('dispatch_state', sa.String(length=10), nullable=False),
    sa.Column('decision_zh', sa.String(length=1000), nullable=False),
    sa.Column('auto_dispatched_at', _TS, nullable=True),
    sa.Column('category_outcome', sa.String(length=10), nullable=False),
    sa.Column('final_category_code', sa.String(length=64), nullable=True),
    sa.Column('category_corrected_by', sa.String(length=100), nullable=True),
    sa.Column('category_corrected_at', _TS, nullable=True),
    sa.Column('unit_outcome', sa.String(length=10), nullable=False),
    sa.Column('final_unit_code', sa.String(length=64), nullable=True),
    sa.Column('unit_corrected_by', sa.String(length=100), nullable=True),
    sa.Column('unit_corrected_at', _TS, nullable=True),
    sa.Column('urgency_corrected', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['work_orders.id'], name=op.f('fk_intake_suggestions_order_id_work_orders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_intake_suggestions')),
    sa.UniqueConstraint('order_id', name=op.f('uq_intake_suggestions_order_id'))
    )
    with op.batch_alter_table('intake_suggestions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_intake_suggestions_dispatch_state'), ['dispatch_state'], unique=False)
        batch_op.create_index(batch_op.f('ix_intake_suggestions_month'), ['month'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('intake_suggestions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_intake_suggestions_month'))
        batch_op.drop_index(batch_op.f('ix_intake_suggestions_dispatch_state'))
    op.drop_table('intake_suggestions')
    drop_append_only("routing_rule_changes")
    with op.batch_alter_table('routing_rule_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_routing_rule_changes_rule_id'))
    op.drop_table('routing_rule_changes')
    with op.batch_alter_table('routing_rules', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_routing_rules_unit_code'))
        batch_op.drop_index('ix_routing_rules_lookup')
    op.drop_table('routing_rules')
    with op.batch_alter_table('intake_models', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_intake_models_active'))
    op.drop_table('intake_models')
