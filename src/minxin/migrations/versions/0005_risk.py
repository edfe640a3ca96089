"""risk: taxonomy versions, order tags and profiles, subjects, alerts, actions, scan lease

Revision ID: 0005
Revises: 0001
Create Date: 2026-11-27

A branch off the core revision (``branch_labels = ("risk",)``); ``minxin.db.migrate.upgrade`` goes
to all heads. ``risk_alert_actions`` is append-only (database triggers).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import minxin.db.types
from minxin.db.append_only import drop_append_only, make_append_only

revision = "0005"
down_revision = "0001"
branch_labels = ("risk",)
depends_on = None


def upgrade() -> None:
    op.create_table('risk_scan_leases',
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('owner', sa.String(length=100), nullable=True),
    sa.Column('expires_at', minxin.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('watermark', minxin.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_result', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_risk_scan_leases'))
    )
    op.create_table('risk_subjects',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('key', sa.String(length=500), nullable=False),
    sa.Column('ref', sa.String(length=16), nullable=False),
    sa.Column('display', sa.String(length=300), nullable=False),
    sa.Column('score', sa.Float(), nullable=False),
    sa.Column('score_at', minxin.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('level', sa.String(length=10), nullable=False),
    sa.Column('order_count', sa.Integer(), nullable=False),
    sa.Column('first_at', minxin.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_at', minxin.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_risk_subjects')),
    sa.UniqueConstraint('key', name=op.f('uq_risk_subjects_key')),
    sa.UniqueConstraint('ref', name=op.f('uq_risk_subjects_ref'))
    )
    with op.batch_alter_table('risk_subjects', schema=None) as batch_op:
        batch_op.create_index('ix_risk_subjects_kind_score', ['kind', 'score'], unique=False)
        batch_op.create_index(batch_op.f('ix_risk_subjects_last_at'), ['last_at'], unique=False)

    op.create_table('risk_taxonomy_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version', sa.String(length=60), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('mapping', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('label_count', sa.Integer(), nullable=False),
    sa.Column('note', sa.String(length=500), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('created_at', minxin.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_risk_taxonomy_versions'))
    )
    with op.batch_alter_table('risk_taxonomy_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_risk_taxonomy_versions_content_hash'), ['content_hash'], unique=False)
        batch_op.create_index('uq_risk_taxonomy_versions_active', ['active'], unique=True, sqlite_where=sa.text('active = 1'), postgresql_where=sa.text('active'))

    op.create_table('risk_alerts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('detector', sa.String(length=20), nullable=False),
    sa.Column('dedup_key', sa.String(length=500), nullable=False),
    sa.Column('label_code', sa.String(length=100), nullable=False),
    sa.Column('risk_category', sa.String(length=64), nullable=False),
    sa.Column('category_code', sa.String(length=64), nullable=False),
    sa.Column('region', sa.String(length=12), nullable=False),
    sa.Column('severity', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=40), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('unit_path', sa.String(length=500), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('resolution', sa.String(length=20), nullable=True),
    sa.Column('first_seen', minxin.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('detected_at', minxin.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('pushed_at', minxin.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', minxin.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ack_due_at', minxin.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('due_at', minxin.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('acknowledged_at', minxin.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('closed_at', minxin.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('order_count', sa.Integer(), nullable=False),
    sa.Column('evidence', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_risk_alerts_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_risk_alerts'))
    )
    with op.batch_alter_table('risk_alerts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_risk_alerts_detected_at'), ['detected_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_risk_alerts_region'), ['region'], unique=False)
        batch_op.create_index(batch_op.f('ix_risk_alerts_state'), ['state'], unique=False)
        batch_op.create_index(batch_op.f('ix_risk_alerts_unit_id'), ['unit_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_risk_alerts_unit_path'), ['unit_path'], unique=False)
        batch_op.create_index('uq_risk_alerts_live_dedup_key', ['dedup_key'], unique=True, sqlite_where=sa.text("state != 'closed'"), postgresql_where=sa.text("state != 'closed'"))

    op.create_table('risk_alert_actions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('alert_id', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=20), nullable=False),
    sa.Column('from_state', sa.String(length=20), nullable=False),
    sa.Column('to_state', sa.String(length=20), nullable=False),
    sa.Column('resolution', sa.String(length=20), nullable=True),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('actor_name', sa.String(length=100), nullable=False),
    sa.Column('actor_role', sa.String(length=20), nullable=False),
    sa.Column('unit_code', sa.String(length=64), nullable=False),
    sa.Column('at', minxin.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('attachments', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_risk_alert_actions_actor_id_users')),
    sa.ForeignKeyConstraint(['alert_id'], ['risk_alerts.id'], name=op.f('fk_risk_alert_actions_alert_id_risk_alerts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_risk_alert_actions'))
    )
    with op.batch_alter_table('risk_alert_actions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_risk_alert_actions_alert_id'), ['alert_id'], unique=False)

    op.create_table('risk_alert_orders',
    sa.Column('alert_id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('attached_at', minxin.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['alert_id'], ['risk_alerts.id'], name=op.f('fk_risk_alert_orders_alert_id_risk_alerts')),
    sa.ForeignKeyConstraint(['order_id'], ['work_orders.id'], name=op.f('fk_risk_alert_orders_order_id_work_orders')),
    sa.PrimaryKeyConstraint('alert_id', 'order_id', name=op.f('pk_risk_alert_orders'))
    )
    with op.batch_alter_table('risk_alert_orders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_risk_alert_orders_order_id'), ['order_id'], unique=False)

    op.create_table('risk_order_profiles',
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('region', sa.String(length=12), nullable=False),
    sa.Column('category_code', sa.String(length=64), nullable=False),
    sa.Column('created_at', minxin.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('subjects', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('counts', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('related', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('max_severity', sa.Integer(), nullable=False),
    sa.Column('taxonomy_hash', sa.String(length=64), nullable=False),
    sa.Column('tagged_at', minxin.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['work_orders.id'], name=op.f('fk_risk_order_profiles_order_id_work_orders')),
    sa.PrimaryKeyConstraint('order_id', name=op.f('pk_risk_order_profiles'))
    )
    with op.batch_alter_table('risk_order_profiles', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_risk_order_profiles_created_at'), ['created_at'], unique=False)
        batch_op.create_index('ix_risk_order_profiles_region_created', ['region', 'created_at'], unique=False)

    op.create_table('risk_order_tags',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('label_code', sa.String(length=100), nullable=False),
    sa.Column('category_code', sa.String(length=64), nullable=False),
    sa.Column('severity', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=40), nullable=False),
    sa.Column('evidence', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('taxonomy_hash', sa.String(length=64), nullable=False),
    sa.Column('tagged_at', minxin.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', minxin.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('removed_at', minxin.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['order_id'], ['work_orders.id'], name=op.f('fk_risk_order_tags_order_id_work_orders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_risk_order_tags')),
    sa.UniqueConstraint('order_id', 'label_code', name=op.f('uq_risk_order_tags_order_id_label_code'))
    )
    with op.batch_alter_table('risk_order_tags', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_risk_order_tags_label_code'), ['label_code'], unique=False)

    op.create_table('risk_subject_links',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('subject_id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('at', minxin.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['work_orders.id'], name=op.f('fk_risk_subject_links_order_id_work_orders')),
    sa.ForeignKeyConstraint(['subject_id'], ['risk_subjects.id'], name=op.f('fk_risk_subject_links_subject_id_risk_subjects')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_risk_subject_links')),
    sa.UniqueConstraint('subject_id', 'order_id', name=op.f('uq_risk_subject_links_subject_id_order_id'))
    )
    with op.batch_alter_table('risk_subject_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_risk_subject_links_order_id'), ['order_id'], unique=False)
        batch_op.create_index('ix_risk_subject_links_subject_at', ['subject_id', 'at'], unique=False)
    make_append_only("risk_alert_actions")


def downgrade() -> None:
    drop_append_only("risk_alert_actions")
    with op.batch_alter_table('risk_subject_links', schema=None) as batch_op:
        batch_op.drop_index('ix_risk_subject_links_subject_at')
        batch_op.drop_index(batch_op.f('ix_risk_subject_links_order_id'))

    op.drop_table('risk_subject_links')
    with op.batch_alter_table('risk_order_tags', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_risk_order_tags_label_code'))

    op.drop_table('risk_order_tags')
    with op.batch_alter_table('risk_order_profiles', schema=None) as batch_op:
        batch_op.drop_index('ix_risk_order_profiles_region_created')
        batch_op.drop_index(batch_op.f('ix_risk_order_profiles_created_at'))

    op.drop_table('risk_order_profiles')
    with op.batch_alter_table('risk_alert_orders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_risk_alert_orders_order_id'))

    op.drop_table('risk_alert_orders')
    with op.batch_alter_table('risk_alert_actions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_risk_alert_actions_alert_id'))

    op.drop_table('risk_alert_actions')
    with op.batch_alter_table('risk_alerts', schema=None) as batch_op:
        batch_op.drop_index('uq_risk_alerts_live_dedup_key', sqlite_where=sa.text("state != 'closed'"), postgresql_where=sa.text("state != 'closed'"))
        batch_op.drop_index(batch_op.f('ix_risk_alerts_unit_path'))
        batch_op.drop_index(batch_op.f('ix_risk_alerts_unit_id'))
        batch_op.drop_index(batch_op.f('ix_risk_alerts_state'))
        batch_op.drop_index(batch_op.f('ix_risk_alerts_region'))
        batch_op.drop_index(batch_op.f('ix_risk_alerts_detected_at'))

    op.drop_table('risk_alerts')
    with op.batch_alter_table('risk_taxonomy_versions', schema=None) as batch_op:
        batch_op.drop_index('uq_risk_taxonomy_versions_active', sqlite_where=sa.text('active = 1'), postgresql_where=sa.text('active'))
        batch_op.drop_index(batch_op.f('ix_risk_taxonomy_versions_content_hash'))

    op.drop_table('risk_taxonomy_versions')
    with op.batch_alter_table('risk_subjects', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_risk_subjects_last_at'))
        batch_op.drop_index('ix_risk_subjects_kind_score')

    op.drop_table('risk_subjects')
    op.drop_table('risk_scan_leases')
