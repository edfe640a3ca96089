"""reports: city-wide daily rollups ``kpi_daily`` / ``kpi_daily_hist``, filled from the cells

Revision ID: 0009
Revises: 0006
Create Date: 2026-11-27

Why: a city-wide breakdown over days that are not whole months (two weeks by channel) summed
every unit's day cells, ≈ 0.3M rows at 10 million orders (0.7 s, docs/benchmarks.md "Reports at
scale"). One row per day × dimension value, every unit summed, makes it ≤ 31 × (values) rows a
month. The new tables are filled from the existing cells in the same migration, so they are
correct from the first read (the cells are the reference; ``minxin report verify`` checks both).
The counter columns are the ``KpiPartial`` fields as of revision 0006.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0006"
branch_labels = None
depends_on = None

COUNTERS = (
    "orders_all", "merged", "void", "orders", "praise", "direct_answered", "dispatched", "dispatch_judged",
    "dispatch_on_time", "sign_judged", "sign_on_time", "completion_judged", "completion_on_time", "replied",
    "finished", "callbacks", "callbacks_unreachable", "satisfied", "basically_satisfied", "dissatisfied",
    "resolution_answered", "resolved", "fairness_excluded", "fairness_excluded_answered",
    "fairness_excluded_content", "fairness_excluded_resolution_answered", "fairness_excluded_resolved",
    "reopened", "reopen_events", "returned", "return_events", "evidence_required", "evidence_present",
    "handled", "handling_seconds",
)  # fmt: skip
#: dimension → the cell column holding its value (``all``: none, the value is ``''``)
DIMS = {"all": None, "channel": "channel", "appeal_type": "appeal_type", "category": "category", "region": "region"}


def upgrade() -> None:
    op.create_table(
        "kpi_daily",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dim", sa.String(length=12), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("value", sa.String(length=64), nullable=False),
        *(sa.Column(c, sa.BigInteger() if c == "handling_seconds" else sa.Integer(), nullable=False) for c in COUNTERS),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kpi_daily")),
        sa.UniqueConstraint("dim", "day", "value", name="uq_kpi_daily_key"),
    )
    op.create_table(
        "kpi_daily_hist",
        sa.Column("daily_id", sa.Integer(), nullable=False),
        sa.Column("bucket", sa.SmallInteger(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("sum_seconds", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("daily_id", "bucket", name="pk_kpi_daily_hist"),
    )
    counters = ", ".join(COUNTERS)
    sums = ", ".join(f"sum({c})" for c in COUNTERS)
    for dim, column in DIMS.items():
        value, group = (f"c.{column}", f", c.{column}") if column else ("''", "")
        op.execute(
            f"INSERT INTO kpi_daily (dim, day, value, {counters}) "
            f"SELECT '{dim}', c.day, {value}, {sums} FROM kpi_cells c GROUP BY c.day{group}"
        )
        op.execute(
            "INSERT INTO kpi_daily_hist (daily_id, bucket, count, sum_seconds) "
            "SELECT d.id, h.bucket, sum(h.count), sum(h.sum_seconds) FROM kpi_cells c "
            "JOIN kpi_cell_hist h ON h.cell_id = c.id "
            f"JOIN kpi_daily d ON d.dim = '{dim}' AND d.day = c.day AND d.value = {value} "
            "GROUP BY d.id, h.bucket"
        )


def downgrade() -> None:
    op.drop_table("kpi_daily_hist")
    op.drop_table("kpi_daily")
