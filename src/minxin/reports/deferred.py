"""Indexes built after a bulk load into an *empty* table (PostgreSQL): drop them, load, rebuild.

Why: keeping a B-tree up to date row by row during ``COPY`` costs about three times what one
sorted build costs afterwards. Measured on 1M orders (docs/benchmarks.md, "Reports at scale"):
``kpi_cells`` with its six-column unique key took 9.2 s to fill with the index in place and
1.7 + 1.5 s without it and then built; ``order_facts`` with its five indexes 7.0 s against
2.3 + 2.5 s.

When: only for a table that holds no row at all when the import reaches it, i.e. the first load
of a new installation. Dropping an index needs ``ACCESS EXCLUSIVE``, which makes every other
reader and writer of the table wait until the import commits; on an empty table nobody has
anything to read yet, while on a live centre's tables that wait would block registrations, so
they keep their indexes and are loaded as before. Tables that other tables reference by foreign
key are left alone too.

Invariants: the definitions are read back from the catalogue (``pg_get_constraintdef``,
``pg_get_indexdef``) and re-executed verbatim, so after ``rebuild`` the schema is exactly what
the migrations made; everything happens in the import's one transaction, so a failed or refused
import rolls the drops back with the rows. A duplicate key that slipped past the import's own
checks makes the rebuild fail and the whole import roll back, as the index would have.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.orm import Session

#: memory for the sorts of the rebuild (per transaction; the server default is 64 MB)
SORT_MEMORY = "256MB"


@dataclass
class Deferred:
    """The indexes and key constraints dropped from ``table``, as statements that recreate them."""

    table: str
    statements: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.statements)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def defer_indexes(session: Session, table: str) -> Deferred:
    """Drop ``table``'s indexes if it is empty (see the module docstring); falsy when nothing was
    dropped. The caller must pass the result to ``rebuild`` before reading the table through an
    index, and before commit."""
    if session.get_bind().dialect.name != "postgresql":
        return Deferred(table)
    conn = session.connection()
    if conn.exec_driver_sql(f"SELECT EXISTS (SELECT 1 FROM {table})").scalar():
        return Deferred(table)
    referenced = conn.exec_driver_sql(
        "SELECT EXISTS (SELECT 1 FROM pg_constraint WHERE confrelid = %(t)s::regclass)", {"t": table}
    ).scalar()
    if referenced:
        return Deferred(table)
    conn.exec_driver_sql(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
    if conn.exec_driver_sql(f"SELECT EXISTS (SELECT 1 FROM {table})").scalar():  # filled while we waited
        return Deferred(table)
    constraints = conn.exec_driver_sql(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = %(t)s::regclass AND contype IN ('p', 'u') ORDER BY contype, conname",
        {"t": table},
    ).all()
    indexes = conn.exec_driver_sql(
        "SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
        "WHERE i.indrelid = %(t)s::regclass "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid) ORDER BY c.relname",
        {"t": table},
    ).all()
    deferred = Deferred(table)
    for name, definition in constraints:
        conn.exec_driver_sql(f"ALTER TABLE {table} DROP CONSTRAINT {_quote(name)}")
        deferred.statements.append(f"ALTER TABLE {table} ADD CONSTRAINT {_quote(name)} {definition}")
    for name, definition in indexes:
        conn.exec_driver_sql(f"DROP INDEX {_quote(name)}")
        deferred.statements.append(definition)
    return deferred


def rebuild(session: Session, deferred: Deferred) -> None:
    """Recreate what ``defer_indexes`` dropped (no-op when it dropped nothing)."""
    if not deferred:
        return
    conn = session.connection()
    conn.exec_driver_sql(f"SET LOCAL maintenance_work_mem = '{SORT_MEMORY}'")
    for statement in deferred.statements:
        conn.exec_driver_sql(statement)
    conn.exec_driver_sql("RESET maintenance_work_mem")
    deferred.statements = []
