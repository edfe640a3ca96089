"""The ``minxin`` command line (Typer). Every command takes ``--db URL`` (default:
``MINXIN_DATABASE_URL``, else ``./minxin.db``)."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from minxin import wiring
from minxin.config import Settings

app = typer.Typer(help="民心 minxin: 12345 / 95598 hotline work-order platform", no_args_is_help=True)
user_app = typer.Typer(help="Users", no_args_is_help=True)
category_app = typer.Typer(help="Category tree", no_args_is_help=True)
jobs_app = typer.Typer(help="Background jobs", no_args_is_help=True)
docs_app = typer.Typer(help="Generated documentation", no_args_is_help=True)
app.add_typer(user_app, name="user")
app.add_typer(category_app, name="category")
app.add_typer(jobs_app, name="jobs")
app.add_typer(docs_app, name="docs")

console = Console()
err = Console(stderr=True)

DbOption = Annotated[str | None, typer.Option("--db", help="database URL (default: MINXIN_DATABASE_URL or ./minxin.db)")]


def settings_for(db: str | None, **overrides: object) -> Settings:
    settings = Settings()
    if db:
        settings = settings.model_copy(update={"database_url": db})
    if overrides:
        settings = settings.model_copy(update=overrides)
    return settings


def open_state(db: str | None, **overrides: object):  # type: ignore[no-untyped-def]
    from minxin.main import build_state

    return build_state(settings_for(db, **overrides))


def _print_users(users: list[tuple[str, str, str, str]], password: str) -> None:
    table = Table(title="演示用户 Demo users", show_lines=False)
    for column in ("用户名 username", "姓名 name", "角色 role", "单位 unit", "密码 password"):
        table.add_column(column)
    for username, name, role, unit in users:
        table.add_row(username, name, role, unit, password)
    console.print(table)


def _seed_demo(state, password: str, orders: int = 300) -> bool:  # type: ignore[no-untyped-def]
    from minxin.demo import seed as demo_seed
    from minxin.demo.organisation import USERS

    with state.db.unit_of_work() as session:
        if demo_seed.is_seeded(session):
            err.print("[yellow]数据库中已有数据，未重复生成演示数据 (database already has data; demo not re-created)[/]")
            _print_users(USERS, "(首次生成时的密码 / as set when first created)")
            return False
        with console.status("正在生成演示数据 Creating demo data…"):
            users = demo_seed.seed(
                session,
                password=password,
                now=state.clock.now(),
                attachments_root=state.settings.attachments_dir,
                settings=state.order_settings,
                orders=orders,
            )
    from minxin.jobs.registry import JOBS, run_once

    if "risk.drain" in JOBS:  # tag the demo orders now rather than when a server starts
        run_once(state, "risk.drain")
    _print_users(users, password)
    return True


@app.command()
def serve(
    db: DbOption = None,
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port")] = 8000,
    demo: Annotated[bool, typer.Option("--demo", help="create the demo organisation and orders on an empty database")] = False,
    password: Annotated[str | None, typer.Option(help="password for every demo user")] = None,
    jobs: Annotated[bool, typer.Option("--jobs/--no-jobs", help="run background jobs in this process")] = True,
    workers: Annotated[int, typer.Option(min=1, max=64, help="HTTP worker processes")] = 1,
    access_log: Annotated[bool, typer.Option("--access-log/--no-access-log", help="log every request")] = True,
) -> None:
    """Start the server (API, web console and background jobs)."""
    import os

    import uvicorn

    from minxin.demo.organisation import DEFAULT_PASSWORD
    from minxin.jobs.registry import Runner
    from minxin.main import create_app

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    state = open_state(db, worker_enabled=jobs and workers == 1)
    if demo:
        _seed_demo(state, password or DEFAULT_PASSWORD)
    console.print(f"[bold green]minxin 民心[/] http://{host}:{port}/  (API docs: http://{host}:{port}/docs)")
    if workers == 1:
        uvicorn.run(create_app(state=state), host=host, port=port, log_level="info", access_log=access_log)
        return
    # several processes: this one migrated and seeded; the workers only serve HTTP, and the
    # background jobs run here, once (they are safe in several processes, but need not be)
    os.environ.update(
        {"MINXIN_DATABASE_URL": state.settings.database_url, "MINXIN_AUTO_MIGRATE": "false", "MINXIN_WORKER_ENABLED": "false"}
    )
    runner = Runner(state) if jobs else None
    if runner:
        runner.start()
    try:
        uvicorn.run(
            "minxin.main:app_from_env", factory=True, workers=workers, host=host, port=port, log_level="info",
            access_log=access_log,
        )
    finally:
        if runner:
            runner.stop()


@app.command()
def init(db: DbOption = None) -> None:
    """Create or upgrade the database schema."""
    open_state(db)
    console.print("数据库已就绪 Database ready")


@app.command()
def demo(
    db: DbOption = None,
    password: Annotated[str | None, typer.Option(help="password for every demo user")] = None,
    orders: Annotated[int, typer.Option(help="number of demo orders")] = 300,
) -> None:
    """Create the demo organisation, categories, users and orders; prints the users."""
    from minxin.demo.organisation import DEFAULT_PASSWORD

    state = open_state(db)
    if not _seed_demo(state, password or DEFAULT_PASSWORD, orders):
        raise typer.Exit(code=1)


@user_app.command("add")
def user_add(
    username: str,
    role: Annotated[str, typer.Option(help="agent | dispatcher | handler | supervisor | leader | admin")],
    unit: Annotated[str, typer.Option(help="unit code")],
    password: Annotated[str, typer.Option(prompt=True, hide_input=True)],
    name: Annotated[str | None, typer.Option(help="display name")] = None,
    db: DbOption = None,
) -> None:
    """Create a user bound to a unit."""
    from minxin.accounts import service as accounts_service
    from minxin.audit import service as audit
    from minxin.errors import DomainError

    state = open_state(db)
    try:
        with state.db.unit_of_work() as session:
            user = accounts_service.create_user(
                session, username=username, password=password, role=role, unit_code=unit, display_name=name, now=state.clock.now()
            )
            audit.record(session, at=state.clock.now(), actor="cli", action="user.create", target_type="user", target_id=user.username)
    except DomainError as exc:
        err.print(f"[red]{exc.message_zh} / {exc.message_en}[/]")
        raise typer.Exit(code=2) from exc
    console.print(f"已创建用户 Created user {username} ({role} @ {unit})")


@category_app.command("import")
def category_import(file: Path, db: DbOption = None) -> None:
    """Import a category tree: YAML (nested) or CSV (一级分类,二级分类,三级分类)."""
    from minxin.categories import service as categories_service
    from minxin.errors import DomainError

    state = open_state(db)
    try:
        nodes = categories_service.parse_tree_file(file)
        with state.db.unit_of_work() as session:
            created = categories_service.import_tree(session, nodes)
    except DomainError as exc:
        err.print(f"[red]{exc.message_zh} / {exc.message_en}[/]")
        raise typer.Exit(code=2) from exc
    except OSError as exc:
        err.print(f"[red]无法读取文件 Cannot read {file}: {exc}[/]")
        raise typer.Exit(code=2) from exc
    console.print(f"导入完成 Imported: {created} new categories")


@app.command()
def worker(db: DbOption = None, tick: Annotated[float, typer.Option(help="seconds between checks")] = 1.0) -> None:
    """Run the background jobs in the foreground (alongside servers started with --no-jobs)."""
    from minxin.jobs.registry import Runner

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    runner = Runner(open_state(db), tick=tick)
    console.print("后台任务运行中 Jobs running (Ctrl+C to stop)")
    try:
        while True:
            runner.run_due()
            time.sleep(tick)
    except KeyboardInterrupt:
        pass


@jobs_app.command("list")
def jobs_list() -> None:
    """List the registered background jobs."""
    from minxin.jobs.registry import JOBS

    wiring.install()
    table = Table("name", "every (s)", "description")
    for job_ in JOBS.values():
        table.add_row(job_.name, f"{job_.every_seconds:g}", job_.description)
    console.print(table)


@jobs_app.command("run")
def jobs_run(name: str, db: DbOption = None) -> None:
    """Run one job once."""
    from minxin.jobs.registry import JOBS, run_once

    state = open_state(db)
    if name not in JOBS:
        err.print(f"[red]未知任务 Unknown job: {name}[/]")
        raise typer.Exit(code=2)
    console.print(run_once(state, name))


@docs_app.command("lifecycle")
def docs_lifecycle(out: Annotated[Path, typer.Option(help="where to write")] = Path("docs/lifecycle.md")) -> None:
    """Regenerate docs/lifecycle.md from the lifecycle table."""
    from minxin.core.lifecycle import render_markdown

    out.write_text(render_markdown(), encoding="utf-8")
    console.print(f"wrote {out}")


def _add_domain_apps() -> None:
    for name, sub in wiring.cli_apps():
        app.add_typer(sub, name=name)


def main() -> None:
    _add_domain_apps()
    app()
