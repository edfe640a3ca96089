"""Subjects that accumulate risk: a caller (phone), an address (normalised), an enterprise.

Why keys: the repeat-appeal detector, the tagging context counts and the subject history page
must all agree on "the same caller / the same place / the same company". A subject key is a
short string ``<kind>:<canonical value>`` (``caller:13800138000``, ``addr:…``, ``ent:…``) that the
risk domain stores next to each order; the kind prefix is what detector rules are keyed on.

Risk accumulation: every tag adds ``SEVERITY_WEIGHT[severity]`` points to each subject of the
order, and points decay exponentially with a half-life (default 30 days):
``score(t) = Σ w_i · 2^(-(t - t_i) / half_life)``. A single critical tag (8 points) is worth 4
after 30 days and 1 after 90, so a subject's level reflects recent, not lifetime, trouble. The
update is associative, so the DB can keep one ``(score, as_of)`` row per subject and fold new
tags in with :func:`accumulate` instead of re-reading history.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

__all__ = [
    "RISK_LEVELS",
    "SEVERITY_WEIGHT",
    "SubjectRisk",
    "accumulate",
    "address_key",
    "caller_key",
    "decayed",
    "enterprise_key",
    "extract_enterprises",
    "normalise_phone",
    "risk_level",
    "score_history",
    "subject_keys",
    "subject_kind",
]

try:  # the shared address normaliser (core → core import keeps purity); a local fallback otherwise
    from minxin.core.address import normalise_address as _shared_normalise
except ImportError:  # pragma: no cover - exercised only before core.address exists
    _shared_normalise = None


def _local_normalise(text: str) -> str:
    s = unicodedata.normalize("NFKC", text).lower()
    s = re.sub(r"(\d+)(?:号楼|幢|座)", r"\1栋", s)
    return re.sub(r"[^\w]|_", "", s)


_normalise_address: Callable[[str], str] = _shared_normalise or _local_normalise

SEVERITY_WEIGHT: dict[int, float] = {1: 1.0, 2: 2.0, 3: 4.0, 4: 8.0}
#: (minimum score, level) from the top: a subject is at the first level whose minimum it reaches.
RISK_LEVELS: tuple[tuple[float, str], ...] = ((20.0, "critical"), (10.0, "high"), (4.0, "watch"), (0.0, "low"))


# ------------------------------------------------------------------------------------- keys

def normalise_phone(raw: str | None) -> str | None:
    """Digits only, without +86/0086/86 before a mobile number; None when fewer than 5 digits."""
    if not raw:
        return None
    digits = re.sub(r"\D", "", unicodedata.normalize("NFKC", raw))
    for prefix in ("0086", "86"):
        if digits.startswith(prefix) and len(digits) == len(prefix) + 11 and digits[len(prefix)] == "1":
            digits = digits[len(prefix):]
    return digits if len(digits) >= 5 else None


def caller_key(phone: str | None) -> str | None:
    p = normalise_phone(phone)
    return f"caller:{p}" if p else None


def address_key(address: str | None) -> str | None:
    """``addr:`` + the shared canonical address; None for an empty or too short address."""
    if not address:
        return None
    norm = _normalise_address(address)
    return f"addr:{norm}" if len(norm) >= 4 else None


_ENT_SUFFIX = (
    "股份有限公司|有限责任公司|有限公司|分公司|集团|公司|合作社|工厂|加工厂|厂|商行|超市|酒店|宾馆|饭店|餐厅|"
    "门诊部|诊所|药店|物业|培训学校|培训中心|培训机构|健身房|俱乐部|工作室|4s店|专卖店|店"
)
_ENT_RE = re.compile(rf"([\u4e00-\u9fffA-Za-z0-9()（）]{{2,24}}?)({_ENT_SUFFIX})")
#: words that end the text before a company name (the name starts after the last one)
_ENT_LEAD = re.compile(
    r".*(?:反映|投诉|举报|咨询|求助|请求|希望|要求|关于|位于|一家|这家|那家|附近|旁边|对面|楼下|楼上|门口|隔壁|"
    r"该|在|向|被|对|给|和|与|及|的|了|是|到|从|我|我们|其|由|称|说)"
)
#: suffixes that name a registered company: a 2-character head is enough (顺丰公司); shops need 3 (烧烤店 is not a name)
_FORMAL = frozenset({"股份有限公司", "有限责任公司", "有限公司", "分公司", "集团", "公司", "合作社", "工厂", "加工厂", "厂"})
_ENT_GENERIC = frozenset({"公司", "工厂", "分公司", "物业", "超市", "酒店", "该公司", "这家店", "商店", "小店"})


def extract_enterprises(text: str) -> list[str]:
    """Company-like names in free text (XX有限公司 / XX公司 / XX厂 / XX店 …), in order, deduplicated.

    Heuristic: a run of 2–24 name characters ending in a company suffix, cut after the last
    leading verb/preposition/place word (反映 / 投诉 / 在 / 向 / 的 / 楼下 …). A name needs 2
    characters before a formal suffix (公司 / 厂 …) and 3 before a shop suffix (店 / 超市 …), so
    顺丰公司 is kept and 烧烤店 is not; bare generic nouns (该公司, 物业) are dropped.
    """
    s = unicodedata.normalize("NFKC", text)
    out: list[str] = []
    for m in _ENT_RE.finditer(s):
        head, suffix = m.group(1), m.group(2)
        lead = _ENT_LEAD.match(head)
        if lead:
            head = head[lead.end():]
        depth_cut = max(head.rfind("("), head.rfind("（"))
        if depth_cut >= 0 and max(head.rfind(")"), head.rfind("）")) < depth_cut:
            head = head[depth_cut + 1:]  # an unclosed bracket is not part of the name
        name = head + suffix
        if len(head) < (2 if suffix in _FORMAL else 3) or name in _ENT_GENERIC:
            continue
        if name not in out:
            out.append(name)
    return out


def enterprise_key(name: str) -> str:
    """``ent:`` + the name, NFKC, lower case, 有限责任公司 → 有限公司, brackets unified."""
    s = unicodedata.normalize("NFKC", name).lower().replace("有限责任公司", "有限公司")
    s = re.sub(r"\s+", "", s)
    return f"ent:{s}"


def subject_keys(phone: str | None = None, address: str | None = None, text: str = "") -> tuple[str, ...]:
    """All subject keys of one order: caller, address and every enterprise named in the text."""
    keys = [caller_key(phone), address_key(address)]
    keys.extend(enterprise_key(n) for n in extract_enterprises(text))
    return tuple(dict.fromkeys(k for k in keys if k))


def subject_kind(key: str) -> str:
    """``caller`` / ``addr`` / ``ent`` (the part before the first colon)."""
    return key.split(":", 1)[0]


# ------------------------------------------------------------------------------- accumulation

@dataclass(frozen=True, slots=True)
class SubjectRisk:
    """A subject's decayed score as of ``as_of``. Fold new tags in with :func:`accumulate`."""

    subject: str
    score: float
    as_of: datetime

    @property
    def level(self) -> str:
        return risk_level(self.score)


