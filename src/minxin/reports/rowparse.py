"""Import rows (strings) → ``FactColumns``, with ``core.kpi.from_row`` as the only authority.

Why two paths: ``from_row`` parses one row in ~0.1 ms, too slow for history at scale; but it
*defines* what a valid row is and what each error says. So every column is parsed here in bulk
for the common shapes (ISO 8601 ``YYYY-MM-DDTHH:MM:SS[.fff[fff]]±HH:MM`` or ``…Z``, in
``instants``; enum, boolean and count values mapped once per *distinct* value through
``from_row`` itself), and any row with a cell outside those shapes goes through ``from_row``
whole: it either parses (and its fact is used) or its ``FactError`` is the row's rejection
reason. A row is never accepted by the fast path that ``from_row`` would refuse
(tests/reports/test_columnar.py checks both ways).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from datetime import tzinfo
from typing import Any

import numpy as np

from minxin.core.kpi import IMPORT_COLUMNS, OPTIONAL_COLUMNS, FactError, OrderFact, from_row
from minxin.core.kpi.facts import parse_bool, parse_count
from minxin.reports.columnar import (
    APPEALS,
    CHANNELS,
    NONE,
    SATISFACTIONS,
    STATUSES,
    TIME_COLUMNS,
    URGENCIES,
    FactColumns,
)
from minxin.reports.instants import parse_instants
from minxin.reports.textcols import Encoded, Texts, Utf8, combined

#: the longest codes the reporting tables hold
MAX_NUMBER, MAX_CODE, MAX_TITLE = 64, 64, 200
_PROBE: dict[str, str] = {c: "" for c in IMPORT_COLUMNS} | {
    "number": "probe",
    "channel": "phone",
    "appeal_type": "consult",
    "created_at": "2026-01-01T00:00:00+08:00",
}


@dataclass(frozen=True)
class Rejection:
    """Why one file line was refused (the column is named; messages in Chinese and English)."""

    line: int
    number: str
    column: str
    message_zh: str
    message_en: str


@dataclass
class ParsedChunk:
    columns: FactColumns
    lines: np.ndarray
    rejections: list[Rejection]
    #: titles longer than ``MAX_TITLE`` characters, cut to fit
    truncated_titles: int = 0


# ---------------------------------------------------------------------------------------------
# Whole chunks
# ---------------------------------------------------------------------------------------------


_BAD = -128


def _coded(values: Sequence[Hashable] | Encoded, parse: Callable[[Any], Any], encode: Callable[[Any], int],
           dtype: type = np.int8) -> tuple[np.ndarray, np.ndarray]:
    """Parse each *distinct* value once and encode it: (codes, ok). A value ``parse`` refuses
    (``FactError``) is not ok; its row goes to ``from_row`` for the authoritative message."""
    def code(v: Any) -> int:
        try:
            return encode(parse(v))
        except FactError:
            return _BAD

    if isinstance(values, Encoded):
        codes = np.array([code(v) for v in values.values], dtype=dtype)[values.index]
        return codes, codes != _BAD
    table = {v: code(v) for v in set(values)}
    codes = np.fromiter(map(table.__getitem__, values), dtype=dtype, count=len(values))
    return codes, codes != _BAD


def _strip(values: Sequence[str]) -> Sequence[str]:
    """Free text stripped: in Arrow for ``Texts``, else as a list."""
    return values.strip() if isinstance(values, Texts) else list(map(str.strip, values))


def char_lengths(values: Sequence[str]) -> np.ndarray:
    """Each value's ``len``."""
    if isinstance(values, Texts):
        return values.lengths()
    return np.fromiter(map(len, values), dtype=np.int64, count=len(values))


def _stripped(values: Sequence[str] | Encoded) -> list[str]:
    """Strip low-cardinality codes once per distinct value."""
    if isinstance(values, Encoded):
        return np.array([v.strip() for v in values.values], dtype=object)[values.index].tolist()  # type: ignore[no-any-return]
    table = {v: v.strip() for v in set(values)}
    return list(map(table.__getitem__, values))


def _enum(column: str) -> Callable[[str], Any]:
    return lambda v: getattr(from_row(_PROBE | {column: v}), column)


def _status(triple: tuple[str, str, str]) -> Any:
    status, merged, void = triple
    return from_row(_PROBE | {"status": status, "merged": merged, "void": void}).status


def _index(members: Sequence[object]) -> Callable[[Any], int]:
    pos = {m: i for i, m in enumerate(members)}
    return lambda v: -1 if v is None else pos[v]


