"""Per-row partials (columns) → summed cells and monthly rollups, as arrays ready for bulk writes.

The cell of an order is ``core.kpi.cell_key_of``: local day (Asia/Shanghai) × unit × category ×
channel × appeal type × region. A ``CellTable`` holds distinct keys, their summed counters and
their histogram rows; tables from several chunks are merged by regrouping (sums are exact
integers, so the order of summation does not matter). ``monthly`` rolls cells up to the
``kpi_monthly`` rows (month × unit × one dimension value), ``daily`` to the city-wide
``kpi_daily`` rows (day × one dimension value).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

import numpy as np

from minxin.core.kpi import COUNTER_FIELDS
from minxin.core.kpi.partials import DEFAULT_TZ
from minxin.reports.columnar import APPEALS, CHANNELS, DAY_US, EPOCH, EPOCH_ORDINAL, FactColumns, RowPartials
from minxin.reports.grouping import group, group_sum
from minxin.reports.models import ALL_UNITS, DAILY_DIMS, MONTHLY_DIMS
from minxin.reports.textcols import Encoded

F = len(COUNTER_FIELDS)


def local_days(us: np.ndarray, tz: tzinfo = DEFAULT_TZ) -> np.ndarray:
    """The local date (days since 1970-01-01) of each instant in ``tz``."""
    if len(us) == 0:
        return np.zeros(0, dtype=np.int64)
    lo, hi = int(us.min()), int(us.max())
    probe = {
        tz.utcoffset(datetime.combine(date.fromordinal(EPOCH_ORDINAL + d), datetime.min.time()))
        for d in range(lo // DAY_US - 1, hi // DAY_US + 2)
    }
    if len(probe) == 1 and None not in probe:
        offset = next(iter(probe)) // timedelta(microseconds=1)  # type: ignore[operator]
        return np.floor_divide(us + offset, DAY_US)
    return np.array(
        [(EPOCH + timedelta(microseconds=int(v))).astimezone(tz).date().toordinal() - EPOCH_ORDINAL for v in us],
        dtype=np.int64,
    )


class Vocab:
    """Strings ↔ small ints, shared by every chunk of one import."""

    def __init__(self) -> None:
        self.index: dict[str, int] = {}
        self.values: list[str] = []

    def codes(self, values: Sequence[str]) -> np.ndarray:
        for v in set(values) - self.index.keys():
            self.index[v] = len(self.values)
            self.values.append(v)
        return np.fromiter(map(self.index.__getitem__, values), dtype=np.int64, count=len(values))


@dataclass
class CellTable:
    """Distinct cells: ``keys`` (day, unit, category, channel, appeal, region as ints), summed
    ``counters`` (m × F), and histogram rows (cell index, bucket, count, Σ seconds)."""

    keys: np.ndarray  # m × 6 int64
    counters: np.ndarray
    hist: np.ndarray  # h × 4 int64

    @classmethod
    def empty(cls) -> CellTable:
        return cls(np.zeros((0, 6), np.int64), np.zeros((0, F), np.int64), np.zeros((0, 4), np.int64))

    def __len__(self) -> int:
        return len(self.keys)


def rows_to_cells(cols: FactColumns, rp: RowPartials, units: Vocab, categories: Vocab, regions: Vocab) -> CellTable:
    """Sum one chunk's rows into cells (histogram included)."""
    if len(cols) == 0:
        return CellTable.empty()
    keys = np.stack(
        [
            local_days(cols.times["created_at"]),
            units.codes(cols.unit),
            categories.codes(cols.category),
            cols.channel.astype(np.int64),
            cols.appeal_type.astype(np.int64),
            regions.codes(cols.region),
        ],
        axis=1,
    )
    return _regroup(keys, rp.counters, np.arange(len(cols)), rp.bucket, rp.handling_seconds)


def _regroup(keys: np.ndarray, counters: np.ndarray, hist_row: np.ndarray, bucket: np.ndarray, seconds: np.ndarray,
             count: np.ndarray | None = None) -> CellTable:
    base = keys[:, 0].min() if len(keys) else 0
    shifted = keys.copy()
    shifted[:, 0] -= base
    inverse, first, summed = group_sum(list(shifted.T), counters)
    has = bucket >= 0
    cell = inverse[hist_row[has]]
    b, s = bucket[has], seconds[has]
    c = np.ones(len(cell), np.int64) if count is None else count[has]
    hinv, hfirst = group([cell, b])
    hm = len(hfirst)
    hist = np.stack(
        [cell[hfirst], b[hfirst], np.bincount(hinv, weights=c, minlength=hm).astype(np.int64),
         np.bincount(hinv, weights=s, minlength=hm).astype(np.int64)],
        axis=1,
    ) if hm else np.zeros((0, 4), np.int64)
    return CellTable(keys[first].astype(np.int32), summed, hist)


