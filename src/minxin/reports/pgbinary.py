"""PostgreSQL binary ``COPY`` payloads built with numpy: no per-row Python, no text parsing.

Why: formatting rows one by one (``csv.writer``, ``Copy.write_row``) was the largest cost of a
history import, and parsing ISO timestamps the largest cost on the server. In the binary format
every field is a big-endian value behind its byte length (−1 = NULL), so whole columns can be
laid out at once: fixed-width columns by one fancy-indexed assignment each, text columns by
scattering the concatenated UTF-8 bytes. Format: PostgreSQL docs, "COPY … Binary Format".

A column is ``(kind, values, null)`` with ``kind`` one of ``int2 int4 int8 float8 bool date
timestamptz text code`` (``code``: a text column with few distinct values, encoded once each); ``values`` a numpy array (dates: days since 1970-01-01; timestamptz: µs
since the Unix epoch) or, for text, a list of ``str`` (None = NULL); ``null`` an optional mask.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

HEADER = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"
TRAILER = b"\xff\xff"
#: PostgreSQL's epoch (2000-01-01) in Unix days and microseconds
_PG_DAYS = 10_957
_PG_US = _PG_DAYS * 86_400 * 1_000_000
_FIXED = {"int2": ">i2", "int4": ">i4", "int8": ">i8", "float8": ">f8", "bool": "u1", "date": ">i4", "timestamptz": ">i8"}

Column = tuple[str, Any, "np.ndarray | None"]


def _put(buf: np.ndarray, at: np.ndarray, values: np.ndarray) -> None:
    """Write each row's fixed-width big-endian value at its offset."""
    if not len(at):
        return
    raw = np.ascontiguousarray(values).view(np.uint8).reshape(len(at), -1)
    buf[at[:, None] + np.arange(raw.shape[1])] = raw


def rows(columns: Sequence[Column]) -> bytes:
    """The binary rows (without header and trailer) of equally long columns."""
    n = len(columns[0][1])
    if n == 0:
        return b""
    sizes = np.full(n, 2, dtype=np.int64)  # the field count
    prepared = []
    for kind, values, null in columns:
        if kind in ("text", "code"):  # "code": text with few distinct values, encoded once each
            if kind == "code":
                table = {v: (None if v is None else v.encode()) for v in set(values)}
                encoded = list(map(table.__getitem__, values))
                has_null = None in table
            else:
                encoded = [None if v is None else v.encode() for v in values]
                has_null = any(e is None for e in encoded)
            if has_null:
                lengths = np.fromiter((-1 if e is None else len(e) for e in encoded), dtype=np.int64, count=n)
                blob = np.frombuffer(b"".join(e for e in encoded if e), dtype=np.uint8)
            else:
                lengths = np.fromiter(map(len, encoded), dtype=np.int64, count=n)
                blob = np.frombuffer(b"".join(encoded), dtype=np.uint8)
            prepared.append(("text", lengths, blob))
        else:
            width = np.dtype(_FIXED[kind]).itemsize
            missing = np.zeros(n, dtype=bool) if null is None else np.asarray(null, dtype=bool)
            lengths = np.where(missing, -1, width)
            prepared.append((kind, lengths, np.asarray(values)))
        sizes += 4 + np.maximum(lengths, 0)
    starts = np.concatenate(([0], np.cumsum(sizes)[:-1]))
    buf = np.zeros(int(sizes.sum()), dtype=np.uint8)
    _put(buf, starts, np.full(n, len(columns), dtype=">i2"))
    at = starts + 2
    for kind, lengths, data in prepared:
        _put(buf, at, lengths.astype(">i4"))
        present = lengths >= 0
        if kind == "text":
            total = int(lengths[present].sum())
            if total:
                counts = np.maximum(lengths, 0)
                first = np.repeat(at + 4, counts)
                within = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
                buf[first + within] = data
        else:
            values = data[present]
            if kind == "date":
                values = values - _PG_DAYS
            elif kind == "timestamptz":
                values = values - _PG_US
            _put(buf, at[present] + 4, values.astype(_FIXED[kind]))
        at = at + 4 + np.maximum(lengths, 0)
    return buf.tobytes()


def dense_rows(fixed: Sequence[tuple[str, np.ndarray]], texts: Sequence[Sequence[str]]) -> bytes:
    """``dense_parts`` joined into one payload."""
    return b"".join(dense_parts(fixed, texts))


def _layouts(lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(distinct rows of ``lengths``, each row's index into them), with one sort of a packed
    int64 per row rather than a lexicographic sort of the rows (``np.unique(axis=0)``)."""
    n, k = lengths.shape
    if k == 0:
        return np.zeros((1, 0), dtype=np.int64), np.zeros(n, dtype=np.int64)
    key = np.zeros(n, dtype=np.int64)
    for j in range(k):  # mixed radix over each column's distinct lengths (few: codes are short)
        distinct, position = np.unique(lengths[:, j], return_inverse=True)
        key = key * len(distinct) + position.reshape(-1)
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    return lengths[first], inverse.reshape(-1)


def dense_parts(fixed: Sequence[tuple[str, np.ndarray]], texts: Sequence[Sequence[str]]) -> list[bytes]:
    """Binary rows of NOT NULL columns — the fixed-width ones first, then the texts — laid out as
    numpy structured records: rows whose texts have the same byte lengths share one record
    layout, so each group is a single ``tobytes()`` (one part per group; write them in any order,
    without joining). Fast for aggregate tables, whose few text columns (unit, category, channel,
    …) take few distinct values and lengths. Row order follows the groups, which ``COPY`` does not
    mind."""
    n = len(fixed[0][1]) if fixed else len(texts[0])
    if n == 0:
        return []
    codes, blobs = [], []  # per text column: each row's value code, and each code's bytes
    for column in texts:
        values = list(dict.fromkeys(column))
        index = {v: i for i, v in enumerate(values)}
        codes.append(np.fromiter(map(index.__getitem__, column), dtype=np.int64, count=n))
        blobs.append([v.encode() for v in values])
    lengths = (
        np.stack([np.array([len(b) for b in blob], dtype=np.int64)[c] for blob, c in zip(blobs, codes, strict=True)], axis=1)
        if texts else np.zeros((n, 0), dtype=np.int64)
    )  # fmt: skip
    layouts, inverse = _layouts(lengths)
    order = np.argsort(inverse, kind="stable")
    bounds = np.searchsorted(inverse[order], np.arange(len(layouts) + 1))
    parts = []
    for g, layout in enumerate(layouts.tolist()):
        rows = order[bounds[g] : bounds[g + 1]]
        fields: list[tuple[str, str]] = [("count", ">i2")]
        for j, (kind, _) in enumerate(fixed):
            fields += [(f"l{j}", ">i4"), (f"f{j}", _FIXED[kind])]
        for j, size in enumerate(layout):
            fields.append((f"tl{j}", ">i4"))
            if size:
                fields.append((f"t{j}", f"S{size}"))
        record = np.empty(len(rows), dtype=np.dtype(fields))
        record["count"] = len(fixed) + len(texts)
        for j, (kind, values) in enumerate(fixed):
            v = values[rows]
            record[f"l{j}"] = np.dtype(_FIXED[kind]).itemsize
            record[f"f{j}"] = v - _PG_DAYS if kind == "date" else (v - _PG_US if kind == "timestamptz" else v)
        for j, size in enumerate(layout):
            record[f"tl{j}"] = size
            if size:
                record[f"t{j}"] = np.array(blobs[j], dtype=f"S{size}")[codes[j][rows]]
        parts.append(record.tobytes())
    return parts
