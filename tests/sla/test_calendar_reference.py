"""Property test: the database-backed calendar (package schedule + an admin-imported year) agrees
with a naive minute-by-minute reference for random starts across 2025–2027."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from chinese_calendar import is_workday
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from minxin.core.calendar_model import SHANGHAI, DayRecord, ScheduleKind
from minxin.core.duration import parse_duration
from minxin.sla import calendar_service

ADMIN_2027 = {
    date(2027, 1, 1): ScheduleKind.HOLIDAY,
    date(2027, 2, 5): ScheduleKind.HOLIDAY,
    date(2027, 2, 8): ScheduleKind.HOLIDAY,
    date(2027, 2, 9): ScheduleKind.HOLIDAY,
    date(2027, 2, 20): ScheduleKind.WORKDAY,  # a Saturday make-up day
    date(2027, 10, 1): ScheduleKind.HOLIDAY,
    date(2027, 10, 4): ScheduleKind.HOLIDAY,
    date(2027, 10, 9): ScheduleKind.WORKDAY,
}
SPANS = ((time(8, 30), time(12)), (time(13, 30), time(17, 30)))


def working(day: date) -> bool:
    if day in ADMIN_2027:
        return ADMIN_2027[day] is ScheduleKind.WORKDAY
    if day.year == 2027:
        return day.weekday() < 5
    return bool(is_workday(day))


def ref_working_days(start: datetime, n: int) -> datetime:
    day, count = start.date(), 0
    while count < n:
        day += timedelta(days=1)
        count += working(day)
    return datetime.combine(day, time(17, 30), SHANGHAI)


def ref_working_hours(start: datetime, n: int) -> datetime:
    """Minute by minute: the end of the ``n × 60``-th business minute from ``start``."""
    t, left = start, n * 60
    while left:
        if working(t.date()) and any(a <= t.time() < b for a, b in SPANS):
            left -= 1
        t += timedelta(minutes=1)
    return t


@pytest.fixture
def imported(state):  # type: ignore[no-untyped-def]
    with state.db.unit_of_work() as session:
        calendar_service.import_records(
            session, [DayRecord(d, k, "test") for d, k in ADMIN_2027.items()], actor="test", now=datetime.now(UTC)
        )
    with state.db.reading() as session:
        return calendar_service.calendar(session)


starts = st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 15)).map(
    lambda d: d.replace(second=0, microsecond=0, tzinfo=SHANGHAI)
)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(start=starts, n=st.integers(min_value=1, max_value=10), unit=st.sampled_from(["wd", "wh"]))
def test_due_matches_the_reference(imported, start: datetime, n: int, unit: str) -> None:
    result = imported.add(start, parse_duration(f"{n}{unit}"))
    expected = ref_working_days(start, n) if unit == "wd" else ref_working_hours(start, n)
    assert result.due == expected, (start, n, unit)
    assert result.unofficial_years == ()  # 2025–2026 from the package, 2027 imported
    assert imported.is_working_day(start.date()) == working(start.date())
