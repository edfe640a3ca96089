"""Checking and rebuilding the aggregates from the raw facts.

``recompute`` is the reference: every live work order's fact re-derived from the work-order
tables (not from its stored fact row), every imported row as imported, summed with
``core.kpi.aggregate`` — no incremental code involved. ``verify`` compares it with every
aggregate table (cells, monthly and daily rollups, their histograms) and checks that
``order_facts_waiting`` is the open fact rows; ``rebuild`` replaces them with it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy.orm import Session

from minxin.core.kpi import COUNTER_FIELDS, CellKey, KpiPartial, OrderFact, aggregate, rollup
from minxin.db.session import Database
from minxin.reports import bulk, cells, folding, repository, scans
from minxin.reports.columnar import FactColumns, partials
from minxin.reports.models import ALL_UNITS, DAILY_DIMS, MONTHLY_DIMS
from minxin.workorders.models import WorkOrder


def raw_facts(session: Session) -> Iterable[OrderFact]:
    """Facts from the raw records: live orders re-derived, imported rows as stored."""
    for row in scans.all_fact_rows(session):
        if row.source == "live":
            order = session.query(WorkOrder).filter(WorkOrder.number == row.number).one_or_none()
            if order is not None:
                yield folding.live_fact(session, order)
                continue
        yield folding.fact_of_row(row)


def recompute(session: Session) -> dict[CellKey, KpiPartial]:
    return aggregate(raw_facts(session), folding.working_seconds)


Stored = dict[tuple[Any, ...], tuple[dict[str, int], dict[int, tuple[int, int]]]]


def _stored(rows: list[tuple[Any, ...]], hist: list[tuple[int, int, int, int]], width: int) -> Stored:
    """Rollup rows (id, *key of ``width`` columns, *counters) with their histograms, by key."""
    out: Stored = {}
    by_id = {}
    for r in rows:
        key = tuple(r[1 : 1 + width])
        out[key] = ({k: int(v) for k, v in zip(COUNTER_FIELDS, r[1 + width :], strict=True)}, {})
        by_id[r[0]] = key
    for owner, bucket, count, seconds in hist:
        if count:
            out[by_id[owner]][1][int(bucket)] = (int(count), int(seconds))
    return out


def stored_cells(session: Session) -> Stored:
    return _stored(*scans.all_cells(session), 6)


def stored_monthly(session: Session) -> Stored:
    return _stored(*scans.all_monthly(session), 4)


def stored_daily(session: Session) -> Stored:
    return _stored(*scans.all_daily(session), 3)


def expected_monthly(reference: dict[CellKey, KpiPartial]) -> dict[tuple[Any, ...], KpiPartial]:
    out: dict[tuple[Any, ...], KpiPartial] = {}
    dims = {"all": (), "channel": ("channel",), "appeal_type": ("appeal_type",), "category": ("category",),
            "region": ("region",), "day": ("day",)}  # fmt: skip
    for dim in MONTHLY_DIMS:
        for key, part in rollup(reference, ("month", "unit", *dims[dim])).items():
            value = "" if dim == "all" else key[2]
            out[(dim, key[0], key[1], value.isoformat() if dim == "day" else value)] = part  # type: ignore[union-attr]
        for key, part in rollup(reference, ("month", *dims[dim])).items():
            value = "" if dim == "all" else key[1]
            out[(dim, key[0], ALL_UNITS, value.isoformat() if dim == "day" else value)] = part  # type: ignore[union-attr]
    return out


def expected_daily(reference: dict[CellKey, KpiPartial]) -> dict[tuple[Any, ...], KpiPartial]:
    """The city-wide daily rows: every unit summed, per day and one dimension value."""
    out: dict[tuple[Any, ...], KpiPartial] = {}
    for dim in DAILY_DIMS:
        for key, part in rollup(reference, ("day",) if dim == "all" else ("day", dim)).items():
            out[(dim, key[0], "" if dim == "all" else key[1])] = part
    return out


def _empty(counters: dict[str, int], hist: dict[int, tuple[int, int]]) -> bool:
    return not any(counters.values()) and not hist


def verify(session: Session) -> list[str]:
    """Differences between the stored aggregates and a recomputation from raw facts."""
    reference = recompute(session)
    problems = []
    cells_now = stored_cells(session)
    for key, part in reference.items():
        k = (key.day, key.unit, key.category, key.channel, key.appeal_type, key.region)
        got = cells_now.pop(k, None)
        if got != (part.columns(), part.handling_hist.as_mapping()):
            problems.append(f"cell {k}: stored {got}, recomputed {part.columns()}")
    problems += [f"cell {k}: stored {v} but no order" for k, v in cells_now.items() if not _empty(*v)]
    monthly_now = stored_monthly(session)
    for key, part in expected_monthly(reference).items():
        got = monthly_now.pop(key, None)
        if got != (part.columns(), part.handling_hist.as_mapping()):
            problems.append(f"monthly {key}: stored {got}, recomputed {part.columns()}")
    problems += [f"monthly {k}: stored {v} but no order" for k, v in monthly_now.items() if not _empty(*v)]
    daily_now = stored_daily(session)
    for key, part in expected_daily(reference).items():
        got = daily_now.pop(key, None)
        if got != (part.columns(), part.handling_hist.as_mapping()):
            problems.append(f"daily {key}: stored {got}, recomputed {part.columns()}")
    problems += [f"daily {k}: stored {v} but no order" for k, v in daily_now.items() if not _empty(*v)]
    problems += [f"waiting copy of {n}: {copy}, open fact row {fact}" for n, copy, fact in scans.waiting_mismatches(session)]
    return problems


def rebuild(db: Database, chunk: int = 50_000) -> dict[str, int]:
    """Empty the aggregates, refold every live order, re-sum every imported row. One transaction."""
    live = imported = 0
    with db.unit_of_work() as session:
        bulk.clear_aggregates(session)
        units, categories, regions = cells.Vocab(), cells.Vocab(), cells.Vocab()
        tables, batch = [], []
        for row in scans.all_fact_rows(session):
            if row.source == "live":
                continue
            batch.append(folding.fact_of_row(row))
            if len(batch) >= chunk:
                tables.append(_cells(batch, units, categories, regions))
                imported += len(batch)
                batch = []
        if batch:
            tables.append(_cells(batch, units, categories, regions))
            imported += len(batch)
        table = cells.merge(tables)
        if len(table):
            bulk.write_cells(session, cells.key_columns(table, units, categories, regions), table.counters, table.hist)
            m = cells.monthly(table, units, categories, regions)
            bulk.write_monthly(session, [m.dims, m.months, m.units, m.values], m.counters, m.hist)
            d = cells.daily(table, categories, regions)
            bulk.write_daily(session, [d.dims, d.days, d.values], d.counters, d.hist)
        bulk.copy_waiting(session)
        for row in list(scans.all_fact_rows(session)):
            if row.source == "live":
                session.delete(row)
        session.flush()
        after = 0
        while ids := repository.live_order_ids_without_facts(session, after, 1000):
            for order_id in ids:
                order = repository.work_order(session, order_id)
                if order is not None:
                    folding.fold(session, order)
                    live += 1
            after = ids[-1]
    return {"live": live, "imported": imported}


def _cells(facts: list[OrderFact], units: cells.Vocab, categories: cells.Vocab, regions: cells.Vocab) -> cells.CellTable:
    cols = FactColumns.from_facts(facts)
    return cells.rows_to_cells(cols, partials(cols, folding.kpi_calendar()), units, categories, regions)
