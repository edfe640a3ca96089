"""The official schedule as data: ``chinesecalendar`` for the years it knows, plus admin-entered years.

The State Council announces next year's holidays and 调休 make-up working days each November, and
no package has them until a release follows; admins import them (``minxin calendar import FILE``)
or edit them in the admin API. This module turns both sources into one :class:`Schedule`:

* :func:`package_records` / :func:`package_years` read ``chinese_calendar.constants`` (pure data;
  chinesecalendar 1.11 knows 2004–2026).
* :func:`build_schedule` merges admin records over the package (an admin record for a date
  replaces the package's), and declares official every package year, every year with an admin
  record, and any ``official_years`` given.
* :func:`parse_csv` / :func:`parse_yaml` / :func:`parse_import` turn an import file's *text* into
  records, or raise :class:`CalendarImportError` listing every bad row with its line number.

Import formats (``kind`` is ``holiday`` or ``workday``; a ``workday`` on a weekend is 调休)::

    # CSV, header optional, '#' comments and blank lines ignored
    date,kind,name
    2027-01-01,holiday,元旦
    2027-02-07,workday,春节

    # YAML: a list of rows, or a mapping with a ``days`` list (and optionally ``year``)
    year: 2027
    days:
      - {date: 2027-01-01, kind: holiday, name: 元旦}
      - {date: 2027-02-07, kind: workday, name: 春节}
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, tzinfo
from functools import cache
from typing import Any

from minxin.core.calendar import WorkingCalendar
from minxin.core.calendar_model import (
    DEFAULT_HOURS,
    SHANGHAI,
    BusinessHours,
    DayRecord,
    Schedule,
    ScheduleKind,
)

__all__ = [
    "CalendarImportError",
    "ImportProblem",
    "build_schedule",
    "official_calendar",
    "package_records",
    "package_years",
    "parse_csv",
    "parse_import",
    "parse_kind",
    "parse_yaml",
    "records_to_csv",
]

_KIND_ALIASES = {
    "holiday": ScheduleKind.HOLIDAY,
    "休": ScheduleKind.HOLIDAY,
    "假": ScheduleKind.HOLIDAY,
    "workday": ScheduleKind.WORKDAY,
    "makeup_workday": ScheduleKind.WORKDAY,
    "班": ScheduleKind.WORKDAY,
    "上班": ScheduleKind.WORKDAY,
}
_FIELDS = ("date", "kind", "name")


@dataclass(frozen=True, slots=True)
class ImportProblem:
    """One bad row of an import file: 1-based ``line`` and what is wrong with it."""

    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


class CalendarImportError(ValueError):
    """An import file has bad rows; ``problems`` lists all of them (nothing is imported)."""

    def __init__(self, problems: Iterable[ImportProblem]) -> None:
        self.problems = tuple(problems)
        shown = "; ".join(str(p) for p in self.problems[:20])
        more = f" (and {len(self.problems) - 20} more)" if len(self.problems) > 20 else ""
        super().__init__(f"calendar import failed, {len(self.problems)} problem(s): {shown}{more}")


# ----------------------------------------------------------------------------- package data
@cache
def package_records() -> tuple[DayRecord, ...]:
    """Every holiday and make-up working day ``chinesecalendar`` knows, named "春节 (Spring Festival)"."""
    from chinese_calendar import constants

    chinese = {member.value: member.chinese for member in constants.Holiday}

    def name(english: str) -> str:
        return f"{chinese[english]} ({english})" if english in chinese else english

    records = [DayRecord(d, ScheduleKind.HOLIDAY, name(n)) for d, n in constants.holidays.items()]
    records += [DayRecord(d, ScheduleKind.WORKDAY, name(n)) for d, n in constants.workdays.items()]
    return tuple(sorted(records, key=lambda r: r.day))


@cache
def package_years() -> frozenset[int]:
    """The years ``chinesecalendar`` has an official schedule for."""
    return frozenset(r.day.year for r in package_records())


def build_schedule(
    overrides: Iterable[DayRecord] = (),
    *,
    official_years: Iterable[int] = (),
    include_package: bool = True,
) -> Schedule:
    """Package data (unless ``include_package=False``) with admin ``overrides`` applied on top.

    Official years = package years ∪ years of the overrides ∪ ``official_years``.
    """
    overrides = tuple(overrides)
    base = package_records() if include_package else ()
    years = set(official_years) | {r.day.year for r in overrides}
    if include_package:
        years |= package_years()
    return Schedule.from_records((*base, *overrides), frozenset(years))


def official_calendar(
    overrides: Iterable[DayRecord] = (),
    *,
    hours: BusinessHours = DEFAULT_HOURS,
    tz: tzinfo = SHANGHAI,
    official_years: Iterable[int] = (),
) -> WorkingCalendar:
    """Convenience: a :class:`WorkingCalendar` over :func:`build_schedule`."""
    return WorkingCalendar(build_schedule(overrides, official_years=official_years), hours, tz)


# ----------------------------------------------------------------------------- import files
def parse_kind(text: str) -> ScheduleKind:
    """``holiday`` (also 休/假) or ``workday`` (also makeup_workday/班/上班); ``ValueError`` otherwise."""
    kind = _KIND_ALIASES.get(text.strip().lower())
    if kind is None:
        raise ValueError(f"kind must be 'holiday' or 'workday', got {text.strip()!r}")
    return kind


def _parse_date(text: str) -> date:
    cleaned = text.strip().replace("/", "-")
    try:
        year, month, day = (int(part) for part in cleaned.split("-"))
        return date(year, month, day)
    except ValueError:
        raise ValueError(f"date must be YYYY-MM-DD, got {text.strip()!r}") from None


def _row(
    line: int, values: dict[str, str], problems: list[ImportProblem], seen: dict[date, int]
) -> DayRecord | None:
    try:
        day = _parse_date(values.get("date", ""))
        kind = parse_kind(values.get("kind", ""))
    except ValueError as exc:
        problems.append(ImportProblem(line, str(exc)))
        return None
    if day in seen:
        problems.append(ImportProblem(line, f"{day.isoformat()} is listed twice (first on line {seen[day]})"))
        return None
    seen[day] = line
    return DayRecord(day, kind, values.get("name", "").strip())


def parse_csv(text: str) -> list[DayRecord]:
    """Parse CSV rows ``date,kind,name`` (header optional, name optional); see the module docstring."""
    problems: list[ImportProblem] = []
    records: list[DayRecord] = []
    seen: dict[date, int] = {}
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    first = True
    for cells in reader:
        line = reader.line_num
        cells = [c.strip() for c in cells]
        if not any(cells) or cells[0].startswith("#"):
            continue
        if first and cells[0].lower() == "date":
            first = False
            if tuple(c.lower() for c in cells) not in (_FIELDS, _FIELDS[:2]):
                problems.append(
                    ImportProblem(line, f"header must be 'date,kind,name', got {','.join(cells)!r}")
                )
            continue
        first = False
        if len(cells) not in (2, 3):
            problems.append(
                ImportProblem(line, f"expected 2 or 3 columns (date,kind,name), got {len(cells)}")
            )
            continue
        record = _row(line, dict(zip(_FIELDS, cells, strict=False)), problems, seen)
        if record is not None:
            records.append(record)
    if problems:
        raise CalendarImportError(problems)
    if not records:
        raise CalendarImportError([ImportProblem(1, "no rows: expected lines like 2027-01-01,holiday,元旦")])
    return records


def parse_yaml(text: str) -> list[DayRecord]:
    """Parse the YAML form (a list of ``{date, kind, name}`` or ``{year, days: [...]}``)."""
    import yaml  # a pure parser; imported lazily so the calendar maths never needs it

    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        raise CalendarImportError(
            [ImportProblem(line, f"not valid YAML: {getattr(exc, 'problem', exc)}")]
        ) from None
    problems: list[ImportProblem] = []
    year: int | None = None
    rows: Any = root
    if isinstance(root, yaml.MappingNode):
        top = {k.value: v for k, v in root.value}
        for key, node in top.items():
            if key not in ("year", "days"):
                problems.append(
                    ImportProblem(node.start_mark.line + 1, f"unknown key {key!r} (expected year, days)")
                )
        if "year" in top:
            try:
                year = int(top["year"].value)
            except (TypeError, ValueError):
                problems.append(
                    ImportProblem(top["year"].start_mark.line + 1, "year must be a number like 2027")
                )
        rows = top.get("days")
    if not isinstance(rows, yaml.SequenceNode):
        line = rows.start_mark.line + 1 if rows is not None else 1
        problems.append(
            ImportProblem(line, "expected a list of days: - {date: 2027-01-01, kind: holiday, name: 元旦}")
        )
        raise CalendarImportError(problems)
    records: list[DayRecord] = []
    seen: dict[date, int] = {}
    for item in rows.value:
        line = item.start_mark.line + 1
        if not isinstance(item, yaml.MappingNode):
            problems.append(ImportProblem(line, "each day must be a mapping with date, kind and name"))
            continue
        values: dict[str, str] = {}
        for key, node in item.value:
            if key.value not in _FIELDS:
                problems.append(ImportProblem(key.start_mark.line + 1, f"unknown field {key.value!r}"))
            elif not isinstance(node, yaml.ScalarNode):
                problems.append(
                    ImportProblem(node.start_mark.line + 1, f"{key.value} must be a single value")
                )
            else:
                values[key.value] = str(node.value)
        record = _row(line, values, problems, seen)
        if record is not None and year is not None and record.day.year != year:
            problems.append(ImportProblem(line, f"{record.day.isoformat()} is not in year {year}"))
        elif record is not None:
            records.append(record)
    if problems:
        raise CalendarImportError(problems)
    if not records:
        raise CalendarImportError([ImportProblem(1, "no days listed")])
    return records


def parse_import(text: str, filename: str) -> list[DayRecord]:
    """Dispatch on the file name: ``.csv`` → :func:`parse_csv`, ``.yaml``/``.yml`` → :func:`parse_yaml`."""
    lowered = filename.lower()
    if lowered.endswith(".csv"):
        return parse_csv(text)
    if lowered.endswith((".yaml", ".yml")):
        return parse_yaml(text)
    raise CalendarImportError(
        [ImportProblem(1, f"unsupported file type {filename!r}: use .csv, .yaml or .yml")]
    )


def records_to_csv(records: Iterable[DayRecord]) -> str:
    """CSV export that :func:`parse_csv` reads back (for the admin API's download)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(_FIELDS)
    for record in sorted(records, key=lambda r: r.day):
        writer.writerow((record.day.isoformat(), record.kind.value, record.name))
    return out.getvalue()
