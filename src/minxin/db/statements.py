"""Writes by primary key and plain inserts as statements built once per shape, for hot paths.

Why: handed a list of dicts, ``session.execute(update(Entity), rows)`` and
``session.execute(insert(Entity), rows)`` take SQLAlchemy's ORM bulk path, and a statement
built on every call is coerced clause by clause and given a fresh cache key each time. On the
risk drainer and the intake path that Python work, not the database, was most of a statement's
cost (docs/benchmarks.md). Here each (table, set of columns) gets one Core statement, built on
first use and reused: its cache key is computed once and its compiled form comes from the
engine's cache.

Invariants: a cached statement holds no values, only bind parameters; rows of different shapes
(an update that sets fewer columns) are grouped and sent as one ``executemany`` per shape, in
the order their first row came, so each row is written exactly once.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import Table, and_, bindparam, insert, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session


def upsert_insert(dialect: str) -> Any:
    """The dialect's ``insert`` that supports ``ON CONFLICT`` (PostgreSQL and SQLite share the
    syntax); for statements cached per dialect name."""
    return pg_insert if dialect == "postgresql" else sqlite_insert


#: prefix of the bind parameters that carry the primary key (they must not clash with a column)
_PK = "pk_"


@lru_cache(maxsize=128)
def _update(table: Table, pk: tuple[str, ...], columns: tuple[str, ...]) -> Any:
    return (
        update(table)
        .where(and_(*(table.c[k] == bindparam(_PK + k) for k in pk)))
        .values({c: bindparam(c) for c in columns})
    )


@lru_cache(maxsize=128)
def _insert(table: Table, columns: tuple[str, ...]) -> Any:
    return insert(table).values({c: bindparam(c) for c in columns})


def id_list(name: str = "ids") -> Any:
    """A bind parameter for an ``IN`` list, expanded at execution, so a statement built once serves
    any number of ids (callers never pass an empty list)."""
    return bindparam(name, expanding=True)


def _by_shape(rows: Sequence[dict[str, Any]]) -> dict[tuple[str, ...], list[dict[str, Any]]]:
    shapes: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        shapes.setdefault(tuple(sorted(row)), []).append(row)
    return shapes


def update_by_pk(session: Session, table: Table, rows: Sequence[dict[str, Any]], pk: Sequence[str] = ("id",)) -> None:
    """``UPDATE table SET <the row's other keys> WHERE <pk> = <the row's pk>`` for every row: one
    executemany per shape. Every row must carry the primary key columns ``pk``."""
    keys = tuple(pk)
    for shape, group in _by_shape(rows).items():
        columns = tuple(c for c in shape if c not in keys)
        if not columns:
            continue
        params = [{**{c: r[c] for c in columns}, **{_PK + k: r[k] for k in keys}} for r in group]
        session.execute(_update(table, keys, columns), params)


def insert_rows(session: Session, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """``INSERT`` the rows (column name → value; columns left out take their defaults): one
    executemany per shape."""
    for shape, group in _by_shape(rows).items():
        session.execute(_insert(table, shape), group)
