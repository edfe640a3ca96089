"""``minxin report …`` (``app``) and ``minxin import FILE`` (``import_app``).

``minxin report monthly --month 2026-10 [--unit CODE] [--format table|json|xlsx|csv] [--out FILE]``
prints or writes the monthly report; ``minxin import FILE`` loads history (see ``importer``) with a
progress bar and lists rejected rows with their reasons (``--rejects FILE`` writes all of them as
CSV). Exit status: 0 done, 1 rows rejected (nothing loaded), 2 bad input.
"""

from __future__ import annotations

import csv
from datetime import datetime
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from minxin.cli import DbOption, open_state
from minxin.errors import DomainError

app = typer.Typer(help="报表与考核 Reports and the unit scorecard", no_args_is_help=True)
import_app = typer.Typer(
    help="导入历史工单 Import historical orders (CSV/XLSX)",
    invoke_without_command=True,
    # a group with one positional: let options follow the file (minxin import FILE --db URL)
    context_settings={"allow_interspersed_args": True},
)
console = Console()
err = Console(stderr=True)
FORMATS = ("table", "json", "xlsx", "csv")


def _fail(exc: DomainError) -> typer.Exit:
    err.print(f"[red]{exc.message_zh} / {exc.message_en}[/]")
    return typer.Exit(code=2)


def _parse_as_of(text: str | None, default: datetime) -> datetime:
    if not text:
        return default
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"--as-of must be ISO 8601 with an offset, got {text!r}") from None
    if value.utcoffset() is None:
        raise typer.BadParameter("--as-of needs a UTC offset, e.g. 2026-11-01T00:00:00+08:00")
    return value


@app.command("monthly")
def monthly(
    month: Annotated[str, typer.Option("--month", help="YYYY-MM")],
    unit: Annotated[str | None, typer.Option("--unit", help="restrict to this unit's subtree")] = None,
    fmt: Annotated[str, typer.Option("--format", help="table | json | xlsx | csv")] = "table",
    out: Annotated[Path | None, typer.Option("--out", help="output file (xlsx defaults to report-MONTH.xlsx)")] = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help="judge waiting orders at this instant (default: now)")] = None,
    db: DbOption = None,
) -> None:
    """The monthly report: every KPI, comparisons (MoM, YoY, 3-year average), unit ranking, breakdowns."""
    from minxin.reports import exporter, report, service

    if fmt not in FORMATS:
        raise typer.BadParameter(f"--format must be one of {', '.join(FORMATS)}")
    state = open_state(db)
    now = state.clock.now()
    try:
        with state.db.reading() as session:
            scope = service.system_scope(session, unit)
            doc = report.monthly(session, scope, month, as_of=_parse_as_of(as_of, now), generated_at=now)
    except DomainError as exc:
        raise _fail(exc) from exc
    if fmt == "table":
        for table in exporter.to_tables(doc):
            console.print(table)
        return
    if fmt == "xlsx" and out is None:
        out = Path(f"report-{month}.xlsx")
    text = exporter.write(doc, fmt, out)
    if text is not None:
        typer.echo(text)
    else:
        err.print(f"已写入 Wrote {out}")


@app.command("config")
def config(
    set_file: Annotated[Path | None, typer.Option("--set", help="store this YAML/JSON as the new version")] = None,
    db: DbOption = None,
) -> None:
    """Print the scorecard configuration in force, or store a new version (--set FILE)."""
    from minxin.reports import service

    state = open_state(db)
    try:
        if set_file is not None:
            with state.db.unit_of_work() as session:
                row = service.save_config(session, set_file.read_text(encoding="utf-8"), actor="cli", now=state.clock.now())
            console.print(f"已保存考核方案版本 Saved scorecard configuration version {row.version}")
            return
        with state.db.reading() as session:
            _config, version, text = service.current_config(session)
    except DomainError as exc:
        raise _fail(exc) from exc
    except OSError as exc:
        err.print(f"[red]无法读取文件 Cannot read {set_file}: {exc}[/]")
        raise typer.Exit(code=2) from exc
    typer.echo(f"# version {version}\n{text}")


@app.command("rebuild")
def rebuild(db: DbOption = None) -> None:
    """Recompute every cell and rollup from the fact rows (after a KPI definition change)."""
    from minxin.reports import maintenance

    state = open_state(db)
    with console.status("重建统计 Rebuilding aggregates…"):
        counts = maintenance.rebuild(state.db)
    console.print(f"重建完成 Rebuilt: {counts}")


