"""Plain values behind :mod:`minxin.core.calendar`: day kinds, schedules, business hours, results.

They are split from the engine so that the DB layer (``sla/`` tables), the import parser
(:mod:`minxin.core.official_calendar`) and the CLI can build and show them without the maths.
Everything here is immutable and free of I/O and of the clock.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, tzinfo
from enum import StrEnum
from types import MappingProxyType
from zoneinfo import ZoneInfo

__all__ = [
    "DEFAULT_HOURS",
    "SHANGHAI",
    "BusinessHours",
    "DayInfo",
    "DayKind",
    "DayRecord",
    "DueResult",
    "Schedule",
    "ScheduleKind",
    "parse_instant",
    "require_aware",
]

SHANGHAI = ZoneInfo("Asia/Shanghai")
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


class ScheduleKind(StrEnum):
    """What an official-schedule entry says about a date (the ``kind`` column of an import file).

    ``holiday``: a day off (statutory holiday, including the weekend days inside a holiday period).
    ``workday``: a working day; on a Saturday/Sunday this is a 调休 make-up working day.
    """

    HOLIDAY = "holiday"
    WORKDAY = "workday"


class DayKind(StrEnum):
    """What a date is, after applying the schedule to the Monday–Friday week."""

    WORKDAY = "workday"
    WEEKEND = "weekend"
    HOLIDAY = "holiday"
    MAKEUP_WORKDAY = "makeup_workday"  # 调休上班: a Saturday or Sunday that is a working day

    @property
    def working(self) -> bool:
        return self in (DayKind.WORKDAY, DayKind.MAKEUP_WORKDAY)


@dataclass(frozen=True, slots=True)
class DayRecord:
    """One entry of an official schedule: ``day`` is a ``kind`` (holiday/workday), named ``name``."""

    day: date
    kind: ScheduleKind
    name: str = ""

    def __post_init__(self) -> None:
        if isinstance(self.day, datetime) or not isinstance(self.day, date):
            raise TypeError(f"DayRecord.day must be a date, got {self.day!r}")
        object.__setattr__(self, "kind", ScheduleKind(self.kind))


@dataclass(frozen=True, eq=False)
class Schedule:
    """The official schedule as data: exceptions to the Monday–Friday week, by date.

    ``official_years`` are the years whose schedule is known (from the ``chinesecalendar`` package
    or entered by an admin). Outside them only weekends are days off, and every result that
    touches such a year says so (see :attr:`DueResult.unofficial_years`).
    """

    days: Mapping[date, DayRecord]
    official_years: frozenset[int]

    @classmethod
    def from_records(
        cls, records: Iterable[DayRecord], official_years: Iterable[int] | None = None
    ) -> Schedule:
        """Build from records; a later record for the same date replaces an earlier one.

        ``official_years`` defaults to the years that have at least one record (an admin who
        enters a year's holidays declares that year's schedule).
        """
        days: dict[date, DayRecord] = {}
        for record in records:
            days[record.day] = record
        years = frozenset(official_years) if official_years is not None else frozenset(d.year for d in days)
        return cls(MappingProxyType(days), years)

    def __repr__(self) -> str:
        years = sorted(self.official_years)
        span = f"{years[0]}..{years[-1]}" if years else "none"
        return f"Schedule({len(self.days)} days, official years {span} ({len(years)}))"

    @classmethod
    def empty(cls) -> Schedule:
        """No official schedule at all: weekends only, every year flagged."""
        return cls(MappingProxyType({}), frozenset())


def _seconds(t: time) -> int:
    if t.microsecond or t.tzinfo is not None:
        raise ValueError(f"business hours must be naive whole-second local times, got {t!r}")
    return (t.hour * 60 + t.minute) * 60 + t.second


def _parse_clock(text: str) -> time | None:
    text = text.strip()
    if text in ("24:00", "24:00:00"):
        return None
    try:
        return time.fromisoformat(text)
    except ValueError:
        raise ValueError(f"invalid time {text!r} in business hours; expected HH:MM") from None


@dataclass(frozen=True, slots=True)
class BusinessHours:
    """Business hours of a unit: the same local-time spans on every working day, or 24×7.

    ``spans`` are half-open ``[start, end)`` local times, sorted and not overlapping; an ``end`` of
    ``time(0)`` means 24:00. ``always_open=True`` (24×7) makes every second working time, holidays
    included; working *days* are still the official working days (工作日 is a legal notion), and a
    working day then ends at 24:00.
    """

    spans: tuple[tuple[time, time], ...] = ((time(8, 30), time(12)), (time(13, 30), time(17, 30)))
    always_open: bool = False
    seconds: tuple[tuple[int, int], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        spans = tuple((start, end) for start, end in self.spans)
        object.__setattr__(self, "spans", spans)
        if self.always_open:
            object.__setattr__(self, "seconds", ((0, 86400),))
            return
        if not spans:
            raise ValueError("business hours need at least one span (or always_open=True for 24×7)")
        secs: list[tuple[int, int]] = []
        for start, end in spans:
            s, e = _seconds(start), _seconds(end) or 86400
            if s >= e:
                raise ValueError(f"business-hours span {start:%H:%M}-{end:%H:%M} must end after it starts")
            if secs and s < secs[-1][1]:
                raise ValueError("business-hours spans must be sorted and must not overlap")
            secs.append((s, e))
        object.__setattr__(self, "seconds", tuple(secs))

    @classmethod
    def twenty_four_seven(cls) -> BusinessHours:
        """24×7: every second is working time."""
        return cls(spans=(), always_open=True)

    @classmethod
    def parse(cls, text: str) -> BusinessHours:
        """Parse ``"08:30-12:00,13:30-17:30"`` or ``"24x7"`` (also ``24×7``, ``24/7``)."""
        cleaned = text.strip().lower().replace("×", "x").replace("/", "x")
        if cleaned == "24x7":
            return cls.twenty_four_seven()
        spans: list[tuple[time, time]] = []
        for part in filter(None, (p.strip() for p in re.split(r"[,;]", cleaned))):
            bounds = part.split("-")
            if len(bounds) != 2:
                raise ValueError(f"invalid business-hours span {part!r}; expected HH:MM-HH:MM")
            start, end = _parse_clock(bounds[0]), _parse_clock(bounds[1])
            if start is None:
                raise ValueError(f"a business-hours span cannot start at 24:00: {part!r}")
            spans.append((start, end if end is not None else time(0)))
        return cls(spans=tuple(spans))

    def __str__(self) -> str:
        if self.always_open:
            return "24x7"
        return ",".join(
            f"{s // 3600:02d}:{s % 3600 // 60:02d}-{e // 3600:02d}:{e % 3600 // 60:02d}"
            for s, e in self.seconds
        )

    @property
    def working_seconds_per_day(self) -> int:
        """Working seconds in one working day (27,000 = 7.5 h for the default hours)."""
        return sum(e - s for s, e in self.seconds)


DEFAULT_HOURS = BusinessHours()


@dataclass(frozen=True, slots=True)
class DayInfo:
    """Why a date is or is not a working day (``minxin calendar check``)."""

    day: date
    kind: DayKind
    name: str
    official: bool  # False: the year has no official schedule, only weekends were applied

    @property
    def working(self) -> bool:
        return self.kind.working

    def describe(self) -> str:
        """One line, e.g. ``2026-02-14 (Saturday): working day — make-up working day (调休) for 春节``."""
        head = f"{self.day.isoformat()} ({_WEEKDAYS[self.day.weekday()]}): "
        head += "working day" if self.working else "not a working day"
        if self.kind is DayKind.HOLIDAY:
            why = f"holiday {self.name}".rstrip()
        elif self.kind is DayKind.MAKEUP_WORKDAY:
            why = "make-up working day (调休)" + (f" for {self.name}" if self.name else "")
        elif self.kind is DayKind.WEEKEND:
            why = "weekend"
        else:
            why = "weekday" + (f" ({self.name})" if self.name else "")
        text = f"{head} — {why}"
        if not self.official:
            text += (
                f"; WARNING: no official schedule for this year ({self.day.year}), "
                "only weekends are applied; import it with `minxin calendar import`"
            )
        return text


@dataclass(frozen=True, slots=True)
class DueResult:
    """The result of :meth:`WorkingCalendar.add`: the due instant and the unofficial years touched.

    ``unofficial_years`` lists (ascending) every year between the start's and the due's local dates
    that has no official schedule; when it is not empty the due was computed with weekends only and
    callers must warn (API field and log line), see :attr:`warning`.
    """

    due: datetime
    unofficial_years: tuple[int, ...] = ()

    @property
    def official(self) -> bool:
        return not self.unofficial_years

    @property
    def warning(self) -> str | None:
        """The warning to show and log, or ``None`` when every year touched is official."""
        if not self.unofficial_years:
            return None
        years = ", ".join(str(y) for y in self.unofficial_years)
        return (
            f"no official schedule for {years}: holidays and make-up working days are unknown, "
            "the due time was computed with weekends only (无官方节假日安排，仅按周末计算)"
        )

    def isoformat(self) -> str:
        """The due instant in ISO 8601 with its UTC offset, to the second."""
        return self.due.isoformat(timespec="seconds" if not self.due.microsecond else "microseconds")


def require_aware(value: datetime, what: str = "instant") -> None:
    """Raise ``ValueError`` unless ``value`` is a timezone-aware datetime."""
    if not isinstance(value, datetime):
        raise TypeError(f"{what} must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(
            f"{what} {value.isoformat()} is a naive datetime; calendar maths needs a timezone-aware "
            "instant (e.g. 2026-02-13T10:00:00+08:00)"
        )


def parse_instant(text: str, tz: tzinfo = SHANGHAI) -> datetime:
    """Parse ISO 8601 (``2026-02-13T10:00:00+08:00``, ``...Z``, ``2026-02-13 10:00``, ``2026-02-13``).

    For the CLI: text without an offset is read as local time in ``tz`` (stated explicitly here,
    the calendar itself refuses naive datetimes).
    """
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(
            f"invalid instant {text!r}; expected ISO 8601 like 2026-02-13T10:00:00+08:00"
        ) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=tz)
    return value
