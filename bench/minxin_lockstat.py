"""How long SQLite's single write lock is waited for and held, for ``bench/intake_bench.py --minxin-app``.

On SQLite every write unit of work (``Database.unit_of_work``) queues on the process's writer
lock and on the advisory file lock beside the database (one writer for all server processes),
then holds both until it commits. When the lock is busy a large share of the time, a request's
latency is mostly waiting for it, whatever the request itself costs. This factory serves the
product's app unchanged and records, per unit of work, the thread that ran it, how long it
waited (entering the unit of work → holding the file lock) and how long it held the lock
(→ releasing it); for an optimistic unit of work (``Database.optimistic_unit_of_work``, the
gentle risk drainer) the wait counts from its ``lock()`` call, after its reads. Every server process appends its records to ``$LOCKSTAT_DIR`` every 2 seconds
(not a ``MINXIN_…`` name: the bench passes none of those to the servers); ``report`` pools them.

Not a product configuration; a measuring tool only (it wraps, it does not re-implement, the
unit of work).

    rm -rf /tmp/lockstat; LOCKSTAT_DIR=/tmp/lockstat PYTHONPATH=$PWD/bench \\
        .venv/bin/python bench/intake_bench.py --db sqlite --phase intake --think-ms 2000 --seconds 60 \\
        --rounds 1 --skip-peer --minxin-app minxin_lockstat:create_app
    .venv/bin/python bench/minxin_lockstat.py /tmp/lockstat
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

_local = threading.local()
_records: list[tuple[str, float, float, float]] = []  # (thread, start, wait, hold) in seconds
_lock = threading.Lock()


def _install() -> None:
    from minxin.db import session as db_session

    unit_of_work = db_session.Database.unit_of_work.__wrapped__  # the undecorated generator
    acquire, release = db_session._WriterFileLock.acquire, db_session._WriterFileLock.release

    @contextmanager
    def timed_unit_of_work(self: Any) -> Iterator[Any]:
        _local.entered = time.perf_counter()
        yield from unit_of_work(self)

    def timed_acquire(self: Any) -> bool:
        asked = time.perf_counter()
        took = acquire(self)
        if took:
            _local.held = time.perf_counter()
            if getattr(_local, "entered", None) is None:  # an optimistic unit of work: its lock() call
                _local.entered = asked
        return took

    def timed_release(self: Any) -> None:
        release(self)
        held = getattr(_local, "held", None)
        if held is not None:
            end = time.perf_counter()
            entered = getattr(_local, "entered", held)
            with _lock:
                _records.append((threading.current_thread().name, entered, held - entered, end - held))
            _local.held = _local.entered = None

    db_session.Database.unit_of_work = timed_unit_of_work  # type: ignore[method-assign]
    db_session._WriterFileLock.acquire = timed_acquire  # type: ignore[method-assign]
    db_session._WriterFileLock.release = timed_release  # type: ignore[method-assign]


def _flush_forever(outdir: Path) -> None:
    outdir.mkdir(parents=True, exist_ok=True)
    path = outdir / f"{os.getpid()}.jsonl"
    while True:
        time.sleep(2)
        with _lock:
            batch = _records[:]
            _records.clear()
        if batch:
            with path.open("a") as out:
                out.writelines(json.dumps(r) + "\n" for r in batch)


def create_app(*args: Any, **kwargs: Any) -> Any:
    from minxin.main import create_app as _create_app

    _install()
    threading.Thread(
        target=_flush_forever, args=(Path(os.environ.get("LOCKSTAT_DIR", "/tmp/minxin-lockstat")),),
        daemon=True,
    ).start()
    return _create_app(*args, **kwargs)


def _quantile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] if values else float("nan")


def report(outdir: Path, skip_s: float = 5.0) -> None:
    """Waits and holds of request threads and of the risk drainer, and the share of wall time the
    lock was held (the first ``skip_s`` seconds of each process, start-up and warm-up, left out)."""
    rows: list[list[Any]] = []
    for path in outdir.glob("*.jsonl"):
        mine = [json.loads(line) for line in path.read_text().splitlines()]
        if mine:
            first = min(r[1] for r in mine)
            rows.extend(r for r in mine if r[1] >= first + skip_s)
    if not rows:
        print(f"no records under {outdir}")
        return
    span = max(r[1] + r[2] + r[3] for r in rows) - min(r[1] for r in rows)
    groups = {"requests": [r for r in rows if not r[0].startswith("minxin-")],
              "risk drainer": [r for r in rows if r[0].startswith("minxin-risk")],
              "other background": [r for r in rows if r[0].startswith("minxin-") and not r[0].startswith("minxin-risk")]}
    print(f"{'who':<18} {'units':>6} {'wait p50':>9} {'p90':>7} {'p99':>7} {'hold p50':>9} {'p90':>7} {'p99':>7}"
          f" {'held s':>7}")
    for name, group in groups.items():
        if not group:
            continue
        waits, holds = [r[2] * 1e3 for r in group], [r[3] * 1e3 for r in group]
        print(f"{name:<18} {len(group):>6} {_quantile(waits, .5):>9.1f} {_quantile(waits, .9):>7.1f}"
              f" {_quantile(waits, .99):>7.1f} {_quantile(holds, .5):>9.1f} {_quantile(holds, .9):>7.1f}"
              f" {_quantile(holds, .99):>7.1f} {sum(holds) / 1e3:>7.1f}")
    held = sum(r[3] for r in rows)
    print(f"the write lock was held {held:.1f} s of {span:.1f} s ({100 * held / span:.0f} % of the time); ms above")


if __name__ == "__main__":
    report(Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/minxin-lockstat"))