@app.command("verify")
def verify(db: DbOption = None) -> None:
    """Recompute every KPI cell from the fact rows and compare with what the tables hold."""
    from minxin.reports import maintenance

    state = open_state(db)
    with state.db.reading() as session:
        problems = maintenance.verify(session)
    if problems:
        for line in problems[:50]:
            err.print(f"[red]{line}[/]")
        raise typer.Exit(code=1)
    console.print("[green]一致 Cells match the facts[/]")


@import_app.callback()
def import_file(
    file: Annotated[Path, typer.Argument(help="CSV (UTF-8) or XLSX with the columns of docs/kpis.md §7")],
    create_missing: Annotated[bool, typer.Option("--create-missing", help="create unknown unit/category codes")] = False,
    skip_invalid: Annotated[bool, typer.Option("--skip-invalid", help="load the valid rows even if some are rejected")] = False,
    assume_tz: Annotated[str | None, typer.Option("--assume-tz", help="zone of times written without an offset")] = None,
    rejects: Annotated[Path | None, typer.Option("--rejects", help="write every rejected row to this CSV")] = None,
    db: DbOption = None,
) -> None:
    """Import historical orders: all rows or nothing (unless --skip-invalid); reports every rejected row."""
    from minxin.reports.importer import ImportOptions, run_import

    if not file.is_file():
        err.print(f"[red]文件不存在 No such file: {file}[/]")
        raise typer.Exit(code=2)
    try:
        naive = ZoneInfo(assume_tz) if assume_tz else None
    except (ZoneInfoNotFoundError, ValueError):
        raise typer.BadParameter(f"unknown time zone {assume_tz!r}") from None
    state = open_state(db)
    options = ImportOptions(create_missing=create_missing, skip_invalid=skip_invalid, naive_tz=naive)
    columns = (TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[rows]}"),
               TimeElapsedColumn(), TimeRemainingColumn())  # fmt: skip
    try:
        with Progress(*columns, console=err, transient=False) as bar:
            task = bar.add_task("导入 importing", total=file.stat().st_size, rows="")

            def progress(done: int, total: int | None, stage: str) -> None:
                bar.update(task, description=stage, completed=done if total else None, total=total or None)

            result = run_import(state.db, file, options, now=state.clock.now(), progress=progress)
    except DomainError as exc:
        raise _fail(exc) from exc
    except OSError as exc:
        err.print(f"[red]无法读取文件 Cannot read {file}: {exc}[/]")
        raise typer.Exit(code=2) from exc
    if rejects is not None and result.rejected:
        _write_rejects(rejects, result.rejected)
    _summary(result, rejects)
    if not result.ok:
        raise typer.Exit(code=1)


def _write_rejects(path: Path, rejected: list) -> None:  # type: ignore[type-arg]
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        w = csv.writer(handle)
        w.writerow(["line", "number", "column", "reason_zh", "reason_en"])
        for r in sorted(rejected, key=lambda r: r.line):
            w.writerow([r.line, r.number, r.column, r.message_zh, r.message_en])


def _summary(result, rejects: Path | None) -> None:  # type: ignore[no-untyped-def]
    if result.rejected:
        table = Table(title=f"被拒绝的行 Rejected rows: {len(result.rejected)}", title_justify="left")
        for col in ("行 line", "工单编号 number", "列 column", "原因 reason"):
            table.add_column(col)
        for r in sorted(result.rejected, key=lambda r: r.line)[:50]:
            table.add_row(str(r.line), r.number, r.column, f"{r.message_zh} / {r.message_en}")
        if len(result.rejected) > 50:
            table.caption = f"仅显示前 50 行 / first 50 shown{'；全部见 ' + str(rejects) if rejects else '（--rejects FILE 输出全部）'}"
        err.print(table)
    for label, items in (("已创建单位 Created units", result.created_units),
                         ("已创建分类 Created categories", result.created_categories),
                         ("已忽略的列 Ignored columns", result.ignored_columns)):  # fmt: skip
        if items:
            err.print(f"{label}: {', '.join(items)}")
    if result.truncated_titles:
        err.print(f"[yellow]{result.truncated_titles} 个标题超过 200 字，已截断 / titles cut to 200 characters[/]")
    if result.ok:
        console.print(f"[green]导入完成 Imported {result.imported} orders in {result.seconds:.1f} s "
                      f"({result.rate:,.0f}/s); batch {result.batch_id}[/]")  # fmt: skip
    else:
        console.print(f"[red]未导入任何数据 Nothing imported: {len(result.rejected)} of {result.rows} rows rejected "
                      "(fix them, or use --skip-invalid to load the rest)[/]")  # fmt: skip
