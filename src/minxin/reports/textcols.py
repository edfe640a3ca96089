"""Three column shapes a chunk of an import can be parsed from, besides a list of ``str``.

Why: turning millions of cells into Python strings is most of what reading a CSV costs. Columns
read by pyarrow (``arrowread``) stay in these shapes and ``rowparse`` works on them directly:

- ``Encoded``: a low-cardinality column (codes, enums, flags, counts) as its distinct values and
  each row's index into them, so each distinct value is parsed once;
- ``Utf8``: a column as UTF-8 bytes and row offsets (Arrow's string layout), so ISO 8601
  instants are checked and converted as a byte matrix with no string per cell;
- ``Texts``: free text (number, title, body) as an Arrow string array, which stays one from the
  parse worker to ``COPY`` (PostgreSQL) or becomes strings only for SQLite's inserts.

All index like a list (``column[i]`` is the cell's text), which is all the per-row fallback
through ``core.kpi.from_row`` needs.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, overload

import numpy as np


@dataclass
class Encoded:
    """Row ``i`` holds ``values[index[i]]``."""

    values: list[str]
    index: np.ndarray

    @classmethod
    def of(cls, cells: Sequence[str | None]) -> Encoded:
        """Distinct values in order of first appearance (None kept as a value), by Arrow's
        dictionary encoding: no Python work per cell beyond reading the list."""
        import pyarrow as pa
        import pyarrow.compute as pc

        encoded = pc.dictionary_encode(pa.array(list(cells), type=pa.string()), null_encoding="encode")
        return cls(encoded.dictionary.to_pylist(), encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64))

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
        if len(rows) and int(size.min()) == int(size.max()):
            # rows of one length within ``width``, increasing and back to back in ``data`` (the
            # rows between them empty), as time columns are: a reshape, not a per-byte gather
            one, span = int(size[0]), int(self.offsets[rows[-1] + 1]) - int(start[0])
            if span == one * len(rows) and (np.diff(rows) > 0).all():
                out = np.zeros((len(rows), width), dtype=np.uint8)
                out[:, :one] = self.data[int(start[0]) : int(start[0]) + span].reshape(len(rows), one)
                return out
        at = start[:, None] + np.arange(width)
        inside = np.arange(width) < size[:, None]
        padded = np.concatenate((self.data, np.zeros(width, dtype=np.uint8)))
        return np.where(inside, padded[at], 0).astype(np.uint8)


class Texts(Sequence[str]):
    """Free text (numbers, titles, bodies) as an Arrow string array with no NULLs.

    Why: a history import carries three free-text cells per row; as Python strings they were
    decoded in the parse worker, pickled, unpickled, stripped, measured and encoded again before
    ``COPY`` (about a third of the import's CPU on 10M rows). As an Arrow array they cross the
    process boundary as two buffers, are stripped and measured in C++ (``utf8_trim_whitespace``
    strips exactly what ``str.strip`` strips: every code point was compared), and ``pgbinary``
    lays them into ``COPY`` rows without a Python object per cell.

    It is a ``Sequence[str]``, so code that indexes or iterates rows (slow paths, SQLite) works
    unchanged; bulk operations (``take``, ``concat``, ``strip``) stay in Arrow."""

    __slots__ = ("array",)

    def __init__(self, array: Any) -> None:
        import pyarrow as pa

        if array.null_count:
            raise ValueError("Texts holds no NULLs")
        if array.type not in (pa.string(), pa.large_string()):
            array = array.cast(pa.string())
        self.array = array

    @classmethod
    def of(cls, values: Sequence[str]) -> Texts:
        import pyarrow as pa

        return values if isinstance(values, Texts) else cls(pa.array(list(values), type=pa.string()))

    def __len__(self) -> int:
        return len(self.array)

    @overload
    def __getitem__(self, i: int) -> str: ...
    @overload
    def __getitem__(self, i: slice) -> Texts: ...
    def __getitem__(self, i: int | slice) -> str | Texts:
        if isinstance(i, slice):
            return Texts(self.array[i])
        return self.array[int(i)].as_py()  # type: ignore[no-any-return]

    def __iter__(self) -> Iterator[str]:
        return iter(self.array.to_pylist())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Texts):
            return bool(self.array.equals(other.array))
        return isinstance(other, Sequence) and list(self) == list(other)

    __hash__ = None  # type: ignore[assignment]

    def __reduce__(self) -> tuple[Any, ...]:
        return (Texts, (self.array,))

    def strip(self) -> Texts:
        import pyarrow.compute as pc

        return Texts(pc.utf8_trim_whitespace(self.array))

    def lengths(self) -> np.ndarray:
        """Each value's length in characters (code points, as ``len``)."""
        import pyarrow.compute as pc

        return pc.utf8_length(self.array).to_numpy(zero_copy_only=False).astype(np.int64)

    def cut(self, limit: int) -> Texts:
        """Each value cut to at most ``limit`` characters."""
        import pyarrow.compute as pc

        return Texts(pc.utf8_slice_codeunits(self.array, 0, limit))

    def take(self, rows: np.ndarray) -> Texts:
        return Texts(self.array.take(np.asarray(rows, dtype=np.int64)))

    def utf8(self) -> Utf8:
        """The same values as ``Utf8`` (offsets rebased to 0; no copy of the bytes)."""
        import pyarrow as pa

        _, offsets, data = self.array.buffers()
        wide = self.array.type == pa.large_string()
        at = np.frombuffer(offsets, dtype=np.int64 if wide else np.int32)[self.array.offset : self.array.offset + len(self) + 1]
        raw = np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, dtype=np.uint8)
        return Utf8(at.astype(np.int64) - int(at[0]), raw[int(at[0]) : int(at[-1])])

    @staticmethod
    def concat(parts: Sequence[Sequence[str]]) -> Texts:
        import pyarrow as pa

        arrays = [Texts.of(p).array for p in parts]
        if len({a.type for a in arrays}) > 1:
            arrays = [a.cast(pa.large_string()) for a in arrays]
        return Texts(pa.concat_arrays(arrays))
