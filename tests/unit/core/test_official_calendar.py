"""Official schedule: chinesecalendar data, admin overrides, and the CSV/YAML import formats."""

from __future__ import annotations

from datetime import date

import pytest

from minxin.core.calendar import DayKind, DayRecord, ScheduleKind
from minxin.core.official_calendar import (
    CalendarImportError,
    build_schedule,
    official_calendar,
    package_records,
    package_years,
    parse_csv,
    parse_import,
    parse_kind,
    parse_yaml,
    records_to_csv,
)

H, W = ScheduleKind.HOLIDAY, ScheduleKind.WORKDAY


def test_package_years() -> None:
    years = package_years()
    assert {2025, 2026} <= years
    assert 2027 not in years  # announced in November 2026, not in any package yet


@pytest.mark.parametrize(
    ("day", "kind", "name"),
    [
        (date(2026, 2, 14), W, "春节 (Spring Festival)"),
        (date(2026, 2, 28), W, "春节 (Spring Festival)"),
        (date(2026, 2, 15), H, "春节 (Spring Festival)"),
        (date(2026, 10, 1), H, "国庆节 (National Day)"),
        (date(2026, 10, 7), H, "国庆节 (National Day)"),
        (date(2025, 10, 6), H, "中秋 (Mid-autumn Festival)"),
        (date(2025, 1, 1), H, "元旦 (New Year's Day)"),
    ],
)
def test_package_records(day: date, kind: ScheduleKind, name: str) -> None:
    by_day = {r.day: r for r in package_records()}
    assert (by_day[day].kind, by_day[day].name) == (kind, name)


def test_overrides_replace_the_package_and_declare_their_year() -> None:
    schedule = build_schedule(
        [
            DayRecord(date(2026, 10, 8), H, "国庆节 (extra)"),
            DayRecord(date(2027, 1, 1), H, "元旦"),
        ],
        official_years=[2028],
    )
    assert schedule.days[date(2026, 10, 8)].kind is H
    assert schedule.days[date(2026, 2, 14)].kind is W
    assert {2026, 2027, 2028} <= schedule.official_years
    assert build_schedule(include_package=False).official_years == frozenset()
    cal = official_calendar([DayRecord(date(2026, 10, 8), H, "test")])
    assert cal.explain_day(date(2026, 10, 8)).kind is DayKind.HOLIDAY


@pytest.mark.parametrize(
    ("text", "kind"),
    [("holiday", H), (" Holiday ", H), ("休", H), ("workday", W), ("班", W), ("makeup_workday", W)],
)
def test_parse_kind(text: str, kind: ScheduleKind) -> None:
    assert parse_kind(text) is kind


CSV_2027 = """\ufeffdate,kind,name
# 2027 schedule (example rows)
2027-01-01,holiday,元旦

2027-02-06,holiday,春节
2027/02/20,workday,春节
2027-10-09,班
"""


def test_parse_csv() -> None:
    records = parse_csv(CSV_2027)
    assert records == [
        DayRecord(date(2027, 1, 1), H, "元旦"),
        DayRecord(date(2027, 2, 6), H, "春节"),
        DayRecord(date(2027, 2, 20), W, "春节"),
        DayRecord(date(2027, 10, 9), W, ""),
    ]
    assert parse_csv("2027-01-01,holiday,元旦\n") == [DayRecord(date(2027, 1, 1), H, "元旦")]  # no header


def test_parse_csv_reports_every_bad_row_with_its_line() -> None:
    text = "date,kind,name\n2027-01-01,holiday,元旦\n2027-02-30,holiday,x\n2027-03-01,party\n2027-01-01,workday\n2027-04-01\n"
    with pytest.raises(CalendarImportError) as err:
        parse_csv(text)
    lines = [(p.line, p.message) for p in err.value.problems]
    assert [line for line, _ in lines] == [3, 4, 5, 6]
    assert "YYYY-MM-DD" in lines[0][1]
    assert "'holiday' or 'workday'" in lines[1][1]
    assert "listed twice (first on line 2)" in lines[2][1]
    assert "2 or 3 columns" in lines[3][1]
    assert "line 3:" in str(err.value)


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("", 1, "no rows"),
        ("date,type,name\n2027-01-01,holiday,x\n", 1, "header"),
        ('2027-01-01,holiday,"a","b"\n', 1, "2 or 3 columns"),
    ],
)
def test_parse_csv_errors(text: str, line: int, fragment: str) -> None:
    with pytest.raises(CalendarImportError) as err:
        parse_csv(text)
    assert err.value.problems[0].line == line
    assert fragment in err.value.problems[0].message


YAML_LIST = """
- {date: 2027-01-01, kind: holiday, name: 元旦}
- date: 2027-02-20
  kind: workday
  name: 春节
"""

YAML_MAPPING = """
year: 2027
days:
  - {date: 2027-01-01, kind: holiday, name: 元旦}
  - {date: 2027-02-20, kind: workday}
"""


def test_parse_yaml_forms() -> None:
    assert parse_yaml(YAML_LIST) == [
        DayRecord(date(2027, 1, 1), H, "元旦"),
        DayRecord(date(2027, 2, 20), W, "春节"),
    ]
    assert parse_yaml(YAML_MAPPING) == [
        DayRecord(date(2027, 1, 1), H, "元旦"),
        DayRecord(date(2027, 2, 20), W, ""),
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "year: 2027\ndays:\n  - {date: 2027-01-01, kind: holiday}\n  - {date: 2026-12-31, kind: holiday}\n",
            [(4, "not in year 2027")],
        ),
        (
            "- {date: 2027-13-01, kind: holiday}\n- {date: 2027-01-02, kind: off}\n",
            [(1, "YYYY-MM-DD"), (2, "'holiday' or 'workday'")],
        ),
        ("- {date: 2027-01-01, kind: holiday, colour: red}\n", [(1, "unknown field 'colour'")]),
        ("- {date: 2027-01-01, kind: [holiday]}\n", [(1, "single value")]),
        ("- 2027-01-01\n", [(1, "mapping")]),
        ("days: 5\n", [(1, "list of days")]),
        ("year: 2027\nweeks: []\ndays: []\n", [(2, "unknown key 'weeks'")]),
        ("- {date: 2027-01-01, kind: holiday\n", [(2, "not valid YAML")]),
        ("[]\n", [(1, "no days")]),
    ],
)
def test_parse_yaml_errors(text: str, expected: list[tuple[int, str]]) -> None:
    with pytest.raises(CalendarImportError) as err:
        parse_yaml(text)
    got = [(p.line, p.message) for p in err.value.problems]
    assert len(got) >= len(expected), got
    for (line, fragment), (got_line, message) in zip(expected, got, strict=False):
        assert (got_line, fragment in message) == (line, True), got


def test_parse_import_dispatches_on_the_file_name() -> None:
    assert parse_import(CSV_2027, "holidays-2027.CSV")[0].day == date(2027, 1, 1)
    assert parse_import(YAML_LIST, "2027.yml")[1].kind is W
    with pytest.raises(CalendarImportError, match="unsupported file type"):
        parse_import("x", "2027.xlsx")


def test_csv_export_round_trip() -> None:
    records = parse_csv(CSV_2027)
    assert parse_csv(records_to_csv(records)) == sorted(records, key=lambda r: r.day)


def test_imported_year_drives_the_calendar() -> None:
    cal = official_calendar(parse_csv(CSV_2027))
    assert cal.explain_day(date(2027, 2, 20)).describe().startswith("2027-02-20 (Saturday): working day")
    assert cal.explain_day(date(2027, 1, 1)).official
    assert not cal.is_working_day(date(2027, 1, 1))
