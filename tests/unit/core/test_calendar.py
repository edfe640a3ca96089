"""Working calendar: literal dates around 2025/2026 holidays and 调休, lunch breaks, 24×7, 2027."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone

import pytest

from minxin.core.calendar import (
    SHANGHAI,
    BusinessHours,
    CountingRule,
    DayKind,
    DayRecord,
    Schedule,
    ScheduleKind,
    WorkingCalendar,
    parse_instant,
)
from minxin.core.duration import parse_duration
from minxin.core.official_calendar import official_calendar

CAL = official_calendar()
CAL24 = CAL.with_hours(BusinessHours.twenty_four_seven())
NEXT, INCL = CountingRule.NEXT_DAY, CountingRule.INCLUSIVE


def at(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0, us: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, s, us, tzinfo=SHANGHAI)


# ----------------------------------------------------------------------------- days
@pytest.mark.parametrize(
    ("day", "kind", "name_part", "official"),
    [
        (date(2026, 2, 13), DayKind.WORKDAY, "", True),
        (date(2026, 2, 14), DayKind.MAKEUP_WORKDAY, "春节", True),  # Saturday, 调休
        (date(2026, 2, 15), DayKind.HOLIDAY, "Spring Festival", True),
        (date(2026, 2, 17), DayKind.HOLIDAY, "春节", True),
        (date(2026, 2, 23), DayKind.HOLIDAY, "春节", True),  # Monday, last day off
        (date(2026, 2, 24), DayKind.WORKDAY, "", True),
        (date(2026, 2, 28), DayKind.MAKEUP_WORKDAY, "春节", True),  # Saturday, 调休
        (date(2026, 3, 7), DayKind.WEEKEND, "", True),
        (date(2026, 9, 20), DayKind.MAKEUP_WORKDAY, "国庆节", True),  # Sunday, 调休
        (date(2026, 10, 1), DayKind.HOLIDAY, "National Day", True),
        (date(2026, 10, 7), DayKind.HOLIDAY, "国庆节", True),
        (date(2026, 10, 8), DayKind.WORKDAY, "", True),
        (date(2026, 10, 10), DayKind.MAKEUP_WORKDAY, "国庆节", True),
        (date(2025, 1, 26), DayKind.MAKEUP_WORKDAY, "春节", True),
        (date(2025, 1, 28), DayKind.HOLIDAY, "春节", True),
        (date(2025, 10, 6), DayKind.HOLIDAY, "中秋", True),
        (date(2025, 10, 8), DayKind.HOLIDAY, "国庆节", True),
        (date(2025, 10, 11), DayKind.MAKEUP_WORKDAY, "国庆节", True),
        (date(2027, 1, 1), DayKind.WORKDAY, "", False),  # no official schedule: weekends only
        (date(2027, 1, 2), DayKind.WEEKEND, "", False),
    ],
)
def test_explain_day(day: date, kind: DayKind, name_part: str, official: bool) -> None:
    info = CAL.explain_day(day)
    assert (info.kind, info.official) == (kind, official)
    assert name_part in info.name
    assert CAL.is_working_day(day) is kind.working is info.working


@pytest.mark.parametrize(
    ("day", "words"),
    [
        (date(2026, 2, 14), ["working day", "make-up working day (调休)", "春节"]),
        (date(2026, 10, 3), ["not a working day", "holiday", "国庆节"]),
        (date(2026, 3, 7), ["not a working day", "weekend"]),
        (date(2027, 1, 1), ["working day", "no official schedule for this year (2027)"]),
    ],
)
def test_describe_day(day: date, words: list[str]) -> None:
    text = CAL.explain_day(day).describe()
    for word in words:
        assert word in text


# ----------------------------------------------------------------------------- instants
@pytest.mark.parametrize(
    ("instant", "working"),
    [
        (at(2026, 2, 13, 8, 29, 59), False),
        (at(2026, 2, 13, 8, 30), True),
        (at(2026, 2, 13, 11, 59, 59), True),
        (at(2026, 2, 13, 12, 0), False),  # lunch break
        (at(2026, 2, 13, 13, 29, 59), False),
        (at(2026, 2, 13, 13, 30), True),
        (at(2026, 2, 13, 17, 29, 59, 999999), True),
        (at(2026, 2, 13, 17, 30), False),
        (at(2026, 2, 14, 10), True),  # 调休 Saturday
        (at(2026, 2, 16, 10), False),  # Spring Festival
        (at(2026, 10, 1, 10), False),  # National Day
        (at(2026, 3, 7, 10), False),  # ordinary Saturday
        (datetime(2026, 2, 13, 2, 0, tzinfo=UTC), True),  # 10:00 in Shanghai
    ],
)
def test_is_working_time(instant: datetime, working: bool) -> None:
    assert CAL.is_working_time(instant) is working


@pytest.mark.parametrize(
    ("instant", "expected"),
    [
        (at(2026, 2, 13, 10), at(2026, 2, 13, 10)),
        (at(2026, 2, 13, 7), at(2026, 2, 13, 8, 30)),
        (at(2026, 2, 13, 12), at(2026, 2, 13, 13, 30)),
        (at(2026, 2, 13, 17, 30), at(2026, 2, 14, 8, 30)),  # to the 调休 Saturday
        (at(2026, 2, 14, 17, 30), at(2026, 2, 24, 8, 30)),  # over Spring Festival
        (at(2026, 9, 30, 18), at(2026, 10, 8, 8, 30)),  # over National Day
        (at(2026, 3, 6, 23, 59, 59), at(2026, 3, 9, 8, 30)),
        (at(2026, 12, 31, 18), at(2027, 1, 1, 8, 30)),  # 2027 unknown: weekends only
    ],
)
def test_next_working_instant(instant: datetime, expected: datetime) -> None:
    assert CAL.next_working_instant(instant) == expected


# ----------------------------------------------------------------------------- add
@pytest.mark.parametrize(
    ("start", "duration", "rule", "due"),
    [
        # working hours, lunch break and the earliest-instant rule
        (at(2026, 3, 2, 9), "1wh", NEXT, at(2026, 3, 2, 10)),
        (at(2026, 3, 2, 11), "1wh", NEXT, at(2026, 3, 2, 12)),  # ends at the lunch break, not 13:30
        (at(2026, 3, 2, 11), "2wh", NEXT, at(2026, 3, 2, 14, 30)),
        (at(2026, 3, 2, 12, 30), "1wh", NEXT, at(2026, 3, 2, 14, 30)),  # starts during lunch
        (at(2026, 3, 2, 7), "1wh", NEXT, at(2026, 3, 2, 9, 30)),  # starts before opening
        (at(2026, 3, 2, 20), "1wh", NEXT, at(2026, 3, 3, 9, 30)),  # starts after closing
        (at(2026, 3, 6, 16), "4wh", NEXT, at(2026, 3, 9, 11)),  # over a weekend
        (at(2026, 3, 2, 9, 15, 20), "8wh", NEXT, at(2026, 3, 3, 9, 45, 20)),
        # Spring Festival 2026 and its 调休 Saturdays
        (at(2026, 2, 13, 10), "6wh", NEXT, at(2026, 2, 13, 17, 30)),
        (at(2026, 2, 13, 10), "7wh", NEXT, at(2026, 2, 14, 9, 30)),
        (at(2026, 2, 13, 10), "8wh", NEXT, at(2026, 2, 14, 10, 30)),
        (at(2026, 2, 14, 16), "4wh", NEXT, at(2026, 2, 24, 11)),
        (at(2026, 2, 18, 10), "1wh", NEXT, at(2026, 2, 24, 9, 30)),  # starts on a holiday
        (at(2026, 2, 27, 17), "1wh", NEXT, at(2026, 2, 28, 9)),  # Friday → 调休 Saturday 2-28
        # National Day 2026 (10-01..07) and 2025 (10-01..08)
        (at(2026, 9, 30, 15), "4wh", NEXT, at(2026, 10, 8, 10)),
        (at(2026, 10, 3, 10), "1wh", NEXT, at(2026, 10, 8, 9, 30)),
        (at(2025, 9, 30, 16), "2wh", NEXT, at(2025, 10, 9, 9)),
        # working days, 次日起算
        (at(2026, 3, 2, 10), "1wd", NEXT, at(2026, 3, 3, 17, 30)),
        (at(2026, 3, 2, 10), "5wd", NEXT, at(2026, 3, 9, 17, 30)),
        (at(2026, 2, 13, 10), "1wd", NEXT, at(2026, 2, 14, 17, 30)),  # 调休 Saturday counts
        (at(2026, 2, 13, 10), "2wd", NEXT, at(2026, 2, 24, 17, 30)),
        (at(2026, 2, 12, 9), "5wd", NEXT, at(2026, 2, 26, 17, 30)),
        (at(2026, 2, 14, 10), "1wd", NEXT, at(2026, 2, 24, 17, 30)),
        (at(2026, 9, 18, 10), "1wd", NEXT, at(2026, 9, 20, 17, 30)),  # 调休 Sunday counts
        (at(2026, 9, 30, 10), "1wd", NEXT, at(2026, 10, 8, 17, 30)),
        (at(2026, 9, 30, 10), "3wd", NEXT, at(2026, 10, 10, 17, 30)),
        (at(2026, 3, 7, 10), "1wd", NEXT, at(2026, 3, 9, 17, 30)),  # Saturday start
        (at(2025, 9, 30, 23, 59), "1wd", NEXT, at(2025, 10, 9, 17, 30)),
        # working days, 含本数
        (at(2026, 3, 2, 10), "1wd", INCL, at(2026, 3, 2, 17, 30)),
        (at(2026, 3, 2, 10), "5wd", INCL, at(2026, 3, 6, 17, 30)),
        (at(2026, 3, 2, 17, 30), "1wd", INCL, at(2026, 3, 3, 17, 30)),  # after closing: next day is day 1
        (at(2026, 2, 15, 10), "1wd", INCL, at(2026, 2, 24, 17, 30)),  # holiday start
        (at(2026, 2, 14, 9), "1wd", INCL, at(2026, 2, 14, 17, 30)),  # 调休 Saturday is day 1
        # natural time ignores the calendar
        (at(2026, 2, 13, 23, 50), "30m", NEXT, at(2026, 2, 14, 0, 20)),
        (at(2026, 2, 15, 10), "2h", NEXT, at(2026, 2, 15, 12)),
        (at(2026, 2, 13, 10), "3d", NEXT, at(2026, 2, 16, 10)),
        # zero
        (at(2026, 2, 15, 10), "0wh", NEXT, at(2026, 2, 15, 10)),
        (at(2026, 2, 15, 10), "0wd", NEXT, at(2026, 2, 15, 10)),
    ],
)
def test_add(start: datetime, duration: str, rule: CountingRule, due: datetime) -> None:
    result = CAL.add(start, parse_duration(duration), rule)
    assert result.due == due
    assert result.due.tzinfo is SHANGHAI
    assert result.official and result.warning is None and result.unofficial_years == ()


def test_add_accepts_any_timezone_and_answers_in_the_calendar_zone() -> None:
    result = CAL.add(datetime(2026, 3, 2, 1, tzinfo=UTC), parse_duration("1wh"))  # 09:00 +08:00
    assert result.due == at(2026, 3, 2, 10)
    assert result.isoformat() == "2026-03-02T10:00:00+08:00"
    other = CAL.add(datetime(2026, 3, 2, 10, tzinfo=timezone(timedelta(hours=9))), parse_duration("1wh"))
    assert other.due == at(2026, 3, 2, 10)


def test_exact_to_the_microsecond_across_the_lunch_break() -> None:
    start = at(2026, 3, 2, 11, 59, 59, 500000)
    assert CAL.add_working_time(start, timedelta(seconds=1)) == at(2026, 3, 2, 13, 30, 0, 500000)
    assert CAL.working_time_between(start, at(2026, 3, 2, 13, 30, 0, 500000)) == timedelta(seconds=1)


@pytest.mark.parametrize(
    ("op", "args"),
    [
        ("add", (datetime(2026, 3, 2, 10), parse_duration("1wh"))),
        ("is_working_time", (datetime(2026, 3, 2, 10),)),
        ("next_working_instant", (datetime(2026, 3, 2, 10),)),
        ("working_time_between", (datetime(2026, 3, 2, 10), at(2026, 3, 3))),
        ("working_days_elapsed", (at(2026, 3, 2), datetime(2026, 3, 3))),
    ],
)
def test_naive_datetimes_are_refused(op: str, args: tuple[object, ...]) -> None:
    with pytest.raises(ValueError, match="naive"):
        getattr(CAL, op)(*args)


def test_negative_amounts_are_refused() -> None:
    with pytest.raises(ValueError):
        CAL.add_working_time(at(2026, 3, 2), timedelta(hours=-1))
    with pytest.raises(ValueError):
        CAL.add_working_days(at(2026, 3, 2), -1)


# ----------------------------------------------------------------------------- between
@pytest.mark.parametrize(
    ("a", "b", "hours"),
    [
        (at(2026, 3, 2, 9), at(2026, 3, 2, 17), 6.5),
        (at(2026, 3, 2, 0), at(2026, 3, 3, 0), 7.5),
        (at(2026, 2, 13, 10), at(2026, 2, 24, 10), 15),  # Fri 6 h + 调休 Sat 7.5 h + Tue 1.5 h
        (at(2026, 9, 30, 0), at(2026, 10, 9, 0), 15),  # only 9-30 and 10-08
        (at(2026, 3, 2, 17), at(2026, 3, 2, 9), -6.5),
        (at(2026, 3, 7, 9), at(2026, 3, 8, 18), 0),
    ],
)
def test_working_time_between(a: datetime, b: datetime, hours: float) -> None:
    assert CAL.working_time_between(a, b) == timedelta(hours=hours)


@pytest.mark.parametrize(
    ("start", "instant", "rule", "days"),
    [
        (at(2026, 2, 13, 10), at(2026, 2, 14, 17, 29, 59), NEXT, 0),
        (at(2026, 2, 13, 10), at(2026, 2, 14, 17, 30), NEXT, 1),
        (at(2026, 2, 13, 10), at(2026, 2, 24, 17, 30), NEXT, 2),
        (at(2026, 2, 13, 10), at(2026, 2, 13, 17, 30), INCL, 1),
        (at(2026, 2, 13, 10), at(2026, 2, 12, 17, 30), INCL, 0),
    ],
)
def test_working_days_elapsed(start: datetime, instant: datetime, rule: CountingRule, days: int) -> None:
    assert CAL.working_days_elapsed(start, instant, rule) == days


# ----------------------------------------------------------------------------- 24×7
@pytest.mark.parametrize(
    ("start", "duration", "due"),
    [
        (at(2026, 2, 15, 10), "8wh", at(2026, 2, 15, 18)),  # a holiday is working time for 24×7
        (at(2026, 3, 7, 22), "4wh", at(2026, 3, 8, 2)),
        (at(2026, 2, 15, 10), "1wd", at(2026, 2, 25, 0)),  # working days stay official, end at 24:00
        (at(2026, 2, 13, 10), "1wd", at(2026, 2, 15, 0)),
    ],
)
def test_twenty_four_seven(start: datetime, duration: str, due: datetime) -> None:
    assert CAL24.add(start, parse_duration(duration)).due == due
    assert CAL24.is_working_time(start)
    assert CAL24.next_working_instant(start) == start


def test_twenty_four_seven_between_is_natural_time() -> None:
    assert CAL24.working_time_between(at(2026, 10, 1), at(2026, 10, 8)) == timedelta(days=7)


# ----------------------------------------------------------------------------- no official schedule
@pytest.mark.parametrize(
    ("start", "duration", "due", "years"),
    [
        (at(2026, 12, 31, 10), "1wd", at(2027, 1, 1, 17, 30), (2027,)),  # 元旦 2027 unknown → flagged
        (at(2026, 12, 30, 10), "5wd", at(2027, 1, 6, 17, 30), (2027,)),
        (at(2026, 12, 31, 16), "2wh", at(2027, 1, 1, 9), (2027,)),
        (at(2027, 3, 1, 10), "1wh", at(2027, 3, 1, 11), (2027,)),
        (at(2026, 12, 31, 10), "2wh", at(2026, 12, 31, 12), ()),
        (at(2026, 12, 31, 10), "30d", at(2027, 1, 30, 10), ()),  # natural time needs no schedule
    ],
)
def test_unofficial_year_is_flagged(
    start: datetime, duration: str, due: datetime, years: tuple[int, ...]
) -> None:
    result = CAL.add(start, parse_duration(duration))
    assert result.due == due
    assert result.unofficial_years == years
    assert result.official is (not years)
    if years:
        assert result.warning is not None and "no official schedule for 2027" in result.warning


def test_admin_entered_year_becomes_official() -> None:
    cal = official_calendar(
        [
            DayRecord(date(2027, 1, 1), ScheduleKind.HOLIDAY, "元旦"),
            DayRecord(date(2027, 2, 20), ScheduleKind.WORKDAY, "春节"),  # a Saturday
        ]
    )
    result = cal.add(at(2026, 12, 31, 10), parse_duration("1wd"))
    assert result.due == at(2027, 1, 4, 17, 30)
    assert result.official
    assert cal.explain_day(date(2027, 2, 20)).kind is DayKind.MAKEUP_WORKDAY
    assert cal.explain_day(date(2027, 1, 1)).official


# ----------------------------------------------------------------------------- construction
def test_custom_hours_and_empty_schedule() -> None:
    cal = WorkingCalendar(Schedule.empty(), BusinessHours.parse("09:00-12:00, 14:00-18:00"))
    assert str(cal.hours) == "09:00-12:00,14:00-18:00"
    assert cal.hours.working_seconds_per_day == 7 * 3600
    assert cal.add(at(2026, 10, 1, 17), parse_duration("2wh")).due == at(2026, 10, 2, 10)
    assert cal.add(at(2026, 10, 1, 17), parse_duration("2wh")).unofficial_years == (2026,)


@pytest.mark.parametrize(
    "text",
    ["08:30-12:00,11:00-17:30", "12:00-08:30", "8h", "08:30", "24:00-25:00", "13:30-17:30,08:30-12:00"],
)
def test_bad_business_hours(text: str) -> None:
    with pytest.raises(ValueError):
        BusinessHours.parse(text)


def test_business_hours_forms() -> None:
    assert BusinessHours.parse("24x7").always_open
    assert BusinessHours.parse("24×7") == BusinessHours.twenty_four_seven()
    assert str(BusinessHours()) == "08:30-12:00,13:30-17:30"
    late = BusinessHours.parse("18:00-24:00")
    assert late.spans == ((time(18), time(0)),) and late.working_seconds_per_day == 6 * 3600
    cal = WorkingCalendar(Schedule.empty(), late)
    assert cal.add(at(2026, 3, 2, 23), parse_duration("2wh")).due == at(2026, 3, 3, 19)
    assert cal.add(at(2026, 3, 2, 18), parse_duration("1wd")).due == at(2026, 3, 4, 0)


def test_far_years_grow_the_tables() -> None:
    cal = official_calendar()
    assert cal.add(at(2026, 3, 2, 10), parse_duration("3000wd")).due.year in (2037, 2038)
    assert cal.add(at(2004, 1, 2, 10), parse_duration("1wd")).due == at(2004, 1, 5, 17, 30)
    assert cal.working_time_between(at(2004, 1, 1), at(2060, 1, 1)) > timedelta(days=4000)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-02-13T10:00:00+08:00", at(2026, 2, 13, 10)),
        ("2026-02-13T02:00:00Z", at(2026, 2, 13, 10)),
        ("2026-02-13 10:00", at(2026, 2, 13, 10)),
        ("2026-02-13", at(2026, 2, 13)),
    ],
)
def test_parse_instant(text: str, expected: datetime) -> None:
    assert parse_instant(text) == expected
    assert parse_instant(text).utcoffset() is not None


def test_parse_instant_rejects_garbage() -> None:
    with pytest.raises(ValueError, match="ISO 8601"):
        parse_instant("next tuesday")


def test_explain_day_takes_the_local_date_of_an_instant() -> None:
    assert CAL.explain_day(datetime(2026, 2, 13, 17, tzinfo=UTC)).day == date(2026, 2, 14)  # 01:00 +08:00
    assert CAL.is_working_day(datetime(2026, 2, 13, 17, tzinfo=UTC))
    with pytest.raises(ValueError, match="naive"):
        CAL.explain_day(datetime(2026, 2, 14))
