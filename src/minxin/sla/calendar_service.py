"""The working calendar as the database knows it: package schedule + admin days + unit hours.

* The schedule is ``chinesecalendar``'s data with the admin rows of ``sla_calendar_days`` on
  top (an admin row for a date replaces the package's); a year with at least one admin row is
  official. Admins replace a year's rows (``PUT /calendar/days``) or import a CSV/YAML file.
* A unit's calendar is that schedule with the unit's business hours: ``units.always_open`` →
  24×7, ``units.business_hours`` (``[["08:30","12:00"], ...]``) → those spans, NULL → the default
  08:30–12:00, 13:30–17:30. All in Asia/Shanghai.

Caching: ``WorkingCalendar`` objects are cached per process under (configuration token, hours).
Every calendar write changes the token (``sla.config_token`` in ``app_settings``), so all processes
rebuild on their next read; a unit's hours are part of the key, so a change of hours needs no
invalidation at all. Invariant: the token is read *before* the rows, so a cache entry is never
older than its token.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from minxin.core.calendar import WorkingCalendar
from minxin.core.calendar_model import DEFAULT_HOURS, SHANGHAI, BusinessHours, DayInfo, DayRecord, DueResult
from minxin.core.duration import CountingRule, Duration
from minxin.core.official_calendar import (
    CalendarImportError,
    build_schedule,
    package_records,
    package_years,
    parse_import,
)
from minxin.errors import Invalid, NotFound
from minxin.sla import repository
from minxin.sla.models import CalendarDay
from minxin.units.models import Unit

log = logging.getLogger("minxin.sla")

TZ = SHANGHAI
MAX_IMPORT_BYTES = 1024 * 1024

_lock = threading.Lock()
_calendars: dict[tuple[str, str], WorkingCalendar] = {}
_token_seen: list[str] = [""]


# ----------------------------------------------------------------------------- hours
def hours_of(unit: Unit | None) -> BusinessHours:
    """A unit's business hours; bad stored hours fall back to the default (and are logged)."""
    if unit is None:
        return DEFAULT_HOURS
    if unit.always_open:
        return BusinessHours.twenty_four_seven()
    if not unit.business_hours:
        return DEFAULT_HOURS
    try:
        return BusinessHours.parse(",".join(f"{a}-{b}" for a, b in unit.business_hours))
    except (ValueError, TypeError) as exc:
        log.warning("unit %s has invalid business hours %r (%s); using the default", unit.code, unit.business_hours, exc)
        return DEFAULT_HOURS


# ----------------------------------------------------------------------------- calendars
def calendar(session: Session, hours: BusinessHours = DEFAULT_HOURS, token: str | None = None) -> WorkingCalendar:
    """The working calendar with these hours, cached under the configuration token."""
    token = token if token is not None else repository.config_token(session)
    key = (token, str(hours))
    with _lock:
        if _token_seen[0] != token:
            _calendars.clear()
            _token_seen[0] = token
        hit = _calendars.get(key)
        base = next(iter(_calendars.values()), None)
    if hit is not None:
        return hit
    if base is None:
        base = WorkingCalendar(_schedule_from_rows(repository.calendar_days(session)), DEFAULT_HOURS, TZ)
    cal = base if str(base.hours) == str(hours) else base.with_hours(hours)
    with _lock:
        if _token_seen[0] == token:
            _calendars.setdefault((token, str(base.hours)), base)
            _calendars[key] = cal
    return cal


def unit_calendar(session: Session, unit: Unit | None, token: str | None = None) -> WorkingCalendar:
    return calendar(session, hours_of(unit), token)


def _schedule_from_rows(rows: Iterable[CalendarDay]) -> Any:
    records = [DayRecord(r.day, r.kind, r.name) for r in rows]
    return build_schedule(records)


def package_calendar(hours: BusinessHours = DEFAULT_HOURS) -> WorkingCalendar:
    """The packaged schedule alone (the CLI uses it when there is no database yet)."""
    return WorkingCalendar(build_schedule(), hours, TZ)


def clear_cache() -> None:
    with _lock:
        _calendars.clear()
        _token_seen[0] = ""


# ----------------------------------------------------------------------------- questions
@dataclass(frozen=True)
class DueAnswer:
    start: datetime
    duration: Duration
    rule: CountingRule
    hours: BusinessHours
    unit: str | None
    result: DueResult

    def to_dict(self) -> dict[str, Any]:
        return {
            "start": self.start.astimezone(TZ).isoformat(),
            "duration": str(self.duration),
            "rule": self.duration.describe(self.rule),
            "rule_zh": self.duration.describe_zh(self.rule),
            "counting_rule": self.rule.value,
            "unit": self.unit,
            "hours": str(self.hours),
            "due": self.result.isoformat(),
            "official": self.result.official,
            "unofficial_years": list(self.result.unofficial_years),
            "warning": self.result.warning,
        }


def due(cal: WorkingCalendar, start: datetime, duration: Duration, rule: CountingRule, unit: str | None) -> DueAnswer:
    """``start + duration`` on ``cal``; logs a warning when a year without a schedule is touched."""
    result = cal.add(start, duration, rule)
    if result.warning:
        log.warning("calendar due %s + %s: %s", start.isoformat(), duration, result.warning)
    return DueAnswer(start, duration, rule, cal.hours, unit, result)


