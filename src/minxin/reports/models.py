"""Reporting tables: one fact row per order, additive KPI cells, monthly rollups, scorecard configs.

Why these tables (docs/kpis.md §3, docs/benchmarks.md "Reports at scale"):

* ``order_facts`` — the KPI facts of every order, live (kept in step by the work-order hooks) or
  imported history (``minxin import``; imported rows are *not* work orders, they are immutable
  history). It is what the cells were built from, so it is also what a cell change subtracts,
  the source of the drill-down lists behind every figure, and of the late-while-waiting
  (``as_of``) adjustments of open orders. ``handling_seconds`` / ``sign_working_seconds`` are the
  working times folded into the cells, so an order's old contribution is reproduced exactly
  even if the calendar changed since.
* ``kpi_cells`` — Σ ``partial_of(fact)`` (clock-free) per local day × unit × category × channel ×
  appeal type × region, with its handling-time histogram rows in ``kpi_cell_hist``.
* ``kpi_monthly`` — the same sums per month × unit × (one dimension, its value): dimension
  ``all`` (value ``''``), ``channel``, ``appeal_type``, ``category``, ``region`` and ``day``
  (value ``YYYY-MM-DD``), plus the same rows for unit ``*`` (every unit summed) so that
  city-wide figures read a handful of rows instead of one per unit. The monthly scorecard and
  the dashboard read only these small rows.
* ``order_facts_waiting`` — the columns a late-while-waiting count reads, of the orders still
  open (no reply, not closed): a dense copy of a few tens of thousands of rows, where the same
  rows of ``order_facts`` lie one per page across gigabytes of history (each ``as_of`` count
  fetched ≈ 27k scattered pages at 10 million orders). Kept with the fact rows: by the live fold
  and by the importer, in the same transaction.
* ``kpi_daily`` — the same sums per local day × (one dimension, its value), city-wide only
  (every unit summed; dimensions ``all``, ``channel``, ``appeal_type``, ``category``,
  ``region``): a city-wide figure over days that are not whole months (two weeks by channel)
  reads ≤ 31 × (number of values) of these rows per month instead of every unit's day cells.
  Scoped readers (a unit subtree) still read the cells, which are few for a subtree.

Invariants (checked by tests/reports/test_incremental.py):
- every ``kpi_cells`` row = Σ of the partials of the ``order_facts`` rows with its key;
- every ``kpi_monthly`` row = Σ of the cells of its month, unit (``*``: any) and dimension value;
- every ``kpi_daily`` row = Σ of the cells of its day and dimension value (any unit);
- ``order_facts_waiting`` = the open rows of ``order_facts``, column for column;
- histogram rows hold (count, Σ seconds) per bucket; a bucket emptied by a change keeps a
  (0, 0) row, which reads as absent.

There are deliberately no foreign keys on the bulk-loaded tables (facts, cells, histograms):
history loads at tens of thousands of rows a second with PostgreSQL ``COPY``, and a per-row
trigger would halve that; integrity is by construction (one writer module, one transaction).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    Float,
    Index,
    Integer,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from minxin.core.kpi import COUNTER_FIELDS
from minxin.db.base import Base
from minxin.db.types import JSONType, UTCDateTime

#: counters whose sums can exceed 2**31 in a month (seconds); the others are order counts
WIDE_COUNTERS = frozenset({"handling_seconds"})
#: the dimensions of ``kpi_monthly`` (``all`` has the value ``''``)
MONTHLY_DIMS: tuple[str, ...] = ("all", "channel", "appeal_type", "category", "region", "day")
#: the cell key columns, in ``CellKey`` order
CELL_KEY: tuple[str, ...] = ("day", "unit", "category", "channel", "appeal_type", "region")
MONTHLY_KEY: tuple[str, ...] = ("dim", "month", "unit", "value")
#: the dimensions of ``kpi_daily`` (``all`` has the value ``''``; a day needs no ``day`` dimension)
DAILY_DIMS: tuple[str, ...] = ("all", "channel", "appeal_type", "category", "region")
DAILY_KEY: tuple[str, ...] = ("dim", "day", "value")
#: the ``kpi_monthly`` unit of the city-wide rows (every unit, and orders with none, summed):
#: not a possible unit code, so a unit filter never meets it
ALL_UNITS = "*"


def _counter_columns() -> list[Column[Any]]:
    return [
        Column(name, BigInteger if name in WIDE_COUNTERS else Integer, nullable=False)
        for name in COUNTER_FIELDS
    ]


class OrderFactRow(Base):
    """The KPI facts of one order (live or imported); see the module docstring."""

    __tablename__ = "order_facts"

    number: Mapped[str] = mapped_column(String(64), primary_key=True)
    #: ``live`` (a work order, kept in step by hooks) or ``import`` (history, never changes)
    source: Mapped[str] = mapped_column(String(8), nullable=False)
    batch_id: Mapped[int | None] = mapped_column(Integer)
    unit: Mapped[str] = mapped_column(String(64), nullable=False)
    category: Mapped[str] = mapped_column(String(64), nullable=False)
    channel: Mapped[str] = mapped_column(String(20), nullable=False)
    appeal_type: Mapped[str] = mapped_column(String(20), nullable=False)
    region: Mapped[str] = mapped_column(String(64), nullable=False)
    urgency: Mapped[str] = mapped_column(String(20), nullable=False)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    content: Mapped[str | None] = mapped_column(Text)
    #: the order's status; NULL for imported rows without a status column (derived from times)
    status: Mapped[str | None] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    replied_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    dispatch_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sign_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    handle_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    callback_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    satisfaction: Mapped[str | None] = mapped_column(String(30))
    resolved: Mapped[bool | None] = mapped_column(Boolean)
    reopen_count: Mapped[int] = mapped_column(Integer, nullable=False)
    returned_count: Mapped[int] = mapped_column(Integer, nullable=False)
    has_evidence: Mapped[bool] = mapped_column(Boolean, nullable=False)
    requires_evidence: Mapped[bool] = mapped_column(Boolean, nullable=False)
    excluded_from_satisfaction: Mapped[bool] = mapped_column(Boolean, nullable=False)
    callback_reachable: Mapped[bool | None] = mapped_column(Boolean)
    #: whole working seconds dispatch → reply as folded into the cells (None: not handled)
    handling_seconds: Mapped[int | None] = mapped_column(Integer)
    #: working seconds dispatch → signing as folded (None: not signed, or ``sign_due_at`` given)
    sign_working_seconds: Mapped[float | None] = mapped_column(Float)
    #: while waiting: the instant after which the order counts late for dispatch / signing
    dispatch_late_after: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sign_late_after: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        Index("ix_order_facts_unit_created", "unit", "created_at"),
        Index("ix_order_facts_created_at", "created_at"),
        # the open orders (the only ones an ``as_of`` adjustment can touch) are read from
        # ``order_facts_waiting``; the partial indexes that found them here went in migration 0011
    )


#: the columns of ``order_facts`` that ``order_facts_waiting`` copies (replied/closed are NULL there)
WAITING_COLUMNS: tuple[str, ...] = (
    "number", "unit", "category", "channel", "appeal_type", "region", "status", "created_at", "dispatched_at",
    "signed_at", "handle_due_at", "dispatch_late_after", "sign_late_after",
)  # fmt: skip
#: which rows of ``order_facts`` are copied: the open ones (SQL text, both dialects)
OPEN_SQL = "replied_at IS NULL AND closed_at IS NULL"

order_facts_waiting = Table(
    "order_facts_waiting",
    Base.metadata,
    Column("number", String(64), primary_key=True),
    Column("unit", String(64), nullable=False),
    Column("category", String(64), nullable=False),
    Column("channel", String(20), nullable=False),
    Column("appeal_type", String(20), nullable=False),
    Column("region", String(64), nullable=False),
    Column("status", String(20)),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("dispatched_at", UTCDateTime()),
    Column("signed_at", UTCDateTime()),
    Column("handle_due_at", UTCDateTime()),
    Column("dispatch_late_after", UTCDateTime()),
    Column("sign_late_after", UTCDateTime()),
    Index("ix_order_facts_waiting_created", "created_at"),
    Index("ix_order_facts_waiting_unit", "unit", "created_at"),
)

kpi_cells = Table(
    "kpi_cells",
    Base.metadata,
    Column("id", Integer, primary_key=True),
    Column("day", Date, nullable=False),
    Column("unit", String(64), nullable=False),
    Column("category", String(64), nullable=False),
    Column("channel", String(20), nullable=False),
    Column("appeal_type", String(20), nullable=False),
    Column("region", String(64), nullable=False),
    *_counter_columns(),
    UniqueConstraint(*CELL_KEY, name="uq_kpi_cells_key"),
)

kpi_cell_hist = Table(
    "kpi_cell_hist",
    Base.metadata,
    Column("cell_id", Integer, nullable=False),
    Column("bucket", SmallInteger, nullable=False),
    Column("count", Integer, nullable=False),
    Column("sum_seconds", BigInteger, nullable=False),
    PrimaryKeyConstraint("cell_id", "bucket", name="pk_kpi_cell_hist"),
)

kpi_monthly = Table(
    "kpi_monthly",
    Base.metadata,
    Column("id", Integer, primary_key=True),
    Column("dim", String(12), nullable=False),
    Column("month", Date, nullable=False),
    Column("unit", String(64), nullable=False),
    Column("value", String(64), nullable=False),
    *_counter_columns(),
    UniqueConstraint(*MONTHLY_KEY, name="uq_kpi_monthly_key"),
)

kpi_monthly_hist = Table(
    "kpi_monthly_hist",
    Base.metadata,
    Column("monthly_id", Integer, nullable=False),
    Column("bucket", SmallInteger, nullable=False),
    Column("count", Integer, nullable=False),
    Column("sum_seconds", BigInteger, nullable=False),
    PrimaryKeyConstraint("monthly_id", "bucket", name="pk_kpi_monthly_hist"),
)

kpi_daily = Table(
    "kpi_daily",
    Base.metadata,
    Column("id", Integer, primary_key=True),
    Column("dim", String(12), nullable=False),
    Column("day", Date, nullable=False),
    Column("value", String(64), nullable=False),
    *_counter_columns(),
    UniqueConstraint(*DAILY_KEY, name="uq_kpi_daily_key"),
)

kpi_daily_hist = Table(
    "kpi_daily_hist",
    Base.metadata,
    Column("daily_id", Integer, nullable=False),
    Column("bucket", SmallInteger, nullable=False),
    Column("count", Integer, nullable=False),
    Column("sum_seconds", BigInteger, nullable=False),
    PrimaryKeyConstraint("daily_id", "bucket", name="pk_kpi_daily_hist"),
)


class ScorecardConfigRow(Base):
    """One version of the scorecard configuration (the latest version is in force)."""

    __tablename__ = "scorecard_configs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, nullable=False, unique=True)
    config: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False)
    #: the text as submitted (YAML or JSON), so comments survive a round trip
    source_text: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    created_by: Mapped[str] = mapped_column(String(100), nullable=False)


class ImportBatch(Base):
    """One successful history import (provenance of ``order_facts`` rows with its ``batch_id``)."""

    __tablename__ = "import_batches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    filename: Mapped[str] = mapped_column(String(500), nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    rows: Mapped[int] = mapped_column(Integer, nullable=False)
    skipped: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    created_by: Mapped[str] = mapped_column(String(100), nullable=False)
    options: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False)
