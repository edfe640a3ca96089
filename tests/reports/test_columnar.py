"""The bulk (by-column) path gives exactly what the KPI core gives, row by row and cell by cell.

``rowparse`` must accept precisely the rows ``from_row`` accepts, with the same facts, and
``columnar`` + ``cells`` must sum to ``aggregate`` / ``rollup`` — histogram included — however the
rows are split into chunks. No database involved.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta, timezone

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from minxin.core.kpi import COUNTER_FIELDS, FactError, aggregate, from_row, partial_of, rollup
from minxin.core.kpi.histogram import bucket_of
from minxin.reports import cells
from minxin.reports.columnar import (
    APPEALS,
    CHANNELS,
    EPOCH_ORDINAL,
    buckets,
    partials,
    to_us,
    working_positions,
)
from minxin.reports.folding import kpi_calendar, working_seconds
from minxin.reports.instants import parse_instants
from minxin.reports.rowparse import parse_chunk
from tests.reports.csvrows import random_rows


def _parse_all(rows: list[dict[str, str]], chunk: int) -> tuple[cells.CellTable, cells.Vocab, cells.Vocab, cells.Vocab, list]:
    header = list(rows[0])
    units, categories, regions = cells.Vocab(), cells.Vocab(), cells.Vocab()
    tables, rejections = [], []
    for k in range(0, len(rows), chunk):
        parsed = parse_chunk(header, [list(r.values()) for r in rows[k : k + chunk]], k + 2)
        rejections += parsed.rejections
        tables.append(cells.rows_to_cells(parsed.columns, partials(parsed.columns, kpi_calendar()), units, categories, regions))
    return cells.merge(tables), units, categories, regions, rejections


def _as_dict(table: cells.CellTable, units: cells.Vocab, categories: cells.Vocab, regions: cells.Vocab) -> dict:
    out = {}
    for i, (d, u, c, ch, a, r) in enumerate(table.keys.tolist()):
        key = (date.fromordinal(EPOCH_ORDINAL + d), units.values[u], categories.values[c], CHANNELS[ch].value,
               APPEALS[a].value, regions.values[r])  # fmt: skip
        out[i] = (key, dict(zip(COUNTER_FIELDS, table.counters[i].tolist(), strict=True)), {})
    for cell, b, c, s in table.hist.tolist():
        out[cell][2][b] = (c, s)
    return {key: (counters, hist) for key, counters, hist in out.values()}


def test_cells_equal_the_core_aggregate_whatever_the_chunking() -> None:
    rows = random_rows(6000, seed=11, days=120)
    expected = aggregate([from_row(r) for r in rows], working_seconds)
    for chunk in (6000, 977):
        table, units, categories, regions, rejections = _parse_all(rows, chunk)
        assert rejections == []
        got = _as_dict(table, units, categories, regions)
        assert len(got) == len(expected)
        for key, part in expected.items():
            k = (key.day, key.unit, key.category, key.channel, key.appeal_type, key.region)
            assert got[k] == (part.columns(), part.handling_hist.as_mapping()), k
        monthly = cells.monthly(table, units, categories, regions)
        hist: dict[int, dict[int, tuple[int, int]]] = {}
        for row, b, c, s in monthly.hist.tolist():
            hist.setdefault(row, {})[b] = (c, s)
        index = {(monthly.dims[i], monthly.months[i], monthly.units[i], monthly.values[i]): i for i in range(len(monthly.dims))}
        for dim, by in (("all", ()), ("channel", ("channel",)), ("category", ("category",)), ("day", ("day",))):
            for key, part in rollup(expected, ("month", "unit", *by)).items():
                value = "" if dim == "all" else (key[2].isoformat() if dim == "day" else key[2])
                i = index[(dim, key[0], key[1], value)]
                assert dict(zip(COUNTER_FIELDS, monthly.counters[i].tolist(), strict=True)) == part.columns()
                assert hist.get(i, {}) == part.handling_hist.as_mapping()


def test_rows_accepted_and_refused_exactly_like_from_row() -> None:
    rows = random_rows(3000, seed=12)
    broken = {
        "created_at": "2026-13-01T00:00:00+08:00", "dispatched_at": "2026-02-30T10:00:00+08:00",
        "replied_at": "2026-09-02T10:00:00", "channel": "fax", "appeal_type": "", "reopen_count": "-1",
        "returned_count": "1.5", "satisfaction": "so-so", "resolved": "maybe", "has_evidence": "2",
        "number": "  ", "status": "lost", "signed_at": "2026-09-02T25:00:00+08:00", "callback_at": "yesterday",
        "handle_due_at": "2026-09-02T10:00:00+24:00", "closed_at": "2026-09-02T10:00:00.12+08:00",
    }  # fmt: skip
    for i, (column, value) in enumerate(broken.items()):
        rows[10 + 7 * i][column] = value
    rows[400]["created_at"] = " 2026-09-02T10:00:00+08:00 "  # whitespace: from_row strips it
    rows[401]["dispatched_at"] = "2026-09-02T10:00+08:00"  # a valid shape the fast path leaves to from_row
    header = list(rows[0])
    parsed = parse_chunk(header, [list(r.values()) for r in rows], 2)
    refused = {r.line for r in parsed.rejections}
    accepted = {int(line): i for i, line in enumerate(parsed.lines)}
    for n, row in enumerate(rows):
        line = n + 2
        try:
            fact = from_row(row)
        except FactError as exc:
            assert line in refused, (line, exc)
            rejection = next(r for r in parsed.rejections if r.line == line)
            assert rejection.column == exc.column and rejection.message_en == exc.reason_en
            continue
        assert line in accepted, line
        assert parsed.columns.fact(accepted[line]) == fact


def test_per_row_partials_match_partial_of() -> None:
    rows = random_rows(2000, seed=13)
    parsed = parse_chunk(list(rows[0]), [list(r.values()) for r in rows], 2)
    rp = partials(parsed.columns, kpi_calendar())
    for i in range(len(parsed.columns)):
        part = partial_of(parsed.columns.fact(i), working_seconds)
        assert dict(zip(COUNTER_FIELDS, rp.counters[i].tolist(), strict=True)) == part.columns()
        assert (rp.bucket[i] if rp.bucket[i] >= 0 else None) == (part.handling_hist.buckets[0][0] if part.handling_hist.buckets else None)


_CST = timezone(timedelta(hours=8))


@settings(max_examples=300, deadline=None)
@given(
    st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2040, 12, 31)),
    st.integers(min_value=-14 * 60, max_value=14 * 60),
    st.sampled_from(["seconds", "milliseconds", "microseconds", "Z", "space"]),
)
def test_instant_fast_path_equals_fromisoformat(moment: datetime, offset_minutes: int, shape: str) -> None:
    tz = timezone(timedelta(minutes=offset_minutes))
    aware = moment.replace(tzinfo=tz)
    if shape == "Z":
        text = aware.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds") + "Z"
    elif shape == "space":
        text = aware.isoformat(sep=" ", timespec="seconds")
    else:
        text = aware.isoformat(timespec=shape)
    us, ok = parse_instants([text])
    assert ok[0]
    assert us[0] == to_us(datetime.fromisoformat(text))


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="0123456789-:T +Z.", min_size=20, max_size=32))
def test_instant_fast_path_never_accepts_what_fromisoformat_refuses(text: str) -> None:
    us, ok = parse_instants([text])
    if ok[0]:
        parsed = datetime.fromisoformat(text)
        assert parsed.utcoffset() is not None and us[0] == to_us(parsed)


_SHAPES = ["2026-10-01T08:30:00+08:00", "2026-10-01T00:30:00Z", "2026-10-01 08:30:00.125+08:00",
           "2024-02-29T23:59:59.999999-05:30", "", "2026-02-29T08:30:00+08:00", "2026-10-01T08:30:00+0800",
           "2026-10-01T08:30:00+08:0x", "昨天", "2026-10-01T08:30:00.12+08:00"]  # fmt: skip


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(_SHAPES) | st.text(alphabet="0123456789-:T +Z.", max_size=32), min_size=1, max_size=30))
def test_instants_from_utf8_bytes_equal_instants_from_strings(values: list[str]) -> None:
    """The columns the Arrow reader hands over (``Utf8``: offsets and bytes, where one-length
    runs are reshaped rather than gathered) parse exactly as the same cells as strings, row by
    row, whatever mix of shapes (the offset's place differs between them) and empty cells."""
    from minxin.reports.textcols import Texts

    bulk = parse_instants(Texts.of(values).utf8())
    for i, v in enumerate(values):
        one = parse_instants([v])
        assert (bulk[0][i], bulk[1][i]) == (one[0][0], one[1][0]), v


def test_working_positions_give_the_calendars_working_time() -> None:
    rnd = random.Random(5)
    base = datetime(2025, 12, 20, tzinfo=_CST)
    a = [base + timedelta(seconds=rnd.randrange(120 * 86400), microseconds=rnd.randrange(10**6)) for _ in range(400)]
    b = [x + timedelta(seconds=rnd.randrange(20 * 86400)) for x in a]
    pa, pb = working_positions([np.array([to_us(x) for x in a]), np.array([to_us(x) for x in b])], kpi_calendar())
    for x, y, p, q in zip(a, b, pa.tolist(), pb.tolist(), strict=True):
        assert q - p == working_seconds(x, y) // timedelta(microseconds=1)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=10**8), min_size=1, max_size=50))
def test_buckets_equal_bucket_of(seconds: list[int]) -> None:
    assert buckets(np.array(seconds)).tolist() == [bucket_of(s) for s in seconds]
