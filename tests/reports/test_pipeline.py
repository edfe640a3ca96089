"""Parsing in a worker process (``pipeline.in_worker``) gives exactly what parsing in the import
process gives: the same chunks, columns, file lines and rejections; reading errors arrive as the
same ``Invalid``; and the worker stops when the import stops early."""

from __future__ import annotations

import multiprocessing
from dataclasses import fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from minxin.errors import Invalid
from minxin.reports import maintenance, pipeline
from minxin.reports.importer import ImportOptions, run_import
from minxin.reports.rowparse import concat
from minxin.reports.sources import check_header, read_rows
from tests.reports.csvrows import random_rows, to_csv

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


def awkward_file(tmp_path: Path) -> Path:
    """Valid and invalid rows, a repeated number, cells with line breaks and blank lines."""
    rows = random_rows(500, seed=41)
    rows[7]["created_at"] = "2026-02-30T10:00:00+08:00"
    rows[120]["satisfaction"] = "so-so"
    rows[121]["number"] = rows[3]["number"]
    rows[250]["content"] = "第一行\n第二行\r\n第三行"
    rows[251]["title"] = "  带空格的标题\u3000"
    lines = to_csv(rows).splitlines(keepends=True)
    text = "".join(lines[:40]) + "\n\n" + "".join(lines[40:300]) + "\r\n" + "".join(lines[300:])
    path = tmp_path / "awkward.csv"
    path.write_text(text, encoding="utf-8")
    return path


def _whole(parsed: list[Any]) -> tuple[int, Any, np.ndarray, list[Any], int]:
    """Chunks joined: rows read, columns, file lines, rejections, titles cut."""
    chunks = [p[1] for p in parsed]
    columns = concat([c.columns for c in chunks if len(c.columns)])
    lines = np.concatenate([c.lines for c in chunks])
    rejections = sorted((r for c in chunks for r in c.rejections), key=lambda r: r.line)
    return sum(p[0] for p in parsed), columns, lines, rejections, sum(c.truncated_titles for c in chunks)


def _same(here: list[Any], there: list[Any]) -> None:
    a, b = _whole(here), _whole(there)
    assert a[0] == b[0] and np.array_equal(a[2], b[2]) and a[3] == b[3] and a[4] == b[4]
    for f in fields(a[1]):
        x, y = getattr(a[1], f.name), getattr(b[1], f.name)
        if f.name == "times":
            assert x.keys() == y.keys() and all(np.array_equal(x[k], y[k]) for k in x)
        elif isinstance(x, np.ndarray):
            assert x.dtype == y.dtype and np.array_equal(x, y), f.name
        else:
            assert x == y, f.name


def test_the_worker_parses_exactly_like_the_import_process(tmp_path: Path) -> None:
    path = awkward_file(tmp_path)
    header, chunks = read_rows(path, 64)
    names, _ = check_header(header)
    here = list(pipeline.in_process(names, chunks, None))
    there = list(pipeline.in_worker(path, names, 64, None))
    assert len(here) > 5 and len(there) > 1
    _same(here, there)
    assert multiprocessing.active_children() == []


def test_an_import_through_the_worker_rejects_and_loads_the_same(state: Any, tmp_path: Path) -> None:
    path = awkward_file(tmp_path)
    results = [run_import(state.db, path, ImportOptions(chunk_size=64, parse_in_worker=w), now=NOW) for w in (False, True)]
    assert not any(r.ok for r in results) and results[0].rejected == results[1].rejected
    assert len(results[0].rejected) == 3
    loaded = run_import(state.db, path, ImportOptions(chunk_size=64, parse_in_worker=True, skip_invalid=True), now=NOW)
    assert loaded.ok and loaded.imported == 497 and loaded.rejected == results[0].rejected
    with state.db.reading() as session:
        assert maintenance.verify(session) == []


def test_a_reading_error_in_the_worker_is_the_same_invalid(state: Any, tmp_path: Path) -> None:
    path = tmp_path / "broken.csv"
    good = to_csv(random_rows(300, seed=5)).encode()
    path.write_bytes(good + b"\xff\xfe broken line\n")
    with pytest.raises(Invalid) as here:
        run_import(state.db, path, ImportOptions(chunk_size=50, parse_in_worker=False), now=NOW)
    with pytest.raises(Invalid) as there:
        run_import(state.db, path, ImportOptions(chunk_size=50, parse_in_worker=True), now=NOW)
    assert (there.value.code, there.value.message_en) == (here.value.code, here.value.message_en) == (
        "import.bad_encoding", here.value.message_en)
    assert multiprocessing.active_children() == []


def test_the_worker_stops_when_the_import_stops_early(tmp_path: Path) -> None:
    path = awkward_file(tmp_path)
    header, chunks = read_rows(path, 16)
    chunks.close()
    names, _ = check_header(header)
    parsed = pipeline.in_worker(path, names, 16, None)
    next(parsed)
    parsed.close()
    assert multiprocessing.active_children() == []


def test_large_csv_files_use_the_worker(tmp_path: Path) -> None:
    small = tmp_path / "small.csv"
    small.write_text("number\n", encoding="utf-8")
    assert not pipeline.wants_worker(small, None) and pipeline.wants_worker(small, True)
    assert not pipeline.wants_worker(tmp_path / "history.xlsx", True)
