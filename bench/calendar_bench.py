"""Benchmark: working-time deadlines, minxin vs businesstimedelta vs a naive minute-stepping reference.

Computes ``--n`` deadlines (default 1,000,000) with mixed durations (natural minutes/hours/days,
working hours, working days under 次日起算 and 含本数) and starts spread over 2025–2026 (10% of them
exactly on a business-hours boundary), all on the official schedule with the default business
hours 08:30–12:00 / 13:30–17:30, Asia/Shanghai.

* ours: ``WorkingCalendar.add`` on all ``--n`` cases;
* businesstimedelta: WorkDayRule (Mon–Fri 08:30–17:30) + a make-up-day rule for 调休 weekend
  working days + LunchTimeRule (12:00–13:30, every day) + HolidayRule (the statutory holidays),
  timed on a random ``--sample`` of the same cases (it is far too slow for 1M). Working days are
  expressed the usual way with it: from midnight of the first counted day, add N × 7.5 working hours;
* reference: an independent naive implementation (minute stepping for working hours — exact to the
  second because every business boundary is on a whole minute — day stepping for working days,
  ``chinese_calendar.is_workday`` for the official days, weekends only for 2027) on the same sample.

Prints per-call rates, the speed ratio and the agreement of ours and of businesstimedelta with the
reference. Run: ``.venv/bin/python bench/calendar_bench.py [--n 1000000] [--sample 20000]``.
"""

from __future__ import annotations

import argparse
import bisect
import datetime as dt
import functools
import random
import sys
import time
from collections.abc import Callable, Sequence

import chinese_calendar
import pytz
from businesstimedelta import HolidayRule, LunchTimeRule, Rules, WorkDayRule
from businesstimedelta.rules.rule import Rule

from minxin.core.calendar import WorkingCalendar
from minxin.core.calendar_model import ScheduleKind
from minxin.core.duration import CountingRule, Duration, DurationUnit, parse_duration
from minxin.core.official_calendar import official_calendar, package_records

SH = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")  # only used by the reference (no DST since 1991)
ZONE = pytz.timezone("Asia/Shanghai")
DURATIONS = [
    "30m",
    "45m",
    "2h",
    "24h",
    "3d",
    "1wh",
    "2wh",
    "4wh",
    "8wh",
    "16wh",
    "1wd",
    "3wd",
    "5wd",
    "10wd",
    "15wd",
]
OPEN, LUNCH_START, LUNCH_END, CLOSE = dt.time(8, 30), dt.time(12), dt.time(13, 30), dt.time(17, 30)
Case = tuple[dt.datetime, Duration, CountingRule]


def make_cases(n: int, seed: int, tz: dt.tzinfo) -> list[Case]:
    rng = random.Random(seed)
    t0 = dt.datetime(2025, 1, 1, tzinfo=tz)
    span_days = (dt.date(2027, 1, 1) - dt.date(2025, 1, 1)).days
    durations = [parse_duration(d) for d in DURATIONS]
    boundaries = [OPEN, LUNCH_START, LUNCH_END, CLOSE, dt.time(0)]
    cases: list[Case] = []
    for _ in range(n):
        if rng.random() < 0.1:
            day = t0 + dt.timedelta(days=rng.randrange(span_days))
            b = rng.choice(boundaries)
            start = day.replace(hour=b.hour, minute=b.minute)
        else:
            start = t0 + dt.timedelta(seconds=rng.randrange(span_days * 86400))
        duration = rng.choice(durations)
        rule = CountingRule.INCLUSIVE if rng.random() < 0.25 else CountingRule.NEXT_DAY
        cases.append((start, duration, rule))
    return cases


# ----------------------------------------------------------------------------- naive reference
@functools.cache
def ref_is_workday(d: dt.date) -> bool:
    try:
        return bool(chinese_calendar.is_workday(d))
    except NotImplementedError:  # no official schedule (2027): weekends only
        return d.weekday() < 5


