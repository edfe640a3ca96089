"""``pgbinary``: the binary ``COPY`` payload read back field by field gives the input rows (in
``field_order``, rows in any order), for random columns with NULLs, long and non-ASCII texts."""

from __future__ import annotations

import struct
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minxin.reports import pgbinary
from minxin.reports.textcols import Encoded, Texts

_DECODE = {"int2": ">h", "int4": ">i", "int8": ">q", "float8": ">d", "bool": ">?", "date": ">i", "timestamptz": ">q"}


def decode(payload: bytes, kinds: list[str]) -> list[tuple[Any, ...]]:
    rows, at = [], 0
    while at < len(payload):
        (count,) = struct.unpack_from(">h", payload, at)
        at += 2
        assert count == len(kinds)
        row = []
        for kind in kinds:
            (size,) = struct.unpack_from(">i", payload, at)
            at += 4
            if size < 0:
                row.append(None)
                continue
            raw = payload[at : at + size]
            at += size
            if kind in ("text", "code"):
                row.append(raw.decode())
            else:
                (value,) = struct.unpack(_DECODE[kind], raw)
                row.append(value + (pgbinary._PG_DAYS if kind == "date" else pgbinary._PG_US if kind == "timestamptz" else 0))
        rows.append(tuple(row))
    return rows


_TEXT = st.one_of(st.none(), st.text(max_size=5), st.sampled_from(["工单", "A市", "长" * 400, "x" * 1500, ""]))


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 40), seed=st.integers(0, 2**32 - 1), texts=st.lists(_TEXT, min_size=1, max_size=40),
       shapes=st.booleans(), split=st.booleans())  # fmt: skip
def test_rows_read_back(n: int, seed: int, texts: list[str | None], shapes: bool, split: bool) -> None:
    """Texts as lists with None, or as ``Texts`` with a NULL mask; codes as lists or ``Encoded``
    (adjacent codes are joined into one table, or, for odd seeds, kept apart); with ``split``, a
    tiny ``MAX_JOIN`` makes every layout halve its rows until they fit."""
    rng = np.random.default_rng(seed)
    texts = (texts * 40)[:n]
    codes = [["phone", "app", None, "工单"][k] for k in rng.integers(0, 4, n)]
    units = [["QU-1", "长" * 30][k] for k in rng.integers(0, 2, n)]
    text: pgbinary.Column = ("text", texts, None)
    code: pgbinary.Column = ("code", codes, None)
    unit: pgbinary.Column = ("code", units, None)
    if shapes:
        text = ("text", Texts.of([t or "" for t in texts]), np.array([t is None for t in texts]))
        code, unit = ("code", Encoded.of(codes), None), ("code", Encoded.of(units), None)
    columns: list[pgbinary.Column] = [
        text,
        ("int4", rng.integers(-(2**31), 2**31 - 1, n), rng.random(n) < 0.3),
        code,
        unit,
        ("timestamptz", rng.integers(0, 2**50, n), rng.random(n) < 0.5),
        ("bool", rng.random(n) < 0.5, None),
        ("float8", rng.normal(size=n), rng.random(n) < 0.2),
        ("date", rng.integers(0, 30000, n), None),
        ("int2", rng.integers(-300, 300, n), None),
        ("int8", rng.integers(-(2**62), 2**62, n), rng.random(n) < 0.1),
    ]
    order = pgbinary.field_order([c[0] for c in columns])
    assert [columns[i][0] for i in order][-3:] == ["text", "code", "code"]
    want = []
    for r in range(n):
        row = []
        for i in order:
            kind, values, null = columns[i]
            if null is not None and null[r]:
                row.append(None)
            elif kind in ("text", "code"):
                row.append(values[r] if kind == "code" or not shapes else texts[r])
            else:
                v = values[r]
                row.append(bool(v) if kind == "bool" else float(v) if kind == "float8" else int(v))
        want.append(tuple(row))
    with pytest.MonkeyPatch.context() as patch:
        if split:
            patch.setattr(pgbinary, "MAX_JOIN", 200)
        if seed % 2:  # adjacent codes each in a table of their own
            patch.setattr(pgbinary, "MAX_COMBOS", 3)
        got = decode(bytes(pgbinary.rows(columns)), [columns[i][0] for i in order])
    key = lambda row: tuple((x is None, str(x)) for x in row)  # noqa: E731
    assert sorted(got, key=key) == sorted(want, key=key)


_WORDS = ["QU-210106-05", "010201", "phone", "工单", "长" * 70, "x", "open311", "A市B区"]


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 60), seed=st.integers(0, 2**32 - 1), block=st.sampled_from([1, 3, 7, 1 << 16]),
       encoded=st.booleans())  # fmt: skip
def test_dense_parts_read_back(n: int, seed: int, block: int, encoded: bool) -> None:
    """Every row comes back exactly once, whatever the block size (layouts that straddle
    blocks), with texts given as lists or as ``Encoded`` codes (unused values included)."""
    rng = np.random.default_rng(seed)
    fixed = [
        ("int4", rng.integers(-(2**31), 2**31 - 1, n)),
        ("date", rng.integers(0, 30000, n)),
        ("int2", rng.integers(-300, 300, n)),
        ("int8", rng.integers(-(2**62), 2**62, n)),
    ]
    if seed % 2:  # only 4-byte-aligned fields: the 4-byte slot path of ``_heads``
        fixed = [f for f in fixed if f[0] != "int2"]
    picks = [rng.integers(0, len(_WORDS), n) for _ in range(3)]
    texts: list[Any] = [
        Encoded(_WORDS, p) if encoded else [_WORDS[k] for k in p.tolist()] for p in picks
    ]
    kinds = [k for k, _ in fixed] + ["text"] * 3
    want = [
        tuple([int(v[r]) for _, v in fixed] + [_WORDS[int(p[r])] for p in picks]) for r in range(n)
    ]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pgbinary, "BLOCK", block)
        parts = list(pgbinary.dense_parts(fixed, texts))
    assert sorted(decode(b"".join(parts), kinds)) == sorted(want)


def test_dense_parts_without_texts() -> None:
    values = np.arange(10)
    assert sorted(decode(b"".join(pgbinary.dense_parts([("int4", values), ("int2", values % 3)], [])), ["int4", "int2"])) == [
        (i, i % 3) for i in range(10)
    ]
