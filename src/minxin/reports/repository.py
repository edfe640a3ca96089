"""Writes of the reporting tables for live orders, and the small lookups around them.

All SQL of the live path is here (reads for reports are in ``queries``, bulk loads in ``bulk``).
Additive upserts (``INSERT … ON CONFLICT DO UPDATE SET c = c + excluded.c``) keep concurrent
writers correct on both PostgreSQL and SQLite; rows are always touched in sorted key order so
two transactions folding different orders into the same cells never deadlock.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Table, bindparam, case, func, select
from sqlalchemy.orm import Session

from minxin.accounts.models import AppSetting
from minxin.categories.models import Category
from minxin.core.kpi import COUNTER_FIELDS
from minxin.db.statements import insert_rows, upsert_insert
from minxin.reports.models import (
    CELL_KEY,
    DAILY_KEY,
    MONTHLY_KEY,
    ImportBatch,
    OrderFactRow,
    ScorecardConfigRow,
    kpi_cell_hist,
    kpi_cells,
    kpi_daily,
    kpi_daily_hist,
    kpi_monthly,
    kpi_monthly_hist,
    order_facts_waiting,
)
from minxin.units.models import Unit
from minxin.workorders.models import Callback, OrderSequence, WorkOrder

#: (counters by field, histogram {bucket: (count, Σ seconds)}) — a change to add to a row
Delta = tuple[dict[str, int], dict[int, tuple[int, int]]]


def _insert(session: Session) -> Any:
    return upsert_insert(session.get_bind().dialect.name)


def is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


# ----------------------------------------------------------------------------- order facts
def fact(session: Session, number: str) -> OrderFactRow | None:
    return session.get(OrderFactRow, number)


def add_fact(session: Session, values: Mapping[str, Any]) -> None:
    """Insert a fact row (a Core insert: written once per new order, never read back as an object
    in the same transaction)."""
    insert_rows(session, OrderFactRow.__table__, [dict(values)])


_WAITING_INSERT = order_facts_waiting.insert()


def set_waiting(session: Session, values: Mapping[str, Any], *, new: bool = False) -> None:
    """Keep the order's ``order_facts_waiting`` row in step with its fact row (``values``: the
    fact row's columns): there while it is open, gone once replied to or closed. ``new``: the
    order has no row yet (registered in this transaction)."""
    t = order_facts_waiting
    if not new:
        session.execute(t.delete().where(t.c.number == values["number"]))
    if values["replied_at"] is None and values["closed_at"] is None:
        # a parameter set, not ``.values(...)``: the statement is built and compiled once
        session.execute(_WAITING_INSERT, [{c.name: values[c.name] for c in t.columns}])


def work_order(session: Session, order_id: int, *, for_update: bool = False) -> WorkOrder | None:
    stmt = select(WorkOrder).where(WorkOrder.id == order_id)
    if for_update:
        stmt = stmt.with_for_update(of=WorkOrder)
    return session.scalars(stmt).first()


def last_callback(session: Session, order_id: int, round_: int) -> Callback | None:
    """The latest callback attempt of the order's current round (reachable or not)."""
    stmt = (
        select(Callback)
        .where(Callback.order_id == order_id, Callback.round == round_)
        .order_by(Callback.at.desc(), Callback.id.desc())
        .limit(1)
    )
    return session.scalars(stmt).first()


def sla_due_times(session: Session, order_id: int) -> dict[str, datetime | None]:
    """Due instants the SLA engine keeps for the order (``sla_deadlines``), if it is installed:
    the dispatch clock of the first round, and the sign and handle clocks of the current
    assignment (latest round, latest seq). Missing keys → the KPI policy defaults apply."""
    try:
        stmt = _due_times_statement()
    except ImportError:  # the SLA engine is optional for reporting
        return {}
    rows = session.execute(stmt, {"order_id": order_id}).all()
    out: dict[str, datetime | None] = {}
    last_round = max((r.round for r in rows), default=0)
    for kind, round_, _seq, due_at in rows:
        if kind == "dispatch" and "dispatch" not in out:
            out["dispatch"] = due_at
        elif kind in ("sign", "handle") and round_ == last_round:
            out[kind] = due_at  # ordered by seq: the last assignment wins
    return out


