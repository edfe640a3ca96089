"""Reading and parsing a history file in a second process, while the import process checks,
aggregates and writes the chunks before it.

Why: an import is single-threaded Python, and reading the CSV and parsing its columns
(``rowparse``) are about half of its time per row (profile in docs/benchmarks.md, "Reports at
scale"). In a worker process they run on the other core, one chunk ahead, at the cost of
pickling each parsed chunk (a few % of parsing it). The worker reads with pyarrow
(``arrowread``); the import process, for smaller files, with the ``csv`` module (``read_rows``).

Invariants: the worker gives exactly what the in-process path gives (``read_rows`` then
``parse_chunk``), in file order: the same rows, rejections and line numbers, though cut into
chunks at other rows (tests/reports/test_pipeline.py compares them); an ``Invalid`` raised
while reading (a file that stops being UTF-8) reaches the caller as the same ``Invalid``; the
worker never touches the database, and it is stopped when the consumer stops early.
"""

from __future__ import annotations

import multiprocessing
import queue as queue_module
from collections.abc import Iterator, Sequence
from datetime import tzinfo
from pathlib import Path
from typing import Any

from minxin.errors import Invalid
from minxin.reports import arrowread
from minxin.reports.rowparse import ParsedChunk, parse_chunk

#: files at least this large are parsed in a worker (≈ 150k orders; the worker costs ≈ 1 s to start)
WORKER_MIN_BYTES = 64 * 1024 * 1024
#: parsed chunks waiting in the pipe at most (memory: a 50k-row chunk is ≈ 30 MB)
AHEAD = 2

#: (rows read, the parsed chunk, bytes of the file read so far)
Parsed = tuple[int, ParsedChunk, int]


def wants_worker(path: Path, parse_in_worker: bool | None) -> bool:
    """Whether to parse ``path`` in a worker: as asked, else for large CSV files."""
    if parse_in_worker is not None:
        return parse_in_worker and path.suffix.lower() not in (".xlsx", ".xlsm")
    return path.suffix.lower() not in (".xlsx", ".xlsm") and path.stat().st_size >= WORKER_MIN_BYTES


def in_process(names: Sequence[str], chunks: Iterator[Any], naive_tz: tzinfo | None) -> Iterator[Parsed]:
    for rows, lines, done in chunks:
        yield len(rows), parse_chunk(names, rows, lines, naive_tz=naive_tz), done


def _work(path: str, names: list[str], chunk_size: int, naive_tz: tzinfo | None, out: Any) -> None:
    try:
        for parsed in arrowread.read_parsed(Path(path), names, chunk_size, naive_tz):
            out.put(("chunk", parsed))
        out.put(("end", None))
    except Invalid as exc:
        out.put(("invalid", (exc.message_zh, exc.message_en, exc.code, exc.details)))
    except BaseException as exc:  # the parent re-raises it; a worker has nobody else to tell
        out.put(("error", f"{type(exc).__name__}: {exc}"))


def in_worker(path: Path, names: Sequence[str], chunk_size: int, naive_tz: tzinfo | None) -> Iterator[Parsed]:
    """The parsed chunks of ``path``, read and parsed by a worker process (``spawn``: nothing of
    this process — database connections, threads — is inherited)."""
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue(maxsize=AHEAD)
    worker = ctx.Process(target=_work, args=(str(path), list(names), chunk_size, naive_tz, out), daemon=True,
                         name="minxin-import-parse")  # fmt: skip
    worker.start()
    try:
        while True:
            try:
                kind, payload = out.get(timeout=5)
            except queue_module.Empty:
                if not worker.is_alive():
                    raise RuntimeError(f"the import's parsing process died (exit code {worker.exitcode})") from None
                continue
            if kind == "end":
                break
            if kind == "invalid":
                zh, en, code, details = payload
                raise Invalid(zh, en, code=code, details=details)
            if kind == "error":
                raise RuntimeError(f"the import's parsing process failed: {payload}")
            yield payload
        worker.join(timeout=30)
    finally:
        if worker.is_alive():
            worker.terminate()
            worker.join(timeout=10)
        out.close()
        out.cancel_join_thread()
