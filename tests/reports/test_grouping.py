"""``grouping.group`` and ``grouping.sum_by``: the same groups as ``np.unique`` over the key rows, in key order, on each of
its paths (direct addressing for a small key space, a sort of packed keys, rows too wide to
pack), and every representative row really belongs to its group."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minxin.reports import grouping


def _reference(keys: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    distinct, inverse = np.unique(np.stack(keys, axis=1), axis=0, return_inverse=True)
    return distinct, inverse.reshape(-1)


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 300), seed=st.integers(0, 2**32 - 1),
       highs=st.lists(st.sampled_from([1, 2, 7, 400, 10**6, 2**40]), min_size=1, max_size=4))  # fmt: skip
def test_group_matches_unique(n: int, seed: int, highs: list[int]) -> None:
    rng = np.random.default_rng(seed)
    keys = [rng.integers(0, h, n) for h in highs]
    inverse, first = grouping.group(keys)
    distinct, want = _reference(keys)
    assert inverse.tolist() == want.tolist()
    assert len(first) == len(distinct)
    rows = np.stack(keys, axis=1)
    assert (rows[first] == distinct).all()
    assert (inverse[first] == np.arange(len(first))).all()


@pytest.mark.parametrize("space", ["dense", "sorted", "too wide"])
def test_each_path(space: str, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(7)
    if space == "sorted":
        monkeypatch.setattr(grouping, "DENSE_SPACE", 0)
    highs = [2**40, 2**40] if space == "too wide" else [50, 9]
    keys = [rng.integers(0, h, 500) for h in highs]
    inverse, first = grouping.group(keys)
    distinct, want = _reference(keys)
    assert inverse.tolist() == want.tolist()
    assert (np.stack(keys, axis=1)[first] == distinct).all()


def test_empty() -> None:
    inverse, first = grouping.group([np.zeros(0, np.int64)])
    assert len(inverse) == 0 and len(first) == 0


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 400), groups=st.integers(1, 500), seed=st.integers(0, 2**32 - 1),
       dtype=st.sampled_from(["int32", "int64"]), big=st.booleans())  # fmt: skip
def test_sum_by_matches_a_loop(n: int, groups: int, seed: int, dtype: str, big: bool) -> None:
    """Exact sums whether groups are mostly single rows (copied) or mostly shared (one sparse
    product), and no overflow when int32 rows sum past the int32 range (int64 then)."""
    rng = np.random.default_rng(seed)
    keys = [rng.integers(0, groups, n)]
    high = 2**31 - 1 if big else 3
    values = rng.integers(-high, high, (n, 5)).astype(dtype)
    inverse, first = grouping.group(keys)
    got = grouping.sum_by(inverse, first, values)
    want = np.zeros((len(first), 5), dtype=object)
    for row, g in enumerate(inverse.tolist()):
        want[g] += values[row].astype(object)
    assert got.tolist() == want.tolist()