def _tri(value: bool | None) -> int:
    return -1 if value is None else int(value)


def parse_chunk(
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    first_line: int | Sequence[int],
    *,
    naive_tz: tzinfo | None = None,
) -> ParsedChunk:
    """Parse rows (cells as strings, ``header`` giving their columns) into columns.

    ``first_line`` is the file line of ``rows[0]`` (then consecutive) or one line per row.
    Rows with the wrong number of cells, or any cell ``from_row`` refuses, are rejected.
    """
    lines = (
        np.arange(first_line, first_line + len(rows), dtype=np.int64)
        if isinstance(first_line, int)
        else np.asarray(first_line, dtype=np.int64)
    )
    rejections: list[Rejection] = []
    width = len(header)
    keep = [i for i, r in enumerate(rows) if len(r) == width]
    for i in set(range(len(rows))) - set(keep):
        rejections.append(
            Rejection(int(lines[i]), "", "(row)", f"本行有 {len(rows[i])} 列，表头有 {width} 列",
                      f"row has {len(rows[i])} cells, the header has {width}")
        )
    rows = [rows[i] for i in keep] if len(keep) < len(rows) else rows
    lines = lines[keep] if len(keep) < len(lines) else lines
    cols: dict[str, Sequence[str]] = {}
    if rows:
        cols = dict(zip(header, zip(*rows, strict=True), strict=True))  # column tuples, no copies
    return parse_columns(cols, len(rows), lines, rejections, naive_tz=naive_tz)


Column = Sequence[str] | Encoded | Utf8


def parse_columns(
    cols: Mapping[str, Column],
    n: int,
    lines: np.ndarray,
    rejections: list[Rejection] | None = None,
    *,
    naive_tz: tzinfo | None = None,
) -> ParsedChunk:
    """Parse ``n`` rows given by column (a column missing from ``cols`` is empty) — lists of
    strings, or ``textcols`` shapes — with ``lines`` the file line of each row; ``rejections``:
    those already made for this chunk (rows of the wrong width)."""
    rejections = [] if rejections is None else rejections
    blank = [""] * n
    col = lambda name: cols.get(name, blank)  # noqa: E731
    slow = np.zeros(n, dtype=bool)
    number = _strip(col("number"))
    slow |= char_lengths(number) == 0
    times = {}
    for name in TIME_COLUMNS:
        times[name], ok = parse_instants(col(name))
        slow |= ~ok
    slow |= times["created_at"] == NONE
    enum = {}
    for name, members in (("channel", CHANNELS), ("appeal_type", APPEALS), ("satisfaction", SATISFACTIONS),
                          ("urgency", URGENCIES)):
        enum[name], ok = _coded(col(name), _enum(name), _index(members))
        slow |= ~ok
    triples: Sequence[tuple[str, str, str]] | Encoded
    if any(isinstance(col(c), Encoded) for c in ("status", "merged", "void")):
        none = Encoded([""], np.zeros(n, dtype=np.int64))  # a column the file does not have
        triples = combined(*(c if isinstance(c, Encoded) else none if c is blank else Encoded.of(c)
                             for c in map(col, ("status", "merged", "void"))))  # fmt: skip
    else:
        triples = list(zip(col("status"), col("merged"), col("void"), strict=True))
    enum["status"], ok = _coded(triples, _status, _index(STATUSES))
    slow |= ~ok
    flags = {}
    for name in ("resolved", "has_evidence", "requires_evidence", "excluded_from_satisfaction", "callback_reachable"):
        flags[name], ok = _coded(col(name), lambda v, c=name: parse_bool(c, v), _tri)
        slow |= ~ok
    counts = {}
    for name in ("reopen_count", "returned_count"):
        counts[name], ok = _coded(col(name), lambda v, c=name: parse_count(c, v), int, np.int64)
        slow |= ~ok
    fast = FactColumns(
        number=number,
        title=_strip(col("title")),
        content=_strip(col("content")),
        unit=_stripped(col("unit")),
        category=_stripped(col("category")),
        region=_stripped(col("region")),
        channel=enum["channel"],
        appeal_type=enum["appeal_type"],
        urgency=np.where(enum["urgency"] < 0, 0, enum["urgency"]).astype(np.int8),
        status=enum["status"],
        satisfaction=enum["satisfaction"],
        resolved=flags["resolved"],
        callback_reachable=flags["callback_reachable"],
        has_evidence=flags["has_evidence"] == 1,
        requires_evidence=flags["requires_evidence"] != 0,
        excluded=flags["excluded_from_satisfaction"] == 1,
        reopen_count=counts["reopen_count"],
        returned_count=counts["returned_count"],
        times=times,
    )
    slow_idx = np.flatnonzero(slow)
    if len(slow_idx):
        present = [c for c in (*IMPORT_COLUMNS, *OPTIONAL_COLUMNS) if c in cols]
        good_idx, facts = [], []
        for i in slow_idx:
            try:
                facts.append(from_row({c: cols[c][i] for c in present}, naive_tz=naive_tz, line=int(lines[i])))
                good_idx.append(i)
            except FactError as exc:
                rejections.append(Rejection(int(lines[i]), number[i], exc.column, exc.reason_zh, exc.reason_en))
        fast = _replace_rows(fast, np.flatnonzero(~slow), good_idx, facts)
        lines = np.concatenate((lines[~slow], lines[np.asarray(good_idx, dtype=np.int64)]))
    return _limits(ParsedChunk(fast, lines, rejections))


