"""Bulk writes of an import's aggregates: cells / monthly / daily rows merged into what is already
there, by ``COPY`` (PostgreSQL) or ``executemany`` (SQLite). With ``factrows`` (the fact rows),
all SQL of the import path.

Everything runs on the caller's transaction (the import's one unit of work), so a failed or
refused import leaves nothing behind. New aggregate rows get ids drawn from the table's own
sequence (PostgreSQL) or above ``max(id)`` under SQLite's write lock, so their histogram rows can
be written in the same pass; rows that already exist (earlier imports, live orders) are added to.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, timedelta
from itertools import chain
from typing import Any

import numpy as np
from sqlalchemy import BigInteger, Date, Integer, SmallInteger, String, Table, select
from sqlalchemy.orm import Session

from minxin.core.kpi import COUNTER_FIELDS
from minxin.db.base import Base
from minxin.reports import deferred, pgbinary
from minxin.reports.cells import day_dates
from minxin.reports.factrows import EPOCH_DATE, dbapi, sqlite_values, take
from minxin.reports.models import (
    OPEN_SQL,
    WAITING_COLUMNS,
    kpi_cell_hist,
    kpi_cells,
    kpi_daily,
    kpi_daily_hist,
    kpi_monthly,
    kpi_monthly_hist,
    order_facts_waiting,
)
from minxin.reports.repository import is_postgres
from minxin.reports.textcols import Encoded

# ----------------------------------------------------------------------------- aggregates
_PG_TYPES = {BigInteger: "int8", SmallInteger: "int2", Integer: "int4", Date: "date", String: "text"}


def _kinds(table: str, names: Sequence[str]) -> list[str]:
    """Each column's ``pgbinary`` kind (our aggregate tables hold ints, dates and texts)."""
    columns = Base.metadata.tables[table.removeprefix("tmp_")].columns
    return [next(t for k, t in _PG_TYPES.items() if isinstance(columns[n].type, k)) for n in names]


def _spec(kind: str, column: Sequence[Any] | np.ndarray) -> pgbinary.Column:
    if kind == "text":
        return (kind, column, None)
    if kind == "date" and len(column) and isinstance(column[0], date):
        table = {d: d.toordinal() - EPOCH_DATE.toordinal() for d in set(column)}
        return (kind, np.array([table[d] for d in column], dtype=np.int64), None)
    return (kind, np.asarray(column), None)


def _copy_columns(session: Session, table: str, names: Sequence[str], columns: Sequence[Sequence[Any] | np.ndarray]) -> None:
    """Insert rows given by column (ints, texts, dates) as fast as the database allows: a binary
    ``COPY`` laid out by numpy on PostgreSQL, ``executemany`` on SQLite."""
    if not len(columns) or not len(columns[0]):
        return
    spec = [_spec(k, c) for k, c in zip(_kinds(table, names), columns, strict=True)]
    if is_postgres(session):  # every column here is NOT NULL: dense records, texts last
        from psycopg.copy import QueuedLibpqWriter

        fixed = [(name, (kind, np.asarray(values))) for name, (kind, values, _) in zip(names, spec, strict=True) if kind != "text"]
        texts = [(name, values) for name, (kind, values, _) in zip(names, spec, strict=True) if kind == "text"]
        order = [name for name, _ in fixed] + [name for name, _ in texts]
        parts = pgbinary.dense_parts([f for _, f in fixed], [t if isinstance(t, Encoded) else list(t) for _, t in texts])
        # a queued writer sends part k from its own thread while part k + 1 is laid out (what
        # waits in its queue is at most the whole payload, which used to be built before sending)
        cursor = dbapi(session).cursor()
        with cursor.copy(f"COPY {table} ({', '.join(order)}) FROM STDIN WITH (FORMAT binary)",
                         writer=QueuedLibpqWriter(cursor)) as copy:  # fmt: skip
            for part in chain((pgbinary.HEADER,), parts, (pgbinary.TRAILER,)):
                copy.write(part)
    else:
        marks = ", ".join("?" * len(names))
        rows = zip(*(sqlite_values(c) for c in spec), strict=True)
        session.connection().exec_driver_sql(f"INSERT INTO {table} ({', '.join(names)}) VALUES ({marks})", list(rows))


