"""integrations: API keys, webhooks and deliveries, transfers, hand-offs, Open311 tokens and updates

Revision ID: 0004
Revises: 0001
Create Date: 2026-11-27

A branch off the core revision (``branch_labels = ("integrations",)``); ``minxin.db.migrate.upgrade``
goes to all heads.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import minxin.db.types

revision = "0004"
down_revision = "0001"
branch_labels = ("integrations",)
depends_on = None


def upgrade() -> None:
    op.create_table('integration_api_keys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('prefix', sa.String(length=16), nullable=False),
    sa.Column('secret_hash', sa.String(length=64), nullable=False),
    sa.Column('previous_hash', sa.String(length=64), nullable=True),
    sa.Column('previous_valid_until', minxin.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('system', sa.String(length=40), nullable=True),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('scopes', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('rate_per_minute', sa.Integer(), nullable=False),
    sa.Column('burst', sa.Integer(), nullable=False),
    sa.Column('open311_deferred', sa.Boolean(), nullable=False),
    sa.Column('created_at', minxin.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('rotated_at', minxin.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', minxin.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_used_at', minxin.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('bucket_tokens', sa.Float(), nullable=False),
    sa.Column('bucket_at', minxin.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_integration_api_keys_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_integration_api_keys')),
    sa.UniqueConstraint('prefix', name=op.f('uq_integration_api_keys_prefix'))
    )
    with op.batch_alter_table('integration_api_keys', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_integration_api_keys_system'), ['system'], unique=False)

    op.create_table('integration_webhooks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('url', sa.String(length=1000), nullable=False),
    sa.Column('secret', sa.String(length=100), nullable=False),
    sa.Column('event_types', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=True),
    sa.Column('api_key_id', sa.Integer(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', minxin.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', minxin.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.ForeignKeyConstraint(['api_key_id'], ['integration_api_keys.id'], name=op.f('fk_integration_webhooks_api_key_id_integration_api_keys')),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_integration_webhooks_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_integration_webhooks'))
    )
    op.create_table('integration_handoffs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('target', sa.String(length=3), nullable=False),
    sa.Column('at', minxin.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('recorded_at', minxin.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('by', sa.String(length=100), nullable=False),
    sa.Column('by_user_id', sa.Integer(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['by_user_id'], ['users.id'], name=op.f('fk_integration_handoffs_by_user_id_users')),
    sa.ForeignKeyConstraint(['order_id'], ['work_orders.id'], name=op.f('fk_integration_handoffs_order_id_work_orders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_integration_handoffs'))
    )
    with op.batch_alter_table('integration_handoffs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_integration_handoffs_order_id'), ['order_id'], unique=False)

    op.create_table('integration_transfers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('direction', sa.String(length=10), nullable=False),
    sa.Column('system', sa.String(length=40), nullable=False),
    sa.Column('external_id', sa.String(length=100), nullable=True),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('api_key_id', sa.Integer(), nullable=True),
    sa.Column('created_at', minxin.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('acknowledged_at', minxin.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['api_key_id'], ['integration_api_keys.id'], name=op.f('fk_integration_transfers_api_key_id_integration_api_keys')),
    sa.ForeignKeyConstraint(['order_id'], ['work_orders.id'], name=op.f('fk_integration_transfers_order_id_work_orders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_integration_transfers')),
    sa.UniqueConstraint('direction', 'system', 'external_id', name=op.f('uq_integration_transfers_direction_system_external_id'))
    )
    with op.batch_alter_table('integration_transfers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_integration_transfers_order_id'), ['order_id'], unique=False)

    op.create_table('integration_webhook_deliveries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('subscription_id', sa.Integer(), nullable=False),
    sa.Column('outbox_id', sa.Integer(), nullable=True),
    sa.Column('event', sa.String(length=60), nullable=False),
    sa.Column('event_id', sa.String(length=40), nullable=False),
    sa.Column('payload', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', minxin.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_at', minxin.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('delivered_at', minxin.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_attempt_at', minxin.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_status', sa.Integer(), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['outbox_id'], ['outbox.id'], name=op.f('fk_integration_webhook_deliveries_outbox_id_outbox')),
    sa.ForeignKeyConstraint(['subscription_id'], ['integration_webhooks.id'], name=op.f('fk_integration_webhook_deliveries_subscription_id_integration_webhooks')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_integration_webhook_deliveries')),
    sa.UniqueConstraint('subscription_id', 'outbox_id', name=op.f('uq_integration_webhook_deliveries_subscription_id_outbox_id'))
    )
    with op.batch_alter_table('integration_webhook_deliveries', schema=None) as batch_op:
        batch_op.create_index('ix_integration_webhook_deliveries_state_next', ['state', 'next_attempt_at'], unique=False)

    op.create_table('open311_inbound_updates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('api_key_id', sa.Integer(), nullable=False),
    sa.Column('external_update_id', sa.String(length=100), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('event_seq', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=40), nullable=True),
    sa.Column('applied_action', sa.String(length=30), nullable=True),
    sa.Column('author', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('created_at', minxin.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['api_key_id'], ['integration_api_keys.id'], name=op.f('fk_open311_inbound_updates_api_key_id_integration_api_keys')),
    sa.ForeignKeyConstraint(['order_id'], ['work_orders.id'], name=op.f('fk_open311_inbound_updates_order_id_work_orders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_open311_inbound_updates')),
    sa.UniqueConstraint('api_key_id', 'external_update_id', name=op.f('uq_open311_inbound_updates_api_key_id_external_update_id'))
    )
    with op.batch_alter_table('open311_inbound_updates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_open311_inbound_updates_order_id'), ['order_id'], unique=False)

    op.create_table('open311_tokens',
    sa.Column('token', sa.String(length=40), nullable=False),
    sa.Column('api_key_id', sa.Integer(), nullable=False),
    sa.Column('jurisdiction_id', sa.String(length=100), nullable=True),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('submission', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('order_id', sa.Integer(), nullable=True),
    sa.Column('created_at', minxin.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('processed_at', minxin.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['api_key_id'], ['integration_api_keys.id'], name=op.f('fk_open311_tokens_api_key_id_integration_api_keys')),
    sa.ForeignKeyConstraint(['order_id'], ['work_orders.id'], name=op.f('fk_open311_tokens_order_id_work_orders')),
    sa.PrimaryKeyConstraint('token', name=op.f('pk_open311_tokens'))
    )
    with op.batch_alter_table('open311_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_open311_tokens_state'), ['state'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('open311_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_open311_tokens_state'))

    op.drop_table('open311_tokens')
    with op.batch_alter_table('open311_inbound_updates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_open311_inbound_updates_order_id'))

    op.drop_table('open311_inbound_updates')
    with op.batch_alter_table('integration_webhook_deliveries', schema=None) as batch_op:
        batch_op.drop_index('ix_integration_webhook_deliveries_state_next')

    op.drop_table('integration_webhook_deliveries')
    with op.batch_alter_table('integration_transfers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_integration_transfers_order_id'))

    op.drop_table('integration_transfers')
    with op.batch_alter_table('integration_handoffs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_integration_handoffs_order_id'))

    op.drop_table('integration_handoffs')
    op.drop_table('integration_webhooks')
    with op.batch_alter_table('integration_api_keys', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_integration_api_keys_system'))

    op.drop_table('integration_api_keys')
