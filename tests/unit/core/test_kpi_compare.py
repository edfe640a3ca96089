"""Comparisons: period alignment (month ends, leap years), MoM / YoY / 3-year average with gaps."""

from __future__ import annotations

from datetime import date

import pytest

from minxin.core.kpi import CellKey, KpiPartial, Period, PeriodKind, compare, source_from_cells
from minxin.core.kpi.compare import change

D = date


@pytest.mark.parametrize(
    ("period", "label", "start", "end"),
    [
        (Period.month(2024, 2), "2024-02", D(2024, 2, 1), D(2024, 2, 29)),
        (Period.month(2023, 2), "2023-02", D(2023, 2, 1), D(2023, 2, 28)),
        (Period.quarter(2026, 4), "2026-Q4", D(2026, 10, 1), D(2026, 12, 31)),
        (Period.year(2026), "2026", D(2026, 1, 1), D(2026, 12, 31)),
        (
            Period.range(D(2026, 3, 1), D(2026, 3, 15)),
            "2026-03-01..2026-03-15",
            D(2026, 3, 1),
            D(2026, 3, 15),
        ),
    ],
)
def test_period_constructors(period: Period, label: str, start: date, end: date) -> None:
    assert (period.label, period.start, period.end) == (label, start, end)


def test_period_validation() -> None:
    with pytest.raises(ValueError):
        Period.quarter(2026, 5)
    with pytest.raises(ValueError):
        Period.range(D(2026, 3, 2), D(2026, 3, 1))


# (period, MoM, YoY)
ALIGNMENT = [
    (Period.month(2026, 1), Period.month(2025, 12), Period.month(2025, 1)),
    (Period.month(2024, 3), Period.month(2024, 2), Period.month(2023, 3)),
    (Period.month(2024, 2), Period.month(2024, 1), Period.month(2023, 2)),  # 29 days ↔ 28
    (Period.month(2025, 2), Period.month(2025, 1), Period.month(2024, 2)),  # 28 days ↔ 29
    (Period.quarter(2026, 1), Period.quarter(2025, 4), Period.quarter(2025, 1)),
    (Period.year(2026), Period.year(2025), Period.year(2025)),
    # month to date
    (
        Period.range(D(2026, 3, 1), D(2026, 3, 15)),
        Period.range(D(2026, 2, 1), D(2026, 2, 15)),
        Period.range(D(2025, 3, 1), D(2025, 3, 15)),
    ),
    # month ends clamp
    (
        Period.range(D(2024, 3, 31), D(2024, 3, 31)),
        Period.range(D(2024, 2, 29), D(2024, 2, 29)),
        Period.range(D(2023, 3, 31), D(2023, 3, 31)),
    ),
    # leap day
    (
        Period.range(D(2024, 2, 29), D(2024, 2, 29)),
        Period.range(D(2024, 1, 29), D(2024, 1, 29)),
        Period.range(D(2023, 2, 28), D(2023, 2, 28)),
    ),
    # a whole-month range moves as whole months: February keeps its last day
    (
        Period.range(D(2024, 1, 1), D(2024, 2, 29)),
        Period.range(D(2023, 11, 1), D(2023, 12, 31)),
        Period.range(D(2023, 1, 1), D(2023, 2, 28)),
    ),
    (
        Period.range(D(2023, 2, 1), D(2023, 2, 28)),
        Period.range(D(2023, 1, 1), D(2023, 1, 31)),
        Period.range(D(2022, 2, 1), D(2022, 2, 28)),
    ),
    # spanning two months: moved back just enough not to overlap
    (
        Period.range(D(2026, 1, 15), D(2026, 2, 14)),
        Period.range(D(2025, 12, 15), D(2026, 1, 14)),
        Period.range(D(2025, 1, 15), D(2025, 2, 14)),
    ),
    # 45 days needs two months back
    (
        Period.range(D(2026, 3, 1), D(2026, 4, 14)),
        Period.range(D(2026, 1, 1), D(2026, 2, 14)),
        Period.range(D(2025, 3, 1), D(2025, 4, 14)),
    ),
]


@pytest.mark.parametrize(("period", "mom", "yoy"), ALIGNMENT, ids=[p.label for p, _, _ in ALIGNMENT])
def test_alignment(period: Period, mom: Period, yoy: Period) -> None:
    assert period.previous() == mom
    assert period.years_ago(1) == yoy
    assert period.previous().end < period.start