def check(cal: WorkingCalendar, day: date) -> dict[str, Any]:
    info: DayInfo = cal.explain_day(day)
    warning = None
    if not info.official:
        warning = (
            f"no official schedule for {day.year}: only weekends are applied "
            f"(无{day.year}年官方节假日安排，仅按周末判断); import it with `minxin calendar import`"
        )
        log.warning("calendar check %s: %s", day.isoformat(), warning)
    return {
        "date": day.isoformat(),
        "weekday": day.isoweekday(),
        "working": info.working,
        "kind": info.kind.value,
        "name": info.name,
        "official": info.official,
        "description": info.describe(),
        "warning": warning,
    }


def require_unit(session: Session, code: str) -> Unit:
    unit = repository.unit_by_code(session, code)
    if unit is None:
        raise NotFound(f"单位不存在：{code}", f"Unknown unit '{code}'", code="unit.not_found")
    return unit


# ----------------------------------------------------------------------------- admin view and writes
def year_view(session: Session, year: int) -> dict[str, Any]:
    """The effective schedule of ``year``: package days overridden by admin days, with sources."""
    admin = {r.day: r for r in repository.calendar_days(session, year)}
    days: dict[date, dict[str, Any]] = {}
    for rec in package_records():
        if rec.day.year == year:
            days[rec.day] = {"date": rec.day.isoformat(), "kind": rec.kind.value, "name": rec.name, "source": "package"}
    for d, row in admin.items():
        days[d] = {
            "date": d.isoformat(),
            "kind": row.kind,
            "name": row.name,
            "source": "admin",
            "updated_by": row.updated_by,
            "updated_at": row.updated_at.isoformat(),
        }
    official = year in package_years() or bool(admin)
    return {
        "year": year,
        "official": official,
        "source": "admin" if admin else ("package" if year in package_years() else None),
        "warning": None if official else f"no official schedule for {year} (无{year}年官方节假日安排)",
        "days": [days[d] for d in sorted(days)],
    }


def replace_year(
    session: Session, year: int, records: Iterable[DayRecord], *, actor: str, now: datetime, source: str = "admin"
) -> int:
    """Make ``records`` the admin days of ``year`` (an empty list removes them). Returns rows written."""
    records = list(records)
    bad = [r.day.isoformat() for r in records if r.day.year != year]
    if bad:
        raise Invalid(
            f"日期不属于{year}年：{', '.join(bad[:5])}",
            f"Dates outside {year}: {', '.join(bad[:5])}",
            code="calendar.wrong_year",
        )
    _refuse_duplicates(records)
    repository.delete_calendar_days(session, years=[year])
    session.flush()
    repository.add_calendar_days(session, (_row(r, actor, now, source) for r in records))
    repository.bump_config_token(session)
    return len(records)


def import_records(
    session: Session, records: list[DayRecord], *, actor: str, now: datetime, merge: bool = False
) -> dict[str, Any]:
    """Import parsed rows: each year in the file replaces that year's admin days (``merge``:
    only the listed dates are replaced). Returns ``{"imported", "years"}``."""
    _refuse_duplicates(records)
    years = sorted({r.day.year for r in records})
    if merge:
        repository.delete_calendar_days(session, days=[r.day for r in records])
    else:
        repository.delete_calendar_days(session, years=years)
    session.flush()
    repository.add_calendar_days(session, (_row(r, actor, now, "import") for r in records))
    repository.bump_config_token(session)
    return {"imported": len(records), "years": years, "mode": "merge" if merge else "replace"}


def parse_file(data: bytes, filename: str) -> list[DayRecord]:
    """Decode and parse an uploaded/imported file; 422 listing every bad line."""
    if len(data) > MAX_IMPORT_BYTES:
        raise Invalid("日历文件过大（上限1MB）", "Calendar file too large (1 MB max)", code="calendar.too_large")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("gb18030")
        except UnicodeDecodeError as exc:
            raise Invalid("无法识别文件编码（请使用UTF-8）", "Cannot decode the file (use UTF-8)", code="calendar.bad_file") from exc
    try:
        return parse_import(text, filename)
    except CalendarImportError as exc:
        problems = [{"line": p.line, "message": p.message} for p in exc.problems]
        raise Invalid(
            f"日历文件有{len(problems)}处错误，未导入任何数据",
            str(exc),
            code="calendar.bad_file",
            details={"problems": problems},
        ) from exc


def _refuse_duplicates(records: list[DayRecord]) -> None:
    seen: set[date] = set()
    for r in records:
        if r.day in seen:
            raise Invalid(f"日期重复：{r.day.isoformat()}", f"{r.day.isoformat()} is listed twice", code="calendar.duplicate_day")
        seen.add(r.day)


def _row(record: DayRecord, actor: str, now: datetime, source: str) -> CalendarDay:
    return CalendarDay(
        day=record.day,
        year=record.day.year,
        kind=record.kind.value,
        name=record.name[:100],
        source=source,
        updated_by=actor,
        updated_at=now,
    )
