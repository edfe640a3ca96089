"""``minxin model …``: the classifier's whole life from the command line.

``train`` and ``eval`` are exactly the commands of :mod:`minxin.intake.cli` (same options,
same output: JSON on stdout, progress on stderr); this module adds what needs the database:

* ``register FILE [--activate]`` — copy a model file into ``<data dir>/models`` under its
  version and record it (training metadata included) in the server's registry;
* ``activate VERSION|FILE`` — make it the model the server uses (a file is registered first);
* ``list`` — the registered models;
* ``thresholds [--default X] [--set CODE=X]`` — the confidence a category needs to be applied
  and auto-dispatched;
* ``report [--month YYYY-MM] [--json]`` — accuracy, coverage (share auto-dispatched) and
  correction rate per month, from the recorded suggestions and what people did with them.

Exit status 2 for bad input, with the reason on stderr.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from minxin.intake import cli as classifier_cli

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

app = typer.Typer(help="Text classifier: train, evaluate, register, activate, report 分类模型", no_args_is_help=True)
app.command("train")(classifier_cli.train_cmd)
app.command("eval")(classifier_cli.eval_cmd)

DbOption = Annotated[str | None, typer.Option("--db", help="database URL (default: MINXIN_DATABASE_URL or ./minxin.db)")]
out = Console()
err = Console(stderr=True)


@contextmanager
def _session(db: str | None, *, write: bool) -> Iterator[Session]:
    from minxin.config import Settings
    from minxin.db.migrate import upgrade
    from minxin.db.session import Database, normalise_url

    settings = Settings()
    url = normalise_url(db or settings.database_url)
    if settings.auto_migrate:
        upgrade(url)
    database = Database(url)
    try:
        if write:
            with database.unit_of_work() as session:
                yield session
        else:
            with database.reading() as session:
                yield session
    finally:
        database.dispose()


def _fail(message: str) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}")
    return typer.Exit(code=2)


def _models_dir() -> Path:
    from minxin.config import Settings

    return Settings().models_dir


@app.command("register")
def register_cmd(
    file: Annotated[Path, typer.Argument(help="model file from `minxin model train`")],
    activate: Annotated[bool, typer.Option("--activate", help="also make it the active model")] = False,
    threshold: Annotated[float | None, typer.Option("--threshold", min=0.01, max=1.0, help="default threshold")] = None,
    text: Annotated[str | None, typer.Option("--text", help="what the model reads: title+content | title | content")] = None,
    db: DbOption = None,
) -> None:
    """Register a model file with the server (copied into the data directory's models/)."""
    from minxin.core.clock import utcnow
    from minxin.errors import DomainError
    from minxin.intake import model_registry

    try:
        with _session(db, write=True) as session:
            row = model_registry.register(
                session, file, by="cli", now=utcnow(), models_dir=_models_dir(), activate=activate,
                default_threshold=threshold, text_fields=text,
            )
            info = model_registry.model_dict(row)
    except DomainError as exc:
        raise _fail(exc.message_en) from exc
    typer.echo(json.dumps(info, ensure_ascii=False))


@app.command("activate")
def activate_cmd(
    model: Annotated[str, typer.Argument(help="a registered version, or a model file to register and activate")],
    db: DbOption = None,
) -> None:
    """Make a model the one the server uses (other processes pick it up within seconds)."""
    from minxin.core.clock import utcnow
    from minxin.errors import DomainError
    from minxin.intake import model_registry

    try:
        with _session(db, write=True) as session:
            if Path(model).is_file():
                row = model_registry.register(
                    session, model, by="cli", now=utcnow(), models_dir=_models_dir(), activate=True
                )
            else:
                row = model_registry.activate_version(session, model)
            info = model_registry.model_dict(row)
    except DomainError as exc:
        raise _fail(exc.message_en) from exc
    err.print(f"active model: {info['version']}")
    typer.echo(json.dumps(info, ensure_ascii=False))


@app.command("list")
def list_cmd(db: DbOption = None) -> None:
    """The registered models (version, rows, classes, threshold, active)."""
    from minxin.intake import model_registry, repository

    with _session(db, write=False) as session:
        rows = [model_registry.model_dict(r) for r in repository.models(session)]
    table = Table(title="分类模型 Models")
    for column in ("version", "active", "rows", "classes", "threshold", "registered"):
        table.add_column(column)
    for m in rows:
        training = m["training"]
        table.add_row(
            m["version"], "✓" if m["active"] else "", str(training.get("n_rows", "")),
            str(len(training.get("labels") or {})), f"{m['default_threshold']:.2f}", m["registered_at"][:19],
        )
    out.print(table)


@app.command("thresholds")
def thresholds_cmd(
    default: Annotated[float | None, typer.Option("--default", min=0.01, max=1.0, help="threshold for every category")] = None,
    set_: Annotated[list[str] | None, typer.Option("--set", help="CODE=VALUE (repeatable); CODE= removes")] = None,
    db: DbOption = None,
) -> None:
    """Show or change the active model's confidence thresholds."""
    from minxin.errors import DomainError
    from minxin.intake import model_registry

    per: dict[str, float | None] = {}
    for item in set_ or []:
        code, _, value = item.partition("=")
        try:
            per[code.strip()] = float(value) if value.strip() else None
        except ValueError as exc:
            raise _fail(f"--set expects CODE=VALUE, got {item!r}") from exc
    try:
        with _session(db, write=True) as session:
            if default is not None or per:
                row = model_registry.set_thresholds(session, default=default, per_category=per or None)
            else:
                row = model_registry.current_or_404(session)
            result = {"version": row.version, "default": row.default_threshold, "categories": row.thresholds or {}}
    except DomainError as exc:
        raise _fail(exc.message_en) from exc
    typer.echo(json.dumps(result, ensure_ascii=False))


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


@app.command("report")
def report_cmd(
    month: Annotated[list[str] | None, typer.Option("--month", help="YYYY-MM (repeatable); default: every month")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON instead of a table")] = False,
    db: DbOption = None,
) -> None:
    """Accuracy, coverage (share auto-dispatched) and correction rate per month."""
    from minxin.intake import outcomes

    with _session(db, write=False) as session:
        rows = outcomes.report(session, month or None)
    if as_json:
        typer.echo(json.dumps({"months": rows}, ensure_ascii=False, indent=2))
        return
    table = Table(title="智能受理效果 Intake suggestions per month")
    for column in ("month", "analysed", "accuracy", "reviewed", "reviewed acc.", "coverage", "auto-dispatched",
                   "category corr.", "unit corr.", "correction rate"):
        table.add_column(column, justify="right")
    for r in rows:
        table.add_row(
            r["month"], str(r["analysed"]), _pct(r["accuracy"]), str(r["reviewed"]), _pct(r["reviewed_accuracy"]),
            _pct(r["coverage"]), str(r["auto_dispatched"]), str(r["category_corrections"]), str(r["unit_corrections"]),
            _pct(r["correction_rate"]),
        )
    Console(width=max(out.width, 150)).print(table)  # ten columns: never squeeze them into 80
    if not rows:
        err.print("no analysed orders yet (suggestions are recorded from registration on)")
    err.print(
        "accuracy: top-1 suggestion vs the order's final category; reviewed acc.: of the categories a person "
        "confirmed or corrected; coverage: auto-dispatched ÷ analysed; correction rate: orders whose suggested "
        "category or unit a person corrected ÷ orders with a suggestion"
    )
