"""ISO 8601 instants of a whole column at once, for the shapes history files use.

Why: an import has nine time columns per row; parsing each cell with ``datetime.fromisoformat``
would be most of a 10M-row import. The fast shapes (``YYYY-MM-DDTHH:MM:SS[.fff[fff]]±HH:MM``,
``…Z``, a space for the ``T``) are checked and converted as a byte matrix in numpy; anything else
is left not ok, for ``core.kpi.from_row`` to parse or refuse with its own message. A value is
never accepted here that ``fromisoformat`` would refuse or read differently
(tests/reports/test_columnar.py checks both ways, and that bytes and strings agree).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from minxin.reports.columnar import NONE
from minxin.reports.textcols import Utf8

_WIDTH = 32
#: the date-time digits of every fast shape: YYYY-MM-DD?HH:MM:SS
_DIGITS = np.array((0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18))
_MDAYS = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int64)


def _days_from_civil(y: np.ndarray, m: np.ndarray, d: np.ndarray) -> np.ndarray:
    y = y - (m <= 2)
    era = np.floor_divide(y, 400)
    yoe = y - era * 400
    doy = (153 * (m + np.where(m > 2, -3, 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def _bytes(values: Sequence[str]) -> np.ndarray:
    """Strings as an (n, 32) uint8 matrix (ASCII); non-ASCII values become 0x80 bytes (never valid)."""
    try:
        return np.array(values, dtype=f"S{_WIDTH}").view(np.uint8).reshape(len(values), _WIDTH)
    except UnicodeEncodeError:
        safe = [v if v.isascii() else "\x80" * len(v) for v in values]
        return np.array(safe, dtype=f"S{_WIDTH}").view(np.uint8).reshape(len(values), _WIDTH)


def parse_instants(values: Sequence[str] | Utf8) -> tuple[np.ndarray, np.ndarray]:
    """(µs since the epoch or ``NONE`` for empty cells, ok) — ``ok`` is False where the value is
    not one of the fast shapes; those cells must be parsed by ``from_row``."""
    n = len(values)
    utf8 = isinstance(values, Utf8)  # lengths in bytes: a non-ASCII cell is never a fast shape either way
    lens = values.byte_lengths() if utf8 else np.fromiter(map(len, values), dtype=np.int64, count=n)
    us = np.full(n, NONE, dtype=np.int64)
    ok = lens == 0
    shaped = (lens == 25) | (lens == 20) | (lens == 29) | (lens == 32)
    idx = np.flatnonzero(shaped)
    if not len(idx):
        return us, ok
    c = values.matrix(idx, _WIDTH) if utf8 else _bytes([values[i] for i in idx] if len(idx) < n else values)
    # byte j of every row as one contiguous vector: whole-vector arithmetic, no narrow 2-D axes
    t = np.ascontiguousarray(c.T)
    length = lens[idx]

    def num(*at: int) -> np.ndarray:  # the decimal number written by the digits at these bytes
        out = np.zeros(len(idx), dtype=np.int64)
        for j in at:
            out = out * 10 + t[j] - 48
        return out

    def digits(*at: int) -> np.ndarray:
        ok = np.ones(len(idx), dtype=bool)
        for j in at:
            ok &= (t[j] >= 48) & (t[j] <= 57)
        return ok

    good = digits(*_DIGITS.tolist())
    y, mo, day, h, mi, s = num(0, 1, 2, 3), num(5, 6), num(8, 9), num(11, 12), num(14, 15), num(17, 18)
    good &= (t[4] == 45) & (t[7] == 45) & (t[13] == 58) & (t[16] == 58)
    good &= (t[10] == 84) | (t[10] == 32)  # 'T' or ' '
    leap = (y % 4 == 0) & ((y % 100 != 0) | (y % 400 == 0))
    month_ok = (mo >= 1) & (mo <= 12)
    mdays = _MDAYS[np.where(month_ok, mo, 0)] + ((mo == 2) & leap)
    good &= (y >= 1) & month_ok & (day >= 1) & (day <= mdays) & (h <= 23) & (mi <= 59) & (s <= 59)
    frac = np.zeros(len(idx), dtype=np.int64)
    off_at = np.full(len(idx), 19, dtype=np.int64)
    for size, count, scale in ((29, 3, 1000), (32, 6, 1)):
        sel = length == size
        if sel.any():
            places = range(20, 20 + count)
            frac = np.where(sel, num(*places) * scale, frac)
            good &= ~sel | (digits(*places) & (t[19] == 46))
            off_at = np.where(sel, 20 + count, off_at)
    zulu = length == 20
    good &= ~zulu | (t[19] == 90)  # 'Z'
    at = np.minimum(off_at, _WIDTH - 6)
    starts = np.unique(at).tolist()

    def byte(k: int) -> np.ndarray:  # byte ``at + k`` of each row (the offset's place varies)
        if len(starts) == 1:
            return t[starts[0] + k]
        out = np.zeros(len(idx), dtype=np.uint8)
        for start in starts:
            where = at == start
            out[where] = t[start + k][where]
        return out

    sign = byte(0)
    tail = [byte(k) for k in (1, 2, 4, 5)]
    offset_ok = ((sign == 43) | (sign == 45)) & (byte(3) == 58)
    for b in tail:
        offset_ok &= (b >= 48) & (b <= 57)
    oh = (tail[0].astype(np.int64) - 48) * 10 + tail[1] - 48
    om = (tail[2].astype(np.int64) - 48) * 10 + tail[3] - 48
    offset_ok &= (oh <= 23) & (om <= 59)
    good &= zulu | offset_ok
    offset = np.where(zulu, 0, np.where(sign == 45, -1, 1) * (oh * 3600 + om * 60))
    value = (_days_from_civil(y, mo, day) * 86400 + h * 3600 + mi * 60 + s - offset) * 1_000_000 + frac
    us[idx] = np.where(good, value, NONE)
    ok[idx] = good
    return us, ok
