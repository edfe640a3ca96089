"""``minxin calendar …``: due times and working days for people who check deadlines by hand,
and the admin's import/export of the official schedule.

``due`` and ``check`` print their answer on stdout (one line, machine-readable) and any warning —
a year without an official schedule — on stderr. They read the schedule from the database (package
data + admin days); with no database yet (the default SQLite file does not exist) they use the
packaged schedule and create nothing. Exit status 2 for bad input.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from minxin.core.calendar import WorkingCalendar
    from minxin.db.session import Database

app = typer.Typer(help="Working calendar: due times, working days, the official schedule", no_args_is_help=True)

DbOption = Annotated[str | None, typer.Option("--db", help="database URL (default: MINXIN_DATABASE_URL or ./minxin.db)")]
UnitOption = Annotated[str | None, typer.Option("--unit", help="use this unit's business hours (unit code)")]


def fail(message: str) -> typer.Exit:
    typer.echo(message, err=True)
    return typer.Exit(code=2)


def open_db(db: str | None, *, create: bool) -> Database | None:
    """The database (migrated), or None when it is a SQLite file that does not exist and
    ``create`` is False (read-only questions must not create files)."""
    from sqlalchemy.engine import make_url

    from minxin.config import Settings
    from minxin.db.migrate import upgrade
    from minxin.db.session import Database, normalise_url

    settings = Settings()
    url = normalise_url(db or settings.database_url)
    parsed = make_url(url)
    missing = not parsed.database or not Path(parsed.database).exists()
    if parsed.get_backend_name() == "sqlite" and not create and missing:
        return None
    if settings.auto_migrate:
        upgrade(url)
    return Database(url)


def calendar_for(db: str | None, unit: str | None, hours: str | None) -> WorkingCalendar:
    from minxin.core.calendar_model import BusinessHours
    from minxin.errors import DomainError
    from minxin.sla import calendar_service

    explicit = None
    if hours:
        try:
            explicit = BusinessHours.parse(hours)
        except ValueError as exc:
            raise fail(f"invalid --hours: {exc}") from exc
    database = open_db(db, create=False)
    if database is None:
        if unit:
            raise fail(f"单位不存在 Unknown unit '{unit}' (no database)")
        return calendar_service.package_calendar(explicit or calendar_service.DEFAULT_HOURS)
    try:
        with database.reading() as session:
            unit_row = calendar_service.require_unit(session, unit) if unit else None
            hours_ = explicit or calendar_service.hours_of(unit_row)
            return calendar_service.calendar(session, hours_)
    except DomainError as exc:
        raise fail(f"{exc.message_zh} / {exc.message_en}") from exc
    finally:
        database.dispose()


@app.command()
def due(
    start: Annotated[str, typer.Argument(help="ISO 8601 start, e.g. 2026-02-13T16:00+08:00 (no offset = Asia/Shanghai)")],
    duration: Annotated[str, typer.Argument(help="30m, 2h, 3d (natural) · 8wh (working hours) · 1wd, 5wd (working days)")],
    unit: UnitOption = None,
    rule: Annotated[str, typer.Option(help="working days: next_day (次日起算) or inclusive (含本数)")] = "next_day",
    hours: Annotated[str | None, typer.Option(help='business hours, e.g. "08:30-12:00,13:30-17:30" or 24x7')] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the whole explanation as JSON")] = False,
    db: DbOption = None,
) -> None:
    """Print the due instant of START + DURATION in ISO 8601 with offset."""
    from minxin.core.calendar_model import parse_instant
    from minxin.core.duration import CountingRule, DurationParseError, parse_duration
    from minxin.sla.calendar_service import TZ, DueAnswer

    try:
        at = parse_instant(start, TZ)
    except ValueError as exc:
        raise fail(str(exc)) from exc
    try:
        span = parse_duration(duration)
    except DurationParseError as exc:
        raise fail(str(exc)) from exc
    try:
        counting = CountingRule(rule)
    except ValueError as exc:
        raise fail("--rule must be next_day or inclusive") from exc
    cal = calendar_for(db, unit, hours)
    try:
        result = cal.add(at, span, counting)
    except (OverflowError, ValueError) as exc:
        raise fail(str(exc)) from exc
    answer = DueAnswer(at, span, counting, cal.hours, unit, result)
    typer.echo(json.dumps(answer.to_dict(), ensure_ascii=False, indent=2) if as_json else result.isoformat())
    if result.warning:
        typer.echo(f"WARNING: {result.warning}; import the schedule with `minxin calendar import FILE`", err=True)


@app.command()
def check(
    day: Annotated[str, typer.Argument(metavar="DATE", help="YYYY-MM-DD")],
    unit: UnitOption = None,
    db: DbOption = None,
) -> None:
    """Say whether DATE is a working day and why (weekend, holiday, 调休 make-up day, no schedule)."""
    try:
        when = date.fromisoformat(day.strip()[:10])
    except ValueError as exc:
        raise fail(f"DATE must be YYYY-MM-DD, got {day!r}") from exc
    cal = calendar_for(db, unit, None)
    info = cal.explain_day(when)
    typer.echo(info.describe())
    if not info.official:
        typer.echo(
            f"WARNING: no official schedule for this year ({when.year}); import it with `minxin calendar import FILE`",
            err=True,
        )


@app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(help="CSV (date,kind,name) or YAML; kind is holiday or workday")],
    merge: Annotated[bool, typer.Option("--merge", help="replace only the listed dates, not whole years")] = False,
    db: DbOption = None,
) -> None:
    """Import holidays and 调休 make-up working days (each year in the file replaces that year's)."""
    from minxin.core.clock import utcnow
    from minxin.errors import DomainError
    from minxin.sla import calendar_service, deadlines

    try:
        data = file.read_bytes()
    except OSError as exc:
        raise fail(f"无法读取文件 Cannot read {file}: {exc}") from exc
    database = open_db(db, create=True)
    assert database is not None
    try:
        records = calendar_service.parse_file(data, file.name)
        now = utcnow()
        with database.unit_of_work() as session:
            result = calendar_service.import_records(session, records, actor="cli", now=now, merge=merge)
            recomputed = deadlines.refresh_unofficial(session, now=now)
    except DomainError as exc:
        problems = exc.details.get("problems", [])
        lines = [exc.message_zh if problems else f"{exc.message_zh} / {exc.message_en}"]
        lines += [f"  line {p['line']}: {p['message']}" for p in problems]
        raise fail("\n".join(lines)) from exc
    finally:
        database.dispose()
    years = ", ".join(map(str, result["years"]))
    typer.echo(f"导入完成 Imported {result['imported']} days for {years} ({result['mode']}); recomputed {recomputed} open orders")


@app.command()
def export(
    year: Annotated[int | None, typer.Option(help="the effective schedule of this year (package + admin days)")] = None,
    out: Annotated[Path | None, typer.Option(help="write to this file instead of stdout")] = None,
    db: DbOption = None,
) -> None:
    """Print the schedule as CSV that `calendar import` reads back (without --year: the admin days)."""
    from minxin.core.calendar_model import DayRecord
    from minxin.core.official_calendar import package_records, parse_kind, records_to_csv
    from minxin.sla import calendar_service, repository

    database = open_db(db, create=False)
    records: list[DayRecord]
    if database is None:
        records = [r for r in package_records() if year is not None and r.day.year == year]
    else:
        try:
            with database.reading() as session:
                if year is not None:
                    view = calendar_service.year_view(session, year)
                    records = [DayRecord(date.fromisoformat(d["date"]), parse_kind(d["kind"]), d["name"]) for d in view["days"]]
                else:
                    records = [DayRecord(r.day, parse_kind(r.kind), r.name) for r in repository.calendar_days(session)]
        finally:
            database.dispose()
    text = records_to_csv(records)
    if out is not None:
        out.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {len(records)} days to {out}", err=True)
    else:
        typer.echo(text, nl=False)