def test_three_years_back_from_a_leap_february() -> None:
    feb = Period.month(2028, 2)
    assert [feb.years_ago(n).end for n in (1, 2, 3, 4)] == [
        D(2027, 2, 28),
        D(2026, 2, 28),
        D(2025, 2, 28),
        D(2024, 2, 29),
    ]
    assert feb.years_ago(4).kind is PeriodKind.MONTH


@pytest.mark.parametrize(
    ("current", "baseline", "absolute", "relative"),
    [
        (762.2, 1000.0, -237.8, -0.2378),
        (0.9917, 0.98, 0.0117, 0.0117 / 0.98),
        (5.0, 0.0, 5.0, None),
        (None, 1.0, None, None),
        (1.0, None, None, None),
    ],
)
def test_change(current, baseline, absolute, relative) -> None:
    c = change(current, baseline)
    assert c.baseline == baseline
    assert c.absolute == (pytest.approx(absolute) if absolute is not None else None)
    assert c.relative == (pytest.approx(relative) if relative is not None else None)


def cell(day: date, unit: str = "u1") -> CellKey:
    return CellKey(day, unit, "", "phone", "complaint", "")


def orders(n: int, satisfied: int = 0, answered: int = 0) -> KpiPartial:
    return KpiPartial(orders_all=n, orders=n, satisfied=satisfied, dissatisfied=answered - satisfied)


def test_three_year_average_names_missing_years_and_never_counts_them_as_zero() -> None:
    cells = {
        cell(D(2026, 3, 1)): orders(500, satisfied=90, answered=100),
        cell(D(2026, 3, 31)): orders(262),
        cell(D(2026, 2, 10)): orders(700),
        cell(D(2025, 3, 5)): orders(1100, satisfied=80, answered=100),
        # 2024: no orders at all
        cell(D(2023, 3, 20)): orders(900),  # orders, but no callbacks answered
        cell(D(2023, 4, 1)): orders(5000),  # outside the period
    }
    report = compare(Period.month(2026, 3), source_from_cells(cells), ["volume", "satisfaction_rate"])
    assert report.baseline_years_without_data == (2024,)
    assert report.mom_period == Period.month(2026, 2) and report.mom_has_data
    assert report.yoy_has_data
    assert any("2024" in note for note in report.notes)

    volume = report.kpis["volume"]
    assert volume.current.value == 762
    assert volume.three_year_years_used == (2025, 2023)
    assert volume.three_year.baseline == 1000.0
    assert volume.three_year.relative == pytest.approx(-0.238)
    assert volume.yoy.baseline == 1100 and volume.mom.baseline == 700

    sat = report.kpis["satisfaction_rate"]
    assert sat.current.value == 0.9
    assert sat.three_year_years_used == (2025,)  # 2023 had orders but no answered callback
    assert sat.three_year.baseline == 0.8
    assert sat.three_year.absolute == pytest.approx(0.1)


def test_no_baseline_at_all() -> None:
    cells = {cell(D(2026, 3, 1)): orders(10)}
    report = compare(Period.month(2026, 3), source_from_cells(cells), ["volume"])
    assert report.baseline_years_without_data == (2025, 2024, 2023)
    assert not report.mom_has_data and not report.yoy_has_data
    v = report.kpis["volume"]
    assert v.three_year.baseline is None and v.three_year.relative is None and v.mom.relative is None
    assert len(report.notes) == 4


def test_rates_average_the_yearly_values_not_the_pooled_orders() -> None:
    cells = {
        cell(D(2026, 5, 1)): orders(1, satisfied=1, answered=1),
        cell(D(2025, 5, 1)): orders(1000, satisfied=100, answered=1000),  # 10%
        cell(D(2024, 5, 1)): orders(10, satisfied=9, answered=10),  # 90%
        cell(D(2023, 5, 1)): orders(10, satisfied=5, answered=10),  # 50%
    }
    report = compare(Period.month(2026, 5), source_from_cells(cells), ["satisfaction_rate"])
    assert report.kpis["satisfaction_rate"].three_year.baseline == pytest.approx(0.5)


def test_source_filter_by_unit() -> None:
    cells = {cell(D(2026, 3, 1), "a"): orders(3), cell(D(2026, 3, 2), "b"): orders(4)}
    src = source_from_cells(cells, where=lambda k: k.unit == "b")
    assert src(Period.month(2026, 3)) == orders(4)
    assert src(Period.month(2026, 4)) is None


def test_all_kpis_by_default() -> None:
    report = compare(Period.year(2026), source_from_cells({}))
    assert report.kpis["volume"].current.value == 0
    assert report.kpis["satisfaction_rate"].current.value is None
