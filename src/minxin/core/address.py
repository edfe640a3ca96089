"""Resolve the administrative region (province / city / county / township) named in an address.

Why our own resolver: routing is keyed on region codes, so the resolver must be built from
whatever division table the deployment has (a package's bundled table by default, or the
official NBS table an admin imports) and must explain itself (matched substrings, confidence,
ambiguity with candidates) instead of guessing silently.

How it works (all pure, no I/O):

1. Every :class:`Division` gets aliases with a quality: the full name (3); the name with the
   ethnic-autonomy words removed but the suffix kept, e.g. 本溪满族自治县 → 本溪县 (2); the stem
   without the suffix, e.g. 沈阳市 → 沈阳 (2 for provinces and cities, 1 for counties:
   辽中区 → 辽中, 桓仁满族自治县 → 桓仁). Townships only match by full name (XX街道 / XX镇 /
   XX乡), because their stems are too often street or village names. Placeholder divisions
   (市辖区, 省直辖县级行政区划 …) have no aliases.
2. The text is NFKC-normalised with whitespace removed; every alias occurrence is a hit, and a
   stem followed by a road or building word (中山路, 沈阳街, 新民小区) is dropped. Hits are
   kept longest-first without overlaps, so 本溪满族自治县 wins over the 本溪 inside it.
3. Each division offered by a hit is scored as the deepest element of a chain: its own weight
   plus the best weight of every other hit that names one of its ancestors. The best chain
   wins; a tie is broken by alias quality, then by the hotline's own city
   (``default_city_code``); a remaining tie (铁西区 alone: Shenyang, Anshan or Siping) is
   reported as ``ambiguous`` with the candidates and only the common ancestors filled in.

Invariants: codes are unique; a division's ancestors are found through ``parent_code`` (a
parent that is not in the table ends the chain); spans index the caller's original text.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from minxin.core.address_text import normalise_address

__all__ = ["AddressResolver", "Division", "DivisionLevel", "RegionMatch", "RegionPart", "normalise_address"]


class DivisionLevel(StrEnum):
    PROVINCE = "province"
    CITY = "city"
    COUNTY = "county"
    TOWNSHIP = "township"


_DEPTH = {
    DivisionLevel.PROVINCE: 0,
    DivisionLevel.CITY: 1,
    DivisionLevel.COUNTY: 2,
    DivisionLevel.TOWNSHIP: 3,
}

#: Names of placeholder divisions that carry a code but are never written in an address.
PLACEHOLDER_NAMES = frozenset({"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"})

_ETHNIC_NAMES = (
    "蒙古族 回族 藏族 维吾尔族 苗族 彝族 壮族 布依族 朝鲜族 满族 侗族 瑶族 白族 土家族 哈尼族 哈萨克族 傣族 黎族 "
    "傈僳族 佤族 畲族 高山族 拉祜族 水族 东乡族 纳西族 景颇族 柯尔克孜族 土族 达斡尔族 仫佬族 羌族 布朗族 撒拉族 "
    "毛南族 仡佬族 锡伯族 阿昌族 普米族 塔吉克族 怒族 乌孜别克族 俄罗斯族 鄂温克族 德昂族 保安族 裕固族 京族 "
    "塔塔尔族 独龙族 鄂伦春族 赫哲族 门巴族 珞巴族 基诺族 各族"
)
_ETHNIC = sorted(_ETHNIC_NAMES.split(), key=len, reverse=True)
_TOWNSHIP_SUFFIXES = ("街道", "镇", "乡", "苏木")
_SUFFIXES = (
    "特别行政区",
    "自治区",
    "自治州",
    "自治县",
    "自治旗",
    "地区",
    "林区",
    "省",
    "市",
    "区",
    "县",
    "盟",
    "旗",
)
#: A stem directly followed by one of these is a road, estate or building name, not a region.
_STEM_BLOCKERS = re.compile(r"(?:路|街|大街|大道|道|巷|胡同|弄|里|小区|花园|公园|广场|大厦|桥|号|村)")
_WEIGHT = {3: 1.0, 2: 0.9, 1: 0.7}
#: Score added to a chain inside the hotline's own city / province: enough to settle 铁西区 or
#: 茨榆坨镇 alone, never enough to beat a city written in the text (鞍山铁西区).
_CITY_BONUS = 0.5
_PROVINCE_BONUS = 0.2


@dataclass(frozen=True, slots=True)
class Division:
    """One row of a division table. ``code`` is the NBS statistical code (2/4/6/9 digits)."""

    code: str
    name: str
    level: DivisionLevel
    parent_code: str | None = None


@dataclass(frozen=True, slots=True)
class RegionPart:
    """One level of a resolved region; ``matched``/``span`` are None when inferred from a child."""

    code: str
    name: str
    matched: str | None = None
    span: tuple[int, int] | None = None


@dataclass(frozen=True, slots=True)
class RegionMatch:
    """The region named by an address. When ``ambiguous``, only common ancestors are filled."""

    province: RegionPart | None
    city: RegionPart | None
    county: RegionPart | None
    township: RegionPart | None
    confidence: float
    ambiguous: bool = False
    candidates: tuple[Division, ...] = ()
    used_default_city: bool = False

    @property
    def deepest(self) -> RegionPart | None:
        return self.township or self.county or self.city or self.province

    @property
    def code(self) -> str | None:
        part = self.deepest
        return part.code if part else None

    @property
    def matched(self) -> tuple[str, ...]:
        parts = (self.province, self.city, self.county, self.township)
        return tuple(p.matched for p in parts if p is not None and p.matched)


def division_aliases(division: Division) -> list[tuple[str, int, bool]]:
    """The aliases of one division: (alias, quality 3 full / 2 conventional / 1 weak, is a stem).

    A stem has lost its suffix (沈阳, 辽中); only stems are dropped before 路/街/小区.
    """
    name = division.name.strip()
    if not name or name in PLACEHOLDER_NAMES:
        return []
    out: dict[str, tuple[int, bool]] = {name: (3, False)}
    base = name
    if "自治" in name or division.level is DivisionLevel.TOWNSHIP:
        for ethnic in _ETHNIC:
            base = base.replace(ethnic, "")
        base = base.replace("自治", "")
        if (
            base != name
            and len(base) >= 2
            and division.level in (DivisionLevel.COUNTY, DivisionLevel.TOWNSHIP)
        ):
            out.setdefault(base, (2, False))
    if division.level is DivisionLevel.TOWNSHIP:
        # A town turned into a street office (茨榆坨镇 → 茨榆坨街道) is still called by both names.
        for suffix in _TOWNSHIP_SUFFIXES:
            if base.endswith(suffix) and len(base) - len(suffix) >= 2:
                for other in _TOWNSHIP_SUFFIXES[:3]:
                    out.setdefault(base[: -len(suffix)] + other, (1, False))
                break
        return [(a, q, stem) for a, (q, stem) in out.items()]
    for suffix in _SUFFIXES:
        src = name if name.endswith(suffix) else base if base.endswith(suffix) else None
        if src is None:
            continue
        stem = src[: -len(suffix)]
        for ethnic in _ETHNIC:
            stem = stem.replace(ethnic, "")
        if len(stem) >= 2:
            out.setdefault(stem, (1 if division.level is DivisionLevel.COUNTY else 2, True))
        break
    return [(a, q, stem) for a, (q, stem) in out.items()]


def _normalise_with_map(text: str) -> tuple[str, list[int]]:
    """NFKC, whitespace removed; returns the new text and, per character, its original index."""
    chars: list[str] = []
    index: list[int] = []
    for i, ch in enumerate(text):
        for c in unicodedata.normalize("NFKC", ch):
            if not c.isspace():
                chars.append(c)
                index.append(i)
    return "".join(chars), index


@dataclass(frozen=True, slots=True)
class _Hit:
    start: int
    end: int
    options: tuple[tuple[int, int], ...]  # (division index, alias quality)


class AddressResolver:
    """Finds the division chain named in free address text. Immutable once built."""

    def __init__(self, divisions: list[Division]) -> None:
        self._divs = divisions
        self._index = {d.code: i for i, d in enumerate(divisions)}
        if len(self._index) != len(divisions):
            raise ValueError("division codes must be unique")
        self._parent: list[int | None] = [self._index.get(d.parent_code or "") for d in divisions]
        aliases: dict[str, list[tuple[int, int, bool]]] = {}
        for i, d in enumerate(divisions):
            for alias, quality, is_stem in division_aliases(d):
                aliases.setdefault(alias, []).append((i, quality, is_stem))
        self._aliases = {k: tuple(v) for k, v in aliases.items()}
        self._max_len = max((len(a) for a in self._aliases), default=0)

    @classmethod
    def from_records(cls, records: Iterable[Division]) -> AddressResolver:
        return cls(list(records))

    def __len__(self) -> int:
        return len(self._divs)

    def get(self, code: str) -> Division | None:
        i = self._index.get(code)
        return self._divs[i] if i is not None else None

    def ancestors(self, code: str) -> list[Division]:
        """The division and its ancestors, deepest first."""
        i = self._index.get(code)
        out: list[Division] = []
        while i is not None:
            out.append(self._divs[i])
            i = self._parent[i]
        return out

    def _chain(self, i: int) -> list[int]:
        out: list[int] = []
        cur: int | None = i
        while cur is not None:
            out.append(cur)
            cur = self._parent[cur]
        return out

    def _hits(self, text: str) -> list[_Hit]:
        found: list[_Hit] = []
        n = len(text)
        for start in range(n):
            for length in range(min(self._max_len, n - start), 1, -1):
                options = self._aliases.get(text[start : start + length])
                if options is None:
                    continue
                end = start + length
                if _STEM_BLOCKERS.match(text, end):
                    # A bare stem followed by 路/街/小区 names a road or estate; full names stay.
                    options = tuple(o for o in options if not o[2])
                    if not options:
                        continue
                found.append(_Hit(start, end, tuple((i, q) for i, q, _ in options)))
        found.sort(key=lambda h: (-(h.end - h.start), h.start))
        taken: list[_Hit] = []
        for hit in found:
            if all(hit.end <= t.start or hit.start >= t.end for t in taken):
                taken.append(hit)
        taken.sort(key=lambda h: h.start)
        return taken

    def resolve(self, address_text: str, *, default_city_code: str | None = None) -> RegionMatch | None:
        """The region named in ``address_text``, or None when no division is named at all."""
        text, index = _normalise_with_map(address_text)
        hits = self._hits(text)
        if not hits:
            return None
        per_hit = [dict[int, float]() for _ in hits]
        for h, hit in zip(per_hit, hits, strict=True):
            for i, q in hit.options:
                h[i] = max(h.get(i, 0.0), _WEIGHT[q])
        scored: list[tuple[float, float, int, int]] = []  # (score, own weight, hit no, division)
        for k, hit in enumerate(hits):
            for i, q in hit.options:
                chain = self._chain(i)
                score = _WEIGHT[q]
                for j, weights in enumerate(per_hit):
                    if j != k:
                        score += max((weights.get(a, 0.0) for a in chain[1:]), default=0.0)
                scored.append((score, _WEIGHT[q], k, i))
        plain = self._winners(scored, {})
        bonus: dict[int, float] = {}
        if default_city_code in self._index:
            city = self._index[default_city_code or ""]
            province = self._parent[city]
            for s in scored:
                chain = self._chain(s[3])
                bonus[s[3]] = _CITY_BONUS if city in chain else _PROVINCE_BONUS if province in chain else 0.0
        top_divs = self._winners(scored, bonus) if bonus else plain
        used_default = top_divs != plain
        if len(top_divs) > 1:
            return self._ambiguous(top_divs, hits, per_hit, address_text, index)
        chosen = top_divs[0]
        chain = self._chain(chosen)
        support: dict[int, _Hit] = {}
        weights: list[float] = []
        conflicts = 0
        for hit, w in zip(hits, per_hit, strict=True):
            on_chain = [a for a in chain if a in w and a not in support]
            if on_chain:
                a = max(on_chain, key=lambda c: w[c])
                support[a] = hit
                weights.append(w[a])
            else:
                conflicts += 1
        confidence = 1.0
        for w in weights:
            confidence *= 1.0 - 0.7 * w
        confidence = (1.0 - confidence) * (0.85 if used_default else 1.0) * (0.8**conflicts)
        return self._build(
            chain, support, address_text, index, round(confidence, 3), used_default=used_default
        )

    def _winners(self, scored: list[tuple[float, float, int, int]], bonus: dict[int, float]) -> list[int]:
        """Divisions with the best (score + bonus, own weight); of several on one chain, the shallowest."""
        keyed = [(round(s[0] + bonus.get(s[3], 0.0), 6), s[1], s[3]) for s in scored]
        best = max(k[:2] for k in keyed)
        top = sorted({k[2] for k in keyed if k[:2] == best})
        return [i for i in top if not any(o in self._chain(i)[1:] for o in top)]

    def _ambiguous(
        self,
        tops: list[int],
        hits: list[_Hit],
        per_hit: list[dict[int, float]],
        original: str,
        index: list[int],
    ) -> RegionMatch:
        chains = [self._chain(i) for i in tops]
        common = [a for a in chains[0] if all(a in c for c in chains[1:])]
        support = {a: h for a in common for h, w in zip(hits, per_hit, strict=True) if a in w}
        return self._build(
            common,
            support,
            original,
            index,
            0.3 if common else 0.2,
            ambiguous=True,
            candidates=tuple(self._divs[i] for i in tops),
        )

    def _build(
        self,
        chain: list[int],
        support: dict[int, _Hit],
        original: str,
        index: list[int],
        confidence: float,
        *,
        ambiguous: bool = False,
        candidates: tuple[Division, ...] = (),
        used_default: bool = False,
    ) -> RegionMatch:
        parts: dict[DivisionLevel, RegionPart] = {}
        province_name = next(
            (self._divs[a].name for a in chain if self._divs[a].level is DivisionLevel.PROVINCE), None
        )
        for a in chain:
            d = self._divs[a]
            name = province_name if d.name == "市辖区" and province_name else d.name
            hit = support.get(a)
            if hit is None:
                parts[d.level] = RegionPart(d.code, name)
            else:
                span = (index[hit.start], index[hit.end - 1] + 1)
                parts[d.level] = RegionPart(d.code, name, original[span[0] : span[1]], span)
        return RegionMatch(
            province=parts.get(DivisionLevel.PROVINCE),
            city=parts.get(DivisionLevel.CITY),
            county=parts.get(DivisionLevel.COUNTY),
            township=parts.get(DivisionLevel.TOWNSHIP),
            confidence=confidence,
            ambiguous=ambiguous,
            candidates=candidates,
            used_default_city=used_default,
        )

    def place_key(self, address_text: str, *, default_city_code: str | None = None) -> str:
        """A grouping key for "the same place": resolved code + the normalised rest of the address.

        The administrative prefix is dropped, so 沈阳市铁西区兴华街5号楼 and 铁西区兴华街5栋 (with
        Shenyang as the default city) give the same key.
        """
        match = self.resolve(address_text, default_city_code=default_city_code)
        if match is None or match.ambiguous:
            return normalise_address(address_text)
        last_end = max(
            p.span[1] for p in (match.province, match.city, match.county, match.township) if p and p.span
        )
        return f"{match.code}|{normalise_address(address_text[last_end:])}"
