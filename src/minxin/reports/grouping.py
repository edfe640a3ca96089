"""Grouping rows by integer key columns and summing their counters: the two operations every
import, merge and rollup of the report aggregates is made of (``cells``).

Both are exact (integer sums) and order-free; groups are numbered in key order. What makes them
fast enough for tens of millions of rows: keys packed into one int64 per row; direct addressing
instead of a sort when the key space is small; a gather instead of a sum for groups of one row;
and a sparse matrix product, in the rows' own integer type, for the rest.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import sparse

#: the largest key space grouped by direct addressing (a presence array and a lookup table of
#: this many entries: 64 MB + 256 MB at most), and how sparse it may be relative to the rows
DENSE_SPACE = 1 << 26
DENSE_RATIO = 16


def _packed(keys: Sequence[np.ndarray]) -> tuple[np.ndarray, int] | None:
    """Non-negative int key columns packed into one int64 per row (mixed radix: each column's
    largest value + 1), with the size of the packed key space; None if it would not fit."""
    radices = [int(k.max()) + 1 for k in keys]
    space = 1
    for r in radices:
        space *= r
    if space >= 1 << 62:
        return None
    packed = np.zeros(len(keys[0]), dtype=np.int64)
    for k, r in zip(keys, radices, strict=True):
        packed *= r
        packed += k
    return packed, space


def _dense_inverse(packed: np.ndarray, space: int) -> tuple[np.ndarray, int]:
    """Group ids (in key order) of packed keys below ``space`` by direct addressing: one pass to
    mark the keys present, one to number them, one gather. No sort, so 5–10× faster than
    ``np.unique`` when the key space is not much larger than the rows."""
    present = np.zeros(space, dtype=np.bool_)
    present[packed] = True
    distinct = np.flatnonzero(present)
    del present
    lookup = np.empty(space, dtype=np.int32 if len(distinct) < 1 << 31 else np.int64)
    lookup[distinct] = np.arange(len(distinct), dtype=lookup.dtype)
    return lookup[packed].astype(np.int64), len(distinct)


def group(keys: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(inverse, a representative row of each group) for rows keyed by non-negative int
    columns; groups are numbered in key order. The representative is some row of the group
    (which one is not specified): every caller only reads the group's key through it."""
    n = len(keys[0])
    if n == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    fits = _packed(keys)
    if fits is not None and fits[1] <= min(DENSE_SPACE, max(DENSE_RATIO * n, 1 << 16)):
        inverse, m = _dense_inverse(*fits)
    elif fits is not None:  # return_inverse alone sorts with quicksort; return_index would need a stable sort
        _, inverse = np.unique(fits[0], return_inverse=True)
        m = int(inverse.max()) + 1
    else:
        _, inverse = np.unique(np.stack(keys, axis=1), axis=0, return_inverse=True)
        m = int(inverse.max()) + 1
    inverse = inverse.reshape(-1)
    first = np.empty(m, dtype=np.int64)
    first[inverse] = np.arange(n, dtype=np.int64)
    return inverse, first


def group_sum(keys: Sequence[np.ndarray], values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(inverse, a representative row of each group, summed ``values`` per group)."""
    inverse, first = group(keys)
    return inverse, first, _compact(sum_by(inverse, first, values))


def _compact(sums: np.ndarray) -> np.ndarray:
    """int32 when every sum fits (halves the memory of millions of cells), else int64."""
    if sums.size and (sums.max() > np.iinfo(np.int32).max or sums.min() < np.iinfo(np.int32).min):
        return sums
    return sums.astype(np.int32, copy=False)


def sum_by(inverse: np.ndarray, first: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Row sums of ``values`` (n × k integers) into the groups of ``group`` (``inverse``, and
    ``first``: a row of each group): int64, or ``values``' own integer type when no sum can
    leave its range.

    How: a group of one row is that row, so every group starts as a copy of its representative
    row (one gather); the groups of several rows are then summed as one product with the sparse
    matrix that has a 1 at (group, row). Why: exact integer sums in C with no sort. Cells merged
    from chunk tables are mostly groups of one, and the sparse product alone spent 5 of a
    7M-row merge's 11 s multiplying rows by 1."""
    m, k = len(first), values.shape[1]
    if len(inverse) == 0:
        return np.zeros((m, k), dtype=np.int64)
    counts = np.bincount(inverse, minlength=m)
    dtype: Any = np.int64
    if values.dtype.kind == "i" and values.dtype.itemsize < 8:
        bound = max(abs(int(values.max())), abs(int(values.min()))) * int(counts.max())
        if bound <= np.iinfo(values.dtype).max:
            dtype = values.dtype
    shared = np.flatnonzero(counts[inverse] > 1)
    if 2 * len(shared) > len(inverse):  # mostly large groups (rollups): one product over every row
        return _product(inverse, m, values, dtype)
    out = np.take(values, first, axis=0).astype(dtype, copy=False)
    if len(shared):
        groups = np.flatnonzero(counts > 1)
        local = np.empty(m, dtype=np.int64)
        local[groups] = np.arange(len(groups))
        out[groups] = _product(local[inverse[shared]], len(groups), values[shared], dtype)
    return out


def _product(inverse: np.ndarray, m: int, values: np.ndarray, dtype: Any) -> np.ndarray:
    """Σ of ``values``' rows per group, as the product with the sparse m × n membership matrix,
    computed in ``dtype`` (which the caller has checked the sums fit). The matrix and the rows
    share one type: a mixed product converts every row first and takes 3–8× longer."""
    n = len(inverse)
    membership = sparse.csc_matrix((np.ones(n, dtype=dtype), inverse, np.arange(n + 1)), shape=(m, n))
    return np.asarray(membership @ values.astype(dtype, copy=False), dtype=dtype)
