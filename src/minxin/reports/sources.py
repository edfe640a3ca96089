"""Reading a history file for ``minxin import``: CSV (UTF-8) or XLSX, in chunks, with each
row's line number in the file so that rejections point at the line a person can open.

Invariant: a chunk's rows and line numbers correspond one to one (blank rows are dropped
together with their numbers); a file without the required columns is refused before any row
is read.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Sequence
from datetime import datetime
from itertools import islice
from pathlib import Path
from typing import Any

from minxin.core.kpi import IMPORT_COLUMNS, OPTIONAL_COLUMNS
from minxin.errors import Invalid


def _xlsx_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


Chunk = tuple[list[list[str]], "list[int] | int", int]


def _csv_header(handle: Any, reader: Any) -> list[str]:
    try:
        return next(reader)  # type: ignore[no-any-return]
    except StopIteration:
        handle.close()
        raise Invalid("文件为空", "The file is empty", code="import.empty_file") from None
    except UnicodeDecodeError:
        handle.close()
        raise Invalid("文件不是 UTF-8 编码的 CSV", "The file is not UTF-8 CSV", code="import.bad_encoding") from None


def read_rows(path: Path, chunk_size: int) -> tuple[list[str], Iterator[Chunk]]:
    """(header, chunks of (rows, file line of each row, bytes read so far)). CSV must be UTF-8.
    The file is closed when the chunks are exhausted or closed (even before the first one)."""
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        return _read_xlsx(path, chunk_size)
    handle = path.open("r", encoding="utf-8-sig", newline="")
    reader = csv.reader(handle)
    header = _csv_header(handle, reader)
    return header, _Closing(csv_chunks(handle, reader, chunk_size), handle)


def csv_chunks(handle: Any, reader: Any, chunk_size: int, line_base: int = 0) -> Iterator[Chunk]:
    """Chunks of ``reader`` (a ``csv.reader`` over the text file ``handle``); ``line_base``: the
    file lines before the point where ``reader`` began. Closes ``handle`` at the end."""
    try:
        while True:
            start = line_base + reader.line_num
            rows = list(islice(reader, chunk_size))
            if not rows:
                return
            if line_base + reader.line_num - start == len(rows) and all(rows):
                yield rows, start + 1, handle.buffer.tell()  # one line per row: lines are consecutive
                continue
            lines, line = [], start + 1  # rows with line breaks inside quoted cells, or blank lines
            for row in rows:
                lines.append(line)
                line += 1 + sum(cell.count("\n") for cell in row)
            kept = [(r, n) for r, n in zip(rows, lines, strict=True) if r]
            yield [r for r, _ in kept], [n for _, n in kept], handle.buffer.tell()
    except UnicodeDecodeError as exc:
        line = line_base + reader.line_num
        raise Invalid(f"第 {line} 行附近不是 UTF-8 编码", f"Not UTF-8 near line {line}", code="import.bad_encoding") from exc
    finally:
        handle.close()


class _Closing:
    """A chunk generator that also closes its file when closed before it started (a generator's
    ``finally`` runs only once it has)."""

    def __init__(self, chunks: Iterator[Chunk], handle: Any) -> None:
        self.chunks, self.handle = chunks, handle

    def __iter__(self) -> Iterator[Chunk]:
        return self

    def __next__(self) -> Chunk:
        return next(self.chunks)

    def close(self) -> None:
        self.chunks.close()  # type: ignore[attr-defined]
        self.handle.close()


def _read_xlsx(path: Path, chunk_size: int) -> tuple[list[str], Iterator[Chunk]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a damaged file
        raise Invalid("无法读取 XLSX 文件", f"Cannot read the XLSX file: {exc}", code="import.bad_file") from exc
    sheet = book.worksheets[0]
    rows_iter = sheet.iter_rows(values_only=True)
    try:
        header = [_xlsx_cell(v) for v in next(rows_iter)]
    except StopIteration:
        raise Invalid("文件为空", "The file is empty", code="import.empty_file") from None
    while header and header[-1] == "":
        header.pop()

    def chunks() -> Iterator[Chunk]:
        rows, lines = [], []
        for line, values in enumerate(rows_iter, start=2):
            cellsv = [_xlsx_cell(v) for v in values][: len(header)]
            if not any(cellsv):
                continue
            rows.append(cellsv + [""] * (len(header) - len(cellsv)))
            lines.append(line)
            if len(rows) >= chunk_size:
                yield rows, lines, 0
                rows, lines = [], []
        if rows:
            yield rows, lines, 0
        book.close()

    return header, chunks()


def check_header(header: Sequence[str]) -> tuple[list[str], list[str]]:
    """(normalised header, ignored columns); refuses files missing a required column."""
    names = [h.strip().lower() for h in header]
    missing = [c for c in IMPORT_COLUMNS if c not in names]
    if missing:
        raise Invalid(
            f"缺少必需的列：{', '.join(missing)}",
            f"Missing required columns: {', '.join(missing)}",
            code="import.missing_columns",
            details={"missing": missing, "required": list(IMPORT_COLUMNS)},
        )
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise Invalid(f"列名重复：{', '.join(dupes)}", f"Duplicate columns: {', '.join(dupes)}", code="import.duplicate_columns")
    known = set(IMPORT_COLUMNS) | set(OPTIONAL_COLUMNS)
    return names, [n for n in names if n not in known]
