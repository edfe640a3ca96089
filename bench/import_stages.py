"""Where ``minxin import`` spends its time: one import of a ``report_bench`` history file into a
fresh database, with the wall time inside each stage of the importer printed at the end.

The stages are the importer's own functions, wrapped (nothing else changes): waiting for the
parse worker, the number and code checks, partials, per-chunk cell sums, cell-table merges, the
fact rows' layout and ``COPY``, each aggregate table's ``COPY``, the rollups (summed in a thread
beside the cells' ``COPY``, so the figures overlap) and ``ANALYZE``. Results for 1M and 10M
orders are in docs/benchmarks.md ("Reports at scale").

    .venv/bin/python bench/report_bench.py --scale 0.1 --db postgresql    # once, to generate the 1M file
    .venv/bin/python bench/import_stages.py --orders 1000000 --db postgresql
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import GeneratorType
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "bench"))

SPENT: dict[str, float] = {}


def _postgres_cpu() -> float:
    """CPU seconds used so far by every process named ``postgres`` on this machine (a local
    server: the import's backend, its parallel workers, the WAL writer and checkpointer)."""
    total, tick = 0.0, os.sysconf("SC_CLK_TCK")
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as handle:
                stat = handle.read()
        except OSError:
            continue
        name, fields = stat[stat.index("(") + 1 : stat.rindex(")")], stat[stat.rindex(")") + 2 :].split()
        if name.startswith("postgres"):
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def _wal_bytes(db: Any) -> int:
    """The server's WAL position in bytes (every database's writes, so run nothing else meanwhile)."""
    with db.reading() as session:
        return int(session.connection().exec_driver_sql("SELECT pg_current_wal_lsn() - '0/0'::pg_lsn").scalar())


def _timed(owner: Any, name: str, label: Callable[..., str] | None = None) -> None:
    """Add the wall time spent inside ``owner.name`` to ``SPENT``; for a generator (such as
    ``pgbinary.dense_parts``), the time spent producing each of its items."""
    original = getattr(owner, name)

    def add(key: str, started: float) -> None:
        SPENT[key] = SPENT.get(key, 0.0) + time.perf_counter() - started

    def drained(key: str, items: Iterator[Any]) -> Iterator[Any]:
        while True:
            started = time.perf_counter()
            try:
                item = next(items)
            except StopIteration:
                return
            finally:
                add(key, started)
            yield item

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        key = label(*args) if label else name
        started = time.perf_counter()
        try:
            result = original(*args, **kwargs)
        finally:
            add(key, started)
        return drained(key, result) if isinstance(result, GeneratorType) else result

    setattr(owner, name, wrapper)


def _instrument() -> None:
    from minxin.reports import bulk, cells, deferred, importer, pipeline

    _timed(bulk, "_copy_columns", lambda session, table, names, columns: f"COPY {table} ({len(columns[0]) if columns else 0:,} rows)")
    for name in ("write_cells", "write_monthly", "write_daily", "copy_waiting", "analyze"):
        _timed(bulk, name)
    for name in ("merge", "monthly", "daily", "rows_to_cells"):
        _timed(cells, name)
    if hasattr(cells, "key_columns"):
        _timed(cells, "key_columns", lambda *a: "cell keys as columns (key_columns)")
    _timed(bulk.pgbinary, "dense_parts", lambda fixed, texts: f"aggregate rows laid out (dense_parts, {len(fixed[0][1]) if fixed else 0:,} rows)")
    _timed(bulk.pgbinary, "rows", lambda columns: "fact rows laid out (pgbinary.rows)")
    _timed(deferred, "rebuild", lambda session, d: f"indexes rebuilt ({d.table})")
    for name in ("partials", "fact_columns"):
        _timed(importer, name)
    _timed(importer._Checker, "filter", lambda *a: "filter (numbers, codes)")
    writer = getattr(importer, "factrows", bulk)  # where FactWriter lives (bulk before the split)
    _timed(writer.FactWriter, "write", lambda *a: "fact rows: layout + COPY")
    _timed(writer.FactWriter, "close", lambda *a: "fact rows: end of COPY")
    in_worker = pipeline.in_worker

    def waited(*args: Any, **kwargs: Any) -> Iterator[Any]:
        chunks = in_worker(*args, **kwargs)
        while True:
            started = time.perf_counter()
            try:
                item = next(chunks)
            except StopIteration:
                return
            finally:
                SPENT["waiting for the parse worker"] = SPENT.get("waiting for the parse worker", 0.0) + time.perf_counter() - started
            yield item

    pipeline.in_worker = waited
    _time_statements()


def _time_statements() -> None:
    """Add every SQL statement that runs 0.5 s or more to ``SPENT`` under its first words (index
    builds, ``ANALYZE``, the waiting-copy ``INSERT``), so the serial tail after the loop is itemised."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    @event.listens_for(Engine, "before_cursor_execute")
    def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        conn.info.setdefault("minxin_started", []).append(time.perf_counter())

    @event.listens_for(Engine, "after_cursor_execute")
    def after(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seconds = time.perf_counter() - conn.info["minxin_started"].pop()
        if seconds >= 0.5:
            key = "SQL: " + " ".join(statement.split())[:90]
            SPENT[key] = SPENT.get(key, 0.0) + seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=1_000_000, help="which generated file (history-N.csv)")
    parser.add_argument("--db", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--pg-url", default=os.environ.get("MINXIN_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "minxin-report-bench")
    parser.add_argument("--keep", action="store_true", help="keep the PostgreSQL database (its name is printed) to inspect")
    args = parser.parse_args()
    csv_path = args.workdir / f"history-{args.orders}.csv"
    if not csv_path.exists():
        sys.exit(f"{csv_path} is missing: run bench/report_bench.py --scale {args.orders / 10_000_000:g} first")

    import report_bench

    from minxin.db.session import Database
    from minxin.reports.importer import ImportOptions, run_import

    name = f"minxin_stages_{os.getpid()}"
    if args.db == "postgresql":
        url = report_bench.pg_database(args.pg_url, name)
    else:
        url = f"sqlite:///{Path(tempfile.mkdtemp()) / 'stages.db'}"
    try:
        report_bench.prepare(url)
        _instrument()
        db = Database(url)
        wal0 = _wal_bytes(db) if args.db == "postgresql" else 0
        cpu0, pg0 = os.times(), _postgres_cpu()
        result = run_import(db, csv_path, ImportOptions(parse_in_worker=True), now=datetime.now(UTC))
        cpu1, pg1 = os.times(), _postgres_cpu()
        wal = _wal_bytes(db) - wal0 if args.db == "postgresql" else 0
        db.dispose()
    finally:
        if args.db == "postgresql" and not args.keep:
            report_bench.pg_database(args.pg_url, name, drop=True)
    if args.keep:
        print(f"kept: {url}")
    print(f"{args.db}: {result.imported:,} orders in {result.seconds:.1f} s = {result.rate:,.0f} orders/s (ok={result.ok})")
    print(f"CPU: import process {cpu1.user + cpu1.system - cpu0.user - cpu0.system:.1f} s, parse worker "
          f"{cpu1.children_user + cpu1.children_system - cpu0.children_user - cpu0.children_system:.1f} s, "
          f"PostgreSQL {pg1 - pg0:.1f} s (all its processes; on {os.cpu_count()} cores)")
    if wal:
        print(f"WAL written by the server meanwhile: {wal / 2**30:.2f} GiB ({wal / max(result.imported, 1):,.0f} bytes per order)")
    for key, seconds in sorted(SPENT.items(), key=lambda kv: -kv[1]):
        if seconds >= 0.05:
            print(f"{seconds:8.2f} s  {key}")


if __name__ == "__main__":
    main()
