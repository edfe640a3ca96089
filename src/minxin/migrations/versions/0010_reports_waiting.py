"""reports: ``order_facts_waiting``, the open orders' late-count columns, filled from ``order_facts``

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-27

Why: every late-while-waiting count (``as_of``) read the open orders' rows of ``order_facts``,
one per page across the whole history (≈ 27k scattered page reads for one month at 10 million
orders, eleven times per dashboard page; docs/benchmarks.md "Reports at scale"). The same columns
of the open orders only, in a table of their own, are a few megabytes. Filled here from the
existing fact rows, so it is correct from the first read (``minxin report verify`` checks it).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import minxin.db.types

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

WAITING = ("number", "unit", "category", "channel", "appeal_type", "region", "status", "created_at", "dispatched_at",
           "signed_at", "handle_due_at", "dispatch_late_after", "sign_late_after")  # fmt: skip


def upgrade() -> None:
    moment = minxin.db.types.UTCDateTime
    op.create_table(
        "order_facts_waiting",
        sa.Column("number", sa.String(length=64), nullable=False),
        sa.Column("unit", sa.String(length=64), nullable=False),
        sa.Column("category", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("appeal_type", sa.String(length=20), nullable=False),
        sa.Column("region", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=True),
        sa.Column("created_at", moment(timezone=True), nullable=False),
        *(sa.Column(c, moment(timezone=True), nullable=True)
          for c in ("dispatched_at", "signed_at", "handle_due_at", "dispatch_late_after", "sign_late_after")),
        sa.PrimaryKeyConstraint("number", name=op.f("pk_order_facts_waiting")),
    )
    op.create_index("ix_order_facts_waiting_created", "order_facts_waiting", ["created_at"], unique=False)
    op.create_index("ix_order_facts_waiting_unit", "order_facts_waiting", ["unit", "created_at"], unique=False)
    op.execute(f"INSERT INTO order_facts_waiting ({', '.join(WAITING)}) SELECT {', '.join(WAITING)} FROM order_facts "
               "WHERE replied_at IS NULL AND closed_at IS NULL")  # fmt: skip


def downgrade() -> None:
    op.drop_index("ix_order_facts_waiting_unit", table_name="order_facts_waiting")
    op.drop_index("ix_order_facts_waiting_created", table_name="order_facts_waiting")
    op.drop_table("order_facts_waiting")
