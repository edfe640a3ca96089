"""``reports.numbers``: repeats of order numbers across an import's chunks, by hash then exactly,
against a plain dict of every number read (the code it replaced)."""

from __future__ import annotations

import re
from datetime import date

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minxin.reports import numbers as numbers_module
from minxin.reports.numbers import HashSet, SeenNumbers, hash64, live_top
from minxin.reports.textcols import Texts

_NUMBER = st.one_of(
    st.sampled_from(["20261001000001", "20261001000002", "20260230000009", "20261101999999", "A-1", "工单1", "x" * 64]),
    st.text(min_size=1, max_size=8),
)


def reference(chunks: list[list[str]]) -> tuple[list[dict[int, int]], dict[str, int]]:
    """What the importer did before: a dict of every number read to its first line."""
    seen: dict[str, int] = {}
    out, line = [], 1
    for chunk in chunks:
        repeats = {}
        for i, number in enumerate(chunk):
            if number in seen:
                repeats[i] = seen[number]
            else:
                seen[number] = line + i
        out.append(repeats)
        line += len(chunk)
    top: dict[str, int] = {}
    for number in seen:
        m = re.match(r"^(\d{8})(\d{6})$", number, re.ASCII)
        if m:
            day, seq = m.group(1), int(m.group(2))
            try:
                date(int(day[:4]), int(day[4:6]), int(day[6:]))
            except ValueError:
                continue
            top[day] = max(top.get(day, 0), seq)
    return out, top


def run(chunks: list[list[str]], as_texts: bool) -> tuple[list[dict[int, int]], dict[str, int]]:
    seen, out, line = SeenNumbers(), [], 1
    for chunk in chunks:
        values = Texts.of(chunk) if as_texts else chunk
        out.append(seen.add(values, np.arange(line, line + len(chunk), dtype=np.int64)))
        line += len(chunk)
    return out, seen.live_top


@settings(max_examples=80, deadline=None)
@given(chunks=st.lists(st.lists(_NUMBER, min_size=1, max_size=12), min_size=1, max_size=6), as_texts=st.booleans(),
       collide=st.booleans())  # fmt: skip
def test_repeats_and_live_numbers_equal_a_dict_of_every_number(chunks: list[list[str]], as_texts: bool,
                                                               collide: bool) -> None:  # fmt: skip
    """With ``collide``, every number hashes alike, so every row goes through the exact check."""
    with pytest.MonkeyPatch.context() as patch:
        if collide:
            patch.setattr(numbers_module, "hash64", lambda texts: np.ones(len(texts), dtype=np.uint64))
        assert run(chunks, as_texts) == reference(chunks)


def test_hash_depends_on_the_bytes_not_on_the_array() -> None:
    a = Texts.of(["20261001000001", "工单", "", "a\0"])
    b = Texts.concat([Texts.of(["x", "20261001000001"])[1:], Texts.of(["工单", "", "a"])])
    ha, hb = hash64(a), hash64(b)
    assert ha[:3].tolist() == hb[:3].tolist() and ha[3] != hb[3]  # "a\0" is not "a"
    many = Texts.of([f"2026{i:010d}" for i in range(100_000)])
    assert len(np.unique(hash64(many))) == 100_000


def test_live_top_keeps_real_dates_and_ascii_digits_only() -> None:
    got = live_top(Texts.of(["20261001000001", "20261001000120", "20260230000001", "２０２６1001000999", "2026100100001"]))
    assert got == {"20261001": 120}


@settings(max_examples=60, deadline=None)
@given(batches=st.lists(st.lists(st.integers(1, 2**64 - 1) | st.integers(1, 40).map(lambda k: k << 40), max_size=300),
                        max_size=8))  # fmt: skip
def test_hash_set_holds_what_a_set_holds(batches: list[list[int]]) -> None:
    """Keys that share their low bits (``k << 40``) all land on one slot and probe on; the
    table grows several times from 16 slots."""
    table, want = HashSet(capacity=1), set()
    for batch in batches:
        keys = np.unique(np.array(batch, dtype=np.uint64))
        probe = np.array(sorted(want | set(batch) | {7, 2**63}), dtype=np.uint64)
        assert table.contains(probe).tolist() == [int(k) in want for k in probe.tolist()]
        assert table.add(keys).tolist() == [int(k) in want for k in keys.tolist()]
        want |= set(batch)
        assert table.size == len(want) and np.count_nonzero(table.table) == len(want)
    everything = np.array(sorted(want), dtype=np.uint64)
    assert table.contains(everything).all()
