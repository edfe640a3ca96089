"""``minxin import FILE``: historical orders (CSV or XLSX) → ``order_facts`` + cells, all or nothing.

Flow (one transaction): read the file in chunks; parse each chunk by column (``rowparse``, with
``core.kpi.from_row`` as the authority); reject rows with unknown unit/category codes (unless
``create_missing``), numbers repeated in the file or already known (live work orders included);
compute partials (``columnar``) and sum cells (``cells``); stream the fact rows into the database
as long as nothing was rejected. At the end: with any rejection and without ``skip_invalid`` the
transaction is rolled back (nothing half-loaded) and every rejected line is reported; otherwise
missing codes are created, cells and monthly rollups merged, live numbering moved past imported
numbers of its own shape (``YYYYMMDD`` + 6 digits), and an ``import_batches`` row written.
On PostgreSQL, tables that are still empty (a first load) get their indexes after the rows
(``deferred``); the cells go in while a thread sums the monthly and daily rollups.

Imported rows are history, not work orders: they never change afterwards (see docs/benchmarks.md
"Reports at scale" for why they are not inserted into ``work_orders``).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from minxin.db.session import Database
from minxin.reports import bulk, cells, deferred, factrows, pgbinary, pipeline, repository
from minxin.reports.columnar import (
    APPEALS,
    CHANNELS,
    NONE,
    SATISFACTIONS,
    STATUSES,
    URGENCIES,
    partials,
    to_us,
)
from minxin.reports.folding import kpi_calendar, sign_late_after
from minxin.reports.models import ImportBatch
from minxin.reports.numbers import SeenNumbers
from minxin.reports.rowparse import ParsedChunk, Rejection, char_lengths, take
from minxin.reports.sources import check_header, read_rows
from minxin.reports.textcols import Encoded
from minxin.units.service import CODE_PATTERN

CHUNK = 50_000
#: merge the per-chunk cell tables once the unmerged ones hold this many rows, or twice as many
#: as the merged table if that is larger: memory stays within ~3× the distinct cells, and a year
#: with millions of distinct cells (about one per order) is re-merged a few times, not after
#: every chunk (that was quadratic); each merge re-sums everything merged before
MERGE_AT = 2_500_000
#: (rows done, rows total estimate or None, stage label)
Progress = Callable[[int, int | None, str], None]


@dataclass
class ImportOptions:
    create_missing: bool = False
    skip_invalid: bool = False
    #: the zone of date-times written without an offset (XLSX dates); None refuses them
    naive_tz: tzinfo | None = None
    chunk_size: int = CHUNK
    actor: str = "cli"
    #: read and parse the file in a second process (``pipeline``); None: for large CSV files
    parse_in_worker: bool | None = None


@dataclass
class ImportResult:
    ok: bool
    rows: int = 0
    imported: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    created_units: list[str] = field(default_factory=list)
    created_categories: list[str] = field(default_factory=list)
    truncated_titles: int = 0
    ignored_columns: list[str] = field(default_factory=list)
    batch_id: int | None = None
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        return self.imported / self.seconds if self.seconds else 0.0


# ----------------------------------------------------------------------------- formatting
_LABELS = {
    "channel": np.array([c.value for c in CHANNELS], dtype=object),
    "appeal_type": np.array([a.value for a in APPEALS], dtype=object),
    "urgency": np.array([u.value for u in URGENCIES], dtype=object),
    "status": np.array([*[s.value for s in STATUSES], None], dtype=object),
    "satisfaction": np.array([*[s.value for s in SATISFACTIONS], None], dtype=object),
}
_TIMES = ("created_at", "dispatched_at", "signed_at", "replied_at", "closed_at", "dispatch_due_at", "sign_due_at",
          "handle_due_at", "callback_at")  # fmt: skip


def fact_columns(chunk: ParsedChunk, rp: Any, sign_late: np.ndarray, batch_id: int) -> list[pgbinary.Column]:
    """The chunk's ``order_facts`` rows as ``pgbinary`` columns, in ``factrows.FACT_COLUMNS`` order."""
    cols = chunk.columns
    n = len(cols)
    t = cols.times
    late = np.where(t["dispatch_due_at"] != NONE, t["dispatch_due_at"], t["created_at"] + 30 * 60 * 1_000_000)

    def text(values: list[Any], kind: str = "code") -> pgbinary.Column:
        return (kind, values, None)

    def label(name: str, codes: np.ndarray) -> pgbinary.Column:
        values = _LABELS[name].tolist()  # None (NULL), where present, is last: code −1
        return text(Encoded(values, np.asarray(codes, dtype=np.int64) % len(values)))

    def flag(values: np.ndarray, tri: bool = False) -> pgbinary.Column:
        return ("bool", values > 0 if tri else values, values < 0 if tri else None)

    columns = [
        text(cols.number, "text"), text(Encoded(["import"], np.zeros(n, dtype=np.int64))), ("int4", np.full(n, batch_id), None),
        text(cols.unit), text(cols.category), label("channel", cols.channel), label("appeal_type", cols.appeal_type),
        text(cols.region), label("urgency", cols.urgency), text(cols.title, "text"),
        ("text", cols.content, char_lengths(cols.content) == 0),  # an empty body is stored as NULL
        label("status", cols.status),
        *(("timestamptz", t[c], t[c] == NONE) for c in _TIMES),
        label("satisfaction", cols.satisfaction), flag(cols.resolved, tri=True),
        ("int4", cols.reopen_count, None), ("int4", cols.returned_count, None), flag(cols.has_evidence),
        flag(cols.requires_evidence), flag(cols.excluded), flag(cols.callback_reachable, tri=True),
        ("int4", rp.handling_seconds, rp.handling_seconds < 0), ("float8", rp.sign_seconds, np.isnan(rp.sign_seconds)),
        ("timestamptz", late, None), ("timestamptz", sign_late, sign_late == NONE),
    ]  # fmt: skip
    assert len(columns) == len(factrows.FACT_COLUMNS)
    return columns


