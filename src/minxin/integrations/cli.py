"""``minxin integrations ...``: API keys, webhook subscriptions, dead letters, Open311 settings.

Every command takes ``--db URL``. Changes are audited as the operator ``cli``.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from minxin.cli import DbOption, open_state
from minxin.integrations import keys, repository, subscriptions, webhooks
from minxin.open311 import catalog
from minxin.units import repository as units_repository

app = typer.Typer(help="Integrations: API keys, webhooks, dead letters, Open311", no_args_is_help=True)
key_app = typer.Typer(help="API keys for machines", no_args_is_help=True)
webhook_app = typer.Typer(help="Webhook subscriptions", no_args_is_help=True)
deliveries_app = typer.Typer(help="Webhook deliveries", no_args_is_help=True)
app.add_typer(key_app, name="key")
app.add_typer(webhook_app, name="webhook")
app.add_typer(deliveries_app, name="deliveries")

console = Console()
OPERATOR = "cli"


@key_app.command("create")
def key_create(
    name: str,
    unit: Annotated[str, typer.Option(help="unit code (scope of the key, centre of its orders)")],
    role: Annotated[str, typer.Option(help="agent | dispatcher | handler | supervisor | leader")] = "agent",
    scope: Annotated[list[str] | None, typer.Option(help="open311, orders, transfers or * (repeat)")] = None,
    system: Annotated[str | None, typer.Option(help="external system it speaks for, e.g. 95598")] = None,
    rate: Annotated[int, typer.Option(help="requests per minute")] = 120,
    burst: Annotated[int, typer.Option(help="bucket size")] = 60,
    deferred: Annotated[bool, typer.Option("--deferred", help="Open311 POST answers with a token only")] = False,
    db: DbOption = None,
) -> None:
    """Create a key; its secret is printed once."""
    state = open_state(db)
    with state.db.unit_of_work() as session:
        key, raw = keys.create(session, name=name, unit_code=unit, role=role, scopes=scope or ["open311"], system=system,
                               rate_per_minute=rate, burst=burst, open311_deferred=deferred, now=state.clock.now(),
                               by=OPERATOR)
        key_id = key.id
    console.print(f"key #{key_id}: [bold]{raw}[/]  (保存好，不会再次显示 / store it now, it is not shown again)")


@key_app.command("list")
def key_list(db: DbOption = None) -> None:
    state = open_state(db)
    table = Table(title="API keys")
    for column in ("id", "prefix", "name", "system", "unit", "role", "scopes", "last used", "active"):
        table.add_column(column)
    with state.db.reading() as session:
        for key in repository.keys(session):
            row = keys.to_dict(key, units_repository.get(session, key.unit_id), state.tz)
            table.add_row(str(row["id"]), row["prefix"], row["name"], row["system"] or "", row["unit"] or "", row["role"],
                          ",".join(row["scopes"]), row["last_used_at"] or "", "yes" if row["active"] else "revoked")
    console.print(table)


@key_app.command("rotate")
def key_rotate(key_id: int, grace: Annotated[int, typer.Option(help="minutes the old secret keeps working")] = 0,
               db: DbOption = None) -> None:
    state = open_state(db)
    with state.db.unit_of_work() as session:
        _, raw = keys.rotate(session, key_id, grace_minutes=grace, now=state.clock.now(), by=OPERATOR)
    console.print(f"key #{key_id}: [bold]{raw}[/]")


@key_app.command("revoke")
def key_revoke(key_id: int, db: DbOption = None) -> None:
    state = open_state(db)
    with state.db.unit_of_work() as session:
        keys.revoke(session, key_id, now=state.clock.now(), by=OPERATOR)
    console.print(f"key #{key_id} revoked")


@webhook_app.command("add")
def webhook_add(
    url: str,
    name: Annotated[str | None, typer.Option(help="a label")] = None,
    event: Annotated[list[str] | None, typer.Option(help="event type (repeat); default all")] = None,
    unit: Annotated[str | None, typer.Option(help="only orders of this unit subtree")] = None,
    key: Annotated[int | None, typer.Option(help="only orders of this API key")] = None,
    db: DbOption = None,
) -> None:
    """Subscribe a URL; prints the signing secret."""
    state = open_state(db)
    with state.db.unit_of_work() as session:
        sub = subscriptions.create(session, name=name or url, url=url, event_types=event or ["*"], unit=unit,
                                   api_key_id=key, secret=None, now=state.clock.now(), by=OPERATOR)
        console.print(f"webhook #{sub.id} secret: [bold]{sub.secret}[/]")


@webhook_app.command("list")
def webhook_list(db: DbOption = None) -> None:
    state = open_state(db)
    table = Table(title="Webhook subscriptions")
    for column in ("id", "name", "url", "events", "unit", "key", "active"):
        table.add_column(column)
    with state.db.reading() as session:
        for sub in repository.subscriptions(session):
            row = subscriptions.to_dict(session, sub, tz=state.tz)
            table.add_row(str(row["id"]), row["name"], row["url"], ",".join(row["event_types"]), row["unit"] or "",
                          str(row["api_key_id"] or ""), "yes" if row["active"] else "paused")
    console.print(table)


@deliveries_app.command("dead")
def deliveries_dead(db: DbOption = None) -> None:
    """The dead-letter list."""
    state = open_state(db)
    table = Table(title="Dead deliveries")
    for column in ("id", "subscription", "event", "event id", "attempts", "last status", "last error"):
        table.add_column(column)
    with state.db.reading() as session:
        for d in repository.deliveries(session, state="dead", subscription_id=None, offset=0, limit=500):
            table.add_row(str(d.id), str(d.subscription_id), d.event, d.event_id, str(d.attempts), str(d.last_status or ""),
                          (d.last_error or "")[:80])
    console.print(table)


@deliveries_app.command("replay")
def deliveries_replay(
    delivery_id: Annotated[int | None, typer.Argument(help="one delivery; omit with --all")] = None,
    all_dead: Annotated[bool, typer.Option("--all", help="every dead delivery")] = False,
    db: DbOption = None,
) -> None:
    state = open_state(db)
    with state.db.unit_of_work() as session:
        if all_dead:
            count = webhooks.replay_dead(session, subscription_id=None, now=state.clock.now())
        elif delivery_id is not None:
            count = 1 if webhooks.replay(session, delivery_id, now=state.clock.now()) else 0
        else:
            raise typer.BadParameter("give a delivery id or --all")
    console.print(f"replayed {count}")


@app.command("open311")
def open311_settings(
    jurisdiction: Annotated[list[str] | None, typer.Option(help="accepted jurisdiction_id (repeat)")] = None,
    public_url: Annotated[str | None, typer.Option(help="base URL announced by discovery")] = None,
    contact: Annotated[str | None, typer.Option(help="discovery contact text")] = None,
    db: DbOption = None,
) -> None:
    """Show (or change) the Open311 endpoint settings."""
    state = open_state(db)
    changes = {"public_url": public_url, "contact": contact}
    if jurisdiction is not None:
        changes["jurisdictions"] = ",".join(jurisdiction)
    with state.db.unit_of_work() as session:
        cfg = catalog.set_config(session, {k: v for k, v in changes.items() if v is not None})
    console.print(catalog.config_dict(cfg))
