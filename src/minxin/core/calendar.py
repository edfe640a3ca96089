"""The working-time calendar: official Chinese schedule × per-unit business hours, exact and fast.

Model
-----
*Working days* are Monday–Friday, minus statutory holidays, plus 调休 make-up working days, as
given by a :class:`Schedule` (built from ``chinesecalendar`` and admin-entered years by
:mod:`minxin.core.official_calendar`). In a year without an official schedule only weekends are
days off and results say so (``unofficial_years``).

*Working time* is the union of the half-open business-hours spans ``[start, end)`` of every working
day, in the calendar's timezone (default 08:30–12:00 and 13:30–17:30, Asia/Shanghai), or every
second for a 24×7 unit. All operations are exact to the microsecond and need timezone-aware
instants (a naive datetime raises ``ValueError``); results are in the calendar's timezone.

Operations and their invariants (``W(a, b)`` = working time in ``[a, b)``)
---------------------------------------------------------------------------
* ``working_time_between(a, b)`` = ``W(a, b)``; signed (``= -W(b, a)`` when ``b < a``) and additive:
  ``W(a, b) + W(b, c) == W(a, c)``.
* ``add(t, Nwh)`` is the *earliest* instant ``e >= t`` with ``W(t, e) == N hours`` — so a clock that
  runs out exactly at the lunch break is due at 12:00, not 13:30. Monotone in ``t`` and ``N``.
* ``add(t, Nwd, rule)`` is the end of business (17:30; 24:00 for 24×7) of the Nth working day,
  counted 次日起算 (from the day after ``t``'s local date) or 含本数 (``t``'s date is day 1 when it is
  a working day and ``t`` is before its end of business — a clock never ends before it starts).
  ``working_days_elapsed(t, add(t, Nwd, rule), rule) == N``. Monotone in ``t`` and ``N``.
* ``add(t, Nm | Nh | Nd)`` is ``t`` plus ``N`` minutes/hours/``N × 24`` hours of elapsed time.
* ``add(t, 0 of anything) == t``.

Speed: per-day working time is precomputed as prefix sums over whole years (built lazily and grown
on demand, ~15 ms for a century), so every operation is one timezone conversion, a couple of list
lookups and one ``bisect`` — no stepping through minutes or days.

Caveat for zones with daylight saving time (not Asia/Shanghai): working time is measured on the
local wall clock, so a business span that contains a DST jump counts its wall-clock length.
24×7 units are measured in absolute time and are exact everywhere.
"""

from __future__ import annotations

import threading
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import NamedTuple

from minxin.core.calendar_model import (
    DEFAULT_HOURS,
    SHANGHAI,
    BusinessHours,
    DayInfo,
    DayKind,
    DayRecord,
    DueResult,
    Schedule,
    ScheduleKind,
    parse_instant,
    require_aware,
)
from minxin.core.duration import CountingRule, Duration, DurationUnit

__all__ = [
    "SHANGHAI",
    "BusinessHours",
    "CountingRule",
    "DayInfo",
    "DayKind",
    "DayRecord",
    "DueResult",
    "Duration",
    "Schedule",
    "ScheduleKind",
    "WorkingCalendar",
    "parse_instant",
]

_US = 1_000_000
_DAY_US = 86400 * _US
_MIN_YEAR, _MAX_YEAR = 2, 9998  # keep one spare year each side of datetime's range


class _Span(NamedTuple):
    """Immutable snapshot of precomputed days ``[base, end)`` (proleptic ordinals).

    ``working[i]`` is 1 if day ``base + i`` is an official working day; ``cum_us[i]`` is the working
    time (µs) in days ``[base, base + i)``; ``cum_wd[i]`` the number of working days in that range.
    Both prefix lists have ``end - base + 1`` entries, so ``cum[i + 1] - cum[i]`` is day ``i``'s share.
    """

    base: int
    end: int
    working: bytes
    cum_us: list[int]
    cum_wd: list[int]


@dataclass(eq=False)
class _Cache:
    span: _Span | None = None
    midnights: dict[int, datetime] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass(frozen=True, eq=False)
