"""The by-column histogram grouping of the read side gives exactly what the core's dict-based
``HandlingHistogram.from_mapping`` / ``sum_partials`` give (the p90s of every report read it)."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from minxin.core.kpi import COUNTER_FIELDS, KpiPartial, compute_all, sum_partials
from minxin.core.kpi.histogram import HandlingHistogram
from minxin.reports.service import histograms, total_of

keys = st.sampled_from(["GDGS", "ZJJ", "", "2026-10", ()])
rows = st.lists(st.tuples(keys, st.integers(0, 400), st.integers(0, 50), st.integers(0, 10**12)), max_size=300)


def _reference(rows: list[tuple]) -> dict:
    acc: dict = {}
    for key, bucket, count, seconds in rows:
        h = acc.setdefault(key, {})
        c0, s0 = h.get(bucket, (0, 0))
        h[bucket] = (c0 + count, s0 + seconds)
    out = {k: HandlingHistogram.from_mapping(h) for k, h in acc.items()}
    return {k: h for k, h in out.items() if h.buckets}


@settings(max_examples=200, deadline=None)
@given(rows)
def test_histograms_match_the_core(rows: list[tuple]) -> None:
    columns = [list(c) for c in zip(*rows, strict=True)] if rows else [[], [], [], []]
    assert histograms(*columns) == _reference(rows)


def test_histograms_take_decimal_sums_and_drop_emptied_buckets() -> None:
    got = histograms(["A", "A", "A", "B"], [3, 1, 3, 0], [2, 0, 1, 0], [Decimal(120), 0, 60, 0])
    assert got == {"A": HandlingHistogram(((3, 3, 180),))}
    assert histograms([], [], [], []) == {}


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.lists(st.integers(0, 1000), min_size=len(COUNTER_FIELDS), max_size=len(COUNTER_FIELDS)),
                          st.dictionaries(st.integers(0, 300), st.tuples(st.integers(1, 9), st.integers(0, 10**9)))),
                max_size=20))
def test_total_of_is_sum_partials(parts: list[tuple[list[int], dict]]) -> None:
    partials = [KpiPartial.from_columns(dict(zip(COUNTER_FIELDS, c, strict=True)), h) for c, h in parts]
    total = total_of(partials)
    assert total == sum_partials(partials)
    assert compute_all(total) == compute_all(sum_partials(partials))
