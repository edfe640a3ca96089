"""Indexes built after the first load into empty tables (``reports.deferred``, PostgreSQL).

After any import — deferred, refused or into tables that already hold rows — the schema is
exactly what the migrations made: same indexes and key constraints, same definitions. Deferral
happens only for empty tables, and the import's own checks still catch repeated numbers.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from minxin.reports import deferred
from minxin.reports.importer import ImportOptions, run_import
from tests.reports.csvrows import random_rows, to_csv

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
TABLES = ("order_facts", "kpi_cells", "kpi_cell_hist", "kpi_monthly", "kpi_monthly_hist", "kpi_daily", "kpi_daily_hist")


@pytest.fixture
def pg_state(state: Any, backend: str) -> Any:
    if backend != "postgresql":
        pytest.skip("index deferral is PostgreSQL-only (SQLite keeps its indexes)")
    return state


def schema(state: Any) -> dict[str, set[tuple[str, str]]]:
    """Every index and key constraint of the import's tables, with its definition."""
    with state.db.reading() as s:
        out: dict[str, set[tuple[str, str]]] = {}
        for table in TABLES:
            indexes = s.execute(text("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = :t"), {"t": table})
            keys = s.execute(text("SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                                  "WHERE conrelid = CAST(:t AS regclass) AND contype IN ('p', 'u')"), {"t": table})  # fmt: skip
            out[table] = {tuple(r) for r in indexes} | {tuple(r) for r in keys}
        return out


def write(tmp_path: Path, rows: list[dict[str, str]], name: str) -> Path:
    path = tmp_path / name
    path.write_text(to_csv(rows), encoding="utf-8")
    return path


def spy(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The tables whose indexes an import deferred."""
    seen: list[str] = []
    real = deferred.defer_indexes

    def recording(session: Any, table: str) -> deferred.Deferred:
        result = real(session, table)
        if result:
            seen.append(table)
        return result

    monkeypatch.setattr(deferred, "defer_indexes", recording)
    return seen


def test_first_load_rebuilds_exactly_the_migrated_indexes(pg_state: Any, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    before = schema(pg_state)
    assert all(before[t] for t in TABLES)
    seen = spy(monkeypatch)
    result = run_import(pg_state.db, write(tmp_path, random_rows(400, seed=5), "a.csv"), ImportOptions(), now=NOW)
    assert result.ok and result.imported == 400
    assert sorted(seen) == sorted(TABLES)
    assert schema(pg_state) == before
    seen.clear()
    # a second import merges into the now non-empty tables (indexes in place, ON CONFLICT paths)
    second = random_rows(300, seed=6)
    for i, row in enumerate(second):
        row["number"] = f"B{i:06d}"
    result = run_import(pg_state.db, write(tmp_path, second, "b.csv"), ImportOptions(), now=NOW)
    assert result.ok and result.imported == 300 and seen == []
    assert schema(pg_state) == before
    with pg_state.db.reading() as s:
        assert s.execute(text("SELECT count(*) FROM order_facts")).scalar() == 700


def test_a_refused_first_load_leaves_no_rows_and_every_index(pg_state: Any, tmp_path: Path) -> None:
    before = schema(pg_state)
    rows = random_rows(300, seed=8)
    rows[250]["number"] = rows[10]["number"]  # repeated within the file: caught without the index
    result = run_import(pg_state.db, write(tmp_path, rows, "bad.csv"), ImportOptions(), now=NOW)
    assert not result.ok and [r.column for r in result.rejected] == ["number"]
    assert schema(pg_state) == before
    with pg_state.db.reading() as s:
        assert s.execute(text("SELECT count(*) FROM order_facts")).scalar() == 0


def test_only_empty_tables_are_deferred(pg_state: Any, tmp_path: Path) -> None:
    with pg_state.db.unit_of_work() as s:
        empty = deferred.defer_indexes(s, "kpi_daily")
        assert empty and any("uq_kpi_daily" in st for st in empty.statements)
        deferred.rebuild(s, empty)
        assert not empty
    assert run_import(pg_state.db, write(tmp_path, random_rows(50, seed=9), "c.csv"), ImportOptions(), now=NOW).ok
    with pg_state.db.unit_of_work() as s:
        assert not deferred.defer_indexes(s, "order_facts")
        assert not deferred.defer_indexes(s, "kpi_cells")