def ref_minute_is_working(t: dt.datetime) -> bool:
    if not ref_is_workday(t.date()):
        return False
    m = t.hour * 60 + t.minute
    return 8 * 60 + 30 <= m < 12 * 60 or 13 * 60 + 30 <= m < 17 * 60 + 30


def ref_add(start: dt.datetime, duration: Duration, rule: CountingRule) -> dt.datetime:
    local = start.astimezone(SH).replace(tzinfo=None)  # wall clock, +08:00 throughout
    if duration.unit is DurationUnit.WORKING_HOURS:
        need = duration.amount * 3600
        t = local
        if need and t.second:
            partial = 60 - t.second
            if ref_minute_is_working(t):
                if need <= partial:
                    return (t + dt.timedelta(seconds=need)).replace(tzinfo=SH)
                need -= partial
            t += dt.timedelta(seconds=partial)
        while need:
            if ref_minute_is_working(t):
                if need <= 60:
                    return (t + dt.timedelta(seconds=need)).replace(tzinfo=SH)
                need -= 60
            t += dt.timedelta(minutes=1)
        return t.replace(tzinfo=SH)
    if duration.unit is DurationUnit.WORKING_DAYS:
        if duration.amount == 0:
            return local.replace(tzinfo=SH)
        d = local.date()
        if rule is CountingRule.NEXT_DAY or local.time() >= CLOSE:
            d += dt.timedelta(days=1)
        count = 0
        while True:
            if ref_is_workday(d):
                count += 1
                if count == duration.amount:
                    return dt.datetime.combine(d, CLOSE, SH)
            d += dt.timedelta(days=1)
    return (local + dt.timedelta(seconds=duration.seconds)).replace(tzinfo=SH)


# ----------------------------------------------------------------------------- businesstimedelta
class MakeupDayRule(Rule):
    """Working hours 08:30–17:30 on listed dates (调休 weekend working days); bdt has no such rule."""

    def __init__(self, dates: Sequence[dt.date], tz: dt.tzinfo) -> None:
        super().__init__(tz=tz, time_off=False)
        self.dates = sorted(dates)

    def next(self, when: dt.datetime, reverse: bool = False) -> tuple[dt.datetime, dt.datetime]:
        local = when.astimezone(self.tz)
        i = bisect.bisect_left(self.dates, local.date())
        if i < len(self.dates) and self.dates[i] == local.date() and local.time() >= CLOSE:
            i += 1
        if i == len(self.dates):  # none left: a block far in the future, never chosen
            far = self.tz.localize(dt.datetime(9000, 1, 1))
            return far, far + dt.timedelta(hours=9)
        day = self.dates[i]
        start = self.tz.localize(dt.datetime.combine(day, OPEN))
        end = self.tz.localize(dt.datetime.combine(day, CLOSE))
        return (max(start, when), end) if start < when < end else (start, end)


def make_bdt() -> Callable[[dt.datetime, Duration, CountingRule], dt.datetime]:
    from businesstimedelta import BusinessTimeDelta

    holidays = [r.day for r in package_records() if r.kind is ScheduleKind.HOLIDAY]
    makeup = [r.day for r in package_records() if r.kind is ScheduleKind.WORKDAY and r.day.weekday() >= 5]
    rules = Rules(
        [
            WorkDayRule(start_time=OPEN, end_time=CLOSE, working_days=[0, 1, 2, 3, 4], tz=ZONE),
            MakeupDayRule(makeup, ZONE),
            LunchTimeRule(start_time=LUNCH_START, end_time=LUNCH_END, working_days=list(range(7)), tz=ZONE),
            # HolidayRule looks at most 5 years ahead and crashes when it finds nothing, so a
            # sentinel day off far beyond every due date (2027 has no schedule) keeps it working.
            HolidayRule({*holidays, dt.date(2029, 12, 31)}, tz=ZONE),
        ]
    )

    def add(start: dt.datetime, duration: Duration, rule: CountingRule) -> dt.datetime:
        if duration.unit is DurationUnit.WORKING_HOURS:
            return start + BusinessTimeDelta(rules, hours=duration.amount)
        if duration.unit is DurationUnit.WORKING_DAYS:
            local = start.astimezone(ZONE)
            day = local.date()
            if rule is CountingRule.NEXT_DAY or local.time() >= CLOSE:
                day += dt.timedelta(days=1)
            midnight = ZONE.localize(dt.datetime.combine(day, dt.time(0)))
            return midnight + BusinessTimeDelta(rules, hours=duration.amount * 7.5)
        return start + dt.timedelta(seconds=duration.seconds)

    return add


