"""The city-wide daily rollups (``kpi_daily``): the planner reads them for city-wide periods that
are not whole months and gets exactly the core's numbers; the migration that adds them fills them
from the cells of a database that already holds history."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import create_engine, inspect

from minxin.core.kpi import aggregate, from_row, rollup
from minxin.db.migrate import alembic_config, upgrade
from minxin.reports import folding, maintenance, queries, service
from minxin.reports.importer import ImportOptions, run_import
from tests.reports.csvrows import CST, random_rows, to_csv


def _load(state: Any, tmp_path: Path, rows: list[dict[str, str]]) -> None:
    path = tmp_path / "h.csv"
    path.write_text(to_csv(rows), encoding="utf-8")
    assert run_import(state.db, path, ImportOptions(), now=datetime.now(UTC)).ok


@pytest.fixture
def history(state: Any, tmp_path: Path) -> list[dict[str, str]]:
    rows = random_rows(700, seed=61, start=datetime(2026, 8, 20, tzinfo=CST), days=75)
    _load(state, tmp_path, rows)
    return rows


def test_city_wide_partial_months_read_the_daily_rows_and_agree_with_the_core(
    state: Any, history: list[dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    cells = aggregate([from_row(r) for r in history], folding.working_seconds)

    def no_cells(*_a: Any, **_k: Any) -> Any:
        raise AssertionError("a city-wide query with at most one dimension must not read the day cells")

    slices = [(date(2026, 10, 8), date(2026, 10, 21)), (date(2026, 8, 25), date(2026, 10, 3)),
              (date(2026, 9, 30), date(2026, 9, 30)), (date(2026, 8, 1), date(2026, 11, 15))]  # fmt: skip
    cases: list[tuple[str | None, dict[str, list[str]]]] = [
        (g, {}) for g in (None, "month", "day", "channel", "appeal_type", "category", "region")
    ] + [(None, {"channel": ["phone"]}), ("day", {"category": ["080101", ""]}), ("month", {"region": ["210102"]}),
         ("channel", {"channel": ["phone", "web"]})]  # fmt: skip
    with state.db.reading() as session:
        for first, last in slices:
            for group_by, filters in cases:
                monkeypatch.setattr(queries, "cell_sums", no_cells)
                monkeypatch.setattr(queries, "cell_hist", no_cells)
                got = service.summed(session, service.Scope(None, None), first, last, group_by=group_by, filters=filters)
                monkeypatch.undo()

                def keep(k: Any, first: date = first, last: date = last, filters: Any = filters) -> bool:
                    return first <= k.day <= last and all(k.value(d) in v for d, v in filters.items())

                by = ("month",) if group_by == "month" else ((group_by,) if group_by else ())
                want = {(service._key(group_by, k[0]) if k else ()): v for k, v in rollup(cells, by, where=keep).items()}
                assert set(got) == set(want), (first, last, group_by, filters)
                for key, part in want.items():
                    assert got[key] == part, (first, last, group_by, filters, key)


def test_scoped_and_two_dimension_queries_still_read_the_cells(state: Any, history: list[dict[str, str]],
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []
    real = queries.daily_sums
    monkeypatch.setattr(queries, "daily_sums", lambda *a, **k: seen.append(a[1]) or real(*a, **k))
    first, last = date(2026, 10, 8), date(2026, 10, 21)
    with state.db.reading() as session:
        service.summed(session, service.Scope(("GD-LZ",), "GD-LZ"), first, last, group_by="channel")
        service.summed(session, service.Scope(None, None), first, last, group_by="unit")
        service.summed(session, service.Scope(None, None), first, last, group_by="channel", filters={"category": ["080101"]})
        assert seen == []
        service.summed(session, service.Scope(None, None), first, last, group_by="channel")
        assert seen == ["channel"]


def test_the_migration_fills_the_daily_rows_from_existing_cells(state: Any, history: list[dict[str, str]], db_url: str) -> None:
    state.db.dispose()
    command.downgrade(alembic_config(db_url), "0006")  # as before 0009 and 0010: history, no daily rows or copies
    engine = create_engine(db_url)
    assert "kpi_daily" not in inspect(engine).get_table_names() and "kpi_cells" in inspect(engine).get_table_names()
    engine.dispose()
    upgrade(db_url)
    with state.db.reading() as session:
        assert maintenance.stored_daily(session)
        assert maintenance.verify(session) == []
