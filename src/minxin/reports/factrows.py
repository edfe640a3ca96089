"""Fact rows of an import: ``order_facts`` by one streamed binary ``COPY`` (PostgreSQL) or
``executemany`` (SQLite), and the open ones copied to ``order_facts_waiting``.

Split from ``bulk`` (the aggregates' writes); like it, everything runs on the caller's
transaction, so a failed or refused import leaves nothing behind.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from minxin.reports import pgbinary
from minxin.reports.models import WAITING_COLUMNS, OrderFactRow, order_facts_waiting
from minxin.reports.repository import is_postgres
from minxin.reports.textcols import Encoded, Texts

FACT_COLUMNS: tuple[str, ...] = tuple(c.name for c in OrderFactRow.__table__.columns)
EPOCH_DATE = date(1970, 1, 1)


def dbapi(session: Session) -> Any:
    return session.connection().connection.driver_connection


# ----------------------------------------------------------------------------- fact rows
class FactWriter:
    """Streams fact rows into ``order_facts`` (or ``names`` of another table whose columns are a
    subset of its columns, such as ``order_facts_waiting``) within the session's transaction.

    On PostgreSQL one binary ``COPY … FROM STDIN`` stays open across chunks (rows laid out by
    ``pgbinary``), so the server ingests chunk k while Python parses chunk k+1; call ``close()``
    before any other statement. ``write`` takes ``pgbinary`` columns in ``names`` order; the
    ``COPY`` names them in ``pgbinary.field_order``, so it opens with the first chunk.
    """

    def __init__(self, session: Session, table: str = "order_facts", names: Sequence[str] = ()) -> None:
        self.session = session
        self.table = table
        self.names = tuple(names) or FACT_COLUMNS
        self.postgres = is_postgres(session)
        self._copy: Any = None
        self._cm: Any = None

    def _open(self, kinds: Sequence[str]) -> None:
        from psycopg.copy import QueuedLibpqWriter

        names = [self.names[i] for i in pgbinary.field_order(kinds)]
        cursor = dbapi(self.session).cursor()
        self._cm = cursor.copy(f"COPY {self.table} ({', '.join(names)}) FROM STDIN WITH (FORMAT binary)",
                               writer=QueuedLibpqWriter(cursor))  # fmt: skip
        self._copy = self._cm.__enter__()
        self._copy.write(pgbinary.HEADER)

    def write(self, columns: Sequence[pgbinary.Column]) -> None:
        if not len(columns[0][1]):
            return
        if self.postgres:
            if self._cm is None:
                self._open([kind for kind, _, _ in columns])
            self._copy.write(pgbinary.rows(columns))
        else:
            marks = ", ".join("?" * len(self.names))
            rows = zip(*(sqlite_values(c) for c in columns), strict=True)
            self.session.connection().exec_driver_sql(
                f"INSERT INTO {self.table} ({', '.join(self.names)}) VALUES ({marks})", list(rows)
            )

    def close(self, *, ok: bool = True) -> None:
        if self._cm is not None:
            cm, self._cm = self._cm, None
            if ok:
                self._copy.write(pgbinary.TRAILER)
                cm.__exit__(None, None, None)
            else:
                cm.__exit__(RuntimeError, RuntimeError("import abandoned"), None)


class WaitingRows:
    """The open rows of an import (no reply, not closed: ``OPEN_SQL``), taken from each chunk's
    fact columns during the load and written to ``order_facts_waiting`` after it. Why: reading
    them back from ``order_facts`` needs a scan of the whole history, or an index over it whose
    build costs that scan. Each chunk's rows stay in the chunk's own column forms (numpy arrays,
    Arrow texts, codes), so a history with many open rows costs bytes per row, not objects.
    Invariant: ``write`` adds exactly the rows the import added to ``order_facts`` whose
    ``replied_at`` and ``closed_at`` are both NULL."""

    _PICK = tuple(FACT_COLUMNS.index(name) for name in WAITING_COLUMNS)

    def __init__(self) -> None:
        self.parts: list[list[pgbinary.Column]] = []

    def add(self, columns: Sequence[pgbinary.Column], rows: np.ndarray) -> None:
        """Keep ``rows`` (indices) of a chunk given as fact columns in ``FACT_COLUMNS`` order."""
        if len(rows):
            self.parts.append([_take_rows(columns[i], rows) for i in self._PICK])

    def write(self, session: Session) -> None:
        if not self.parts:
            return
        writer = FactWriter(session, order_facts_waiting.name, WAITING_COLUMNS)
        try:
            for part in self.parts:
                writer.write(part)
        except BaseException:
            writer.close(ok=False)
            raise
        writer.close()


def take(values: Sequence[Any] | Encoded | np.ndarray, rows: np.ndarray) -> Sequence[Any] | Encoded | np.ndarray:
    """Rows ``rows`` of a column of values, in the same form (Arrow texts, codes, numpy, list)."""
    if isinstance(values, Texts):
        return values.take(rows)
    if isinstance(values, Encoded):
        return Encoded(values.values, values.index[rows])
    if isinstance(values, np.ndarray):
        return values[rows]
    return [values[i] for i in rows.tolist()]


def _take_rows(column: pgbinary.Column, rows: np.ndarray) -> pgbinary.Column:
    """Rows ``rows`` of a ``pgbinary`` column, in the same form."""
    kind, values, null = column
    return (kind, take(values, rows), None if null is None else np.asarray(null, dtype=bool)[rows])


def sqlite_values(column: pgbinary.Column) -> list[Any]:
    """A ``pgbinary`` column as Python values in SQLAlchemy's SQLite storage formats."""
    kind, values, null = column
    if kind in ("text", "code"):
        if null is not None:
            return [None if m else v for v, m in zip(values, np.asarray(null, dtype=bool).tolist(), strict=True)]
        return list(values)
    arr = np.asarray(values)
    if kind == "timestamptz":
        out = np.full(len(arr), None, dtype=object)
        idx = np.flatnonzero(~np.asarray(null, dtype=bool)) if null is not None else np.arange(len(arr))
        if len(idx):  # 'YYYY-MM-DD HH:MM:SS.ffffff', UTC, naive
            text = np.datetime_as_string(arr[idx].astype("datetime64[us]"), unit="us")
            codes = text.astype("U26").view(np.uint32).reshape(len(idx), 26).copy()
            codes[:, 10] = ord(" ")
            out[idx] = codes.view("U26").reshape(len(idx)).astype(object)
        return out.tolist()  # type: ignore[no-any-return]
    if kind == "date":
        return [(EPOCH_DATE + timedelta(days=int(d))).isoformat() for d in arr]
    py = arr.astype(np.int64 if kind == "bool" else arr.dtype).tolist()
    if null is None:
        return py  # type: ignore[no-any-return]
    return [None if m else v for v, m in zip(py, np.asarray(null, dtype=bool).tolist(), strict=True)]
