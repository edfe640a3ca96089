"""Reading a large CSV history file with pyarrow's C++ parser, with the ``csv`` module's results.

Why: in a history import the worker process (``pipeline``) reads and parses while the import
process loads, and reading with the ``csv`` module plus turning every cell into a Python string
was the slower side of that pair (the loader waited 12 of 20 s on 1M orders; docs/benchmarks.md,
"Reports at scale"). pyarrow parses a block of the file into columns in C++; the columns are
handed to ``rowparse.parse_columns`` as ``textcols`` shapes, so most cells never become ``str``.

How: the file is cut into blocks of about ``chunk_size`` rows at a line break outside quotes
(an even number of ``"`` before it), and each block is parsed on its own. The answer must be
exactly what ``sources.read_rows`` + ``rowparse.parse_chunk`` give (rows, line numbers,
rejections, errors; tests/reports/test_pipeline.py compares them), so a block is used only when
pyarrow parsed it without complaint into exactly one row per line. Anything else — a blank line,
a line break inside a quoted cell, a row of the wrong width, a byte that is not UTF-8 — switches
the rest of the file to the ``csv`` module from the start of that block, where line numbers are
still known. A file that is not UTF-8 is re-read from the start by ``read_rows`` so that the
error names the same line.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from datetime import tzinfo
from pathlib import Path
from typing import Any

import numpy as np

from minxin.core.kpi import IMPORT_COLUMNS, OPTIONAL_COLUMNS
from minxin.errors import Invalid
from minxin.reports.columnar import TIME_COLUMNS
from minxin.reports.rowparse import ParsedChunk, parse_chunk, parse_columns
from minxin.reports.sources import csv_chunks, read_rows
from minxin.reports.textcols import Encoded, Texts, Utf8

#: (rows read, the parsed chunk, bytes of the file read so far), as ``pipeline.Parsed``
Parsed = tuple[int, ParsedChunk, int]
#: free-text columns, kept as Arrow strings (``Texts``); the other known columns are dictionary-encoded
_TEXT = frozenset({"number", "title", "content"})
_TIMES = frozenset(TIME_COLUMNS)
_KNOWN = frozenset(IMPORT_COLUMNS) | frozenset(OPTIONAL_COLUMNS)
_BOM = b"\xef\xbb\xbf"


def _lines_in(block: bytes) -> int:
    """Physical lines ended in ``block``, counted as the ``csv`` module counts them (``\\n``,
    ``\\r\\n`` and a lone ``\\r`` each end one)."""
    lone = block.count(b"\r")
    return block.count(b"\n") + (lone - block.count(b"\r\n") if lone else 0)


def _record_end(block: bytes) -> int:
    """Index just past the last line break of ``block`` that has an even number of quotes
    before it (so it is outside any quoted cell); 0 if there is none."""
    if b'"' not in block:  # no quoted cell: the last line break is outside any
        return block.rfind(b"\n") + 1
    data = np.frombuffer(block, dtype=np.uint8)
    breaks = np.flatnonzero(data == 10)
    if not len(breaks):
        return 0
    quotes = np.flatnonzero(data == 34)
    even = breaks[(np.searchsorted(quotes, breaks) & 1) == 0]
    return int(even[-1]) + 1 if len(even) else 0


def _header_end(head: bytes) -> int:
    """Bytes of the BOM and the header record at the start of the file."""
    start = len(_BOM) if head.startswith(_BOM) else 0
    data = np.frombuffer(head, dtype=np.uint8)
    quotes = np.flatnonzero(data == 34)
    for at in np.flatnonzero(data == 10).tolist():
        if at >= start and (np.searchsorted(quotes, at) & 1) == 0:
            return at + 1
    return len(head)


def _arrow_columns(block: bytes, names: Sequence[str]) -> tuple[dict[str, Any], int] | None:
    """The block's known columns in ``textcols`` shapes and its row count, or None where pyarrow
    refuses it (wrong width, not UTF-8, …)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    try:
        table = pacsv.read_csv(
            io.BytesIO(block),
            read_options=pacsv.ReadOptions(column_names=list(names), use_threads=False, block_size=max(1 << 20, len(block) + 1)),
            # a block with no quote has no line break inside a cell: the faster scan (≈ −20 %)
            parse_options=pacsv.ParseOptions(newlines_in_values=b'"' in block),
            convert_options=pacsv.ConvertOptions(column_types={n: pa.string() for n in names}, strings_can_be_null=False,
                                                 quoted_strings_can_be_null=False),
        )  # every column, ignored ones too, so that a byte that is not UTF-8 anywhere is caught  # fmt: skip
    except (pa.ArrowInvalid, pa.ArrowException):
        return None
    cols: dict[str, Any] = {}
    for name in table.column_names:
        if name not in _KNOWN:
            continue
        array = table.column(name).combine_chunks()
        if name in _TEXT:
            cols[name] = Texts(array)
        elif name in _TIMES:
            _, offsets, data = array.buffers()
            cols[name] = Utf8(
                np.frombuffer(offsets, dtype=np.int32)[array.offset : array.offset + len(array) + 1].astype(np.int64),
                np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, dtype=np.uint8),
            )
        else:
            encoded = pc.dictionary_encode(array)
            cols[name] = Encoded(encoded.dictionary.to_pylist(), encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64))
    return cols, table.num_rows