def decayed(score: float, since: datetime, now: datetime, half_life: timedelta = timedelta(days=30)) -> float:
    """``score`` observed at ``since``, decayed to ``now`` (never grows; ``now < since`` keeps it)."""
    dt = (now - since) / half_life
    return score * math.pow(2.0, -dt) if dt > 0 else score


def accumulate(state: SubjectRisk | None, subject: str, severity: int, at: datetime,
               half_life: timedelta = timedelta(days=30)) -> SubjectRisk:
    """Add one tag of ``severity`` at ``at`` to a subject's running score.

    Out-of-order tags are handled: an older tag is decayed to the state's ``as_of``.
    """
    weight = SEVERITY_WEIGHT.get(severity, float(severity))
    if state is None:
        return SubjectRisk(subject, weight, at)
    if at >= state.as_of:
        return SubjectRisk(subject, decayed(state.score, state.as_of, at, half_life) + weight, at)
    return SubjectRisk(subject, state.score + decayed(weight, at, state.as_of, half_life), state.as_of)


def score_history(subject: str, tags: Iterable[tuple[datetime, int]], now: datetime,
                  half_life: timedelta = timedelta(days=30)) -> SubjectRisk:
    """A subject's score at ``now`` from its full tag history ``(at, severity)`` (tags after now ignored)."""
    total = sum(decayed(SEVERITY_WEIGHT.get(sev, float(sev)), at, now, half_life) for at, sev in tags if at <= now)
    return SubjectRisk(subject, total, now)


def risk_level(score: float) -> str:
    for minimum, level in RISK_LEVELS:
        if score >= minimum:
            return level
    return "low"
