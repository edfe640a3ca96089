"""Hypothesis properties of the working calendar, and agreement with a naive minute-stepping reference.

Properties: add then measure gives back the duration (and nothing earlier does); monotone in start
and in duration; ``working_time_between`` is additive; next working instant / is working time agree.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import cache

import chinese_calendar
from hypothesis import given, settings
from hypothesis import strategies as st

from minxin.core.calendar import SHANGHAI, BusinessHours, CountingRule, WorkingCalendar
from minxin.core.duration import Duration, DurationUnit
from minxin.core.official_calendar import official_calendar

CAL = official_calendar()
CAL24 = CAL.with_hours(BusinessHours.twenty_four_seven())
CAL_ODD = CAL.with_hours(BusinessHours.parse("07:00-07:01,09:15-12:00,12:00-12:45,20:00-24:00"))
CALENDARS = st.sampled_from([CAL, CAL24, CAL_ODD])
RULES = st.sampled_from(list(CountingRule))
US = timedelta(microseconds=1)

_BOUNDARIES = [
    time(0),
    time(8, 30),
    time(12),
    time(13, 30),
    time(17, 30),
    time(9, 15),
    time(20),
    time(23, 59, 59),
]
_days = st.dates(min_value=date(2024, 12, 20), max_value=date(2027, 1, 20))


@st.composite
def instants(draw: st.DrawFn) -> datetime:
    """Instants around 2025–2026 (and into 2027), often exactly on or next to a business boundary."""
    day = draw(_days)
    if draw(st.booleans()):
        base = datetime.combine(day, draw(st.sampled_from(_BOUNDARIES)), SHANGHAI)
        return base + timedelta(seconds=draw(st.sampled_from([-1, 0, 0, 0, 1])))
    t = datetime.combine(day, time(0), SHANGHAI) + timedelta(seconds=draw(st.integers(0, 86399)))
    return t + timedelta(microseconds=draw(st.sampled_from([0, 0, 0, 1, 500000, 999999])))


working_amounts = st.integers(0, 80 * 3600).map(lambda s: timedelta(seconds=s))


@given(CALENDARS, instants(), working_amounts)
def test_add_then_measure_gives_back_the_duration(
    cal: WorkingCalendar, t: datetime, amount: timedelta
) -> None:
    due = cal.add_working_time(t, amount)
    assert due >= t
    assert cal.working_time_between(t, due) == amount
    if amount:  # earliest such instant
        assert cal.working_time_between(t, due - US) < amount


@given(CALENDARS, instants(), st.integers(0, 40))
def test_working_hours_duration_round_trip(cal: WorkingCalendar, t: datetime, hours: int) -> None:
    due = cal.add(t, Duration(hours, DurationUnit.WORKING_HOURS)).due
    assert cal.working_time_between(t, due) == timedelta(hours=hours)


@given(CALENDARS, instants(), st.integers(0, 30), RULES)
def test_add_then_count_working_days(cal: WorkingCalendar, t: datetime, n: int, rule: CountingRule) -> None:
    due = cal.add(t, Duration(n, DurationUnit.WORKING_DAYS), rule).due
    assert due >= t
    assert cal.working_days_elapsed(t, due, rule) == n
    if n:
        assert cal.working_days_elapsed(t, due - US, rule) == n - 1
        assert cal.is_working_day((due - US).date())


@given(st.sampled_from(["m", "h", "d"]), st.integers(0, 1000), instants())
def test_natural_time_round_trip(unit: str, n: int, t: datetime) -> None:
    d = Duration(n, DurationUnit(unit))
    assert CAL.add(t, d).due - t == timedelta(seconds=d.seconds)


_durations = st.one_of(
    st.builds(Duration, st.integers(0, 40), st.just(DurationUnit.WORKING_HOURS)),
    st.builds(Duration, st.integers(0, 20), st.just(DurationUnit.WORKING_DAYS)),
    st.builds(Duration, st.integers(0, 600), st.sampled_from([DurationUnit.MINUTES, DurationUnit.HOURS])),
)


@given(CALENDARS, instants(), instants(), _durations, RULES)
def test_monotone_in_start(
    cal: WorkingCalendar, a: datetime, b: datetime, d: Duration, rule: CountingRule
) -> None:
    a, b = min(a, b), max(a, b)
    assert cal.add(a, d, rule).due <= cal.add(b, d, rule).due


@given(CALENDARS, instants(), _durations, st.integers(0, 20), RULES)
def test_monotone_in_duration(
    cal: WorkingCalendar, t: datetime, d: Duration, more: int, rule: CountingRule
) -> None:
    longer = Duration(d.amount + more, d.unit)
    assert cal.add(t, d, rule).due <= cal.add(t, longer, rule).due


@given(CALENDARS, instants(), instants(), instants())
def test_between_is_additive(cal: WorkingCalendar, a: datetime, b: datetime, c: datetime) -> None:
    assert cal.working_time_between(a, b) + cal.working_time_between(b, c) == cal.working_time_between(a, c)
    assert cal.working_time_between(a, b) == -cal.working_time_between(b, a)


@given(CALENDARS, instants())
def test_next_working_instant_and_is_working_time(cal: WorkingCalendar, t: datetime) -> None:
    nxt = cal.next_working_instant(t)
    assert nxt >= t
    assert cal.is_working_time(nxt)
    assert cal.working_time_between(t, nxt) == timedelta(0)
    assert (nxt == t) is cal.is_working_time(t)
    assert cal.is_working_time(t) is (cal.working_time_between(t, t + US) == US)


# ----------------------------------------------------------------------------- naive reference
@cache
def _ref_workday(d: date) -> bool:
    try:
        return bool(chinese_calendar.is_workday(d))
    except NotImplementedError:  # no official schedule: weekends only
        return d.weekday() < 5


def _ref_minute_working(t: datetime) -> bool:
    m = t.hour * 60 + t.minute
    return _ref_workday(t.date()) and (510 <= m < 720 or 810 <= m < 1050)


def ref_add(start: datetime, d: Duration, rule: CountingRule) -> datetime:
    """Step minute by minute (working hours) or day by day (working days) on the wall clock."""
    t = start.replace(tzinfo=None)
    if d.unit is DurationUnit.WORKING_DAYS:
        if d.amount == 0:
            return start
        day = t.date()
        if rule is CountingRule.NEXT_DAY or t.time() >= time(17, 30):
            day += timedelta(days=1)
        count = 0
        while True:
            count += _ref_workday(day)
            if count == d.amount:
                return datetime.combine(day, time(17, 30), SHANGHAI)
            day += timedelta(days=1)
    need = timedelta(hours=d.amount)
    while need:
        step = timedelta(minutes=1) - timedelta(seconds=t.second, microseconds=t.microsecond)
        if _ref_minute_working(t):
            if need <= step:
                return (t + need).replace(tzinfo=SHANGHAI)
            need -= step
        t += step
    return t.replace(tzinfo=SHANGHAI)


@settings(max_examples=300, deadline=None)
@given(
    instants(),
    st.one_of(
        st.builds(Duration, st.integers(0, 16), st.just(DurationUnit.WORKING_HOURS)),
        st.builds(Duration, st.integers(0, 12), st.just(DurationUnit.WORKING_DAYS)),
    ),
    RULES,
)
def test_agrees_with_naive_reference(t: datetime, d: Duration, rule: CountingRule) -> None:
    assert CAL.add(t, d, rule).due == ref_add(t, d, rule)
