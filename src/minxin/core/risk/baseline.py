"""Expected daily counts per (category, region) cell: level × day type × same period of past years.

The model (documented here once; :mod:`minxin.core.risk.spike` tests against it):

``μ(c, D) = b_c · f_k(type(D)) · r_k(D)`` for cell c of category k on day D, where

* ``type(D)`` is Monday…Friday, Saturday, Sunday, statutory holiday, or 调休 make-up working day
  (which takes the mean weekday factor). Holidays and make-up days come from the caller (plain
  date sets; :func:`china_calendar_sets` reads them from ``chinesecalendar``).
* ``f_k`` are day-type factors of category k, fitted over the last ``profile_days`` (default 364)
  by iterative proportional fitting of ``y_d ≈ a_{block(d)} · f_{type(d)}`` with 14-day blocks
  (the block levels absorb trend and season, so the factors are within-fortnight ratios),
  shrunk toward the all-category factors by ``shrink_days`` pseudo-days. Mean weekday factor = 1.
* ``b_c`` is the cell's level: its count over the last ``level_days`` (28) divided by the sum of
  its day-type factors over those days (+½ pseudo-count so a new cell is not certain-zero).
  Days on which the cell alarmed are left out, so a spike is not learnt into the baseline.
* ``r_k(D)`` is the same period of previous years (up to ``years`` = 3): how much category k's
  day-type-adjusted rate on the matching days of year D−364·j (same weekday; for a holiday, the
  same named holiday or, without names, holidays within ±21 days; otherwise non-holidays within
  ±7 days) exceeded its rate over the level window shifted the same way; pooled over years as
  ``(ΣY + τ) / (ΣE + τ)`` with τ = ``season_prior`` pseudo-counts, clamped to [¼, 4]. 1 without
  history. This is what knows that heating complaints rise in late October or that a Golden Week
  is quieter than an ordinary holiday.

Over-dispersion: one α for all cells, by moments over the level window,
``α = max(0, Σ((y−μ)² − y) / Σ μ²)``, so ``Var Y = μ + α μ²`` (negative binomial). The level's own
estimation error adds ``1/(Σy_c + 1)`` to a cell's α (a Poisson-Gamma predictive).

Invariants: pure functions of plain arrays and dates; no clock; the fit for day D uses only days
strictly before D.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

__all__ = [
    "HOLIDAY",
    "MAKEUP",
    "N_TYPES",
    "BaselineConfig",
    "CellBaseline",
    "china_calendar_sets",
    "day_type",
    "fit_day_type_factors",
]

#: day-type indices: 0–4 Mon–Fri working days, 5 Saturday, 6 Sunday, 7 holiday, 8 make-up workday
HOLIDAY, MAKEUP, N_TYPES = 7, 8, 9


@dataclass(frozen=True, slots=True)
class BaselineConfig:
    level_days: int = 28
    profile_days: int = 364
    years: int = 3
    season_halfwidth: int = 7
    holiday_halfwidth: int = 21
    shrink_days: float = 8.0
    season_prior: float = 20.0
    block_days: int = 14
    max_dispersion: float = 1.0
    min_history_days: int = 14


@dataclass(frozen=True, slots=True)
class CellBaseline:
    """Expected count of one cell for a whole day, with its negative-binomial over-dispersion."""

    expected: float
    dispersion: float
    level: float
    factor: float
    seasonal: float
    history_count: int


def day_type(d: date, holidays: frozenset[date] | set[date], makeup: frozenset[date] | set[date]) -> int:
    if d in holidays:
        return HOLIDAY
    if d in makeup:
        return MAKEUP
    return d.weekday()


def china_calendar_sets(start: date, end: date) -> tuple[frozenset[date], frozenset[date], dict[date, str]]:
    """(statutory holidays, 调休 make-up working days, holiday names) from ``chinesecalendar``.

    Only the years the package knows are filled; the caller may union its own admin-entered sets.
    """
    import chinese_calendar as cc

    holidays: set[date] = set()
    makeup: set[date] = set()
    names: dict[date, str] = {}
    known_years = {d.year for d in cc.holidays} | {d.year for d in cc.workdays}  # the package refuses other years
    d = start
    while d <= end:
        if d.year not in known_years:
            d += timedelta(days=1)
            continue
        on, name = cc.get_holiday_detail(d)
        if name:
            if on:
                holidays.add(d)
                names[d] = str(name)
            elif d.weekday() >= 5:
                makeup.add(d)
        d += timedelta(days=1)
    return frozenset(holidays), frozenset(makeup), names


def _prior(global_f: np.ndarray | None) -> np.ndarray:
    if global_f is not None:
        return global_f
    p = np.ones(N_TYPES)
    return p


def fit_day_type_factors(y: np.ndarray, types: np.ndarray, block: np.ndarray, *,
                         prior: np.ndarray | None = None, shrink_days: float = 0.0,
                         iterations: int = 25) -> np.ndarray:
    """Day-type factors f (length N_TYPES) with ``y_d ≈ a_block(d) · f_type(d)``; mean of Mon–Fri = 1.

    ``prior`` (already normalised) and ``shrink_days`` pseudo-days pull sparse types toward it;
    types never observed take the prior (or, without one: holiday → weekend mean, others → 1).
    The make-up type is pinned to the weekday mean.
    """
    f = _prior(prior).astype(float).copy()
    nb = int(block.max()) + 1 if block.size else 1
    est_mask = types != MAKEUP
    for _ in range(iterations):
        denom_b = np.bincount(block, weights=f[types], minlength=nb)
        a = np.divide(np.bincount(block, weights=y, minlength=nb), denom_b, out=np.zeros(nb), where=denom_b > 0)
        a_d = a[block]
        a_bar = float(a.mean()) if a.size else 0.0
        num = np.bincount(types[est_mask], weights=y[est_mask], minlength=N_TYPES)
        den = np.bincount(types[est_mask], weights=a_d[est_mask], minlength=N_TYPES)
        if prior is not None and shrink_days > 0:
            num = num + shrink_days * prior * a_bar
            den = den + shrink_days * a_bar
        new = np.divide(num, den, out=np.full(N_TYPES, np.nan), where=den > 0)
        if prior is None:
            weekend = np.nanmean(new[5:7]) if np.isfinite(new[5:7]).any() else 1.0
            fill = np.ones(N_TYPES)
            fill[HOLIDAY] = weekend
            new = np.where(np.isfinite(new), new, fill)
        else:
            new = np.where(np.isfinite(new), new, prior)
        wk = float(new[:5].mean())
        if wk <= 0:
            return _prior(prior).astype(float).copy()
        new = new / wk
        new[MAKEUP] = 1.0
        new = np.maximum(new, 1e-3)
        if np.allclose(new, f, rtol=1e-6, atol=1e-9):
            f = new
            break
        f = new
    return f


def seasonal_ratio(series: Mapping[int, int], f: np.ndarray, target: int, first_day: int, cfg: BaselineConfig,
                   type_of: dict[int, int], holiday_names: Mapping[int, str]) -> float:
    """``r_k(D)`` of the module doc for one category's daily series (day ordinals → counts)."""
    num = den = 0.0
    ttype = type_of[target]
    name = holiday_names.get(target)
    for j in range(1, cfg.years + 1):
        anchor = target - 364 * j
        lo_level = anchor - cfg.level_days
        if ttype == HOLIDAY:
            half = 45 if name else cfg.holiday_halfwidth
            days = [d for d in range(anchor - half, anchor + half + 1)
                    if type_of.get(d) == HOLIDAY and (name is None or holiday_names.get(d) == name)]
        else:
            half = cfg.season_halfwidth
            days = [d for d in range(anchor - half, anchor + half + 1) if type_of.get(d, HOLIDAY) != HOLIDAY]
        if not days or min(min(days), lo_level) < first_day:
            continue
        level_days = range(lo_level, anchor)
        fb = sum(f[type_of[d]] for d in level_days)
        if fb <= 0:
            continue
        rate = sum(series.get(d, 0) for d in level_days) / fb
        num += sum(series.get(d, 0) for d in days)
        den += rate * sum(f[type_of[d]] for d in days)
    if den == 0 and num == 0:
        return 1.0
    r = (num + cfg.season_prior) / (den + cfg.season_prior)
    return float(min(4.0, max(0.25, r)))
