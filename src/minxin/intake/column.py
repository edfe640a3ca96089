"""A growable numpy column: the storage unit of the in-memory duplicate index."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt


class Column:
    """A growable 1-D or 2-D numpy column (amortised O(1) append)."""

    def __init__(self, dtype: npt.DTypeLike, width: int | None = None, fill: int = 0) -> None:
        shape = (0,) if width is None else (0, width)
        self.data = np.full(shape, fill, dtype=dtype)
        self.fill = fill
        self.n = 0

    def reserve(self, extra: int) -> None:
        need = self.n + extra
        if need > len(self.data):
            cap = max(need, int(len(self.data) * 1.5) + 1024)
            grown = np.full((cap, *self.data.shape[1:]), self.fill, dtype=self.data.dtype)
            grown[: self.n] = self.data[: self.n]
            self.data = grown

    def extend(self, values: npt.ArrayLike) -> None:
        arr = np.asarray(values, dtype=self.data.dtype)
        self.reserve(len(arr))
        self.data[self.n : self.n + len(arr)] = arr
        self.n += len(arr)

    def trim(self) -> None:
        """Drop spare capacity (after a bulk build, when no growth is expected soon)."""
        self.data = self.data[: self.n].copy()

    @property
    def view(self) -> np.ndarray:
        return self.data[: self.n]
