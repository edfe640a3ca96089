"""``arrowread`` (pyarrow) reads every file exactly as ``read_rows`` + ``parse_chunk`` (the
``csv`` module) do: same rows, columns, file lines, rejections and errors — for clean files that
stay on pyarrow throughout, for awkward ones that switch to the ``csv`` module part-way, and for
random cells (hypothesis)."""

from __future__ import annotations

import csv
import io
from dataclasses import fields
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from minxin.errors import Invalid
from minxin.reports import arrowread, pipeline
from minxin.reports.rowparse import concat
from minxin.reports.sources import check_header, read_rows
from tests.reports.csvrows import random_rows, to_csv


def whole(parsed: list[Any]) -> tuple[Any, ...]:
    chunks = [p[1] for p in parsed]
    kept = [c.columns for c in chunks if len(c.columns)]
    columns = concat(kept) if kept else None
    lines = np.concatenate([c.lines for c in chunks]) if chunks else np.zeros(0, np.int64)
    rejections = sorted((r for c in chunks for r in c.rejections), key=lambda r: (r.line, r.column))
    return sum(p[0] for p in parsed), columns, lines.tolist(), rejections, sum(c.truncated_titles for c in chunks)


def same(path: Path, chunk: int) -> tuple[Any, ...]:
    """Parse ``path`` both ways and check they agree; returns the csv-module result."""
    header, chunks = read_rows(path, chunk)
    names, _ = check_header(header)
    a = whole(list(pipeline.in_process(names, chunks, None)))
    b = whole(list(arrowread.read_parsed(path, names, chunk, None)))
    assert a[0] == b[0] and a[2] == b[2] and a[3] == b[3] and a[4] == b[4]
    assert (a[1] is None) == (b[1] is None)
    if a[1] is not None:
        for f in fields(a[1]):
            x, y = getattr(a[1], f.name), getattr(b[1], f.name)
            if f.name == "times":
                assert x.keys() == y.keys() and all(np.array_equal(x[k], y[k]) for k in x), f.name
            elif isinstance(x, np.ndarray):
                assert x.dtype == y.dtype and np.array_equal(x, y), f.name
            else:
                assert x == y, f.name
    return a


def test_a_clean_file_stays_on_pyarrow_and_matches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rows = [{k: v.replace("\r", " ").replace("\n", " ") for k, v in r.items()} for r in random_rows(3000, seed=12)]
    rows[5]["created_at"] = "2026-02-30T10:00:00+08:00"  # bad cells: the per-row fallback, same messages
    rows[700]["channel"] = "fax"
    rows[1500]["number"] = " "
    rows[2100]["status"] = "maybe"
    rows[2200]["title"] = "长" * 300
    rows[2300]["reopen_count"] = "-1"
    path = tmp_path / "clean.csv"
    path.write_text(to_csv(rows), encoding="utf-8")
    monkeypatch.setattr(arrowread, "_by_csv_module", lambda *a: pytest.fail("fell back to the csv module"))
    result = same(path, 200)
    assert result[0] == 3000 and len(result[3]) >= 5 and result[4] == 1


@pytest.mark.parametrize("case", ["multiline_late", "blank_line_late", "short_row_late", "crlf_bom_no_final_newline",
                                  "lone_cr", "header_only", "stray_quotes"])  # fmt: skip
def test_awkward_files_match(tmp_path: Path, case: str) -> None:
    rows = random_rows(2500, seed=3)
    text = to_csv(rows)
    lines = text.splitlines(keepends=True)
    if case == "multiline_late":
        rows[2000]["content"] = '第一行\n第二行,"引号"\r\n第三行'
        text = to_csv(rows)
    elif case == "blank_line_late":
        text = "".join(lines[:1800]) + "\n" + "".join(lines[1800:]) + "\n\n"
    elif case == "short_row_late":
        text = "".join(lines[:2200]) + "a,b,c\n" + "".join(lines[2200:])
    elif case == "crlf_bom_no_final_newline":
        text = "\ufeff" + text.replace("\n", "\r\n").rstrip("\r\n")
    elif case == "lone_cr":
        text = text.replace("\n", "\r")
    elif case == "header_only":
        text = lines[0]
    elif case == "stray_quotes":
        rows[10]["title"] = 'ab"c'
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n", quoting=csv.QUOTE_NONE, escapechar="\\")
        writer.writeheader()
        writer.writerows({k: v.replace(",", " ").replace("\n", " ") for k, v in r.items()} for r in rows)
        text = out.getvalue().replace("\\", "")
    path = tmp_path / f"{case}.csv"
    path.write_bytes(text.encode("utf-8"))
    same(path, 150)


@pytest.mark.parametrize("where", ["anywhere", "ignored column"])
def test_a_bad_byte_late_in_the_file_is_the_same_error(tmp_path: Path, where: str) -> None:
    path = tmp_path / "broken.csv"
    rows = random_rows(2000, seed=5)
    for row in rows:
        row["remark"] = "备注"
    good = to_csv(rows).encode()
    if where == "anywhere":
        path.write_bytes(good[: len(good) * 3 // 4] + b"\xff\xfe" + good[len(good) * 3 // 4 :])
    else:  # the last cell of a late line: a column the import ignores
        at = good.index("备注".encode(), len(good) * 3 // 4)
        path.write_bytes(good[:at] + b"\xff" + good[at + 1 :])
    header, chunks = read_rows(path, 100)
    names, _ = check_header(header)
    with pytest.raises(Invalid) as here:
        list(pipeline.in_process(names, chunks, None))
    with pytest.raises(Invalid) as there:
        list(arrowread.read_parsed(path, names, 100, None))
    assert (here.value.code, here.value.message_en) == (there.value.code, there.value.message_en)


_CELL = st.one_of(
    st.sampled_from(["", " ", "phone", "是", "2026-10-01T08:00:00+08:00", "2026-10-01 08:00:00Z", "3", "x,y", 'a"b',
                     '"', "\n", "\r\n", "行\n行", "  中文  ", "2026-13-01T00:00:00+08:00"]),
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=6),
)  # fmt: skip


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cells=st.lists(st.tuples(st.sampled_from(["number", "channel", "created_at", "title", "satisfaction", "status"]),
                                _CELL), max_size=12),
       blank_at=st.one_of(st.none(), st.integers(0, 80)))  # fmt: skip
def test_random_cells_match(tmp_path: Path, cells: list[tuple[str, str]], blank_at: int | None) -> None:
    rows = random_rows(80, seed=9)
    for i, (column, value) in enumerate(cells):
        rows[(i * 7) % 80][column] = value
    text = to_csv(rows)
    if blank_at is not None:
        lines = text.splitlines(keepends=True)
        text = "".join(lines[: blank_at + 1]) + "\n" + "".join(lines[blank_at + 1 :])
    path = tmp_path / "random.csv"
    path.write_text(text, encoding="utf-8")
    same(path, 7)