@lru_cache(maxsize=1)
def _due_times_statement() -> Any:
    """Built once: read at every fold, i.e. on every action."""
    from minxin.sla.models import OrderDeadline

    return (
        select(OrderDeadline.kind, OrderDeadline.round, OrderDeadline.seq, OrderDeadline.due_at)
        .where(OrderDeadline.order_id == bindparam("order_id"))
        .order_by(OrderDeadline.round, OrderDeadline.seq)
    )


def orders_with_deadlines_changed(session: Session, since: datetime, limit: int) -> list[tuple[int, datetime]]:
    """(order id, latest change) of orders whose SLA rows changed after ``since``, oldest first."""
    try:
        from minxin.sla.models import OrderDeadline
    except ImportError:
        return []
    stmt = (
        select(OrderDeadline.order_id, func.max(OrderDeadline.updated_at).label("at"))
        .where(OrderDeadline.updated_at > since)
        .group_by(OrderDeadline.order_id)
        .order_by(func.max(OrderDeadline.updated_at))
        .limit(limit)
    )
    return [(int(i), at) for i, at in session.execute(stmt)]


def live_order_ids_without_facts(session: Session, after_id: int, limit: int) -> list[int]:
    """Work orders that have no fact row yet (created before reporting was installed)."""
    stmt = (
        select(WorkOrder.id)
        .where(WorkOrder.id > after_id, ~select(OrderFactRow.number).where(OrderFactRow.number == WorkOrder.number).exists())
        .order_by(WorkOrder.id)
        .limit(limit)
    )
    return list(session.scalars(stmt))


# ----------------------------------------------------------------------------- additive upserts
@lru_cache(maxsize=32)
def _upsert_statement(dialect: str, table: Table, key: tuple[str, ...], counters: tuple[str, ...],
                      returning: bool) -> Any:
    """One additive upsert per (table, shape): built and compiled once, then run as an
    executemany (SQLAlchemy batches it into multi-row ``VALUES``), instead of a fresh
    multi-row statement compiled on every action (that compile was most of a fold's cost)."""
    ins = upsert_insert(dialect)(table)
    stmt = ins.on_conflict_do_update(
        index_elements=list(key), set_={c: table.c[c] + ins.excluded[c] for c in counters}
    )
    if returning:
        stmt = stmt.returning(table.c.id, *(table.c[k] for k in key))
    return stmt


def _upsert_add(session: Session, table: Table, key: Sequence[str], rows: list[dict[str, Any]],
                counters: Sequence[str], returning: bool) -> list[Any]:
    """Add ``rows``' counters onto the rows with the same key (inserting missing ones); with
    ``returning``, (id, *key) of every touched row. Every row carries every column."""
    if not rows:
        return []
    stmt = _upsert_statement(session.get_bind().dialect.name, table, tuple(key), tuple(counters), returning)
    result = session.execute(stmt, rows)
    return list(result) if returning else []


def add_to_cells(session: Session, deltas: Mapping[tuple[Any, ...], Delta]) -> None:
    """Add counter/histogram deltas to ``kpi_cells`` (keys in ``CELL_KEY`` order)."""
    _add(session, kpi_cells, kpi_cell_hist, "cell_id", CELL_KEY, deltas)


def add_to_monthly(session: Session, deltas: Mapping[tuple[Any, ...], Delta]) -> None:
    """Add deltas to ``kpi_monthly`` (keys in ``MONTHLY_KEY`` order: dim, month, unit, value)."""
    _add(session, kpi_monthly, kpi_monthly_hist, "monthly_id", MONTHLY_KEY, deltas)


def add_to_daily(session: Session, deltas: Mapping[tuple[Any, ...], Delta]) -> None:
    """Add deltas to ``kpi_daily`` (keys in ``DAILY_KEY`` order: dim, day, value)."""
    _add(session, kpi_daily, kpi_daily_hist, "daily_id", DAILY_KEY, deltas)


