"""Find and mask personal data in free text: mobile and landline numbers, ID numbers, bank cards.

Why validation and not just digit counts: hotline texts are full of long digit runs that are not
personal data (order numbers such as 20261126000123, amounts, meter readings). A run is only
reported when its structure says what it is:

* mobile: 1[3-9] + 9 digits, optionally +86/86/0086 and spaces or dashes (138 1234 5678);
* landline: 0 + 2–3 digit area code, then 7–8 digits, with a dash/space/bracket separator
  or exactly 11–12 digits in a row ((024)2345 6789, 024-23456789, 02423456789);
* resident ID: 18 characters with a valid province prefix, birth date and ISO 7064 MOD 11-2
  check digit; or the old 15-digit form with a valid province prefix and YYMMDD birth date;
* bank card: 16–19 digits (optionally in groups of 4), starting 3–6 or 9, Luhn-valid.

Digit runs glued to other digits, letters or a decimal point are never matched, so amounts
(1380012345.00元) and order numbers do not turn into phones or cards. Matches never overlap;
the earlier, more specific kind wins (ID > bank card > mobile > landline).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from enum import StrEnum


class PiiKind(StrEnum):
    MOBILE = "mobile"
    LANDLINE = "landline"
    ID_NUMBER = "id_number"
    BANK_CARD = "bank_card"


@dataclass(frozen=True, slots=True)
class PiiMatch:
    """One piece of personal data: ``text[start:end]`` is the original, ``masked`` replaces it."""

    kind: PiiKind
    start: int
    end: int
    value: str
    masked: str


_PROVINCE_CODES = (
    "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 50 51 52 53 54 61 62 63 64 65 71 81 82 91"
)
_PROVINCES = frozenset(_PROVINCE_CODES.split())
_NON_DIGIT = re.compile(r"[^0-9]")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"

# Boundaries: not inside a longer run of digits/letters, not part of a decimal number.
_B = r"(?<![0-9A-Za-z０-９.])"
_E = r"(?![0-9A-Za-z０-９]|[.．][0-9０-９])"
_D = r"[0-9０-９]"
_SEP = r"[ \-－]?"
_ID_RE = re.compile(rf"{_B}({_D}{{17}}[0-9０-９XxＸｘ]|{_D}{{15}}){_E}")
_CARD_RE = re.compile(
    rf"{_B}([3-69３-６９]{_D}{{3}}(?:[ \-]?{_D}{{4}}){{2}}[ \-]?{_D}{{4}}(?:[ \-]?{_D}{{1,3}})?){_E}"
)
_MOBILE_RE = re.compile(
    rf"{_B}((?:(?:\+|00)?86[ \-]?)?[1１][3-9３-９]{_D}(?:{_SEP}{_D}{{4}}){_SEP}{_D}{{4}}){_E}"
)
_LANDLINE_RE = re.compile(
    rf"{_B}([(（]?0[1-9]{_D}{{1,2}}[)）]?[ \-－]?[2-9２-９]{_D}{{2,3}}[ \-]?{_D}{{4}}){_E}"
)


def _digits(text: str) -> str:
    """ASCII digits (and X) of ``text``; full-width digits are folded, separators dropped."""
    folded = unicodedata.normalize("NFKC", text)
    return "".join(c for c in folded if c.isdigit() or c in "Xx").upper()


def _valid_date(year: int, month: int, day: int) -> bool:
    try:
        date(year, month, day)
    except ValueError:
        return False
    return 1900 <= year <= 2100


def is_valid_id_number(value: str) -> bool:
    """18-digit ID with province, birth date and check digit; or 15-digit old form."""
    v = _digits(value)
    if len(v) == 18:
        if v[:2] not in _PROVINCES or not v[:17].isdigit():
            return False
        if not _valid_date(int(v[6:10]), int(v[10:12]), int(v[12:14])):
            return False
        total = sum(int(c) * w for c, w in zip(v[:17], _ID_WEIGHTS, strict=True))
        return _ID_CHECK[total % 11] == v[17]
    if len(v) == 15 and v.isdigit():
        return v[:2] in _PROVINCES and _valid_date(1900 + int(v[6:8]), int(v[8:10]), int(v[10:12]))
    return False


def luhn_ok(number: str) -> bool:
    """The Luhn (mod 10) check used by bank cards."""
    digits = [int(c) for c in number if c.isdigit()]
    if not digits:
        return False
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def mask_phone(phone: str) -> str:
    """138****5678 for mobiles; 024-****6789 for landlines; other values keep only their ends.

    Used for the citizen phone field too, so it accepts any string and never raises.
    """
    d = _digits(phone)
    if len(d) >= 13 and d.startswith(("0086", "86")):
        d = d[4:] if d.startswith("0086") else d[2:]
    if len(d) == 11 and d[0] == "1":
        return f"{d[:3]}****{d[7:]}"
    if d.startswith("0") and 10 <= len(d) <= 12:
        area = 3 if d[1] in "12" else 4
        return f"{d[:area]}-{'*' * (len(d) - area - 4)}{d[-4:]}"
    if len(d) >= 8:
        return f"{d[:3]}{'*' * (len(d) - 7)}{d[-4:]}"
    return f"{'*' * max(len(d) - 2, 0)}{d[-2:]}" if len(d) > 2 else "*" * len(d)


def _mask_id(v: str) -> str:
    return f"{v[:3]}{'*' * (len(v) - 7)}{v[-4:]}"


def _mask_card(v: str) -> str:
    return f"{v[:4]}{'*' * (len(v) - 8)}{v[-4:]}"


def find_pii(text: str) -> list[PiiMatch]:
    """All personal data in ``text``, sorted by position, never overlapping."""
    found: list[PiiMatch] = []

    def free(start: int, end: int) -> bool:
        return all(end <= m.start or start >= m.end for m in found)

    for m in _ID_RE.finditer(text):
        v = _digits(m.group(1))
        if is_valid_id_number(v):
            found.append(PiiMatch(PiiKind.ID_NUMBER, m.start(1), m.end(1), v, _mask_id(v)))
    for m in _CARD_RE.finditer(text):
        v = _digits(m.group(1))
        if 16 <= len(v) <= 19 and luhn_ok(v) and free(m.start(1), m.end(1)):
            found.append(PiiMatch(PiiKind.BANK_CARD, m.start(1), m.end(1), v, _mask_card(v)))
    for m in _MOBILE_RE.finditer(text):
        v = _digits(m.group(1))[-11:]
        if free(m.start(1), m.end(1)):
            found.append(PiiMatch(PiiKind.MOBILE, m.start(1), m.end(1), v, mask_phone(v)))
    for m in _LANDLINE_RE.finditer(text):
        v = _digits(m.group(1))
        if 10 <= len(v) <= 12 and free(m.start(1), m.end(1)):
            found.append(PiiMatch(PiiKind.LANDLINE, m.start(1), m.end(1), v, mask_phone(v)))
    found.sort(key=lambda p: p.start)
    return found


def mask_text(text: str, kinds: frozenset[PiiKind] | None = None) -> str:
    """``text`` with every piece of personal data (of ``kinds``, default all) replaced by its mask."""
    out: list[str] = []
    pos = 0
    for m in find_pii(text):
        if kinds is not None and m.kind not in kinds:
            continue
        out.append(text[pos : m.start])
        out.append(m.masked)
        pos = m.end
    out.append(text[pos:])
    return "".join(out)


def normalise_phone(phone: str) -> str:
    """Digits only, country prefix dropped: the key used to find orders from the same caller."""
    d = _NON_DIGIT.sub("", phone) if phone.isascii() else _digits(phone).replace("X", "")
    if len(d) == 13 and d.startswith("86"):
        return d[2:]
    if len(d) == 15 and d.startswith("0086"):
        return d[4:]
    return d