def merge(tables: Sequence[CellTable]) -> CellTable:
    """One table holding the sums of several (e.g. one per chunk)."""
    tables = [t for t in tables if len(t)]
    if not tables:
        return CellTable.empty()
    if len(tables) == 1:
        return tables[0]
    offsets = np.cumsum([0] + [len(t) for t in tables[:-1]])
    keys = np.concatenate([t.keys for t in tables])
    counters = np.concatenate([t.counters.astype(np.int64, copy=False) if any(u.counters.dtype == np.int64 for u in tables)
                               else t.counters for t in tables])
    hist = np.concatenate([t.hist + np.array([o, 0, 0, 0]) for t, o in zip(tables, offsets, strict=True)])
    return _regroup(keys, counters, hist[:, 0], hist[:, 1], hist[:, 3], count=hist[:, 2])


@dataclass
class MonthlyTable:
    """``kpi_monthly`` rows by column: dim, month (date), unit, value; counters; histogram rows
    (row index, bucket, count, Σ seconds)."""

    dims: list[str]
    months: list[date]
    units: list[str]
    values: list[str]
    counters: np.ndarray
    hist: np.ndarray


def day_dates(days: np.ndarray) -> list[date]:
    """Days since 1970-01-01 → dates (each distinct day converted once)."""
    uniq, inverse = np.unique(days, return_inverse=True)
    table = np.array([date.fromordinal(EPOCH_ORDINAL + int(d)) for d in uniq.tolist()], dtype=object)
    return table[inverse.reshape(-1)].tolist()


def key_columns(table: CellTable, units: Vocab, categories: Vocab, regions: Vocab) -> list[Any]:
    """The cell keys as columns: day (int days since 1970-01-01), then unit, category, channel,
    appeal type and region as ``Encoded`` text columns (the vocabularies' values and each cell's
    code). Why: 7 million cells would otherwise become 42 million Python objects on the way to a
    binary ``COPY`` that only needs each distinct value's bytes once."""
    k = table.keys.astype(np.int64, copy=False)
    return [
        k[:, 0].copy(),
        Encoded(list(units.values), k[:, 1].copy()),
        Encoded(list(categories.values), k[:, 2].copy()),
        Encoded([c.value for c in CHANNELS], k[:, 3].copy()),
        Encoded([a.value for a in APPEALS], k[:, 4].copy()),
        Encoded(list(regions.values), k[:, 5].copy()),
    ]


def monthly(cells: CellTable, units: Vocab, categories: Vocab, regions: Vocab) -> MonthlyTable:
    """Roll cells up to every ``kpi_monthly`` dimension."""
    out = MonthlyTable([], [], [], [], np.zeros((0, F), np.int64), np.zeros((0, 4), np.int64))
    if not len(cells):
        return out
    days = cells.keys[:, 0]
    month_idx = (np.datetime64("1970-01-01", "D") + days).astype("datetime64[M]").astype(np.int64)
    base_month, base_day = int(month_idx.min()), int(days.min())
    span = int(days.max()) - base_day + 1
    day_labels = [date.fromordinal(EPOCH_ORDINAL + base_day + i).isoformat() for i in range(span)]
    value_of = {
        "all": (np.zeros(len(cells), np.int64), [""]),
        "channel": (cells.keys[:, 3], [c.value for c in CHANNELS]),
        "appeal_type": (cells.keys[:, 4], [a.value for a in APPEALS]),
        "category": (cells.keys[:, 2], categories.values),
        "region": (cells.keys[:, 5], regions.values),
        "day": (days - base_day, day_labels),
    }
    month_dates = np.array(
        [np.datetime64(base_month + k, "M").astype("datetime64[D]").astype(date)
         for k in range(int(month_idx.max()) - base_month + 1)], dtype=object,
    )  # fmt: skip
    unit_names = np.array([*units.values, ALL_UNITS], dtype=object)
    every = np.full(len(cells), len(units.values), dtype=np.int64)  # the '*' unit's code
    counters, hists, offset = [], [], 0
    month_rel = month_idx - base_month
    unit = cells.keys[:, 1]
    # all, channel and appeal type roll up from one coarser table (month × unit × channel ×
    # appeal type: at most a few hundred thousand rows) instead of from every cell three times
    c_inv, c_first, c_sum = group_sum([month_rel, unit, cells.keys[:, 3], cells.keys[:, 4]], cells.counters)
    c_hist = _hist_of(c_inv, cells.hist, 0)
    for dim in MONTHLY_DIMS:
        codes, labels = value_of[dim]
        if dim in ("all", "channel", "appeal_type"):
            src = (month_rel[c_first], unit[c_first], codes[c_first], c_sum, c_hist)
        else:
            src = (month_rel, unit, codes, cells.counters, cells.hist)
        inverse, first, summed = group_sum([src[0], src[1], src[2]], src[3])
        hist = _hist_of(inverse, src[4], 0)
        # every unit: summed from the (far fewer) per-unit rows, not again from the cells
        m_rel, c_rel = src[0][first], src[2][first]
        inv_all, first_all, summed_all = group_sum([m_rel, c_rel], summed)
        hist_all = _hist_of(inv_all, hist, 0)
        for rows_month, rows_unit, rows_code, rows_sum, rows_hist in (
            (m_rel, src[1][first], c_rel, summed, hist),
            (m_rel[first_all], every[: len(first_all)], c_rel[first_all], summed_all, hist_all),
        ):
            m = len(rows_month)
            counters.append(rows_sum)
            hists.append(rows_hist + np.array([offset, 0, 0, 0]))
            offset += m
            out.dims += [dim] * m
            out.months += month_dates[rows_month].tolist()
            out.units += unit_names[rows_unit].tolist()
            out.values += np.array(labels, dtype=object)[rows_code].tolist()
    out.counters = np.concatenate([c.astype(np.int64, copy=False) for c in counters])
    out.hist = np.concatenate(hists) if hists else np.zeros((0, 4), np.int64)
    return out


