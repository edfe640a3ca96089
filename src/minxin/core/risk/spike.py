"""Spikes per (category, region) cell against a weekday/holiday/season-aware baseline.

The test. For a cell with expected whole-day count μ (see :mod:`minxin.core.risk.baseline`) and
over-dispersion α, the count by local time t of day D is compared with
``NB(mean = μ·F_k(t), var = m + α m²)`` where ``F_k(t)`` is category k's cumulative intraday share
(learnt from observed event times, separately for working and rest days, shrunk toward all
categories). The cell alarms when

* the upper-tail p-value ``P(Y ≥ y) ≤ alpha / (M · looks_per_day)`` (Bonferroni over the M cells
  known to the detector and the looks per day), and
* ``y ≥ min_count`` and ``y − m ≥ min_excess`` (no alarms about 2 orders instead of 0.3).

False-alarm rate: on days that follow the model, the probability that **any** cell alarms on a
given day is at most ``alpha`` (default 0.01, i.e. at most ≈ 0.07 false alarms a week for the whole
hotline), whatever the number of cells and however often :meth:`SpikeDetector.scan` is called:
intraday looks happen only at ``looks_per_day − 1`` fixed slots of the day (the first scan at or
after each slot), plus the end-of-day look made by the first scan of the next day. The count is
discrete and looks are positively correlated, so the real rate is below ``alpha``.

Episodes: a cell that alarms again within ``episode_gap_days`` of its last alarm keeps its dedup
key (``spike:<category>:<region>:<first alarm date>``), so a two-day surge is one alert.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

import numpy as np
from scipy import stats

from minxin.core.risk.alerts import AlertCandidate, EventKind, OrderEvent
from minxin.core.risk.baseline import (
    HOLIDAY,
    MAKEUP,
    BaselineConfig,
    CellBaseline,
    day_type,
    fit_day_type_factors,
    seasonal_ratio,
)

__all__ = ["SpikeDetector", "SpikeResult", "nb_upper_tail"]

Cell = tuple[str, str]  # (category, region)


def nb_upper_tail(y: np.ndarray, mean: np.ndarray, dispersion: np.ndarray) -> np.ndarray:
    """P(Y ≥ y) for Y ~ NB with the given mean and ``var = mean + dispersion · mean²`` (Poisson at 0)."""
    y = np.asarray(y, dtype=float)
    mean = np.maximum(np.asarray(mean, dtype=float), 1e-9)
    a = np.asarray(dispersion, dtype=float)
    out = np.empty_like(mean)
    pois = a < 1e-8
    out[pois] = stats.poisson.sf(y[pois] - 1, mean[pois])
    nb = ~pois
    n = 1.0 / a[nb]
    out[nb] = stats.nbinom.sf(y[nb] - 1, n, n / (n + mean[nb]))
    return out


@dataclass(frozen=True, slots=True)
class SpikeResult:
    """One tested cell: observed ``count`` vs ``expected`` by the time of the look."""

    category: str
    region: str
    day: date
    count: int
    expected: float
    p_value: float
    threshold: float
    alarm: bool
    baseline: CellBaseline


class SpikeDetector:
    """Streaming spike detection; ``observe`` counts, ``scan(now)`` tests (see module doc)."""

    name = "spike"

    def __init__(self, *, alpha: float = 0.01, looks_per_day: int = 24, min_count: int = 5,
                 min_excess: float = 3.0, config: BaselineConfig | None = None,
                 holidays: Iterable[date] = (), makeup_workdays: Iterable[date] = (),
                 holiday_names: Mapping[date, str] | None = None, tz: str = "Asia/Shanghai",
                 min_profile_events: int = 2000, episode_gap_days: int = 2,
                 label_code: str = "group_incident.category_spike", severity: int = 2) -> None:
        if not 0 < alpha < 1 or looks_per_day < 1:
            raise ValueError("alpha must be in (0, 1) and looks_per_day ≥ 1")
        self.alpha, self.looks_per_day, self.min_count, self.min_excess = alpha, looks_per_day, min_count, min_excess
        self.cfg = config or BaselineConfig()
        self.holidays, self.makeup = frozenset(holidays), frozenset(makeup_workdays)
        self.holiday_names = {d.toordinal(): n for d, n in (holiday_names or {}).items()}
        self.tz = ZoneInfo(tz)
        self.min_profile_events, self.episode_gap_days = min_profile_events, episode_gap_days
        self.label_code, self.severity = label_code, severity
        self._cells: dict[Cell, dict[int, int]] = defaultdict(dict)
        self._cats: dict[str, dict[int, int]] = defaultdict(dict)
        self._first_day: int | None = None
        self._hours: dict[str, np.ndarray] = defaultdict(lambda: np.zeros((2, 24)))
        self._orders: dict[tuple[Cell, int], list[str]] = defaultdict(list)
        self._first_at: dict[tuple[Cell, int], datetime] = {}
        self._alarm_days: dict[Cell, set[int]] = defaultdict(set)
        self._episode: dict[Cell, tuple[str, int]] = {}
        self._fits: dict[int, tuple[dict[Cell, CellBaseline], int] | None] = {}
        self._looked: dict[int, set[int]] = defaultdict(set)
        self._type_cache: dict[int, int] = {}

    # ----------------------------------------------------------------------------- feeding
    def _type(self, o: int) -> int:
        t = self._type_cache.get(o)
        if t is None:
            t = day_type(date.fromordinal(o), self.holidays, self.makeup)
            self._type_cache[o] = t
        return t

    def seed_daily_count(self, category: str, region: str, day: date, count: int) -> None:
        """Prime history with an aggregated count (e.g. last years from the reports tables)."""
        o = day.toordinal()
        cell = (category, region)
        self._cells[cell][o] = self._cells[cell].get(o, 0) + count
        self._cats[category][o] = self._cats[category].get(o, 0) + count
        self._first_day = o if self._first_day is None else min(self._first_day, o)
        self._fits.clear()

    def observe(self, event: OrderEvent) -> list[AlertCandidate]:
        if event.kind != EventKind.CREATED:
            return []
        local = event.at.astimezone(self.tz)
        o = local.date().toordinal()
        cell = (event.category, event.region)
        self._cells[cell][o] = self._cells[cell].get(o, 0) + 1
        self._cats[event.category][o] = self._cats[event.category].get(o, 0) + 1
        if self._first_day is None or o < self._first_day:
            self._first_day = o
            self._fits.clear()
        rest = 1 if self._type(o) in (5, 6, HOLIDAY) else 0
        self._hours[event.category][rest, local.hour] += 1
        self._orders[(cell, o)].append(event.order_id)
        self._first_at.setdefault((cell, o), event.at)
        return []

    # ------------------------------------------------------------------------------ baseline
    def baseline(self, day: date) -> dict[Cell, CellBaseline]:
        """Whole-day expectations of every known cell for ``day`` (empty with < 14 days of history)."""
        fit = self._fit(day.toordinal())
        return dict(fit[0]) if fit else {}

    def _fit(self, target: int) -> tuple[dict[Cell, CellBaseline], int] | None:
        if target in self._fits:
            return self._fits[target]
        result = self._compute_fit(target)
        self._fits[target] = result
        for old in [k for k in self._fits if k < target - 3]:
            del self._fits[old]
        return result

    def _compute_fit(self, target: int) -> tuple[dict[Cell, CellBaseline], int] | None:
        cfg = self.cfg
        if self._first_day is None or target - self._first_day < cfg.min_history_days:
            return None
        lo = max(self._first_day, target - cfg.profile_days)
        days = np.arange(lo, target)
        types = np.array([self._type(int(d)) for d in days])
        block = (target - 1 - days) // cfg.block_days
        block = block.max() - block
        type_of = {o: self._type(o) for o in range(min(self._first_day, target - 364 * cfg.years - 60), target + 1)}
        totals = np.zeros(len(days))
        cat_series: dict[str, np.ndarray] = {}
        for cat, series in self._cats.items():
            arr = np.array([series.get(int(d), 0) for d in days], dtype=float)
            cat_series[cat] = arr
            totals += arr
        g = fit_day_type_factors(totals, types, block)
        level_lo = max(self._first_day, target - cfg.level_days)
        level = range(level_lo, target)
        out: dict[Cell, CellBaseline] = {}
        resid_num = resid_den = 0.0
        by_cat: dict[str, list[Cell]] = defaultdict(list)
        for cell in self._cells:
            by_cat[cell[0]].append(cell)
        for cat, cells in by_cat.items():
            f = fit_day_type_factors(cat_series[cat], types, block, prior=g, shrink_days=cfg.shrink_days)
            r = seasonal_ratio(self._cats[cat], f, target, self._first_day, cfg, type_of, self.holiday_names)
            ttype = self._type(target)
            factor = float(f[ttype]) if ttype != MAKEUP else 1.0
            for cell in cells:
                series = self._cells[cell]
                skip = self._alarm_days.get(cell, set())
                use = [d for d in level if d not in skip]
                fsum = sum(float(f[type_of[d]]) for d in use)
                ysum = sum(series.get(d, 0) for d in use)
                if fsum <= 0:
                    continue
                b = (ysum + 0.5) / fsum
                for d in use:
                    mu = b * float(f[type_of[d]])
                    y = series.get(d, 0)
                    resid_num += (y - mu) ** 2 - y
                    resid_den += mu * mu
                out[cell] = CellBaseline(expected=b * factor * r, dispersion=1.0 / (ysum + 1.0), level=b,
                                         factor=factor, seasonal=r, history_count=ysum)
        alpha_nb = min(cfg.max_dispersion, max(0.0, resid_num / resid_den)) if resid_den > 0 else 0.0
        for cell, cb in out.items():
            out[cell] = CellBaseline(cb.expected, cb.dispersion + alpha_nb, cb.level, cb.factor, cb.seasonal,
                                     cb.history_count)
        return out, len(out)

    def _horizon_days(self) -> int:
        cfg = self.cfg
        return 364 * cfg.years + max(cfg.profile_days, cfg.level_days) + max(cfg.holiday_halfwidth, 45) + 7

    def _forget_before(self, first_kept: int) -> None:
        """Drop daily counts no fit can reach any more (bounded memory in a long-running scanner)."""
        for series in (*self._cells.values(), *self._cats.values()):
            for o in [o for o in series if o < first_kept]:
                del series[o]
        if self._first_day is not None and self._first_day < first_kept:
            self._first_day = first_kept

    # ---------------------------------------------------------------------------- intraday
    def intraday_fraction(self, category: str, local: datetime) -> float | None:
        """Share of category's daily volume expected by ``local`` time; None without enough events
        (fewer than ``min_profile_events`` observed): then only end-of-day looks are made."""
        rest = 1 if self._type(local.date().toordinal()) in (5, 6, HOLIDAY) else 0
        pooled = sum((h[rest] for h in self._hours.values()), np.zeros(24))
        if pooled.sum() < self.min_profile_events:
            return None
        own = self._hours.get(category)
        share = (pooled + 1.0) / (pooled.sum() + 24.0)
        if own is not None:
            k = 200.0
            share = (own[rest] + k * share) / (own[rest].sum() + k)
        cum = np.concatenate([[0.0], np.cumsum(share)])
        h = local.hour + local.minute / 60 + local.second / 3600
        i = int(h)
        return float(min(1.0, cum[i] + (cum[min(i + 1, 24)] - cum[i]) * (h - i)))

    # ---------------------------------------------------------------------------------- test
    def test_counts(self, day: date, counts: Mapping[Cell, int], fraction: float = 1.0,
                    fractions: Mapping[str, float] | None = None) -> list[SpikeResult]:
        """Test given counts (by the time covering ``fraction`` of the day) against day's baseline.

        The pure heart of :meth:`scan`, usable on replicated counts to measure the false-alarm rate.
        """
        fit = self._fit(day.toordinal())
        if not fit:
            return []
        base, n_cells = fit
        threshold = self.alpha / (max(1, n_cells) * self.looks_per_day)
        cand = [(cell, y) for cell, y in counts.items() if y >= self.min_count and cell in base]
        new_cells = [(cell, y) for cell, y in counts.items() if y >= self.min_count and cell not in base]
        results: list[SpikeResult] = []
        if cand:
            fr = np.array([(fractions or {}).get(c[0], fraction) for c, _ in cand])
            mean = np.array([base[c].expected for c, _ in cand]) * fr
            disp = np.array([base[c].dispersion for c, _ in cand])
            ys = np.array([y for _, y in cand], dtype=float)
            p = nb_upper_tail(ys, mean, disp)
            for (cell, y), m, pv in zip(cand, mean, p, strict=True):
                alarm = bool(pv <= threshold and y - m >= self.min_excess)
                results.append(SpikeResult(cell[0], cell[1], day, y, float(m), float(pv), threshold, alarm, base[cell]))
        for cell, y in new_cells:  # a cell never seen before with ≥ min_count in a day
            cb = CellBaseline(0.0, 1.0, 0.0, 1.0, 1.0, 0)
            pv = float(nb_upper_tail(np.array([y]), np.array([0.5 / self.cfg.level_days]), np.array([1.0]))[0])
            results.append(SpikeResult(cell[0], cell[1], day, y, 0.0, pv, threshold, pv <= threshold, cb))
        return results

    def _look(self, o: int, local: datetime, final: bool, now: datetime) -> list[AlertCandidate]:
        day = date.fromordinal(o)
        counts = {cell: series[o] for cell, series in self._cells.items() if series.get(o, 0) >= self.min_count}
        fractions: dict[str, float] | None = None
        if not final:
            fractions = {}
            for cat in {c[0] for c in counts}:
                fr = self.intraday_fraction(cat, local)
                if fr is None:
                    return []
                fractions[cat] = fr
        out = []
        for res in self.test_counts(day, counts, 1.0, fractions):
            if not res.alarm:
                continue
            cell = (res.category, res.region)
            self._alarm_days[cell].add(o)
            ep = self._episode.get(cell)
            key = ep[0] if ep and o - ep[1] <= self.episode_gap_days else f"spike:{cell[0]}:{cell[1]}:{day.isoformat()}"
            self._episode[cell] = (key, o)
            ratio = res.count / res.expected if res.expected > 0 else float("inf")
            out.append(AlertCandidate(
                detector=self.name, dedup_key=key, label_code=self.label_code, region=cell[1], category=cell[0],
                severity=min(4, self.severity + (1 if ratio >= 3 else 0)), order_ids=tuple(self._orders[(cell, o)]),
                evidence={"day": day.isoformat(), "count": res.count, "expected": round(res.expected, 3),
                          "p_value": res.p_value, "threshold": res.threshold, "final_look": final,
                          "dispersion": round(res.baseline.dispersion, 4), "level_per_day": round(res.baseline.level, 3),
                          "day_type_factor": round(res.baseline.factor, 3),
                          "seasonal_ratio": round(res.baseline.seasonal, 3)},
                first_seen=self._first_at.get((cell, o), now), detected_at=now,
            ))
        return out

    def scan(self, now: datetime) -> list[AlertCandidate]:
        """Test today's cells at the due intraday slot, and yesterday's at the end of day once."""
        local = now.astimezone(self.tz)
        today = local.date().toordinal()
        out: list[AlertCandidate] = []
        prev = today - 1
        if -1 not in self._looked[prev] and any((c, prev) in self._orders for c in self._cells):
            self._looked[prev].add(-1)
            out.extend(self._look(prev, local, True, now))
        slot_len = 24 / self.looks_per_day
        slot = int((local.hour + local.minute / 60) / slot_len)
        if 1 <= slot < self.looks_per_day and slot not in self._looked[today]:
            self._looked[today].add(slot)
            out.extend(self._look(today, local, False, now))
        for old in [k for k in self._looked if k < today - 2]:
            del self._looked[old]
            self._forget_before(today - self._horizon_days())
        for key in [k for k in self._orders if k[1] < today - 2]:
            del self._orders[key]
            self._first_at.pop(key, None)
        return out
