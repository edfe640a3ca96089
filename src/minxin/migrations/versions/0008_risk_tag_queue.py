"""risk: ``risk_tag_queue`` — orders registered but not tagged yet

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27

Why: risk tagging moved out of the intake transaction. Registration writes one row here (cheap)
and a background drainer tags queued orders in batches after commit, re-tagging each shared
relative once per batch instead of once per new order. The row commits with the order, so a
crash before tagging delays it and never loses it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from minxin.db.types import UTCDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "risk_tag_queue",
        sa.Column("order_id", sa.Integer(), sa.ForeignKey("work_orders.id"), primary_key=True),
        sa.Column("queued_at", UTCDateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("risk_tag_queue")
