"""The process-wide division table used to name regions and to resolve addresses.

Built once per process from the bundled table (``minxin.intake.regions.default_resolver``,
about 3,300 divisions, a few hundred milliseconds): routing explanations name regions with it,
and intake analysis resolves addresses with it. The resolver is immutable, so one instance
serves every thread.
"""

from __future__ import annotations

from functools import lru_cache

from minxin.core.address import PLACEHOLDER_NAMES, AddressResolver, DivisionLevel
from minxin.intake.regions import default_resolver


@lru_cache(maxsize=1)
def resolver() -> AddressResolver:
    return default_resolver()


def prefixes(code: str | None) -> list[str]:
    """``""`` plus every prefix of a region code, shortest first: what a rule may be keyed on."""
    code = (code or "").strip()
    return ["", *(code[:i] for i in range(1, len(code) + 1))]


@lru_cache(maxsize=4096)
def region_name(code: str) -> str:
    """``沈阳市辽中区`` for ``210115``: the division's chain from its city down (from the province
    where the city is a placeholder: ``北京市东城区``). An unknown code is named by its deepest
    known ancestor plus the code."""
    if not code:
        return ""
    table = resolver()
    known = next((code[:i] for i in range(len(code), 1, -1) if table.get(code[:i]) is not None), None)
    if known is None:
        return code
    divisions = table.ancestors(known)[::-1]  # province first, the division itself last
    real = [d for d in divisions if d.name not in PLACEHOLDER_NAMES]
    if any(d.level is DivisionLevel.CITY for d in real) or len(real) == 1:  # 沈阳市辽中区, not 辽宁省沈阳市辽中区
        real = [d for d in real if d.level is not DivisionLevel.PROVINCE] or real
    name = "".join(d.name for d in real)
    return name if known == code else f"{name}（{code}）"