def _sign_late(chunk: ParsedChunk) -> np.ndarray:
    """``sign_late_after`` for dispatched, unsigned, open rows (rare in history; per row)."""
    t = chunk.columns.times
    out = np.full(len(chunk.columns), NONE, dtype=np.int64)
    waiting = (t["dispatched_at"] != NONE) & (t["signed_at"] == NONE) & (t["replied_at"] == NONE) & (t["closed_at"] == NONE)
    for i in np.flatnonzero(waiting):
        if t["sign_due_at"][i] != NONE:
            out[i] = t["sign_due_at"][i]
        else:
            fact = chunk.columns.fact(int(i))
            assert fact.dispatched_at is not None
            out[i] = to_us(sign_late_after(fact.dispatched_at))
    return out


def _open_rows(chunk: ParsedChunk) -> np.ndarray:
    """Rows with neither a reply nor a closing time (``models.OPEN_SQL``): ``order_facts_waiting``."""
    t = chunk.columns.times
    return np.flatnonzero((t["replied_at"] == NONE) & (t["closed_at"] == NONE))


# ----------------------------------------------------------------------------- the import
class _Checker:
    """Codes and numbers: what makes a parsed row acceptable in this database."""

    def __init__(self, session: Session, options: ImportOptions) -> None:
        self.units = set(repository.unit_paths(session))
        self.categories = repository.category_codes(session)
        self.check_db = repository.has_any_fact_or_order(session)
        #: ``order_facts`` held no row when the import began (and is locked by it): only live
        #: work orders can hold a number already
        self.facts_empty = False
        self.seen = SeenNumbers()
        self.missing_units: set[str] = set()
        self.missing_categories: set[str] = set()
        self.options = options

    def filter(self, db: Database, chunk: ParsedChunk) -> ParsedChunk:
        """Reject what this database cannot take. Numbers are checked on a separate read
        session: the import's own connection is busy streaming ``COPY``."""
        cols, lines = chunk.columns, chunk.lines
        bad: dict[int, Rejection] = {}
        repeats = self.seen.add(cols.number, lines)
        for i, first in repeats.items():
            bad[i] = Rejection(int(lines[i]), cols.number[i], "number", f"工单编号与第 {first} 行重复",
                               f"number repeats line {first}")
        if self.check_db:
            numbers = list(cols.number)
            with db.reading() as reader:
                known = repository.existing_numbers(reader, numbers, facts=not self.facts_empty)
            for i, number in enumerate(numbers):
                if number in known and i not in bad:
                    bad[i] = Rejection(int(lines[i]), number, "number", "工单编号已存在（已导入或为在办工单）",
                                       "number already exists (imported before, or a live work order)")
        for name, have, missing, label in (("unit", self.units, self.missing_units, "单位"),
                                           ("category", self.categories, self.missing_categories, "分类")):  # fmt: skip
            unknown = set(getattr(cols, name)) - have - {""}
            if not unknown:
                continue
            creatable = {c for c in unknown if CODE_PATTERN.match(c)} if self.options.create_missing else set()
            missing |= creatable
            for i, code in enumerate(getattr(cols, name)):
                if code in unknown and code not in creatable and i not in bad:
                    bad[i] = Rejection(int(lines[i]), cols.number[i], name, *_unknown(label, name, code, self.options))
        if not bad:
            return chunk
        keep = np.array([i for i in range(len(cols)) if i not in bad], dtype=np.int64)
        return ParsedChunk(take(cols, keep), lines[keep], chunk.rejections + list(bad.values()), chunk.truncated_titles)


def _unknown(label: str, name: str, code: str, options: ImportOptions) -> tuple[str, str]:
    if options.create_missing:
        return (f"{label}编码 {code} 不合法，无法自动创建（只能包含字母、数字、_ . -）",
                f"{name} code {code!r} cannot be created: use letters, digits, _ . - only")
    return (f"未知{label}编码 {code}（可用 --create-missing 自动创建）",
            f"unknown {name} code {code!r} (use --create-missing to create it)")