def _key_values(column: Sequence[Any] | Encoded | np.ndarray) -> list[Any]:
    """A key column as Python values, to match against keys read back from the table: an
    ``Encoded`` text column as its strings, an int array as dates (days since 1970-01-01)."""
    if isinstance(column, Encoded):
        return list(column)
    if isinstance(column, np.ndarray):
        return day_dates(column)
    return list(column)


def _copy_rows(session: Session, table: str, names: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    _copy_columns(session, table, names, [list(c) for c in zip(*rows, strict=True)] if rows else [])


def lock_for_merge(session: Session, table: Table) -> None:
    """Keep live folds out of ``table`` until the import commits (PostgreSQL; SQLite's write lock
    already does): the set of existing keys cannot change under the merge, and fresh ids can be
    taken as one block of the sequence. Live actions wait at most for the end of the import."""
    if is_postgres(session):
        session.connection().exec_driver_sql(f"LOCK TABLE {table.name} IN SHARE ROW EXCLUSIVE MODE")


def _new_ids(session: Session, table: str, n: int) -> list[int]:
    """``n`` fresh ids (the table is locked by ``lock_for_merge``, so no one else draws any)."""
    if n == 0:
        return []
    conn = session.connection()
    if is_postgres(session):
        seq = f"pg_get_serial_sequence('{table}', 'id')"
        first = int(conn.exec_driver_sql(f"SELECT nextval({seq})").scalar_one())
        conn.exec_driver_sql(f"SELECT setval({seq}, {first + n - 1})")
        return list(range(first, first + n))
    top = conn.exec_driver_sql(f"SELECT coalesce(max(id), 0) FROM {table}").scalar() or 0
    return list(range(int(top) + 1, int(top) + 1 + n))


@contextmanager
def _staged(session: Session, like: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[str]:
    """A temporary table holding ``rows`` (PostgreSQL), dropped at the end of the block."""
    name = f"tmp_{like}"
    conn = session.connection()
    conn.exec_driver_sql(f"CREATE TEMP TABLE {name} AS SELECT {', '.join(columns)} FROM {like} WITH NO DATA")
    _copy_rows(session, name, columns, rows)
    try:
        yield name
    finally:
        conn.exec_driver_sql(f"DROP TABLE {name}")


def _add_counters(session: Session, table: str, ids: Sequence[int], counters: np.ndarray) -> None:
    if not len(ids):
        return
    rows = [(i, *c) for i, c in zip(ids, counters.tolist(), strict=True)]
    if is_postgres(session):
        with _staged(session, table, ("id", *COUNTER_FIELDS), rows) as tmp:
            sets = ", ".join(f"{c} = t.{c} + s.{c}" for c in COUNTER_FIELDS)
            session.connection().exec_driver_sql(f"UPDATE {table} t SET {sets} FROM {tmp} s WHERE t.id = s.id")
    else:
        sets = ", ".join(f"{c} = {c} + ?" for c in COUNTER_FIELDS)
        session.connection().exec_driver_sql(
            f"UPDATE {table} SET {sets} WHERE id = ?", [(*r[1:], r[0]) for r in rows]
        )


def _add_hist(session: Session, table: str, owner: str, rows: list[tuple[int, int, int, int]]) -> None:
    if not rows:
        return
    cols = (owner, "bucket", "count", "sum_seconds")
    conflict = (
        f"ON CONFLICT ({owner}, bucket) DO UPDATE SET count = {table}.count + excluded.count, "
        f"sum_seconds = {table}.sum_seconds + excluded.sum_seconds"
    )
    if is_postgres(session):
        with _staged(session, table, cols, rows) as tmp:
            session.connection().exec_driver_sql(
                f"INSERT INTO {table} ({', '.join(cols)}) SELECT {', '.join(cols)} FROM {tmp} {conflict}"
            )
    else:
        session.connection().exec_driver_sql(f"INSERT INTO {table} ({', '.join(cols)}) VALUES (?, ?, ?, ?) {conflict}", rows)


def merge_aggregate(
    session: Session,
    table: Table,
    hist_table: Table,
    owner: str,
    key_names: Sequence[str],
    key_columns: Sequence[Sequence[Any] | Encoded | np.ndarray],
    counters: np.ndarray,
    hist: np.ndarray,
    existing: dict[tuple[Any, ...], int],
) -> None:
    """Add aggregate rows (keys given by column, ``counters`` m × F, ``hist`` rows (row index,
    bucket, count, Σ seconds)) into ``table``: keys already there (``existing``: key → id) are
    added to, new keys inserted with fresh ids, and the histogram rows follow their owner.
    A key column is a list of values, an ``Encoded`` text column, or an int array of days."""
    m = len(counters)
    ids = np.full(m, -1, dtype=np.int64)
    if existing:
        found = [existing.get(k, -1) for k in zip(*map(_key_values, key_columns), strict=True)]
        ids[:] = found
    new = ids < 0
    new_idx = np.flatnonzero(new)
    ids[new_idx] = _new_ids(session, table.name, len(new_idx))
    if len(new_idx) == m:
        keys_new: Sequence[Sequence[Any] | Encoded | np.ndarray] = key_columns
    else:
        keys_new = [take(col, new_idx) for col in key_columns]
    fresh_counters = counters[new_idx]
    _copy_columns(session, table.name, ("id", *key_names, *COUNTER_FIELDS),
                  [ids[new_idx], *keys_new, *(fresh_counters[:, j] for j in range(fresh_counters.shape[1]))])  # fmt: skip
    old_idx = np.flatnonzero(~new)
    _add_counters(session, table.name, ids[old_idx].tolist(), counters[old_idx])
    if len(hist):
        rows_new = new[hist[:, 0]]
        owners = ids[hist[:, 0]]
        fresh = np.column_stack([owners, hist[:, 1:]])
        new_rows = fresh[rows_new]
        _copy_columns(session, hist_table.name, (owner, "bucket", "count", "sum_seconds"), [new_rows[:, j] for j in range(4)])
        _add_hist(session, hist_table.name, owner, [tuple(r) for r in fresh[~rows_new].tolist()])


def existing_cells(session: Session, first: date, last: date) -> dict[tuple[Any, ...], int]:
    t = kpi_cells
    stmt = select(t.c.id, t.c.day, t.c.unit, t.c.category, t.c.channel, t.c.appeal_type, t.c.region).where(
        t.c.day >= first, t.c.day <= last
    )
    return {tuple(r[1:]): int(r[0]) for r in session.execute(stmt)}


def existing_monthly(session: Session, first: date, last: date) -> dict[tuple[Any, ...], int]:
    t = kpi_monthly
    stmt = select(t.c.id, t.c.dim, t.c.month, t.c.unit, t.c.value).where(t.c.month >= first, t.c.month <= last)
    return {tuple(r[1:]): int(r[0]) for r in session.execute(stmt)}


def _merge_into(session: Session, table: Table, hist_table: Table, owner: str, key_names: Sequence[str],
                key_columns: Sequence[Sequence[Any]], counters: np.ndarray, hist: np.ndarray,
                existing: Callable[[], dict[tuple[Any, ...], int]]) -> None:
    """``merge_aggregate`` under the table lock; into an empty table with its indexes built after
    the rows (``deferred``). The histogram table is deferred only with its owner: rows added to
    existing owners need its unique key (``ON CONFLICT``)."""
    lock_for_merge(session, table)
    owner_deferred = deferred.defer_indexes(session, table.name)
    hist_deferred = deferred.defer_indexes(session, hist_table.name) if owner_deferred else deferred.Deferred(hist_table.name)
    merge_aggregate(session, table, hist_table, owner, key_names, key_columns, counters, hist,
                    {} if owner_deferred else existing())  # fmt: skip
    deferred.rebuild(session, owner_deferred)
    deferred.rebuild(session, hist_deferred)


def write_cells(session: Session, key_columns: Sequence[Any], counters: np.ndarray, hist: np.ndarray) -> None:
    """Merge cells (key columns as ``cells.key_columns`` gives them: days since 1970-01-01, then
    unit, category, channel, appeal type and region)."""
    days = np.asarray(key_columns[0])
    if not len(days):
        return
    first, last = (EPOCH_DATE + timedelta(days=int(d)) for d in (days.min(), days.max()))
    _merge_into(session, kpi_cells, kpi_cell_hist, "cell_id", ("day", "unit", "category", "channel", "appeal_type", "region"),
                key_columns, counters, hist, lambda: existing_cells(session, first, last))  # fmt: skip


def write_monthly(session: Session, key_columns: Sequence[Sequence[Any]], counters: np.ndarray, hist: np.ndarray) -> None:
    """Merge monthly rows (key columns: dim, month, unit, value)."""
    months = key_columns[1]
    if not len(months):
        return
    _merge_into(session, kpi_monthly, kpi_monthly_hist, "monthly_id", ("dim", "month", "unit", "value"),
                key_columns, counters, hist, lambda: existing_monthly(session, min(months), max(months)))  # fmt: skip


def existing_daily(session: Session, first: date, last: date) -> dict[tuple[Any, ...], int]:
    t = kpi_daily
    stmt = select(t.c.id, t.c.dim, t.c.day, t.c.value).where(t.c.day >= first, t.c.day <= last)
    return {tuple(r[1:]): int(r[0]) for r in session.execute(stmt)}


def write_daily(session: Session, key_columns: Sequence[Sequence[Any]], counters: np.ndarray, hist: np.ndarray) -> None:
    """Merge city-wide daily rows (key columns: dim, day, value)."""
    days = key_columns[1]
    if not len(days):
        return
    _merge_into(session, kpi_daily, kpi_daily_hist, "daily_id", ("dim", "day", "value"), key_columns, counters, hist,
                lambda: existing_daily(session, min(days), max(days)))


def copy_waiting(session: Session) -> None:
    """Copy every open imported row into ``order_facts_waiting`` (``minxin report rebuild``: one
    scan of the history; an import gathers its own open rows with ``WaitingRows`` instead)."""
    cols = ", ".join(WAITING_COLUMNS)
    session.connection().exec_driver_sql(
        f"INSERT INTO order_facts_waiting ({cols}) SELECT {cols} FROM order_facts WHERE {OPEN_SQL} AND source = 'import'"
    )


def analyze(session: Session) -> None:
    """Refresh planner statistics after a bulk load (cheap: sampled), so the first reports use
    the right indexes (the small waiting table's indexes rather than a scan of the period)."""
    conn = session.connection()
    if is_postgres(session):
        conn.exec_driver_sql("ANALYZE order_facts, kpi_cells, kpi_cell_hist, kpi_monthly, kpi_monthly_hist, kpi_daily, kpi_daily_hist, order_facts_waiting")
    else:
        conn.exec_driver_sql("PRAGMA analysis_limit = 1000")
        conn.exec_driver_sql("ANALYZE")


def clear_aggregates(session: Session) -> None:
    """Empty the cells, rollups and waiting copies (``minxin report rebuild``)."""
    for table in (kpi_cell_hist, kpi_cells, kpi_monthly_hist, kpi_monthly, kpi_daily_hist, kpi_daily, order_facts_waiting):
        session.execute(table.delete())
