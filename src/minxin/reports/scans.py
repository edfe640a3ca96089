"""Whole-table reads for ``minxin report verify`` and ``minxin report rebuild`` (``maintenance``).

Why apart from ``queries``: these scan everything — every fact row, cell, rollup and waiting
copy — to recompute or check the aggregates; the dashboard's reads in ``queries`` never do.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from minxin.core.kpi import COUNTER_FIELDS
from minxin.reports.models import (
    OPEN_SQL,
    WAITING_COLUMNS,
    OrderFactRow,
    kpi_cell_hist,
    kpi_cells,
    kpi_daily,
    kpi_daily_hist,
    kpi_monthly,
    kpi_monthly_hist,
    order_facts_waiting,
)
from minxin.reports.queries import CELL_DIMS

facts = OrderFactRow.__table__


def waiting_mismatches(session: Session) -> list[tuple[str, Any, Any]]:
    """(number, copy, fact) of every ``order_facts_waiting`` row that is not the open fact row's
    columns, and every open fact row without its copy (the verifier's check)."""
    copies = {r[0]: tuple(r) for r in session.execute(select(*(order_facts_waiting.c[n] for n in WAITING_COLUMNS)))}
    opened = {r[0]: tuple(r) for r in session.execute(
        select(*(facts.c[n] for n in WAITING_COLUMNS)).where(text(OPEN_SQL)))}  # fmt: skip
    return [(n, copies.get(n), opened.get(n)) for n in sorted(copies.keys() | opened.keys()) if copies.get(n) != opened.get(n)]


def all_fact_rows(session: Session, batch: int = 5000) -> Iterator[OrderFactRow]:
    """Every fact row, in number order (for rebuilds and the recompute check)."""
    last = ""
    while True:
        rows = list(session.scalars(select(OrderFactRow).where(OrderFactRow.number > last).order_by(OrderFactRow.number).limit(batch)))
        if not rows:
            return
        yield from rows
        last = rows[-1].number


def all_cells(session: Session) -> tuple[list[tuple[Any, ...]], list[tuple[int, int, int, int]]]:
    """Every cell row (key columns then counters, keyed by id first) and every histogram row."""
    t = kpi_cells
    rows = [tuple(r) for r in session.execute(select(t.c.id, *(t.c[k] for k in CELL_DIMS), *(t.c[c] for c in COUNTER_FIELDS)))]
    hist = [tuple(r) for r in session.execute(select(kpi_cell_hist))]
    return rows, hist  # type: ignore[return-value]


def all_monthly(session: Session) -> tuple[list[tuple[Any, ...]], list[tuple[int, int, int, int]]]:
    t = kpi_monthly
    cols = (t.c.id, t.c.dim, t.c.month, t.c.unit, t.c.value, *(t.c[c] for c in COUNTER_FIELDS))
    return [tuple(r) for r in session.execute(select(*cols))], [tuple(r) for r in session.execute(select(kpi_monthly_hist))]  # type: ignore[return-value]


def all_daily(session: Session) -> tuple[list[tuple[Any, ...]], list[tuple[int, int, int, int]]]:
    t = kpi_daily
    cols = (t.c.id, t.c.dim, t.c.day, t.c.value, *(t.c[c] for c in COUNTER_FIELDS))
    return [tuple(r) for r in session.execute(select(*cols))], [tuple(r) for r in session.execute(select(kpi_daily_hist))]  # type: ignore[return-value]