def run_import(db: Database, path: Path, options: ImportOptions, *, now: datetime,
               progress: Progress | None = None) -> ImportResult:
    """Import ``path``; see the module docstring. Raises ``Invalid`` for an unreadable file."""
    started = time.perf_counter()
    header, chunks = read_rows(path, options.chunk_size)
    names, ignored = check_header(header)
    result = ImportResult(ok=False, ignored_columns=ignored)
    total = path.stat().st_size
    calendar = kpi_calendar()
    units, categories, regions = cells.Vocab(), cells.Vocab(), cells.Vocab()
    tables: list[cells.CellTable] = []
    with db.unit_of_work() as session:
        checker = _Checker(session, options)
        batch_id = repository.add_batch(session, ImportBatch(
            filename=path.name[:500], sha256="", rows=0, skipped=0, created_at=now, created_by=options.actor,
            options={"create_missing": options.create_missing, "skip_invalid": options.skip_invalid}))  # fmt: skip
        facts_deferred = deferred.defer_indexes(session, "order_facts")  # before any worker starts
        checker.facts_empty = bool(facts_deferred)
        if pipeline.wants_worker(path, options.parse_in_worker):
            chunks.close()  # the worker reads the file itself
            parsed = pipeline.in_worker(path, names, options.chunk_size, options.naive_tz)
        else:
            parsed = pipeline.in_process(names, chunks, options.naive_tz)
        writer = factrows.FactWriter(session)
        waiting = factrows.WaitingRows()
        writing = True
        try:
            for read, parsed_chunk, done in parsed:
                chunk = checker.filter(db, parsed_chunk)
                result.rows += read
                result.rejected += chunk.rejections
                result.truncated_titles += chunk.truncated_titles
                writing = writing and (options.skip_invalid or not result.rejected)
                if writing and len(chunk.columns):
                    rp = partials(chunk.columns, calendar)
                    tables.append(cells.rows_to_cells(chunk.columns, rp, units, categories, regions))
                    if sum(len(t) for t in tables[1:]) > max(MERGE_AT, 2 * len(tables[0])):
                        tables = [cells.merge(tables)]
                    columns = fact_columns(chunk, rp, _sign_late(chunk), batch_id)
                    writer.write(columns)
                    waiting.add(columns, _open_rows(chunk))
                    result.imported += len(chunk.columns)
                if progress:
                    progress(done or result.rows, total if done else None, "校验并写入 validating and loading")
        except BaseException:
            writer.close(ok=False)
            raise
        finally:
            parsed.close()  # stops a worker still reading
        writer.close(ok=writing)
        if not writing:
            session.rollback()
            result.imported = 0
            result.seconds = time.perf_counter() - started
            return result
        if progress:
            progress(total, total, "汇总 building aggregates")
        # nothing overlaps this: PostgreSQL builds big indexes with parallel workers (both cores
        # here); merging and summing the cells in a thread beside it made the builds slower by as
        # much as it saved (docs/benchmarks.md, eighth run)
        deferred.rebuild(session, facts_deferred)
        result.created_units = sorted(checker.missing_units)
        result.created_categories = sorted(checker.missing_categories)
        _create_missing(session, result.created_units, result.created_categories)
        table = cells.merge(tables)
        tables.clear()
        _write_aggregates(session, table, units, categories, regions)
        waiting.write(session)
        repository.bump_sequences(session, checker.seen.live_top)
        bulk.analyze(session)
        batch = session.get(ImportBatch, batch_id)
        assert batch is not None
        batch.rows, batch.skipped = result.imported, len(result.rejected)
        batch.sha256 = _sha256(path)
    result.ok, result.batch_id = True, batch_id
    result.seconds = time.perf_counter() - started
    return result


def _write_aggregates(session: Session, table: cells.CellTable, units: cells.Vocab, categories: cells.Vocab,
                      regions: cells.Vocab) -> None:
    """Cells, then the monthly and daily rollups. The rollups are summed in a thread while the
    database takes the cells (numpy sorts and sums release the GIL, and so does waiting on the
    socket), so the two cores work at once; the thread only reads ``table`` and the vocabularies."""
    if not len(table):
        return
    with ThreadPoolExecutor(1, thread_name_prefix="minxin-rollups") as pool:
        rollups = pool.submit(lambda: (cells.monthly(table, units, categories, regions), cells.daily(table, categories, regions)))
        bulk.write_cells(session, cells.key_columns(table, units, categories, regions), table.counters, table.hist)
        m, d = rollups.result()
    bulk.write_monthly(session, [m.dims, m.months, m.units, m.values], m.counters, m.hist)
    bulk.write_daily(session, [d.dims, d.days, d.values], d.counters, d.hist)


def _create_missing(session: Session, unit_codes: list[str], category_codes: list[str]) -> None:
    if not unit_codes and not category_codes:
        return
    from minxin.categories import service as categories_service
    from minxin.units import service as units_service

    root = repository.root_unit(session)
    for code in unit_codes:
        units_service.create_unit(session, code=code, name=code, kind="department",
                                  parent_code=root.code if root else None)
    for code in category_codes:
        categories_service.create_category(session, code=code, name=code)
    session.flush()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