def _add(session: Session, table: Table, hist: Table, owner: str, key: Sequence[str],
         deltas: Mapping[tuple[Any, ...], Delta]) -> None:
    keys = sorted(deltas, key=lambda k: tuple(str(v) for v in k))
    rows = [dict(zip(key, k, strict=True)) | {c: deltas[k][0].get(c, 0) for c in COUNTER_FIELDS} for k in keys]
    # the rows' ids are only needed for histogram deltas; a new order has none (no durations yet),
    # and without RETURNING the upsert is a plain executemany
    buckets = [(k, b, c, s) for k in keys for b, (c, s) in deltas[k][1].items() if c or s]
    ids = {tuple(r[1:]): r[0] for r in _upsert_add(session, table, key, rows, COUNTER_FIELDS, returning=bool(buckets))}
    hist_rows = sorted((ids[k], b, c, s) for k, b, c, s in buckets)
    _upsert_add(
        session, hist, (owner, "bucket"),
        [{owner: o, "bucket": b, "count": c, "sum_seconds": s} for o, b, c, s in hist_rows],
        ("count", "sum_seconds"), returning=False,
    )  # fmt: skip


# ----------------------------------------------------------------------------- codes
def unit_paths(session: Session) -> dict[str, str]:
    """code → materialised path of every unit (the unit table is small)."""
    return {code: path for code, path in session.execute(select(Unit.code, Unit.path))}


def units_by_code(session: Session, codes: Iterable[str]) -> dict[str, Unit]:
    codes = list(codes)
    if not codes:
        return {}
    return {u.code: u for u in session.scalars(select(Unit).where(Unit.code.in_(codes)))}


def all_units(session: Session) -> list[Unit]:
    return list(session.scalars(select(Unit).order_by(Unit.path)))


def category_codes(session: Session) -> set[str]:
    return set(session.scalars(select(Category.code)))


def categories_by_code(session: Session) -> dict[str, Category]:
    return {c.code: c for c in session.scalars(select(Category))}


def root_unit(session: Session) -> Unit | None:
    centre_first = case((Unit.kind == "centre", 0), else_=1)
    stmt = select(Unit).where(Unit.parent_id.is_(None)).order_by(centre_first, Unit.id).limit(1)
    return session.scalars(stmt).first()


def bump_sequences(session: Session, highest: Mapping[str, int]) -> None:
    """Make live numbering skip imported numbers of its own shape (``YYYYMMDD`` + 6 digits)."""
    for day, value in sorted(highest.items()):
        row = session.get(OrderSequence, day, with_for_update=True)
        if row is None:
            session.add(OrderSequence(day=day, value=value))
        elif row.value < value:
            row.value = value


def existing_numbers(session: Session, numbers: Sequence[str], *, facts: bool = True) -> set[str]:
    """Which of ``numbers`` are already live work orders or (with ``facts``) facts, in slices."""
    found: set[str] = set()
    for i in range(0, len(numbers), 5000):
        part = list(numbers[i : i + 5000])
        if facts:
            found |= set(session.scalars(select(OrderFactRow.number).where(OrderFactRow.number.in_(part))))
        found |= set(session.scalars(select(WorkOrder.number).where(WorkOrder.number.in_(part))))
    return found


def has_any_fact_or_order(session: Session) -> bool:
    return bool(
        session.scalar(select(select(OrderFactRow.number).limit(1).exists()))
        or session.scalar(select(select(WorkOrder.id).limit(1).exists()))
    )


# ----------------------------------------------------------------------------- configs, batches
def latest_config(session: Session) -> ScorecardConfigRow | None:
    return session.scalars(select(ScorecardConfigRow).order_by(ScorecardConfigRow.version.desc()).limit(1)).first()


def config_versions(session: Session, limit: int = 50) -> list[ScorecardConfigRow]:
    stmt = select(ScorecardConfigRow).order_by(ScorecardConfigRow.version.desc()).limit(limit)
    return list(session.scalars(stmt))


def add_config(session: Session, row: ScorecardConfigRow) -> None:
    session.add(row)
    session.flush()


def add_batch(session: Session, batch: ImportBatch) -> int:
    session.add(batch)
    session.flush()
    return batch.id


def setting(session: Session, key: str) -> str | None:
    row = session.get(AppSetting, key)
    return row.value if row is not None else None


def set_setting(session: Session, key: str, value: str) -> None:
    row = session.get(AppSetting, key)
    if row is None:
        session.add(AppSetting(key=key, value=value))
    else:
        row.value = value
