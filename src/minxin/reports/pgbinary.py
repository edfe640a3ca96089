"""PostgreSQL binary ``COPY`` payloads built with numpy: no text formatting, no text parsing.

Why: formatting rows one by one (``csv.writer``, ``Copy.write_row``) was the largest cost of a
history import, and parsing ISO timestamps the largest cost on the server. In the binary format
every field is a big-endian value behind its byte length (−1 = NULL), so fixed-width columns
can be laid out a whole column at a time, as fields of numpy structured records (one record
layout per combination of NULLs or of text lengths, so rows come out grouped, which ``COPY``
does not mind); texts follow as length-prefixed values, joined in C. Format: PostgreSQL docs,
"COPY … Binary Format".

A column is ``(kind, values, null)`` with ``kind`` one of ``int2 int4 int8 float8 bool date
timestamptz text code`` (``code``: a text column with few distinct values, encoded once each);
``values`` a numpy array (dates: days since 1970-01-01; timestamptz: µs since the Unix epoch)
or, for text, a list of ``str`` (None = NULL); ``null`` an optional mask.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator, Sequence
from itertools import chain
from operator import itemgetter
from typing import Any

import numpy as np

from minxin.reports.textcols import Encoded

HEADER = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"
TRAILER = b"\xff\xff"
#: PostgreSQL's epoch (2000-01-01) in Unix days and microseconds
_PG_DAYS = 10_957
_PG_US = _PG_DAYS * 86_400 * 1_000_000
_FIXED = {"int2": ">i2", "int4": ">i4", "int8": ">i8", "float8": ">f8", "bool": "u1", "date": ">i4", "timestamptz": ">i8"}

Column = tuple[str, Any, "np.ndarray | None"]


def field_order(kinds: Sequence[str]) -> list[int]:
    """The order in which ``rows`` lays out fields, as indexes into its columns: the fixed-width
    columns first, then the text ones (each group in the given order). Name the columns of the
    ``COPY`` statement in this order."""
    fixed = [i for i, k in enumerate(kinds) if k not in ("text", "code")]
    return fixed + [i for i, k in enumerate(kinds) if k in ("text", "code")]


#: the 4-byte length prefix of short values, built once
_LENGTHS = [struct.pack(">i", k) for k in range(1024)]
_NULL = struct.pack(">i", -1)


def _prefixed(value: bytes | None) -> bytes:
    if value is None:
        return _NULL
    size = len(value)
    return (_LENGTHS[size] if size < 1024 else struct.pack(">i", size)) + value


def rows(columns: Sequence[Column]) -> bytes:
    """The binary rows (without header and trailer) of equally long columns, fields in
    ``field_order`` and rows in an order of their own (``COPY`` does not mind).

    How: rows are grouped by which fixed-width fields are NULL, so that within a group the
    fixed-width part of every row has one layout: a numpy structured array, laid out by whole
    columns and turned into bytes at once. Each row's texts follow as length-prefixed values
    (a ``code`` column's few distinct values are prefixed once each), and the pieces are joined
    in C by ``bytes.join``. No per-byte index arrays: laying out 1M order rows takes about a
    quarter of the time that scattering every byte did."""
    n = len(columns[0][1])
    if n == 0:
        return b""
    fixed = [(kind, np.asarray(values), None if null is None else np.asarray(null, dtype=bool))
             for kind, values, null in columns if kind not in ("text", "code")]  # fmt: skip
    texts: list[Sequence[bytes]] = []
    for kind, values, _ in columns:
        if kind == "code":
            table = {v: _prefixed(None if v is None else v.encode()) for v in set(values)}
            texts.append(list(map(table.__getitem__, values)))
        elif kind == "text":
            encoded = [b"" if v is None else v.encode() for v in values]
            if max(map(len, encoded)) < len(_LENGTHS) and None not in values:
                texts.append([_LENGTHS[len(e)] + e for e in encoded])
            else:
                texts.append([_prefixed(None if v is None else e) for v, e in zip(values, encoded, strict=True)])
    nullable = [j for j, (_, _, null) in enumerate(fixed) if null is not None and null.any()]
    pattern = np.zeros(n, dtype=np.int64)
    for j in nullable:
        pattern = pattern * 2 + fixed[j][2]
    distinct, inverse = np.unique(pattern, return_inverse=True)
    inverse = inverse.reshape(-1)
    order = np.argsort(inverse, kind="stable")
    bounds = np.searchsorted(inverse[order], np.arange(len(distinct) + 1))
    prefixes: list[memoryview] = []
    for g in range(len(distinct)):
        group = order[bounds[g] : bounds[g + 1]]
        first = int(group[0])
        present = [null is None or not null[first] for _, _, null in fixed]
        fields: list[tuple[str, str]] = [("count", ">i2")]
        for j, (kind, _, _) in enumerate(fixed):
            fields.append((f"l{j}", ">i4"))
            if present[j]:
                fields.append((f"f{j}", _FIXED[kind]))
        record = np.empty(len(group), dtype=np.dtype(fields))
        record["count"] = len(columns)
        for j, (kind, values, _) in enumerate(fixed):
            if not present[j]:
                record[f"l{j}"] = -1
                continue
            v = values[group]
            record[f"l{j}"] = np.dtype(_FIXED[kind]).itemsize
            record[f"f{j}"] = v - _PG_DAYS if kind == "date" else (v - _PG_US if kind == "timestamptz" else v)
        raw = record.tobytes()
        size = record.dtype.itemsize
        prefixes += [raw[k : k + size] for k in range(0, len(raw), size)]
    if not texts:
        return b"".join(prefixes)
    pick = itemgetter(*order.tolist()) if n > 1 else (lambda column: (column[0],))
    return b"".join(chain.from_iterable(zip(prefixes, *(pick(column) for column in texts), strict=True)))


def _layouts(lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(distinct rows of ``lengths``, each row's index into them). Text lengths take few distinct
    values per column, so each row's combination is numbered by direct addressing (counts over a
    small mixed-radix key), with no sort."""
    n, k = lengths.shape
    if k == 0:
        return np.zeros((1, 0), dtype=np.int64), np.zeros(n, dtype=np.int64)
    key = np.zeros(n, dtype=np.int64)
    for j in range(k):
        column = lengths[:, j]
        distinct = np.flatnonzero(np.bincount(column))
        position = np.zeros(int(distinct[-1]) + 1, dtype=np.int64)
        position[distinct] = np.arange(len(distinct))
        key *= len(distinct)
        key += position[column]
    if int(key.max()) < 1 << 24:
        present = np.flatnonzero(np.bincount(key))
        number = np.zeros(int(present[-1]) + 1, dtype=np.int64)
        number[present] = np.arange(len(present))
        inverse = number[key]
    else:
        _, inverse = np.unique(key, return_inverse=True)
        inverse = inverse.reshape(-1)
    first = np.empty(int(inverse.max()) + 1, dtype=np.int64)
    first[inverse] = np.arange(n)
    return lengths[first], inverse


def _heads(fixed: Sequence[tuple[str, np.ndarray]], count: int, order: np.ndarray) -> np.ndarray:
    """The fixed-width head of every row — field count, then each fixed column's length and
    big-endian value — as an (n, head bytes) uint8 matrix, rows taken in ``order``.

    Why this shape of code: writing column after column into row-major records touches every
    row's cache line once per column (slow: a 7M-row, 37-column head took 10 s); here each column
    is gathered and converted contiguously into a column-major matrix of 4-, 2- or 1-byte slots,
    and one transpose turns it row-major (about 3× faster)."""
    n = len(order)
    widths = [np.dtype(_FIXED[kind]).itemsize for kind, _ in fixed]
    unit = 4 if all(w % 4 == 0 for w in widths) else (2 if all(w % 2 == 0 for w in widths) else 1)
    slot = {4: np.uint32, 2: np.uint16, 1: np.uint8}[unit]
    pad = 2 if unit == 4 else 0  # the 2-byte field count sits after 2 bytes dropped at the end
    size = pad + 2 + sum(4 + w for w in widths)
    columns = np.empty((size // unit, n), dtype=slot)
    at = 0

    def put(raw: np.ndarray) -> None:  # raw: (k,) constant slots or (n, k) slots per row
        nonlocal at
        k = raw.shape[-1]
        columns[at : at + k] = raw[:, None] if raw.ndim == 1 else raw.T
        at += k

    put(np.frombuffer(b"\0" * pad + struct.pack(">h", count), dtype=slot))
    for (kind, values), w in zip(fixed, widths, strict=True):
        put(np.frombuffer(struct.pack(">i", w), dtype=slot))
        v = np.asarray(values)[order]
        v = v - _PG_DAYS if kind == "date" else (v - _PG_US if kind == "timestamptz" else v)
        put(np.ascontiguousarray(v, dtype=_FIXED[kind]).view(slot).reshape(n, w // unit))
    rows = np.ascontiguousarray(columns.T)
    return rows.view(np.uint8).reshape(n, size)[:, pad:]


#: rows laid out at a time by ``dense_parts``: its buffers (≈ 20 MB for a 40-column aggregate
#: row) stay below glibc's mmap threshold, so they are reused instead of faulted in afresh
BLOCK = 1 << 16


def dense_parts(fixed: Sequence[tuple[str, np.ndarray]], texts: Sequence[Sequence[str] | Encoded]) -> Iterator[bytes]:
    """Binary rows of NOT NULL columns — the fixed-width ones first, then the texts — laid out as
    numpy structured records, yielded in parts (write them in any order, without joining).
    Fast for aggregate tables, whose few text columns (unit, category, channel, …) take few
    distinct values and lengths. Row order follows the layouts, which ``COPY`` does not mind. A
    text column given as ``Encoded`` (distinct values + each row's index) is used as it is; a
    list of ``str`` is encoded here.

    How: rows whose texts have the same byte lengths share one record layout, so rows are sorted
    by layout; then, ``BLOCK`` rows at a time, the fixed-width heads are laid out (``_heads``)
    and each layout's run of the block becomes one record array: its heads beside its texts,
    taken from per-value byte tables. A generator, so the caller can send block k while block
    k + 1 is laid out."""
    n = len(fixed[0][1]) if fixed else len(texts[0])
    if n == 0:
        return
    codes, blobs = [], []  # per text column: each row's value code, and each code's bytes
    for column in texts:
        encoded = column if isinstance(column, Encoded) else Encoded.of(column)
        codes.append(encoded.index)
        blobs.append([v.encode() for v in encoded.values])
    sizes = [np.array([len(b) for b in blob], dtype=np.int64) for blob in blobs]
    lengths = (np.stack([size[c] for size, c in zip(sizes, codes, strict=True)], axis=1)
               if texts else np.zeros((n, 0), dtype=np.int64))  # fmt: skip
    layouts, inverse = _layouts(lengths)
    del lengths
    # a stable sort of small ints is a radix sort in numpy: linear, not n log n
    order = np.argsort(inverse.astype(np.uint16) if len(layouts) <= 1 << 16 else inverse, kind="stable")
    bounds = np.searchsorted(inverse[order], np.arange(len(layouts) + 1)).tolist()
    count = len(fixed) + len(texts)
    dtypes: dict[int, np.dtype[Any]] = {}
    padded: dict[tuple[int, int], np.ndarray] = {}  # (column, size) → every value as S{size}
    layout_of = layouts.tolist()
    g = 0
    for lo in range(0, n, BLOCK):
        hi = min(n, lo + BLOCK)
        heads = _heads(fixed, count, order[lo:hi])
        if not texts:
            yield heads.tobytes()
            continue
        head = np.dtype((np.void, heads.shape[1]))
        while bounds[g + 1] <= lo:
            g += 1
        while g < len(layout_of) and bounds[g] < hi:
            a, b = max(bounds[g], lo), min(bounds[g + 1], hi)
            layout = layout_of[g]
            dtype = dtypes.get(g)
            if dtype is None:
                fields: list[tuple[str, Any]] = [("head", head)]
                for j, size in enumerate(layout):
                    fields.append((f"tl{j}", ">i4"))
                    if size:
                        fields.append((f"t{j}", f"S{size}"))
                dtype = dtypes[g] = np.dtype(fields)
            record = np.empty(b - a, dtype=dtype)
            record["head"] = heads[a - lo : b - lo].view(head)[:, 0]
            rows = order[a:b]
            for j, size in enumerate(layout):
                record[f"tl{j}"] = size
                if size:
                    table = padded.get((j, size))
                    if table is None:
                        table = padded[(j, size)] = np.array(blobs[j], dtype=f"S{size}")
                    record[f"t{j}"] = table[codes[j][rows]]
            yield record.tobytes()
            if bounds[g + 1] > hi:
                break
            g += 1
