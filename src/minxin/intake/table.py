"""Reading a centre's order history (CSV or XLSX) into ``(texts, labels)``.

Centres export from many systems: UTF-8 with or without BOM, GB18030 from older Windows
tools, or Excel. This module hides that, and fails with a message that names the missing
column and lists the available ones, because a wrong ``--text-col`` is the common mistake.

Several columns may be named, comma-separated: text columns are joined with a newline (e.g.
title + body), label columns are joined into a hierarchical path with ``LEVEL_SEP``
(``一级分类,二级分类,三级分类`` gives ``城乡建设/住房保障/公租房``), trailing empty levels
dropped. Rows whose text or label ends up empty are dropped and counted.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

LEVEL_SEP = "/"
_ENCODINGS = ("utf-8-sig", "gb18030")


class TableError(ValueError):
    """The table cannot be read, or lacks a requested column."""


@dataclass
class LoadedTable:
    """Texts and labels of one file; unpacks as ``texts, labels = load_table(...)``."""

    texts: list[str]
    labels: list[str]
    dropped: int = 0
    sha256: str = ""
    columns: list[str] = field(default_factory=list)

    def __iter__(self) -> Iterator[list[str]]:
        yield self.texts
        yield self.labels

    def __len__(self) -> int:
        return len(self.texts)


def split_columns(spec: str, available: Sequence[str]) -> list[str]:
    """Column names in ``spec``: the exact name if it exists, else its comma-separated parts."""
    spec = spec.strip()
    if spec in available:
        return [spec]
    return [part.strip() for part in spec.replace("，", ",").split(",") if part.strip()]


def _decode(raw: bytes, path: Path) -> str:
    for encoding in _ENCODINGS:
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise TableError(f"{path}: not UTF-8 or GB18030 text")


def _read_csv(raw: bytes, path: Path) -> tuple[list[str], list[list[str]]]:
    text = _decode(raw, path)
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    if not rows:
        raise TableError(f"{path}: the file is empty")
    return rows[0], rows[1:]


def _read_xlsx(path: Path) -> tuple[list[str], list[list[str]]]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises several unrelated types for a bad file
        raise TableError(f"{path}: cannot open as XLSX ({exc})") from exc
    try:
        sheet = workbook.worksheets[0]
        rows = [
            ["" if cell is None else str(cell) for cell in row] for row in sheet.iter_rows(values_only=True)
        ]
    finally:
        workbook.close()
    rows = [row for row in rows if any(cell.strip() for cell in row)]
    if not rows:
        raise TableError(f"{path}: the first sheet is empty")
    return rows[0], rows[1:]


def _label_path(levels: list[str]) -> str:
    """Join level cells into ``a/b/c``; ``""`` when a level in the middle is empty.

    With several level columns a separator inside one cell would fake an extra level, so it
    is replaced by the full-width ``／``; a single column may already hold a path.
    """
    if len(levels) > 1:
        levels = [level.replace(LEVEL_SEP, "／") for level in levels]
    parts = [part.strip() for part in LEVEL_SEP.join(levels).split(LEVEL_SEP)]
    while parts and not parts[-1]:
        parts.pop()
    if not parts or not all(parts):
        return ""
    return LEVEL_SEP.join(parts)


def load_table(path: str | Path, text_col: str, label_col: str) -> LoadedTable:
    """Read ``text_col`` and ``label_col`` of a CSV/TSV/XLSX file.

    Raises :class:`TableError` naming the missing columns and listing those available.
    ``sha256`` is the hash of the file's bytes, recorded in the trained model's metadata.
    """
    path = Path(path)
    if not path.is_file():
        raise TableError(f"file not found: {path}")
    raw = path.read_bytes()
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        header, rows = _read_xlsx(path)
    else:
        header, rows = _read_csv(raw, path)
    header = [name.strip().lstrip("\ufeff") for name in header]
    text_cols = split_columns(text_col, header)
    label_cols = split_columns(label_col, header)
    missing = [c for c in [*text_cols, *label_cols] if c not in header]
    if missing or not text_cols or not label_cols:
        raise TableError(
            f"{path}: column(s) {', '.join(missing) or '(none given)'} not found; "
            f"available columns: {', '.join(header)}"
        )
    t_idx = [header.index(c) for c in text_cols]
    l_idx = [header.index(c) for c in label_cols]
    texts: list[str] = []
    labels: list[str] = []
    dropped = 0
    for row in rows:
        cells = [row[i].strip() if i < len(row) else "" for i in range(len(header))]
        text = "\n".join(cells[i] for i in t_idx if cells[i])
        label = _label_path([cells[i] for i in l_idx])
        if not text or not label:
            dropped += 1
            continue
        texts.append(text)
        labels.append(label)
    return LoadedTable(texts, labels, dropped=dropped, sha256=hashlib.sha256(raw).hexdigest(), columns=header)
