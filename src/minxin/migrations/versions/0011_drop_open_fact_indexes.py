"""reports: drop the partial open-order indexes of ``order_facts``

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-28

Why: since 0010 every read of the open orders goes to ``order_facts_waiting``; the two partial
indexes (``replied_at IS NULL AND closed_at IS NULL``) were left with one reader, the copy of an
import's open rows, and each cost a full scan of the history to build after a bulk load (two of
the five index builds of a first 10-million-row import). An import now gathers its open rows
while loading them (``factrows.WaitingRows``); ``minxin report rebuild`` scans once.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

OPEN = sa.text("replied_at IS NULL AND closed_at IS NULL")


def upgrade() -> None:
    op.drop_index("ix_order_facts_open_unit", table_name="order_facts")
    op.drop_index("ix_order_facts_open", table_name="order_facts")


def downgrade() -> None:
    op.create_index("ix_order_facts_open", "order_facts", ["created_at"], unique=False,
                    postgresql_where=OPEN, sqlite_where=OPEN)
    op.create_index("ix_order_facts_open_unit", "order_facts", ["unit", "created_at"], unique=False,
                    postgresql_where=OPEN, sqlite_where=OPEN)