class WorkingCalendar:
    """Official schedule + business hours + timezone; see the module docstring for the rules.

    Cheap to build (the day tables are computed on first use); share one per (schedule, hours).
    Compared by identity. Thread-safe: the lazily grown tables are replaced atomically.
    """

    schedule: Schedule
    hours: BusinessHours = DEFAULT_HOURS
    tz: tzinfo = SHANGHAI
    _cache: _Cache = field(init=False, repr=False, compare=False, default_factory=_Cache)
    _spans: tuple[tuple[int, int], ...] = field(init=False, repr=False, compare=False)  # µs of day
    _day_us: int = field(init=False, repr=False, compare=False)  # working µs per working day
    _sod_us: int = field(init=False, repr=False, compare=False)  # start of business
    _eob_us: int = field(init=False, repr=False, compare=False)  # end of business (86400 s for 24×7)
    _records: dict[int, DayRecord] = field(init=False, repr=False, compare=False)  # by ordinal

    def __post_init__(self) -> None:
        if not isinstance(self.tz, tzinfo):
            raise TypeError(f"tz must be a tzinfo such as ZoneInfo('Asia/Shanghai'), got {self.tz!r}")
        spans = tuple((s * _US, e * _US) for s, e in self.hours.seconds)
        object.__setattr__(self, "_spans", spans)
        object.__setattr__(
            self, "_day_us", _DAY_US if self.hours.always_open else sum(e - s for s, e in spans)
        )
        object.__setattr__(self, "_sod_us", spans[0][0])
        object.__setattr__(self, "_eob_us", spans[-1][1])
        object.__setattr__(self, "_records", {d.toordinal(): r for d, r in self.schedule.days.items()})

    def with_hours(self, hours: BusinessHours) -> WorkingCalendar:
        """The same schedule and timezone with another unit's business hours."""
        return WorkingCalendar(self.schedule, hours, self.tz)

    # ----------------------------------------------------------------- days
    def explain_day(self, day: date) -> DayInfo:
        """Kind of ``day`` (workday/weekend/holiday/makeup_workday), holiday name, and whether official.

        A datetime is taken as its local date in the calendar's timezone (it must be aware).
        """
        if isinstance(day, datetime):
            day = self._local(day).date()
        record = self.schedule.days.get(day)
        weekend = day.weekday() >= 5
        if record is None:
            kind, name = (DayKind.WEEKEND if weekend else DayKind.WORKDAY), ""
        elif record.kind is ScheduleKind.HOLIDAY:
            kind, name = DayKind.HOLIDAY, record.name
        else:
            kind, name = (DayKind.MAKEUP_WORKDAY if weekend else DayKind.WORKDAY), record.name
        return DayInfo(day, kind, name, day.year in self.schedule.official_years)

    def is_working_day(self, day: date) -> bool:
        """True for Monday–Friday that are not holidays, and for 调休 make-up working days."""
        return self.explain_day(day).working

    def is_official_year(self, year: int) -> bool:
        return year in self.schedule.official_years

    def unofficial_years(self, a: datetime, b: datetime) -> tuple[int, ...]:
        """Years without an official schedule between the local dates of ``a`` and ``b`` (any order)."""
        ya, yb = self._local(a).year, self._local(b).year
        if ya > yb:
            ya, yb = yb, ya
        official = self.schedule.official_years
        return tuple(y for y in range(ya, yb + 1) if y not in official)

    # ----------------------------------------------------------------- instants
    def is_working_time(self, instant: datetime) -> bool:
        """True when ``instant`` lies inside business hours ``[start, end)`` of a working day."""
        lt = self._local(instant)
        if self.hours.always_open:
            return True
        o, us = lt.toordinal(), _us_of_day(lt)
        st = self._span(o, o)
        if not st.working[o - st.base]:
            return False
        return any(s <= us < e for s, e in self._spans)

    def next_working_instant(self, instant: datetime) -> datetime:
        """The earliest working instant ``>= instant`` (``instant`` itself when it is working time)."""
        lt = self._local(instant)
        if self.hours.always_open:
            return lt
        o, us = lt.toordinal(), _us_of_day(lt)
        st = self._span(o, o + 1)
        if st.working[o - st.base]:
            for s, e in self._spans:
                if us < e:
                    return lt if us >= s else self._at(o, s)
        while st.cum_wd[o + 1 - st.base] >= st.cum_wd[-1]:
            st = self._grow_forward(st)
        k = st.cum_wd[o + 1 - st.base]  # working days up to and including today
        day = st.base + bisect_right(st.cum_wd, k) - 1
        return self._at(day, self._sod_us)

    def working_time_between(self, a: datetime, b: datetime) -> timedelta:
        """Working time in ``[a, b)``; negative when ``b < a``. Exact; additive."""
        if self.hours.always_open:
            return self._local(b).astimezone(UTC) - self._local(a).astimezone(UTC)
        la, lb = self._local(a), self._local(b)
        oa, ob = la.toordinal(), lb.toordinal()
        st = self._span(min(oa, ob), max(oa, ob))
        return timedelta(
            microseconds=self._position(st, ob, _us_of_day(lb)) - self._position(st, oa, _us_of_day(la))
        )

    def add_working_time(self, instant: datetime, amount: timedelta) -> datetime:
        """Earliest instant ``e >= instant`` with ``working_time_between(instant, e) == amount``."""
        lt = self._local(instant)
        n = amount // timedelta(microseconds=1)
        if n < 0:
            raise ValueError(f"cannot add a negative working time ({amount})")
        return self._add_us(lt, n)

    def add_working_days(
        self, instant: datetime, n: int, rule: CountingRule = CountingRule.NEXT_DAY
    ) -> datetime:
        """End of business of the Nth working day (次日起算 or 含本数); ``instant`` itself for ``n == 0``."""
        if n < 0:
            raise ValueError(f"cannot add a negative number of working days ({n})")
        return self._add_wd(self._local(instant), n, rule)

    def working_days_elapsed(
        self, start: datetime, instant: datetime, rule: CountingRule = CountingRule.NEXT_DAY
    ) -> int:
        """How many counted working days (per ``rule``, from ``start``) have ended by ``instant``.

        A working day has ended once its end of business is ``<= instant``. Inverse of
        :meth:`add_working_days`: ``working_days_elapsed(t, add_working_days(t, n)) == n``.
        """
        ls, li = self._local(start), self._local(instant)
        first = self._first_counted(ls, rule)
        oi = li.toordinal()
        st = self._span(min(first, oi), max(first, oi))
        i = oi - st.base
        done = st.cum_wd[i] + (1 if st.working[i] and _us_of_day(li) >= self._eob_us else 0)
        return max(0, done - st.cum_wd[first - st.base])

    def add(
        self, start: datetime, duration: Duration, rule: CountingRule = CountingRule.NEXT_DAY
    ) -> DueResult:
        """``start + duration`` under this calendar (see the module docstring).

        ``unofficial_years`` lists the years without an official schedule between the start's and
        the due's local dates, for working durations (natural ones do not use the schedule).
        """
        lt = self._local(start)
        unit, amount = duration.unit, duration.amount
        if amount == 0:
            due = lt
        elif unit is DurationUnit.WORKING_HOURS:
            due = self._add_us(lt, amount * 3600 * _US)
        elif unit is DurationUnit.WORKING_DAYS:
            due = self._add_wd(lt, amount, rule)
        else:  # natural time does not depend on the schedule: nothing to flag
            return DueResult((lt.astimezone(UTC) + timedelta(seconds=duration.seconds)).astimezone(self.tz))
        y0, y1 = lt.year, due.year
        official = self.schedule.official_years
        if y0 == y1:
            return DueResult(due, () if y0 in official else (y0,))
        return DueResult(due, tuple(y for y in range(y0, y1 + 1) if y not in official))

    # ----------------------------------------------------------------- internals
    def _local(self, instant: datetime) -> datetime:
        if instant.tzinfo is None or instant.utcoffset() is None:
            require_aware(instant)
        return instant.astimezone(self.tz)

    def _position(self, st: _Span, o: int, us: int) -> int:
        """Working µs from the span base to local (ordinal ``o``, µs of day ``us``)."""
        i = o - st.base
        pos = st.cum_us[i]
        if st.working[i]:
            for s, e in self._spans:
                if us <= s:
                    break
                pos += (e if us > e else us) - s
        return pos

    def _add_us(self, lt: datetime, n: int) -> datetime:
        if n == 0:
            return lt
        if self.hours.always_open:
            return (lt.astimezone(UTC) + timedelta(microseconds=n)).astimezone(self.tz)
        o = lt.toordinal()
        st = self._span(o, o)
        rel = self._position(st, o, _us_of_day(lt)) - st.cum_us[o - st.base] + n  # from o's midnight
        while st.cum_us[o - st.base] + rel > st.cum_us[-1]:
            st = self._grow_forward(st)
        target = st.cum_us[o - st.base] + rel
        j = bisect_left(st.cum_us, target, o - st.base + 1)
        r = target - st.cum_us[j - 1]
        for s, e in self._spans:
            if r <= e - s:
                return self._at(st.base + j - 1, s + r)
            r -= e - s
        raise AssertionError("unreachable: prefix sums and business hours disagree")

    def _add_wd(self, lt: datetime, n: int, rule: CountingRule) -> datetime:
        if n == 0:
            return lt
        first = self._first_counted(lt, rule)
        st = self._span(first, first)
        while st.cum_wd[first - st.base] + n > st.cum_wd[-1]:
            st = self._grow_forward(st)
        k = st.cum_wd[first - st.base] + n
        j = bisect_left(st.cum_wd, k, first - st.base + 1)
        return self._at(st.base + j - 1, self._eob_us)

    def _first_counted(self, lt: datetime, rule: CountingRule) -> int:
        """Ordinal of the first day that may count as working day 1 (次日起算 / 含本数)."""
        if rule is CountingRule.NEXT_DAY or _us_of_day(lt) >= self._eob_us:
            return lt.toordinal() + 1
        return lt.toordinal()

    def _at(self, o: int, us: int) -> datetime:
        """The instant at local ordinal ``o`` plus ``us`` µs of wall-clock time."""
        midnight = self._cache.midnights.get(o)
        if midnight is None:
            d = date.fromordinal(o)
            midnight = datetime(d.year, d.month, d.day, tzinfo=self.tz)
            self._cache.midnights[o] = midnight
        return midnight + timedelta(microseconds=us)

    def _span(self, lo: int, hi: int) -> _Span:
        st = self._cache.span
        if st is not None and st.base <= lo and hi < st.end:
            return st
        return self._build(lo, hi)

    def _grow_forward(self, st: _Span) -> _Span:
        return self._build(st.base, st.end + 2 * 366)

    def _build(self, lo: int, hi: int) -> _Span:
        """(Re)build the tables to cover ordinals ``lo..hi`` plus the current span, in whole years."""
        with self._cache.lock:
            old = self._cache.span
            if old is not None:
                if old.base <= lo and hi < old.end:
                    return old
                lo, hi = min(lo, old.base), max(hi, old.end - 1)
            y0 = date.fromordinal(max(lo, 1)).year - 1
            y1 = date.fromordinal(min(hi, date.max.toordinal())).year + 1
            if y0 < _MIN_YEAR or y1 > _MAX_YEAR:
                raise OverflowError(f"date outside the supported calendar range {_MIN_YEAR}..{_MAX_YEAR}")
            base, end = date(y0, 1, 1).toordinal(), date(y1 + 1, 1, 1).toordinal()
            records, day_us = self._records, self._day_us
            working = bytearray(end - base)
            cum_us, cum_wd = [0] * (end - base + 1), [0] * (end - base + 1)
            acc_us = acc_wd = 0
            for i, o in enumerate(range(base, end)):
                record = records.get(o)  # ordinal 1 (0001-01-01) is a Monday:
                is_working = (o - 1) % 7 < 5 if record is None else record.kind is ScheduleKind.WORKDAY
                if is_working:
                    working[i] = 1
                    acc_us += day_us
                    acc_wd += 1
                elif self.hours.always_open:
                    acc_us += day_us
                cum_us[i + 1], cum_wd[i + 1] = acc_us, acc_wd
            st = _Span(base, end, bytes(working), cum_us, cum_wd)
            self._cache.span = st
            return st


def _us_of_day(lt: datetime) -> int:
    return ((lt.hour * 60 + lt.minute) * 60 + lt.second) * _US + lt.microsecond
