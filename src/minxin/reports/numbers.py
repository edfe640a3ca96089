"""The order numbers an import has read: repeats found by 64-bit hashes, then confirmed exactly.

Why: a history import must refuse a number that an earlier line of the same file used, naming
that line. Holding every number read as a ``str`` key of a dict (10M strings for a megacity's
year) cost about 14 s of a 10M-row import and a gigabyte; here each chunk's numbers are hashed
as a byte matrix in numpy, the hashes kept in a numpy hash table (``HashSet``), and only rows
whose hash was seen before (a repeat, or, about once in 3×10^5 imports of 10M rows, a collision)
are compared as strings against the earlier rows with the same hash, which stay in their Arrow
arrays.

Invariants: ``add`` reports exactly the rows whose number (as a string) occurred on an earlier
line, each with the first such line; a repeated row is not recorded again; the highest sequence
per day of the numbers shaped like live ones (``YYYYMMDD`` + 6 ASCII digits, a real date) is
kept for moving the live numbering past them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import numpy as np

from minxin.reports.textcols import Texts, Utf8

_FNV_OFFSET = np.uint64(0xCBF29CE484222325)
_FNV_PRIME = np.uint64(0x100000001B3)


def _words(utf8: Utf8) -> tuple[np.ndarray, np.ndarray]:
    """Each value's bytes, zero-padded to whole 8-byte words, as an (n, words) uint64 matrix,
    and each value's byte length. Values of one length (the usual case) are a reshape."""
    lengths = utf8.byte_lengths()
    n = len(lengths)
    width = int(lengths.max()) if n else 0
    padded = utf8.matrix(np.arange(n), (width + 7) // 8 * 8)  # values of one length: a reshape
    return padded.view("<u8"), lengths


def hash64(texts: Texts) -> np.ndarray:
    """A 64-bit hash of each value's UTF-8 bytes, as uint64: 8 bytes at a time (each value's
    own words only, zero-padded, so the width of the chunk does not count), the byte length
    mixed in, each step finished by the splitmix64 mixer. Never 0 (the hash table's empty slot)."""
    words, lengths = _words(texts.utf8())
    h = lengths.astype(np.uint64) * _FNV_PRIME + _FNV_OFFSET
    with np.errstate(over="ignore"):
        for j in range(words.shape[1]):
            inside = lengths > 8 * j
            h = np.where(inside, _mix(h ^ words[:, j]), h) if not inside.all() else _mix(h ^ words[:, j])
        h = _mix(h)
    h[h == 0] = 1
    return h


def _mix(h: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser (every input bit moves every output bit)."""
    with np.errstate(over="ignore"):
        h = (h ^ (h >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        h = (h ^ (h >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return h ^ (h >> np.uint64(31))


class HashSet:
    """A set of nonzero uint64 keys in a numpy open-addressing table (linear probing), filled
    and queried a whole array at a time: no Python object per key (a ``set`` of 10M ints costs
    ≈ 0.35 µs and 50 bytes per key here). A key's home slot is its top bits, so keys given in
    sorted order (``np.unique``'s) visit the table from one end to the other, not at random."""

    def __init__(self, capacity: int = 1 << 16) -> None:
        self.table = np.zeros(max(1 << 4, 1 << (capacity - 1).bit_length()), dtype=np.uint64)
        self.size = 0

    def _slots(self, keys: np.ndarray) -> np.ndarray:
        """Each key's slot: where it is, or the empty slot where its probe ends."""
        mask = len(self.table) - 1
        slots = (keys >> np.uint64(64 - mask.bit_length())).astype(np.int64)
        todo = np.arange(len(keys))
        while len(todo):
            at = self.table[slots[todo]]
            todo = todo[(at != 0) & (at != keys[todo])]
            slots[todo] = (slots[todo] + 1) & mask
        return slots

    def contains(self, keys: np.ndarray) -> np.ndarray:
        return self.table[self._slots(keys)] == keys  # type: ignore[no-any-return]

    def add(self, keys: np.ndarray) -> np.ndarray:
        """Add ``keys`` (distinct among themselves); returns which of them were already in."""
        if 2 * (self.size + len(keys)) > len(self.table):  # keep the load at most ½: grow 4×, re-add
            size = len(self.table)
            while 2 * (self.size + len(keys)) > size:
                size *= 4
            old, self.table, self.size = self.table[self.table != 0], np.zeros(size, dtype=np.uint64), 0
            self.add(old)
        slots = self._slots(keys)
        present = self.table[slots] == keys
        todo, slots = keys[~present], slots[~present]
        while len(todo):  # keys racing for one empty slot: one wins, the others probe on
            self.table[slots] = todo
            placed = self.table[slots] == todo
            self.size += int(placed.sum())
            todo = todo[~placed]
            slots = self._slots(todo)
        return present


def live_top(texts: Texts) -> dict[str, int]:
    """Highest sequence per day among ``texts`` shaped like live numbers."""
    utf8 = texts.utf8()
    lengths = utf8.byte_lengths()
    if not len(lengths):
        return {}
    rows = np.flatnonzero(lengths == 14)
    matrix = utf8.matrix(rows, 14)  # all of one length (the usual case): a reshape, no gather
    columns = np.ascontiguousarray(matrix.T).astype(np.int64) - ord("0")  # a row per digit: long vectors
    ok = np.ones(len(rows), dtype=bool)
    day = np.zeros(len(rows), dtype=np.int64)
    seq = np.zeros(len(rows), dtype=np.int64)
    for k, digit in enumerate(columns):
        ok &= (digit >= 0) & (digit <= 9)
        if k < 8:
            day = day * 10 + digit
        else:
            seq = seq * 10 + digit
    day, seq = day[ok], seq[ok]
    if not len(day):
        return {}
    low = int(day.min())
    if int(day.max()) - low < 1 << 20:  # dates span a small range of YYYYMMDD: direct addressing
        best = np.full(int(day.max()) - low + 1, -1, dtype=np.int64)
        np.maximum.at(best, day - low, seq)
        days = np.flatnonzero(best >= 0)
        top = best[days]
        days = days + low
    else:
        key = np.sort(day * 1_000_000 + seq)
        last = np.append(key[1:] // 1_000_000 != key[:-1] // 1_000_000, True)  # the largest of each day
        days, top = key[last] // 1_000_000, key[last] % 1_000_000
    out: dict[str, int] = {}
    for d, s in zip(days.tolist(), top.tolist(), strict=True):
        try:
            date(d // 10_000, d // 100 % 100, d % 100)
        except ValueError:
            continue
        out[f"{d:08d}"] = s
    return out


class SeenNumbers:
    """Numbers read so far in one import (see the module docstring)."""

    def __init__(self) -> None:
        self._hashes = HashSet()
        self._chunks: list[tuple[Texts, np.ndarray, np.ndarray]] = []  # numbers, lines, hashes
        #: highest sequence per day among the live-shaped numbers recorded
        self.live_top: dict[str, int] = {}

    def add(self, numbers: Sequence[str], lines: np.ndarray) -> dict[int, int]:
        """Record a chunk's numbers (``lines``: each row's file line, increasing). Returns
        ``{row: first line}`` for the rows whose number an earlier row (of this chunk or of an
        earlier one) had; those rows are not recorded."""
        texts = Texts.of(numbers)
        h = hash64(texts)
        distinct, counts = np.unique(h, return_counts=True)
        earlier = distinct[self._hashes.add(distinct)]
        repeats: dict[int, int] = {}
        if len(earlier) or len(distinct) < len(h):
            repeats = self._repeats(texts, h, lines, np.union1d(distinct[counts > 1], earlier))
        if repeats:
            keep = np.ones(len(texts), dtype=bool)
            keep[list(repeats)] = False
            texts, lines, h = texts.take(np.flatnonzero(keep)), lines[keep], h[keep]
        self._chunks.append((texts, np.asarray(lines, dtype=np.int64), h))
        for day, seq in live_top(texts).items():
            if seq > self.live_top.get(day, -1):
                self.live_top[day] = seq
        return repeats

    def _repeats(self, texts: Texts, h: np.ndarray, lines: np.ndarray, suspects: np.ndarray) -> dict[int, int]:
        """The exact comparison, for the rows whose hash is among ``suspects`` (seen before, or
        repeated within the chunk)."""
        first: dict[str, int] = {}
        for numbers, at, hashes in self._chunks:
            for i in np.flatnonzero(np.isin(hashes, suspects)).tolist():
                number, line = numbers[i], int(at[i])
                first[number] = min(first.get(number, line), line)
        repeats: dict[int, int] = {}
        for i in np.flatnonzero(np.isin(h, suspects)).tolist():
            number = texts[i]
            if number in first:
                repeats[i] = first[number]
            else:
                first[number] = int(lines[i])
        return repeats
