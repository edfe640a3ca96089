"""Late-while-waiting counts shared by the figures of one page.

Why: every figure judged ``as_of`` adds the late counts of the orders still waiting
(``queries.late_counts``), and each such count re-reads the period's open orders. A dashboard
page asks eleven times over the same month (total, trend, three breakdowns, the ranking, the
comparisons), ≈ 27 ms each at 10 million orders. ``service.shared_late_counts`` reads them once
for the grains the page needs (``queries.late_counts_at_grains``) and installs a ``SharedLate``
in ``session.info`` for the duration of the page; ``service.summed`` asks ``lookup`` first and
queries only what it cannot answer.

Invariant: ``lookup`` answers only requests it can answer exactly — same units, no filters, same
``as_of``; totals and days from the per-day counts of a covering span; a dimension only for the
exact period it was counted over. Rows it returns may omit groups whose counts are all zero
(only late orders were counted): adding zero changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

KEY = "minxin.reports.shared_late"
Counts = tuple[int, int, int]


@dataclass
class SharedLate:
    """Late counts (dispatch, sign, completion) of one scope at one ``as_of``: per local day over
    ``days`` (inclusive) and per dimension value over exactly ``dims_period``."""

    units: tuple[str, ...] | None
    as_of: datetime
    days: tuple[date, date]
    dims_period: tuple[date, date]
    by_day: dict[date, Counts] = field(default_factory=dict)
    by_dim: dict[str, list[tuple[str, int, int, int]]] = field(default_factory=dict)

    @classmethod
    def of(cls, rows: Sequence[tuple[str, str, int, int, int]], *, units: Sequence[str] | None, as_of: datetime,
           days: tuple[date, date], dims_period: tuple[date, date], dims: Sequence[str]) -> SharedLate:
        """From ``queries.late_counts_at_grains`` rows (grain, key, d, s, h)."""
        out = cls(None if units is None else tuple(units), as_of, days, dims_period, by_dim={d: [] for d in dims})
        for grain, key, d, s, h in rows:
            if grain == "day":
                out.by_day[date.fromisoformat(key[:10])] = (d, s, h)
            else:
                out.by_dim[grain].append((key, d, s, h))
        return out

    def answer(self, first: date, last: date, units: Sequence[str] | None, filters: Mapping[str, Any],
               group: Sequence[str], as_of: datetime) -> list[tuple[Any, ...]] | None:
        """The rows ``queries.late_counts`` would give (up to all-zero groups), or None."""
        if filters or as_of != self.as_of or (None if units is None else tuple(units)) != self.units:
            return None
        covered = self.days[0] <= first and last <= self.days[1]
        if not group and covered:
            inside = [c for day, c in self.by_day.items() if first <= day <= last]
            return [tuple(sum(c[i] for c in inside) for i in range(3))]
        if list(group) == ["day"] and covered:
            return [(day, *c) for day, c in sorted(self.by_day.items()) if first <= day <= last]
        if len(group) == 1 and group[0] in self.by_dim and (first, last) == self.dims_period:
            return list(self.by_dim[group[0]])
        return None


def lookup(session: Session, first: date, last: date, units: Sequence[str] | None, filters: Mapping[str, Any],
           group: Sequence[str], as_of: datetime) -> list[tuple[Any, ...]] | None:
    memo = session.info.get(KEY)
    return None if memo is None else memo.answer(first, last, units, filters, group, as_of)


@contextmanager
def installed(session: Session, memo: SharedLate) -> Iterator[SharedLate]:
    """``memo`` answers this session's late counts inside the block (then it is gone: counts
    are as of one instant and one page)."""
    previous = session.info.get(KEY)
    session.info[KEY] = memo
    try:
        yield memo
    finally:
        if previous is None:
            session.info.pop(KEY, None)
        else:
            session.info[KEY] = previous
