"""``minxin risk …``: tag queued orders, run the detectors once, export/import the taxonomy, list alerts.

``scan`` is safe alongside running servers (the DB lease makes it wait its turn: a concurrent
scan answers ``{"skipped": …}``). ``--at`` scans as of another instant and ``--since`` rebuilds the
detectors and raises what they detect from that instant on (replays of recorded streams).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="Risk early warning: scan, taxonomy, alerts", no_args_is_help=True)
taxonomy_app = typer.Typer(help="The risk taxonomy (versioned in the database)", no_args_is_help=True)
app.add_typer(taxonomy_app, name="taxonomy")

DbOption = Annotated[str | None, typer.Option("--db", help="database URL (default: MINXIN_DATABASE_URL or ./minxin.db)")]


def _state(db: str | None):  # type: ignore[no-untyped-def]
    from minxin.cli import open_state

    return open_state(db, worker_enabled=False)


def _instant(value: str | None, name: str):  # type: ignore[no-untyped-def]
    from minxin.core.calendar_model import SHANGHAI, parse_instant

    if not value:
        return None
    try:
        return parse_instant(value, SHANGHAI)
    except ValueError as exc:
        typer.echo(f"--{name}: {exc}", err=True)
        raise typer.Exit(code=2) from exc


@app.command()
def drain(db: DbOption = None) -> None:
    """Tag every order still in the risk tag queue now (servers do it within a second); prints
    how many were tagged as JSON."""
    from minxin.risk import queue

    state = _state(db)
    try:
        tagged = queue.settle(state.db)
        left = queue.pending(state.db)
    finally:
        state.db.dispose()
    typer.echo(json.dumps({"tagged": tagged, "queued": left}))


@app.command()
def scan(
    at: Annotated[str | None, typer.Option(help="scan as of this ISO 8601 instant (default: now)")] = None,
    since: Annotated[str | None, typer.Option(help="rebuild the detectors and raise what they detect from here on")] = None,
    db: DbOption = None,
) -> None:
    """Run all detectors once over new orders, merge into live alerts, print the summary as JSON."""
    from minxin.core.clock import utcnow
    from minxin.risk.scanner import scanner_for

    now = _instant(at, "at") or utcnow()
    start = _instant(since, "since")
    state = _state(db)
    try:
        result = scanner_for(state.db, state.settings.display_timezone).run(now, since=start)
    finally:
        state.db.dispose()
    typer.echo(json.dumps(result, ensure_ascii=False))


@app.command()
def alerts(
    state_: Annotated[str, typer.Option("--state", help="live, or a comma list of states")] = "live",
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON instead of a table")] = False,
    db: DbOption = None,
) -> None:
    """List alerts (all units)."""
    from rich.console import Console
    from rich.table import Table

    from minxin.accounts.principal import Principal
    from minxin.core.vocabulary import Role
    from minxin.errors import DomainError
    from minxin.risk import alert_repository, presenter
    from minxin.risk.api import parse_states

    system = Principal(None, "cli", "命令行", Role.ADMIN, 0, "", "/")
    state = _state(db)
    try:
        states = parse_states(state_)
    except DomainError as exc:
        typer.echo(exc.message_en, err=True)
        raise typer.Exit(code=2) from exc
    try:
        with state.db.reading() as session:
            rows, total = alert_repository.search(session, system, alert_repository.AlertFilter(states=states),
                                                  offset=0, limit=limit)
            items = presenter.alert_dicts(session, rows, state.tz, state.clock.now())
    finally:
        state.db.dispose()
    if as_json:
        typer.echo(json.dumps({"items": items, "total": total}, ensure_ascii=False))
        return
    table = Table("id", "detector", "label", "region", "sev", "unit", "state", "orders", "deadline", title=f"risk alerts ({total})")
    for a in items:
        dl = a["deadline"]
        table.add_row(str(a["id"]), a["detector_zh"], a["label_name"], a["region_name"], str(a["severity"]),
                      (a["unit"] or {}).get("name", ""), a["state_zh"], str(a["order_count"]),
                      f"{dl['label']} {dl['due_at'][:16]} {dl['state_zh']}" if dl else a["resolution_zh"])
    Console(width=None if sys.stdout.isatty() else 220).print(table)


@taxonomy_app.command("export")
def taxonomy_export(
    out: Annotated[Path | None, typer.Option(help="write here instead of stdout")] = None,
    version: Annotated[int | None, typer.Option(help="an older saved version id")] = None,
    db: DbOption = None,
) -> None:
    """Print (or write) the active taxonomy as YAML — edit it and `import` it back."""
    from minxin.errors import DomainError
    from minxin.risk import taxonomy_service

    state = _state(db)
    try:
        with state.db.reading() as session:
            mapping = (taxonomy_service.version_mapping(session, version) if version
                       else taxonomy_service.active_mapping(session)[0])
    except DomainError as exc:
        typer.echo(exc.message_en, err=True)
        raise typer.Exit(code=2) from exc
    finally:
        state.db.dispose()
    text = taxonomy_service.export_yaml(mapping)
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {out}", err=True)


@taxonomy_app.command("import")
def taxonomy_import(
    file: Path,
    note: Annotated[str, typer.Option(help="why this version (kept in the history)")] = "",
    db: DbOption = None,
) -> None:
    """Validate FILE (YAML or JSON) and make it the active taxonomy version."""
    from minxin.audit import service as audit
    from minxin.core.clock import utcnow
    from minxin.errors import DomainError
    from minxin.risk import taxonomy_service

    try:
        text = file.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        typer.echo(f"{file}: {exc}", err=True)
        raise typer.Exit(code=2) from exc
    state = _state(db)
    now = utcnow()
    try:
        with state.db.unit_of_work() as session:
            mapping = taxonomy_service.parse_text(text, file.name)
            row, created = taxonomy_service.save(session, mapping, by="cli", now=now, note=note)
            if created:
                audit.record(session, at=now, actor="cli", action="risk.taxonomy.save", target_type="risk_taxonomy",
                             target_id=row.id, detail={"version": row.version, "hash": row.content_hash, "file": file.name})
            summary = {"version_id": row.id, "version": row.version, "content_hash": row.content_hash,
                       "labels": row.label_count, "created": created}
    except DomainError as exc:
        typer.echo(f"{exc.message_zh} / {exc.message_en}", err=True)
        raise typer.Exit(code=2) from exc
    finally:
        state.db.dispose()
    typer.echo(json.dumps(summary, ensure_ascii=False))