def take(cols: FactColumns, idx: np.ndarray) -> FactColumns:
    """The rows ``idx`` of ``cols``, in that order."""
    pick = lambda items: items.take(idx) if isinstance(items, Texts) else [items[i] for i in idx]  # noqa: E731
    arrays = {
        k: getattr(cols, k)[idx]
        for k in ("channel", "appeal_type", "urgency", "status", "satisfaction", "resolved", "callback_reachable",
                  "has_evidence", "requires_evidence", "excluded", "reopen_count", "returned_count")
    }  # fmt: skip
    return FactColumns(
        number=pick(cols.number), title=pick(cols.title), content=pick(cols.content), unit=pick(cols.unit),
        category=pick(cols.category), region=pick(cols.region), times={k: v[idx] for k, v in cols.times.items()},
        **arrays,
    )  # fmt: skip


def concat(parts: Sequence[FactColumns]) -> FactColumns:
    """Rows of several column sets, in order."""
    first = parts[0]
    lists: dict[str, Sequence[str]] = {k: [x for p in parts for x in getattr(p, k)] for k in ("unit", "category", "region")}
    for k in ("number", "title", "content"):
        columns = [getattr(p, k) for p in parts]
        lists[k] = Texts.concat(columns) if any(isinstance(c, Texts) for c in columns) else [x for c in columns for x in c]
    arrays = {
        k: np.concatenate([getattr(p, k) for p in parts])
        for k in ("channel", "appeal_type", "urgency", "status", "satisfaction", "resolved", "callback_reachable",
                  "has_evidence", "requires_evidence", "excluded", "reopen_count", "returned_count")
    }  # fmt: skip
    times = {k: np.concatenate([p.times[k] for p in parts]) for k in first.times}
    return FactColumns(**lists, **arrays, times=times)


def _replace_rows(fast: FactColumns, keep: np.ndarray, extra: list[int], facts: list[OrderFact]) -> FactColumns:
    base = take(fast, keep)
    return concat([base, FactColumns.from_facts(facts)]) if facts else base


def _limits(chunk: ParsedChunk) -> ParsedChunk:
    """Refuse values the tables cannot hold; cut over-long titles (counted, reported)."""
    cols = chunk.columns
    bad: dict[int, Rejection] = {}
    for name, limit in (("number", MAX_NUMBER), ("unit", MAX_CODE), ("category", MAX_CODE), ("region", MAX_CODE)):
        values = getattr(cols, name)
        if not len(values):
            continue
        lengths = char_lengths(values)
        if lengths.max() <= limit:
            continue
        for i in np.flatnonzero(lengths > limit).tolist():
            if i not in bad:
                bad[i] = Rejection(int(chunk.lines[i]), cols.number[i], name, f"超过 {limit} 个字符",
                                   f"longer than {limit} characters")
    long_titles = np.flatnonzero(char_lengths(cols.title) > MAX_TITLE) if len(cols.title) else np.zeros(0, dtype=np.int64)
    if len(long_titles) and isinstance(cols.title, Texts):
        cols.title = cols.title.cut(MAX_TITLE)
    elif len(long_titles):
        title = list(cols.title)
        for i in long_titles.tolist():
            title[i] = title[i][:MAX_TITLE]
        cols.title = title
    if bad:
        keep = np.array([i for i in range(len(cols)) if i not in bad], dtype=np.int64)
        return ParsedChunk(take(cols, keep), chunk.lines[keep], chunk.rejections + list(bad.values()), len(long_titles))
    return ParsedChunk(cols, chunk.lines, chunk.rejections, len(long_titles))
