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
#: words that end the text before a company name (the name starts after the last one): verbs,
#: prepositions, place words, and the end of a date or of a building address (10号楼物业 is the
#: building's property office, not a company called 10号楼)
_ENT_LEAD = re.compile(
    r".*(?:反映|投诉|举报|咨询|求助|请求|请问|希望|要求|关于|位于|一家|这家|那家|附近|旁边|对面|楼下|楼上|门口|隔壁|"
    r"查处|规定|政策|打工|联系|名为|叫做|称为|根据|督促|关停|责成|委托|授权|知道|关注|作为|当时|实际|并且|而且|"
    r"但是|采访|因为|由于|通过|经过|凭着|监管|一下|导致|不知|"
    r"该|在|向|被|对|给|和|与|及|的|了|是|到|从|我|我们|其|由|称|说|请|找|将|让|叫|于|至|经|属|为|因|拿|过|凭|以|下|"
    r"[0-9一二三四五六七八九十两几]+(?:年|个月|月|日|天|号楼|号|栋|幢|单元|室|层))"
)
#: suffixes that name a registered company: a 2-character head is enough (顺丰公司); shops need 3 (烧烤店 is not a name)
_FORMAL = frozenset({"股份有限公司", "有限责任公司", "有限公司", "分公司", "集团", "公司", "合作社", "工厂", "加工厂", "厂"})
#: a suffix followed by these is another word (物业费, 厂房, 店铺), not the end of a company's name
_ENT_NOT_BEFORE = {"物业": ("费", "收费", "管理费", "服务费", "用房"), "厂": ("房", "区", "长", "家", "址", "商"),
                   "店": ("铺", "面", "主", "员", "长", "家")}
#: a name with nothing but these before its suffix has no trade name (字号): 物业公司, 该公司,
#: A市公交公司, 三家公司, 他们公司. Chinese company names are [place] + trade name + [industry] +
#: form; without the trade name the phrase names a kind of company, not one company, and every
#: appeal about "the water company" would count as a repeat against the same enterprise.
_ENT_NO_NAME = re.compile(
    r"(?>"  # atomic tokens, possessive repetition: a head is read once, left to right (no backtracking)
    # places: a place name holds no place suffix
    r"中国|全国|本地|当地|外地|(?:[A-Z][0-9]{0,2}|(?:(?![省市区县州镇乡村])[\u4e00-\u9fff]){2,6}?)"
    r"(?:省|市|区|县|州|镇|乡|街道|社区|村)|"
    r"这个|那个|这种|那种|这些|那些|这|那|该|此|本|其|某|各|各个|[0-9一二两三四五六七八九十几多]+(?:家|个)|"  # determiners
    r"他们|我们|你们|她们|它们|什么|各大|他|我|你|她|它|因为|相关|有关|所属|下属|涉事|上市|个体|私人|私营|民营|国营|国有|附属|原|"
    r"有限责任|有限|股份|责任|企业|"
    r"物业|物管|管理|服务|自来水|供水|水务|供电|电力|电网|供暖|供热|热力|燃气|天然气|煤气|石油|"  # industries
    r"公交|出租车|客运|运输|物流|快递|开发商|开发|房地产|地产|置业|建筑|建设|工程|施工|装修|装饰|劳务|派遣|"
    r"代理|中介|旅游|旅行|担保|保险|电梯|实业|投资|贸易|商贸|科技|网络|信息|技术|咨询|文化|传媒|广告|"
    r"教育|环卫|保洁|安保|保安|家政|生产|制造|加工|化工|食品|医药|污水处理|垃圾处理|环保|通讯|通信|房产|评估|"
    r"租赁|汽车|机电|机械|电子|建材|工业|塑料|造纸|服装|水泥|洗煤|采石|砖|化肥|氮肥|钢铁|家具|印刷|养殖|屠宰|"
    r"木材|学校|餐饮|小吃|烧烤|夜宵"
    r")*+"
)


#: a company form after a shorter suffix belongs to it: 万科物业 + 公司, 某某酒店 + 管理有限公司
_ENT_TAIL = re.compile(r"(?:管理|服务|发展|经营)?(?:股份有限公司|有限责任公司|有限公司|分公司|公司|集团)")


def _ent_name(text: str, match: re.Match[str]) -> tuple[str | None, int]:
    """The company name of one regex match, or None when it is not one (see
    :func:`extract_enterprises`), and where the search goes on."""
    head, suffix, end = match.group(1), match.group(2), match.end()
    if text.startswith(_ENT_NOT_BEFORE.get(suffix, ()), end):
        return None, end
    if tail := _ENT_TAIL.match(text, end):
        suffix, end = suffix + tail.group(), tail.end()
    lead = _ENT_LEAD.match(head)
    if lead:
        head = head[lead.end():]
    depth_cut = max(head.rfind("("), head.rfind("（"))
    if depth_cut >= 0 and max(head.rfind(")"), head.rfind("）")) < depth_cut:
        head = head[depth_cut + 1:]  # an unclosed bracket is not part of the name
    formal = suffix in _FORMAL or tail is not None
    if len(head) < (2 if formal else 3) or _ENT_NO_NAME.fullmatch(head.upper()):
        return None, end
    return head + suffix, end


def extract_enterprises(text: str) -> list[str]:
    """Company-like names in free text (XX有限公司 / XX公司 / XX厂 / XX店 …), in order, deduplicated.

    Heuristic: a run of 2–24 name characters ending in a company suffix, cut after the last
    leading verb/preposition/place word, date or building number (反映 / 请 / 在 / 的 / 楼下 /
    2018年 / 10号楼 …). A name needs 2 characters before a formal suffix (公司 / 厂 …) and 3 before
    a shop suffix (店 / 超市 …), so 顺丰公司 is kept and 烧烤店 is not; and it needs a trade name:
    a head made only of places, determiners and industry words (物业公司, 该公司, A市公交公司,
    请供电公司) names a kind of company and is dropped. A suffix that starts a longer word
    (物业费, 厂房, 店铺) is no suffix.
    """
    s = unicodedata.normalize("NFKC", text)
    out: list[str] = []
    pos = 0
    while m := _ENT_RE.search(s, pos):
        name, pos = _ent_name(s, m)
        if name is not None and name not in out:
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
