"""``minxin sla …``: run the deadline scanner once, list or seed the SLA policies, recompute.

(A separate module from ``minxin.sla.cli`` because ``wiring.CLI_MODULES`` maps each command name
to a module exposing ``app``.)
"""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from minxin.sla.cli import DbOption, fail, open_db

app = typer.Typer(help="SLA engine: scanner, policies", no_args_is_help=True)


@app.command()
def scan(
    now: Annotated[str | None, typer.Option(help="scan as of this ISO 8601 instant (replays, tests); default: now")] = None,
    db: DbOption = None,
) -> None:
    """Record due warnings/overdues once each (safe alongside running servers) and print the counts."""
    from minxin.core.calendar_model import parse_instant
    from minxin.core.clock import utcnow
    from minxin.sla.calendar_service import TZ
    from minxin.sla.tasks import scan_all

    try:
        at = parse_instant(now, TZ) if now else utcnow()
    except ValueError as exc:
        raise fail(str(exc)) from exc
    database = open_db(db, create=True)
    assert database is not None
    try:
        typer.echo(json.dumps(scan_all(database, at)))
    finally:
        database.dispose()


@app.command()
def policies(
    seed: Annotated[bool, typer.Option("--seed", help="copy the packaged defaults into an empty policy table")] = False,
    db: DbOption = None,
) -> None:
    """List the SLA policies in effect (most general first)."""
    from rich.console import Console
    from rich.table import Table

    from minxin.core.clock import utcnow
    from minxin.sla import policy_service

    database = open_db(db, create=seed)
    try:
        if database is None:
            items = policy_service.list_policies_packaged()
        else:
            with database.unit_of_work() as session:
                if seed:
                    added = policy_service.seed_defaults(session, now=utcnow(), actor="cli")
                    typer.echo(f"seeded {added} policies" if added else "policies already present; nothing seeded", err=True)
                items = policy_service.list_policies(session)
    finally:
        if database is not None:
            database.dispose()
    columns = ("id", "category", "appeal_type", "urgency", "dispatch", "sign", "handle", "callback", "counting_rule", "warn_ratio", "active", "name")
    table = Table(*columns, title=f"SLA policies ({items[0]['source'] if items else 'none'})")
    for item in items:
        table.add_row(*("" if item.get(c) is None else str(item.get(c)) for c in columns))
    Console(width=None if sys.stdout.isatty() else 220).print(table)


@app.command()
def recompute(db: DbOption = None) -> None:
    """Recompute the clocks of every open order (after editing policies or the calendar)."""
    from minxin.core.clock import utcnow
    from minxin.sla import deadlines

    database = open_db(db, create=True)
    assert database is not None
    try:
        with database.unit_of_work() as session:
            n = deadlines.recompute_open(session, now=utcnow())
    finally:
        database.dispose()
    typer.echo(f"recomputed {n} open orders")
