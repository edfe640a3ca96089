"""Two column shapes a chunk of an import can be parsed from, besides a list of ``str``.

Why: turning millions of cells into Python strings is most of what reading a CSV costs. Columns
read by pyarrow (``arrowread``) stay in these shapes and ``rowparse`` works on them directly:

- ``Encoded``: a low-cardinality column (codes, enums, flags, counts) as its distinct values and
  each row's index into them, so each distinct value is parsed once;
- ``Utf8``: a column as UTF-8 bytes and row offsets (Arrow's string layout), so ISO 8601
  instants are checked and converted as a byte matrix with no string per cell.

Both index like a list (``column[i]`` is the cell's text), which is all the per-row fallback
through ``core.kpi.from_row`` needs.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np


@dataclass
class Encoded:
    """Row ``i`` holds ``values[index[i]]``."""

    values: list[str]
    index: np.ndarray

    @classmethod
    def of(cls, cells: Sequence[str]) -> Encoded:
        table: dict[str, int] = {}
        index = np.fromiter((table.setdefault(v, len(table)) for v in cells), dtype=np.int64, count=len(cells))
        return cls(list(table), index)

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, i: int) -> str:
        return self.values[int(self.index[i])]

    def __iter__(self) -> Iterator[str]:
        return iter(np.array(self.values, dtype=object)[self.index].tolist())


def combined(*columns: Encoded) -> Encoded:
    """One column of tuples: row ``i`` holds ``(columns[0][i], columns[1][i], …)``; only the
    combinations that occur are kept."""
    key = np.zeros(len(columns[0]), dtype=np.int64)
    for column in columns:
        key = key * len(column.values) + column.index
    distinct, inverse = np.unique(key, return_inverse=True)
    values = []
    for k in distinct.tolist():
        parts = []
        for column in reversed(columns):
            k, at = divmod(k, len(column.values))
            parts.append(column.values[at])
        values.append(tuple(reversed(parts)))
    return Encoded(values, inverse.reshape(-1))  # type: ignore[arg-type]


@dataclass
class Utf8:
    """Row ``i`` is ``data[offsets[i]:offsets[i + 1]]`` decoded as UTF-8."""

    offsets: np.ndarray  # int64, n + 1
    data: np.ndarray  # uint8

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, i: int) -> str:
        return self.data[self.offsets[i] : self.offsets[i + 1]].tobytes().decode("utf-8")

    def byte_lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    def matrix(self, rows: np.ndarray, width: int) -> np.ndarray:
        """The first ``width`` bytes of each of ``rows``, zero-padded: a (len(rows), width) uint8
        matrix (the layout ``np.array(values, dtype=f"S{width}")`` gives)."""
        start = self.offsets[rows]
        size = np.minimum(self.offsets[rows + 1] - start, width)
        at = start[:, None] + np.arange(width)
        inside = np.arange(width) < size[:, None]
        padded = np.concatenate((self.data, np.zeros(width, dtype=np.uint8)))
        return np.where(inside, padded[at], 0).astype(np.uint8)