# ----------------------------------------------------------------------------- main
def timed(fn: Callable[[], list[dt.datetime]]) -> tuple[list[dt.datetime], float]:
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="deadlines computed with ours")
    parser.add_argument(
        "--sample", type=int, default=20_000, help="cases for businesstimedelta and the reference"
    )
    parser.add_argument("--seed", type=int, default=20261126)
    args = parser.parse_args(argv)

    cal: WorkingCalendar = official_calendar()
    t0 = time.perf_counter()
    cal.add(dt.datetime(2025, 1, 1, tzinfo=cal.tz), parse_duration("1wd"))  # build the day tables
    build_s = time.perf_counter() - t0
    cases = make_cases(args.n, args.seed, cal.tz)
    sample = random.Random(args.seed + 1).sample(cases, min(args.sample, len(cases)))

    add = cal.add
    ours_all, ours_s = timed(lambda: [add(s, d, r).due for s, d, r in cases])
    ours_sample, ours_sample_s = timed(lambda: [add(s, d, r).due for s, d, r in sample])
    bdt = make_bdt()
    bdt_sample, bdt_s = timed(lambda: [bdt(s, d, r) for s, d, r in sample])
    ref_sample, ref_s = timed(lambda: [ref_add(s, d, r) for s, d, r in sample])

    ours_ok = sum(a == b for a, b in zip(ours_sample, ref_sample, strict=True))
    bdt_ok = sum(a == b for a, b in zip(bdt_sample, ref_sample, strict=True))
    index = {id(c): i for i, c in enumerate(cases)}
    same_run = all(ours_all[index[id(c)]] == ours_sample[i] for i, c in enumerate(sample))
    working = [i for i, (_, d, _) in enumerate(sample) if d.is_working]
    bad = [sample[i] for i, (a, b) in enumerate(zip(ours_sample, ref_sample, strict=True)) if a != b][:5]

    us = lambda seconds, k: seconds / k * 1e6  # noqa: E731
    print(f"python {sys.version.split()[0]}; day tables built in {build_s * 1e3:.1f} ms")
    print(
        f"cases: {args.n:,} (ours), sample {len(sample):,} for businesstimedelta and the reference "
        f"({len(working):,} of them working-time durations)"
    )
    print(f"{'engine':<22}{'cases':>10}{'seconds':>10}{'us/call':>10}{'calls/s':>12}{'agreement':>12}")
    rows = [
        ("minxin (all)", args.n, ours_s, None),
        ("minxin (sample)", len(sample), ours_sample_s, ours_ok),
        ("businesstimedelta", len(sample), bdt_s, bdt_ok),
        ("naive reference", len(sample), ref_s, None),
    ]
    for name, k, secs, ok in rows:
        agree = "" if ok is None else f"{ok / len(sample):.4%}"
        print(f"{name:<22}{k:>10,}{secs:>10.2f}{us(secs, k):>10.2f}{k / secs:>12,.0f}{agree:>12}")
    print(
        f"speed-up vs businesstimedelta (same sample): {bdt_s / ours_sample_s:,.0f}x; "
        f"vs naive reference: {ref_s / ours_sample_s:,.0f}x"
    )
    print(
        f"ours agrees with the reference on {ours_ok}/{len(sample)}; businesstimedelta on {bdt_ok}/{len(sample)}; "
        f"1M run consistent with sample run: {same_run}"
    )
    if bad:
        print("first disagreements (ours):", *bad, sep="\n  ")
    return 0 if ours_ok == len(sample) and same_run else 1


if __name__ == "__main__":
    raise SystemExit(main())
