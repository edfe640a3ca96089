"""A mergeable sketch of handling times, so p90 can be computed from summed cells.

Why a fixed-bucket histogram: quantiles are not additive, but bucket counts are. Buckets are
geometric (each 1% wider than the last) so the error is relative, and each bucket also keeps the
sum of its values so that the answer is exact whenever the bucket holding the requested rank holds
a single distinct value (always so for one order, usually so for small units). Like every other
part of a partial it can be subtracted, for incremental maintenance.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

#: Bucket 0 holds [0, 60) working seconds; bucket k ≥ 1 holds [60·r^(k-1), 60·r^k) with r = 1.01.
HIST_RATIO = 1.01
HIST_FLOOR_SECONDS = 60
_LOG_RATIO = math.log(HIST_RATIO)


def bucket_of(seconds: int) -> int:
    """The histogram bucket of a handling time in whole working seconds."""
    if seconds < HIST_FLOOR_SECONDS:
        return 0
    return 1 + math.floor(math.log(seconds / HIST_FLOOR_SECONDS) / _LOG_RATIO)


@dataclass(frozen=True, slots=True)
class HandlingHistogram:
    """A sparse fixed-bucket histogram of handling times with each bucket's count and sum.

    Invariant: ``buckets`` is sorted by bucket index, every count is > 0 and every sum ≥ 0.
    A quantile is answered with the mean of the bucket holding the requested rank, so it is
    within one bucket width of the exact value: error < 1% of the value, or < 60 s below one
    working minute; exact when that bucket holds a single distinct value.
    """

    buckets: tuple[tuple[int, int, int], ...] = ()

    @classmethod
    def of(cls, seconds: int) -> HandlingHistogram:
        return cls(((bucket_of(seconds), 1, seconds),))

    @classmethod
    def from_mapping(cls, mapping: Mapping[int, tuple[int, int]]) -> HandlingHistogram:
        """From ``{bucket: (count, sum_seconds)}`` (e.g. rows of a histogram table)."""
        return cls(tuple((b, c, s) for b, (c, s) in sorted(mapping.items()) if c))

    def as_mapping(self) -> dict[int, tuple[int, int]]:
        return {b: (c, s) for b, c, s in self.buckets}

    @property
    def count(self) -> int:
        return sum(c for _, c, _ in self.buckets)

    def _combine(self, other: HandlingHistogram, sign: int) -> HandlingHistogram:
        acc = self.as_mapping()
        for b, c, s in other.buckets:
            c0, s0 = acc.get(b, (0, 0))
            nc, ns = c0 + sign * c, s0 + sign * s
            if nc < 0 or ns < 0 or (nc == 0 and ns != 0):
                raise ValueError(f"histogram bucket {b} would become negative: subtracting a non-member")
            acc[b] = (nc, ns)
        return HandlingHistogram.from_mapping(acc)

    def merge(self, other: HandlingHistogram) -> HandlingHistogram:
        if not other.buckets:
            return self
        if not self.buckets:
            return other
        return self._combine(other, 1)

    def subtract(self, other: HandlingHistogram) -> HandlingHistogram:
        return self._combine(other, -1) if other.buckets else self

    def percentile_seconds(self, percent: int) -> float | None:
        """Nearest-rank percentile: the value of rank ⌈percent·n/100⌉ in ascending order.

        Returns the mean of the bucket that holds that rank (see the class precision note);
        None when the histogram is empty.
        """
        if not 0 < percent <= 100:
            raise ValueError("percent must be in (0, 100]")
        n = self.count
        if n == 0:
            return None
        rank = max(1, -(-percent * n // 100))
        seen = 0
        for _, c, s in self.buckets:
            seen += c
            if seen >= rank:
                return s / c
        raise AssertionError("unreachable: rank <= count")
