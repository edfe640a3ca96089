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
from typing import Any

import numpy as np

from minxin.reports.textcols import Encoded, Texts

HEADER = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"
TRAILER = b"\xff\xff"
#: PostgreSQL's epoch (2000-01-01) in Unix days and microseconds
_PG_DAYS = 10_957
_PG_US = _PG_DAYS * 86_400 * 1_000_000
_FIXED = {"int2": ">i2", "int4": ">i4", "int8": ">i8", "float8": ">f8", "bool": "u1", "date": ">i4", "timestamptz": ">i8"}

Column = tuple[str, Any, "np.ndarray | None"]
#: bytes one Arrow join may produce (``binary`` arrays have 32-bit offsets); larger inputs are halved
MAX_JOIN = 1 << 31


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


def rows(columns: Sequence[Column]) -> bytes | memoryview:
    """The binary rows (without header and trailer) of equally long columns, fields in
    ``field_order``, rows in an order of their own (``COPY`` does not mind).

    How: rows are grouped by which fixed-width fields are NULL, so that within a group the
    fixed-width part of every row has one layout: a numpy structured array, laid out by whole
    columns and turned into bytes at once. The texts are never Python objects per row: each
    text column becomes an Arrow binary array of length prefixes beside its values, adjacent
    ``code`` columns few arrays taken from tables of their joined, prefixed value combinations
    (``_codes``), and Arrow's ``binary_join_element_wise`` joins head and texts row by row in
    C++ (on 10M order rows this replaced about 37 s of encoding and prefixing in Python)."""
    n = len(columns[0][1])
    if n == 0:
        return b""
    fixed = [(kind, np.asarray(values), None if null is None else np.asarray(null, dtype=bool))
             for kind, values, null in columns if kind not in ("text", "code")]  # fmt: skip
    nullable = [j for j, (_, _, null) in enumerate(fixed) if null is not None and null.any()]
    pattern = np.zeros(n, dtype=np.int64)
    for j in nullable:
        pattern = pattern * 2 + fixed[j][2]
    distinct, inverse = np.unique(pattern, return_inverse=True)
    inverse = inverse.reshape(-1)
    order = np.argsort(inverse, kind="stable")
    bounds = np.searchsorted(inverse[order], np.arange(len(distinct) + 1))
    blobs: list[bytes] = []
    sizes = np.empty(len(distinct), dtype=np.int64)
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
        blobs.append(record.tobytes())
        sizes[g] = record.dtype.itemsize
    texts = [(kind, values if kind != "code" or isinstance(values, Encoded) else Encoded.of(values), null)
             for kind, values, null in columns if kind in ("text", "code")]  # fmt: skip
    if not texts:
        return b"".join(blobs)
    if n > 1 and int(sizes.max()) * n + sum(_most_bytes(kind, values) for kind, values, _ in texts) >= MAX_JOIN:
        half = n // 2  # past 32-bit offsets: lay out the halves on their own
        return b"".join((rows([_rows_of(c, 0, half) for c in columns]), rows([_rows_of(c, half, n) for c in columns])))
    parts = [_binary(np.cumsum(np.concatenate(([0], sizes[inverse[order]]))), b"".join(blobs))]
    if len(distinct) > 1:  # heads were laid out by group: put them back in row order
        rank = np.empty(n, dtype=np.int64)
        rank[order] = np.arange(n)
        parts[0] = parts[0].take(rank)
    run: list[Encoded] = []
    for kind, values, null in texts:
        if kind == "code":
            run.append(values)
            continue
        parts += _codes(run)
        run = []
        parts += _text(values, null)
    parts += _codes(run)
    import pyarrow.compute as pc

    joined = pc.binary_join_element_wise(*parts, b"")
    offsets = np.frombuffer(joined.buffers()[1], dtype=np.int32)
    return memoryview(joined.buffers()[2])[offsets[joined.offset] : offsets[joined.offset + n]]


def _most_bytes(kind: str, values: Any) -> int:
    """At least the bytes a text or (encoded) code column adds to the rows, prefixes included."""
    n = len(values)
    if kind == "code":
        return n * (4 + max((len(v.encode()) for v in values.values if v is not None), default=0))
    if isinstance(values, Texts):
        import pyarrow.compute as pc

        return 4 * n + int(pc.sum(pc.binary_length(values.array)).as_py() or 0)
    return 4 * n + 4 * sum(len(v) for v in values if v is not None)  # UTF-8: at most 4 bytes a character


def _binary(offsets: np.ndarray, data: bytes | np.ndarray) -> Any:
    """An Arrow ``binary`` array from its value offsets and bytes."""
    import pyarrow as pa

    return pa.Array.from_buffers(pa.binary(), len(offsets) - 1,
                                 [None, pa.py_buffer(offsets.astype(np.int32)), pa.py_buffer(data)])  # fmt: skip


#: adjacent ``code`` columns are joined into one Arrow array while their value combinations
#: number at most this (a table of every combination is built in Python)
MAX_COMBOS = 1024


def _codes(run: Sequence[Encoded]) -> Iterator[Any]:
    """Adjacent ``code`` columns as few Arrow arrays: per row, the length-prefixed values
    joined, from a table of every combination of values of a group of columns (groups as long
    as their combinations stay within ``MAX_COMBOS``)."""
    import pyarrow as pa

    groups: list[list[Encoded]] = []
    for column in run:
        size = max(1, len(column.values))
        if groups and np.prod([max(1, len(c.values)) for c in groups[-1]]) * size <= MAX_COMBOS:
            groups[-1].append(column)
        else:
            groups.append([column])
    for group in groups:
        table = [b""]
        key = np.zeros(len(group[0].index), dtype=np.int64)
        for column in group:
            prefixed = [_prefixed(None if v is None else v.encode()) for v in column.values] or [_NULL]
            table = [t + p for t in table for p in prefixed]
            key = key * len(prefixed) + column.index
        yield pa.array(table, type=pa.binary()).take(key)


def _text(values: Sequence[str | None], null: np.ndarray | None) -> list[Any]:
    """A text column as two Arrow arrays: each row's 4-byte length (−1 for NULL), its bytes."""
    import pyarrow as pa
    import pyarrow.compute as pc

    array = values.array if isinstance(values, Texts) else pa.array(list(values), type=pa.string())
    missing = array.is_null().to_numpy(zero_copy_only=False)
    if null is not None:
        missing = missing | np.asarray(null, dtype=bool)
    if missing.any():
        array = pc.if_else(pa.array(missing), pa.scalar("", pa.string()), array)
    array = array.cast(pa.binary())
    lengths = pc.binary_length(array).to_numpy(zero_copy_only=False).astype(np.int64)
    lengths[missing] = -1
    n = len(lengths)
    return [_binary(np.arange(n + 1, dtype=np.int64) * 4, lengths.astype(">i4").tobytes()), array]


def _rows_of(column: Column, lo: int, hi: int) -> Column:
    kind, values, null = column
    values = Encoded(values.values, values.index[lo:hi]) if isinstance(values, Encoded) else values[lo:hi]
    return kind, values, None if null is None else np.asarray(null)[lo:hi]


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
