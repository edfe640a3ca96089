"""A canonical text form of an address, for grouping the same place (duplicates, risk subjects).

Separate from the region resolver (``minxin.core.address``) because it is a plain text
normalisation with its own invariant: the result is a fixed point of the function.
"""

from __future__ import annotations

import re
import unicodedata

_CN_DIGITS = dict(zip("零〇一二两三四五六七八九", (0, 0, 1, 2, 2, 3, 4, 5, 6, 7, 8, 9), strict=True))
_CN_NUMBER = re.compile(r"[零〇一二两三四五六七八九十]+(?=号楼|号|栋|幢|座|单元|门|层|楼|室)")
_STRIP = re.compile(r"[^\w-]|_")
_DASHED = re.compile(r"(\d+)-(\d+)-(\d+)")
_BUILDING = re.compile(r"(\d+)(?:号院楼|号楼|栋|幢|座|楼栋)[楼栋幢]*(?:(\d+)(?:单元|门))?")
_ROOM = re.compile(r"(?<=单元)(\d+)(?:室|号|户)|(\d+)(?:室|户)$")


def _cn_to_int(token: str) -> int:
    if "十" not in token:
        return int("".join(str(_CN_DIGITS[c]) for c in token))
    tens, _, units = token.partition("十")
    return (_CN_DIGITS.get(tens, 1) if tens else 1) * 10 + (_CN_DIGITS.get(units, 0) if units else 0)


def _building(m: re.Match[str]) -> str:
    return f"{m.group(1)}栋{m.group(2)}单元" if m.group(2) else f"{m.group(1)}栋"


def _normalise_once(s: str) -> str:
    s = _STRIP.sub("", s.lower())
    if "-" in s:
        s = _DASHED.sub(r"\1栋\2单元\3", s).replace("-", "")
    s = _CN_NUMBER.sub(lambda m: str(_cn_to_int(m.group(0))), s)
    s = _BUILDING.sub(_building, s)
    s = _ROOM.sub(lambda m: m.group(1) or m.group(2), s)
    return s.replace("街道办事处", "街道").replace("街道办", "街道")


def normalise_address(text: str) -> str:
    """A canonical form of an address for grouping the same place (not for display).

    Full-width → half-width (NFKC), lower case, whitespace and punctuation removed, Chinese
    numerals before 号/栋/单元/层/室 turned into digits, and building forms unified:
    5号楼/5幢/5座 → 5栋, 2门 → 2单元, 5-2-301 → 5栋2单元301, trailing 室/户 dropped,
    街道办(事处) → 街道. The rules are applied until nothing changes, so the result is a fixed
    point: normalise_address(normalise_address(x)) == normalise_address(x).
    """
    s = text if unicodedata.is_normalized("NFKC", text) else unicodedata.normalize("NFKC", text)
    for _ in range(8):
        t = _normalise_once(s)
        if t == s:
            break
        s = t
    return s