def read_parsed(path: Path, names: Sequence[str], chunk_size: int, naive_tz: tzinfo | None) -> Iterator[Parsed]:
    """The parsed chunks of the CSV file ``path`` (``names``: its checked header)."""
    with path.open("rb") as handle:
        head = handle.read(1 << 16)
        if head.count(b"\r") != head.count(b"\r\n"):  # lines ended by a lone CR: no '\n' to cut at
            _header, chunks = read_rows(path, chunk_size)
            for rows, lines, done in chunks:
                yield len(rows), parse_chunk(names, rows, lines, naive_tz=naive_tz), done
            return
        offset = _header_end(head)
        line = 1 + _lines_in(head[len(_BOM) if head.startswith(_BOM) else 0 : offset])
        sample = head[offset:]
        per_row = len(sample) / max(1, _lines_in(sample)) if sample else 200.0
        want = max(1 << 16, int(chunk_size * per_row))
        handle.seek(offset)
        carry = b""
        while True:
            data = handle.read(want)
            block = carry + data
            if not block:
                return
            end = len(block) if not data else _record_end(block)
            if end == 0:  # no record ends in this block yet: read more
                carry = block
                continue
            piece, carry = block[:end], block[end:]
            lines = _lines_in(piece) + (0 if piece.endswith((b"\n", b"\r")) else 1)
            parsed = _arrow_columns(piece, names)
            if parsed is None or parsed[1] != lines:
                yield from _by_csv_module(path, names, offset, line - 1, chunk_size, naive_tz)
                return
            cols, n = parsed
            offset += len(piece)
            yield n, parse_columns(cols, n, np.arange(line, line + n, dtype=np.int64), naive_tz=naive_tz), offset
            line += lines


def _by_csv_module(path: Path, names: Sequence[str], offset: int, lines_before: int, chunk_size: int,
                   naive_tz: tzinfo | None) -> Iterator[Parsed]:
    """The rest of the file from byte ``offset`` (a record boundary after ``lines_before``
    lines) through the ``csv`` module, as ``read_rows`` reads it."""
    raw = path.open("rb")
    raw.seek(offset)
    handle = io.TextIOWrapper(raw, encoding="utf-8", newline="")
    try:
        for rows, lines, done in csv_chunks(handle, csv.reader(handle), chunk_size, lines_before):
            yield len(rows), parse_chunk(names, rows, lines, naive_tz=naive_tz), done
    except Invalid as exc:
        if exc.code != "import.bad_encoding":
            raise
        _header, chunks = read_rows(path, chunk_size)  # the same line as the whole-file reading names
        for _ in chunks:
            pass
        raise