@dataclass
class DailyTable:
    """``kpi_daily`` rows by column: dim, day (date), value; counters; histogram rows
    (row index, bucket, count, Σ seconds)."""

    dims: list[str]
    days: list[date]
    values: list[str]
    counters: np.ndarray
    hist: np.ndarray


def _hist_of(owner: np.ndarray, hist: np.ndarray, offset: int) -> np.ndarray:
    """Histogram rows of cells re-owned by rollup rows (``owner``: cell index → row index)."""
    if not len(hist):
        return np.zeros((0, 4), np.int64)
    own = owner[hist[:, 0]]
    hinv, hfirst = group([own, hist[:, 1]])
    hm = len(hfirst)
    return np.stack([
        own[hfirst] + offset, hist[hfirst, 1],
        np.bincount(hinv, weights=hist[:, 2], minlength=hm).astype(np.int64),
        np.bincount(hinv, weights=hist[:, 3], minlength=hm).astype(np.int64),
    ], axis=1)  # fmt: skip


def daily(cells: CellTable, categories: Vocab, regions: Vocab) -> DailyTable:
    """Roll cells up to every ``kpi_daily`` dimension (every unit summed)."""
    out = DailyTable([], [], [], np.zeros((0, F), np.int64), np.zeros((0, 4), np.int64))
    if not len(cells):
        return out
    days = cells.keys[:, 0].astype(np.int64)
    base_day = int(days.min())
    value_of = {
        "all": (np.zeros(len(cells), np.int64), [""]),
        "channel": (cells.keys[:, 3].astype(np.int64), [c.value for c in CHANNELS]),
        "appeal_type": (cells.keys[:, 4].astype(np.int64), [a.value for a in APPEALS]),
        "category": (cells.keys[:, 2].astype(np.int64), categories.values),
        "region": (cells.keys[:, 5].astype(np.int64), regions.values),
    }
    counters, hists, offset = [], [], 0
    day_rel = days - base_day
    # all, channel and appeal type roll up from day × channel × appeal type (a few thousand rows)
    c_inv, c_first, c_sum = group_sum([day_rel, value_of["channel"][0], value_of["appeal_type"][0]], cells.counters)
    c_hist = _hist_of(c_inv, cells.hist, 0)
    for dim in DAILY_DIMS:
        codes, labels = value_of[dim]
        if dim in ("all", "channel", "appeal_type"):
            src = (day_rel[c_first], codes[c_first], c_sum, c_hist)
        else:
            src = (day_rel, codes, cells.counters, cells.hist)
        inverse, first, summed = group_sum([src[0], src[1]], src[2])
        counters.append(summed)
        if len(src[3]):
            hists.append(_hist_of(inverse, src[3], offset))
        offset += len(first)
        out.dims += [dim] * len(first)
        out.days += day_dates(src[0][first] + base_day)
        out.values += np.array(labels, dtype=object)[src[1][first]].tolist()
    out.counters = np.concatenate([c.astype(np.int64, copy=False) for c in counters])
    out.hist = np.concatenate(hists) if hists else np.zeros((0, 4), np.int64)
    return out
