"""Comparisons on calendar periods: 环比 (MoM), 同比 (YoY) and 同比三年均值 (3-year average).

Why aligned calendar periods: a month is compared with the previous month and with the same
month of earlier years, never with "the previous 30 days", so Spring Festival months and month
ends line up the way a hotline centre reports them.

Alignment rules (docs/kpis.md §5):
- month / quarter / year: the previous one of the same kind; the same one 1, 2, 3 years earlier;
- a whole-month span (starts on the 1st, ends on a month end) shifts by whole months, so
  2024-02-01..2024-02-29 ↔ 2023-02-01..2023-02-28;
- any other range keeps its day numbers, clamped to the month length (2024-02-29 → 2023-02-28,
  03-31 → 02-29); its MoM moves back by the fewest whole months that end it before it starts.

The baseline of the 3-year average is the arithmetic mean of the KPI over the baseline years that
have data; years with no orders at all (or whose KPI has no sample) are named, never counted as 0.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from minxin.core.kpi.definitions import KPIS, KpiValue, compute
from minxin.core.kpi.partials import CellKey, KpiPartial, sum_partials


class PeriodKind(StrEnum):
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"
    RANGE = "range"


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def _add_months(d: date, months: int, *, to_month_end: bool = False) -> date:
    index = d.year * 12 + (d.month - 1) + months
    year, month = divmod(index, 12)
    month += 1
    last = calendar.monthrange(year, month)[1]
    return date(year, month, last if to_month_end else min(d.day, last))


@dataclass(frozen=True, order=True, slots=True)
class Period:
    """A reporting period: local dates ``start``..``end``, both inclusive."""

    kind: PeriodKind
    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"period ends ({self.end}) before it starts ({self.start})")

    @classmethod
    def month(cls, year: int, month: int) -> Period:
        return cls(PeriodKind.MONTH, date(year, month, 1), _month_end(year, month))

    @classmethod
    def quarter(cls, year: int, quarter: int) -> Period:
        if quarter not in (1, 2, 3, 4):
            raise ValueError("quarter must be 1..4")
        first = 3 * quarter - 2
        return cls(PeriodKind.QUARTER, date(year, first, 1), _month_end(year, first + 2))

    @classmethod
    def year(cls, year: int) -> Period:
        return cls(PeriodKind.YEAR, date(year, 1, 1), date(year, 12, 31))

    @classmethod
    def range(cls, start: date, end: date) -> Period:
        return cls(PeriodKind.RANGE, start, end)

    @property
    def label(self) -> str:
        if self.kind is PeriodKind.MONTH:
            return f"{self.start:%Y-%m}"
        if self.kind is PeriodKind.QUARTER:
            return f"{self.start.year}-Q{(self.start.month + 2) // 3}"
        if self.kind is PeriodKind.YEAR:
            return str(self.start.year)
        return f"{self.start.isoformat()}..{self.end.isoformat()}"

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end

    @property
    def whole_months(self) -> bool:
        return self.start.day == 1 and self.end == _month_end(self.end.year, self.end.month)

    def shift_months(self, months: int) -> Period:
        """The same calendar period ``months`` later (negative: earlier); kind is kept."""
        if self.whole_months:
            end = _add_months(self.end, months, to_month_end=True)
        else:
            end = _add_months(self.end, months)
        return Period(self.kind, _add_months(self.start, months), end)

    def years_ago(self, years: int) -> Period:
        """同比: the same calendar period ``years`` years earlier."""
        return self.shift_months(-12 * years)

    def previous(self) -> Period:
        """环比: the previous period of the same kind (for ranges: see the module docstring)."""
        months = 1
        while (candidate := self.shift_months(-months)).end >= self.start:
            months += 1
        return candidate


@dataclass(frozen=True, slots=True)
class Change:
    """Current against a baseline. ``absolute`` is in the KPI's unit (a rate change of 0.012 is
    +1.2 percentage points); ``relative`` is a fraction of the baseline (−0.2378 = −23.78%)."""

    baseline: float | None
    absolute: float | None
    relative: float | None


def change(current: float | None, baseline: float | None) -> Change:
    if current is None or baseline is None:
        return Change(baseline, None, None)
    absolute = current - baseline
    return Change(baseline, absolute, absolute / abs(baseline) if baseline else None)


@dataclass(frozen=True, slots=True)
class KpiComparison:
    code: str
    current: KpiValue
    mom: Change
    yoy: Change
    three_year: Change
    #: start years of the baseline periods whose KPI value entered the 3-year mean
    three_year_years_used: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class ComparisonReport:
    period: Period
    mom_period: Period
    yoy_period: Period
    baseline_periods: tuple[Period, ...]
    mom_has_data: bool
    yoy_has_data: bool
    #: start years of baseline periods with no orders at all
    baseline_years_without_data: tuple[int, ...]
    kpis: dict[str, KpiComparison]
    #: human-readable notes (Chinese / English) about missing baselines
    notes: tuple[str, ...]


#: Gives the summed partial of a period (None or an empty partial = no data).
PartialSource = Callable[[Period], KpiPartial | None]


def _has_data(partial: KpiPartial | None) -> bool:
    return partial is not None and not partial.is_empty


def _value(partial: KpiPartial | None, code: str) -> float | None:
    if not _has_data(partial):
        return None
    assert partial is not None
    value = compute(code, partial).value
    return None if value is None else float(value)


def compare(
    period: Period,
    source: PartialSource,
    codes: Iterable[str] | None = None,
    *,
    baseline_years: int = 3,
) -> ComparisonReport:
    """Compare every KPI in ``codes`` (all by default) for ``period`` with MoM, YoY, 3-year mean.

    ``source`` is called once per period (current, MoM, and each baseline year); the DB layer
    implements it as one SUM over the aggregate table, tests with ``source_from_cells``.
    """
    codes = list(KPIS if codes is None else codes)
    current = source(period) or KpiPartial()
    mom_period = period.previous()
    mom = source(mom_period)
    baselines = tuple(period.years_ago(n) for n in range(1, baseline_years + 1))
    baseline_parts = [source(p) for p in baselines]
    yoy = baseline_parts[0] if baseline_parts else source(period.years_ago(1))
    missing = tuple(
        p.start.year for p, part in zip(baselines, baseline_parts, strict=True) if not _has_data(part)
    )

    kpis: dict[str, KpiComparison] = {}
    for code in codes:
        value = compute(code, current)
        now = None if value.value is None else float(value.value)
        used = [
            (p.start.year, v)
            for p, part in zip(baselines, baseline_parts, strict=True)
            if (v := _value(part, code)) is not None
        ]
        mean = sum(v for _, v in used) / len(used) if used else None
        kpis[code] = KpiComparison(
            code=code,
            current=value,
            mom=change(now, _value(mom, code)),
            yoy=change(now, _value(yoy, code)),
            three_year=change(now, mean),
            three_year_years_used=tuple(y for y, _ in used),
        )

    notes: list[str] = []
    if not _has_data(mom):
        notes.append(f"环比期 {mom_period.label} 无数据 / no data for the previous period {mom_period.label}")
    for p, part in zip(baselines, baseline_parts, strict=True):
        if not _has_data(part):
            notes.append(
                f"{p.start.year} 年同期（{p.label}）无数据 / no data for the same period of {p.start.year}"
            )
    return ComparisonReport(
        period=period,
        mom_period=mom_period,
        yoy_period=period.years_ago(1),
        baseline_periods=baselines,
        mom_has_data=_has_data(mom),
        yoy_has_data=_has_data(yoy),
        baseline_years_without_data=missing,
        kpis=kpis,
        notes=tuple(notes),
    )


def source_from_cells(
    cells: Mapping[CellKey, KpiPartial], where: Callable[[CellKey], bool] | None = None
) -> PartialSource:
    """A ``PartialSource`` summing in-memory cells whose day falls in the period (and ``where``)."""

    def source(period: Period) -> KpiPartial | None:
        parts = [p for k, p in cells.items() if period.contains(k.day) and (where is None or where(k))]
        return sum_partials(parts) if parts else None

    return source
