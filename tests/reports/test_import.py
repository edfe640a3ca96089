"""``minxin import``: validation, all-or-nothing, ``--create-missing``, numbering — and the monthly
report of an imported file equals the KPIs computed independently from the same CSV rows."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from minxin.db.session import Database
from minxin.errors import Invalid
from minxin.reports import maintenance
from minxin.reports.importer import ImportOptions, run_import
from minxin.reports.models import ImportBatch, OrderFactRow, kpi_cells, order_facts_waiting
from minxin.units.models import Unit
from minxin.workorders.models import OrderSequence
from tests.reports.csvrows import CST, line_of, random_rows, recompute, to_csv

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "MINXIN_DATABASE_URL"}
    return subprocess.run([sys.executable, "-m", "minxin", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=600, env=env)  # fmt: skip


def write(tmp_path: Path, rows: list[dict[str, str]], name: str = "history.csv") -> Path:
    path = tmp_path / name
    path.write_text(to_csv(rows), encoding="utf-8")
    return path


def counts(db: Database) -> tuple[int, int, int]:
    with db.reading() as s:
        return (s.scalar(select(func.count()).select_from(OrderFactRow)) or 0,
                s.scalar(select(func.count()).select_from(kpi_cells)) or 0,
                s.scalar(select(func.count()).select_from(ImportBatch)) or 0)  # fmt: skip


def _close(got: Any, want: Any, rel: float = 1e-12) -> bool:
    if want is None or got is None:
        return got is want
    return math.isclose(float(got), float(want), rel_tol=rel, abs_tol=1e-12)


def test_monthly_report_json_equals_an_independent_recompute_of_the_csv(db_url: str, tmp_path: Path) -> None:
    rows = random_rows(1500, seed=21, start=datetime(2026, 9, 1, tzinfo=CST), days=61)
    path = write(tmp_path, rows)
    imported = cli("import", str(path), "--db", db_url, cwd=tmp_path)
    assert imported.returncode == 0, imported.stderr
    assert "导入完成" in imported.stdout and "1500" in imported.stdout
    as_of = "2026-10-20T12:00:00+08:00"
    for unit in (None, "GD-LZ"):
        args = ["report", "monthly", "--month", "2026-10", "--format", "json", "--as-of", as_of, "--db", db_url]
        result = cli(*args, *(["--unit", unit] if unit else []), cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        report = json.loads(result.stdout)
        expected = recompute(rows, "2026-10", unit, as_of=datetime.fromisoformat(as_of))
        for code, (value, denominator) in expected.items():
            got = report["kpis"][code]
            rel = 0.01 if code.startswith("p90_") else 1e-12  # p90 comes from a 1 % histogram (docs/kpis.md §2)
            assert _close(got["value"], value, rel), (unit, code, got, value)
            assert got["sample_size"] == denominator, (unit, code)
        if unit is None:
            lz = next(r for r in report["breakdowns"]["unit"] if r["key"] == "GD-LZ")
            lz_expected = recompute(rows, "2026-10", "GD-LZ", as_of=datetime.fromisoformat(as_of))
            assert lz["kpis"]["satisfaction_rate"]["value"] == pytest.approx(lz_expected["satisfaction_rate"][0])


def test_a_file_with_bad_rows_loads_nothing_and_names_every_bad_cell(state: Any, tmp_path: Path) -> None:
    rows = random_rows(400, seed=22)
    rows[10]["created_at"] = "2026-09-31T10:00:00+08:00"
    rows[20]["satisfaction"] = "so-so"
    rows[30]["replied_at"] = "2026-09-10 10:00"  # no offset
    path = write(tmp_path, rows)
    result = run_import(state.db, path, ImportOptions(chunk_size=97), now=NOW)
    assert not result.ok and result.imported == 0
    line = lambda i: line_of(rows, i)  # noqa: E731  (the file line where the row starts)
    assert [(r.line, r.column) for r in sorted(result.rejected, key=lambda r: r.line)] == [
        (line(10), "created_at"), (line(20), "satisfaction"), (line(30), "replied_at")]
    assert all(r.message_zh and r.message_en for r in result.rejected)
    assert counts(state.db) == (0, 0, 0)
    result = run_import(state.db, path, ImportOptions(chunk_size=97, skip_invalid=True), now=NOW)
    assert result.ok and result.imported == 397 and len(result.rejected) == 3
    assert counts(state.db)[0] == 397
    with state.db.reading() as session:
        assert maintenance.verify(session) == []


@pytest.mark.parametrize("worker", [False, True], ids=["in-process", "worker"])
def test_the_open_rows_of_every_import_are_copied_to_the_waiting_table(state: Any, tmp_path: Path, worker: bool) -> None:
    """``order_facts_waiting`` gets exactly the accepted rows with neither a reply nor a closing
    time, gathered chunk by chunk during the load (rejected rows shift the chunk's indices), on a
    first load and on a second import into a table that already holds rows; texts arrive as
    Python lists (in-process parsing) or Arrow arrays (the parse worker)."""
    first = random_rows(600, seed=31)
    second = random_rows(300, seed=32)
    for i, row in enumerate(second):
        row["number"] = f"B{i:06d}"
    opened = lambda rows: {r["number"] for r in rows if not r["replied_at"] and not r["closed_at"]}  # noqa: E731
    bad = sorted(opened(first))[:3]
    assert len(opened(first)) > 20 and len(opened(second)) > 10, "the fixture must hold open rows"
    for row in first:
        if row["number"] in bad:
            row["satisfaction"] = "so-so"
    for rows, name in ((first, "a.csv"), (second, "b.csv")):
        options = ImportOptions(chunk_size=61, skip_invalid=True, parse_in_worker=worker)
        result = run_import(state.db, write(tmp_path, rows, name), options, now=NOW)
        assert result.ok
    with state.db.reading() as session:
        got = set(session.scalars(select(order_facts_waiting.c.number)))
        stored = {r.number: r for r in session.scalars(select(OrderFactRow).where(OrderFactRow.number.in_(got)))}
        assert maintenance.verify(session) == []
    assert got == (opened(first) - set(bad)) | opened(second)
    assert all(r.replied_at is None and r.closed_at is None for r in stored.values())


def test_unknown_codes_are_refused_unless_created(state: Any, tmp_path: Path) -> None:
    rows = random_rows(50, seed=23)
    rows[3]["unit"], rows[4]["category"], rows[5]["unit"] = "NEW-UNIT", "NEWCAT", "坏 编码"
    path = write(tmp_path, rows)
    refused = run_import(state.db, path, ImportOptions(), now=NOW)
    assert not refused.ok
    reasons = {r.line: r for r in refused.rejected}
    assert reasons[line_of(rows, 3)].column == "unit" and "--create-missing" in reasons[line_of(rows, 3)].message_en
    assert reasons[line_of(rows, 4)].column == "category"
    created = run_import(state.db, path, ImportOptions(create_missing=True, skip_invalid=True), now=NOW)
    assert created.ok and created.created_units == ["NEW-UNIT"] and created.created_categories == ["NEWCAT"]
    assert [r.line for r in created.rejected] == [line_of(rows, 5)]  # '坏 编码' cannot be a unit code
    with state.db.reading() as session:
        unit = session.scalars(select(Unit).where(Unit.code == "NEW-UNIT")).one()
        root = session.scalars(select(Unit).where(Unit.code == "12345")).one()
        assert unit.path.startswith(root.path) and unit.parent_id == root.id
        assert maintenance.verify(session) == []


def test_numbers_must_be_new_and_live_numbering_skips_imported_ones(state: Any, tmp_path: Path, as_user: Any) -> None:
    from tests.helpers import new_order

    live = new_order(as_user("agent"))["number"]
    rows = random_rows(30, seed=24)
    rows[1]["number"] = rows[0]["number"]
    rows[2]["number"] = live
    rows[3]["number"] = "20261015000123"
    path = write(tmp_path, rows)
    result = run_import(state.db, path, ImportOptions(skip_invalid=True), now=NOW)
    reasons = {r.line: r for r in result.rejected}
    second, third = line_of(rows, 1), line_of(rows, 2)
    assert set(reasons) == {second, third}
    assert f"line {line_of(rows, 0)}" in reasons[second].message_en and "exists" in reasons[third].message_en
    with state.db.reading() as session:
        assert session.get(OrderSequence, "20261015").value >= 123  # type: ignore[union-attr]
    again = run_import(state.db, path, ImportOptions(), now=NOW)
    assert not again.ok and all(r.column == "number" for r in again.rejected)


def test_xlsx_files_and_unreadable_files(state: Any, tmp_path: Path) -> None:
    from openpyxl import Workbook

    rows = random_rows(20, seed=25, extra=False)
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(list(rows[0]))
    for row in rows:
        sheet.append(list(row.values()))
    sheet.cell(row=3, column=list(rows[0]).index("created_at") + 1, value=datetime(2026, 9, 3, 9, 30))  # naive
    path = tmp_path / "history.xlsx"
    book.save(path)
    refused = run_import(state.db, path, ImportOptions(), now=NOW)
    assert [(r.line, r.column) for r in refused.rejected] == [(3, "created_at")]
    accepted = run_import(state.db, path, ImportOptions(naive_tz=CST), now=NOW)
    assert accepted.ok and accepted.imported == 20
    broken = tmp_path / "broken.csv"
    broken.write_text("number,channel\n1,phone\n", encoding="utf-8")
    with pytest.raises(Invalid) as exc:
        run_import(state.db, broken, ImportOptions(), now=NOW)
    assert exc.value.code == "import.missing_columns"


def test_the_command_reports_rejections_and_exit_codes(db_url: str, tmp_path: Path) -> None:
    rows = random_rows(60, seed=26)
    rows[7]["reopen_count"] = "many"
    path = write(tmp_path, rows)
    rejects = tmp_path / "rejects.csv"
    result = cli("import", str(path), "--rejects", str(rejects), "--db", db_url, cwd=tmp_path)
    assert result.returncode == 1
    assert "reopen_count" in result.stderr and "未导入任何数据" in result.stdout
    assert f"{line_of(rows, 7)},HIS" in rejects.read_text(encoding="utf-8-sig")
    missing = tmp_path / "missing.csv"
    missing.write_text("number\nX\n", encoding="utf-8")
    bad = cli("import", str(missing), "--db", db_url, cwd=tmp_path)
    assert bad.returncode == 2 and "Missing required columns" in bad.stderr
