"""The monthly report: the workbook's sheets and formats, comparisons with missing baseline years,
and the query planner (monthly rollups + day cells) agreeing with the core on any slice."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from minxin.core.kpi import aggregate, from_row, rollup, sum_partials
from minxin.reports import exporter, folding, report, service
from minxin.reports.importer import ImportOptions, run_import
from tests.reports.csvrows import CST, random_rows, recompute, to_csv


def _load(state: Any, tmp_path: Path, rows: list[dict[str, str]], name: str) -> None:
    path = tmp_path / name
    path.write_text(to_csv(rows), encoding="utf-8")
    result = run_import(state.db, path, ImportOptions(), now=datetime.now(UTC))
    assert result.ok, result.rejected[:3]


@pytest.fixture
def years(state: Any, tmp_path: Path) -> list[dict[str, str]]:
    """October 2026, September 2026, October 2025 and 2023 — no October 2024."""
    rows: list[dict[str, str]] = []
    for seed, start, days in ((51, datetime(2026, 9, 1, tzinfo=CST), 61), (52, datetime(2025, 10, 1, tzinfo=CST), 31),
                              (53, datetime(2023, 10, 1, tzinfo=CST), 31)):  # fmt: skip
        part = random_rows(300, seed=seed, start=start, days=days)
        _load(state, tmp_path, part, f"h{seed}.csv")
        rows += part
    return rows


def test_comparisons_name_the_baseline_year_without_data(state: Any, years: list[dict[str, str]]) -> None:
    with state.db.reading() as session:
        doc = report.monthly(session, service.system_scope(session), "2026-10", as_of=datetime(2026, 11, 1, tzinfo=CST),
                             generated_at=datetime.now(UTC))  # fmt: skip
    comp = doc["comparisons"]
    assert comp["mom_period"] == "2026-09" and comp["yoy_period"] == "2025-10" and comp["mom_has_data"]
    assert comp["baseline_years_without_data"] == [2024]
    assert any("2024" in note for note in comp["notes"])
    sat = comp["kpis"]["satisfaction_rate"]
    assert sat["three_year"]["years_used"] == [2025, 2023]
    as_of = datetime(2026, 11, 1, tzinfo=CST)
    y25 = recompute(years, "2025-10", as_of=as_of)["satisfaction_rate"][0]
    y23 = recompute(years, "2023-10", as_of=as_of)["satisfaction_rate"][0]
    assert sat["yoy"]["baseline"] == pytest.approx(y25)
    assert sat["three_year"]["baseline"] == pytest.approx((y25 + y23) / 2)
    assert sat["current"] == pytest.approx(recompute(years, "2026-10", as_of=as_of)["satisfaction_rate"][0])


def test_the_workbook_has_a_sheet_per_view_with_percentages(state: Any, years: list[dict[str, str]], tmp_path: Path) -> None:
    with state.db.reading() as session:
        doc = report.monthly(session, service.system_scope(session), "2026-10", as_of=datetime.now(UTC), generated_at=datetime.now(UTC))
    path = tmp_path / "r.xlsx"
    exporter.to_xlsx(doc, path)
    book = load_workbook(path)
    assert book.sheetnames == ["总览", "单位考核", "同比环比", "按单位", "按渠道", "按类型", "按类别", "按区域", "说明"]
    overview = book["总览"]
    assert overview.freeze_panes == "A2" and overview["A1"].font.bold and overview["A1"].fill.fgColor.rgb.endswith("2F5597")
    rows = {r[0].value: r for r in overview.iter_rows(min_row=2)}
    sat = rows["satisfaction_rate"]
    assert sat[2].number_format == "0.00%" and 0 <= sat[2].value <= 1
    assert sat[2].value == pytest.approx(doc["kpis"]["satisfaction_rate"]["value"])
    assert rows["avg_handling_working_days"][2].number_format == "0.00"
    ranking = book["单位考核"]
    headers = [c.value for c in ranking[1]]
    assert headers[:4] == ["排名", "单位编码", "单位", "总分"] and "样本数" in headers
    first = [c for c in ranking[2]]
    assert first[0].value == 1 and first[10].number_format == "0.00%"
    channel = book["按渠道"]
    assert channel.column_dimensions["B"].width >= 20 and channel.freeze_panes == "A2"


def test_the_planner_agrees_with_the_core_on_any_slice(state: Any, years: list[dict[str, str]]) -> None:
    facts = [from_row(r) for r in years]
    cells = aggregate(facts, folding.working_seconds)
    rnd = random.Random(7)
    slices = [(date(2026, 9, 1), date(2026, 10, 31)), (date(2026, 9, 14), date(2026, 10, 9)), (date(2025, 10, 3), date(2026, 10, 31))]
    with state.db.reading() as session:
        for first, last in slices:
            for group_by in (None, "unit", "month", "day", "channel", "category", "region", "appeal_type"):
                for filters in ({}, {"channel": ["phone"]}, {"channel": ["phone", "web"], "category": ["080101"]}):
                    units = rnd.choice([None, ("GD-LZ", "GD-XM"), ("CGJ",)])
                    scope = service.Scope(units, None)
                    got = service.summed(session, scope, first, last, group_by=group_by, filters=filters)

                    def keep(k: Any, first: date = first, last: date = last, units: Any = units, filters: Any = filters) -> bool:
                        return (first <= k.day <= last and (units is None or k.unit in units)
                                and all(k.value(d) in v for d, v in filters.items()))  # fmt: skip

                    by = ("month",) if group_by == "month" else ((group_by,) if group_by else ())
                    want = rollup(cells, by, where=keep)
                    norm = {(service._key(group_by, k[0]) if k else ()): v for k, v in want.items()}
                    assert set(got) == set(norm), (first, last, group_by, filters)
                    for key, part in norm.items():
                        assert got[key] == part, (first, last, group_by, filters, key)
    assert sum_partials(cells.values()).orders_all == len(facts)
