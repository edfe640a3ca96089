"""The KPI registry: every reported number, defined once, computed from a summed partial only.

Each ``KpiDefinition`` carries its code (stable: API, exports and the scorecard YAML use it),
its Chinese name, what its numerator and denominator count, what it excludes, the partial fields
it reads, and the function that computes it. docs/kpis.md is the written form of this table and
a test keeps the two in sync.

Invariants:
- a rate is a fraction in [0, 1] with its numerator and denominator; None when the denominator
  is 0 (no sample is not 0% and not 100%);
- nothing is rounded here: rounding happens only for display (``format_value``);
- ``compute(merge(a, b))`` depends only on the summed partial (additivity, see ``partials``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum

from minxin.core.kpi.partials import STANDARD_WORKDAY_SECONDS, KpiPartial

#: The percentile reported as "p90".
P90 = 90


class KpiUnit(StrEnum):
    RATE = "rate"
    COUNT = "count"
    WORKING_DAYS = "working_days"
    WORKING_HOURS = "working_hours"


@dataclass(frozen=True, slots=True)
class KpiValue:
    """A KPI value with the numbers behind it.

    ``sample_size`` is the number of orders the value is about (the denominator of a rate, the
    number of handled orders of an average, the orders considered for a count) — shown next to
    every rate so small units are read with care.
    """

    value: float | int | None
    numerator: float | int | None
    denominator: int | None
    sample_size: int

    def as_dict(self) -> dict[str, float | int | None]:
        return {
            "value": self.value,
            "numerator": self.numerator,
            "denominator": self.denominator,
            "sample_size": self.sample_size,
        }


@dataclass(frozen=True, slots=True)
class KpiDefinition:
    code: str
    name_zh: str
    name_en: str
    unit: KpiUnit
    numerator: str
    denominator: str
    exclusions: str
    #: partial fields read by ``compute`` (documentation and the docs-sync test)
    fields: tuple[str, ...]
    #: True: higher is better; False: lower is better; None: neither (volumes)
    higher_is_better: bool | None
    compute: Callable[[KpiPartial], KpiValue]


def _rate(num: int, den: int) -> KpiValue:
    return KpiValue(num / den if den else None, num, den, den)


def _count(count: int, sample: int) -> KpiValue:
    return KpiValue(count, count, None, sample)


def _avg(p: KpiPartial, scale: int) -> KpiValue:
    total = p.handling_seconds / scale
    return KpiValue(total / p.handled if p.handled else None, total, p.handled, p.handled)


def _p90(p: KpiPartial, scale: int) -> KpiValue:
    seconds = p.handling_hist.percentile_seconds(P90)
    return KpiValue(None if seconds is None else seconds / scale, None, p.handled, p.handled)


def _fair_content(p: KpiPartial) -> int:
    return p.satisfied + p.basically_satisfied - p.fairness_excluded_content


_EXCL_EFFECTIVE = "并单(merged)、作废(void)工单不计。Merged and void orders are not counted."
_EXCL_DISPATCH = _EXCL_EFFECTIVE + " 直办件（未派单）不计。Direct answers (never dispatched) are not counted."
_FAIR = (
    " 考核口径另剔除督办认定为不合理或依法不支持的诉求（excluded_from_satisfaction），并显示剔除数。"
    " The fair variant also removes orders a supervisor marked unreasonable or legally unsupportable."
)

_DEFS: tuple[KpiDefinition, ...] = (
    KpiDefinition(
        "volume", "有效工单量", "Volume (effective orders)", KpiUnit.COUNT,
        "受理的工单数 orders received", "—", _EXCL_EFFECTIVE, ("orders",), None,
        lambda p: _count(p.orders, p.orders),
    ),
    KpiDefinition(
        "volume_all", "受理总量（含并单、作废）", "Volume including merged and void", KpiUnit.COUNT,
        "全部工单 every order row", "—", "无 none", ("orders_all",), None,
        lambda p: _count(p.orders_all, p.orders_all),
    ),
    KpiDefinition(
        "merged_count", "并单数", "Merged orders", KpiUnit.COUNT,
        "状态为 merged 的工单", "—", "无 none", ("merged",), None,
        lambda p: _count(p.merged, p.orders_all),
    ),
    KpiDefinition(
        "void_count", "作废数", "Void orders", KpiUnit.COUNT,
        "状态为 void 的工单", "—", "无 none", ("void",), None,
        lambda p: _count(p.void, p.orders_all),
    ),
    KpiDefinition(
        "dispatch_on_time_rate", "派单及时率", "Dispatch on-time rate", KpiUnit.RATE,
        "dispatched_at ≤ 派单时限（dispatch_due_at，空则 created_at + 30 分钟）",
        "已派单的工单 + 截至 as_of 已超派单时限仍未派单且未办结/归档的工单",
        _EXCL_EFFECTIVE + " 直办件不计。Direct answers are not counted.",
        ("dispatch_judged", "dispatch_on_time"), True,
        lambda p: _rate(p.dispatch_on_time, p.dispatch_judged),
    ),
    KpiDefinition(
        "sign_on_time_rate", "签收及时率", "Sign-on-time rate", KpiUnit.RATE,
        "signed_at ≤ sign_due_at；无 sign_due_at 时，派单到签收的工作时长 ≤ 2 个工作小时",
        "已签收的派单工单 + 截至 as_of 已超签收时限仍未签收且未办结/归档的派单工单",
        _EXCL_DISPATCH, ("sign_judged", "sign_on_time"), True,
        lambda p: _rate(p.sign_on_time, p.sign_judged),
    ),
    KpiDefinition(
        "on_time_completion_rate", "按时办结率", "On-time completion rate", KpiUnit.RATE,
        "replied_at ≤ handle_due_at 的工单",
        "有 handle_due_at 且已办结（replied_at）的工单 + 截至 as_of 已超期仍未办结且未归档的工单",
        _EXCL_EFFECTIVE + " 无办理时限（handle_due_at 为空）的工单不计。Orders without handle_due_at.",
        ("completion_judged", "completion_on_time"), True,
        lambda p: _rate(p.completion_on_time, p.completion_judged),
    ),
    KpiDefinition(
        "overdue_count", "超期工单数", "Overdue orders", KpiUnit.COUNT,
        "replied_at > handle_due_at，或截至 as_of 超期未办结", "—（= 按时办结率分母 − 分子）",
        _EXCL_EFFECTIVE, ("completion_judged", "completion_on_time"), False,
        lambda p: _count(p.completion_judged - p.completion_on_time, p.completion_judged),
    ),
    KpiDefinition(
        "avg_handling_working_days", "平均办理时长（工作日）", "Average handling time (working days)",
        KpiUnit.WORKING_DAYS,
        "Σ 派单→办结回复的工作时长 / 27000 秒", "既有 dispatched_at 又有 replied_at 的工单数",
        _EXCL_DISPATCH, ("handled", "handling_seconds"), False,
        lambda p: _avg(p, STANDARD_WORKDAY_SECONDS),
    ),
    KpiDefinition(
        "avg_handling_working_hours", "平均办理时长（工作小时）", "Average handling time (working hours)",
        KpiUnit.WORKING_HOURS,
        "Σ 派单→办结回复的工作时长 / 3600 秒", "既有 dispatched_at 又有 replied_at 的工单数",
        _EXCL_DISPATCH, ("handled", "handling_seconds"), False,
        lambda p: _avg(p, 3600),
    ),
    KpiDefinition(
        "p90_handling_working_days", "办理时长 P90（工作日）", "p90 handling time (working days)",
        KpiUnit.WORKING_DAYS,
        "第 ⌈0.9·n⌉ 小的办理时长（最近秩），直方图精度 1%", "同平均办理时长",
        _EXCL_DISPATCH, ("handled", "handling_hist"), False,
        lambda p: _p90(p, STANDARD_WORKDAY_SECONDS),
    ),
    KpiDefinition(
        "p90_handling_working_hours", "办理时长 P90（工作小时）", "p90 handling time (working hours)",
        KpiUnit.WORKING_HOURS,
        "第 ⌈0.9·n⌉ 小的办理时长（最近秩），直方图精度 1%", "同平均办理时长",
        _EXCL_DISPATCH, ("handled", "handling_hist"), False,
        lambda p: _p90(p, 3600),
    ),
    KpiDefinition(
        "direct_answer_rate", "直办率", "Direct-answer rate", KpiUnit.RATE,
        "dispatched_at 为空且 closed_at 非空的工单（受理环节直接答复办结）", "有效工单量",
        _EXCL_EFFECTIVE, ("direct_answered", "orders"), None,
        lambda p: _rate(p.direct_answered, p.orders),
    ),
    KpiDefinition(
        "callback_rate", "回访率", "Callback rate", KpiUnit.RATE,
        "已办结或已归档且 callback_at 非空的工单", "已办结或已归档（replied_at 或 closed_at 非空）的工单",
        _EXCL_EFFECTIVE, ("callbacks", "finished"), True,
        lambda p: _rate(p.callbacks, p.finished),
    ),
    KpiDefinition(
        "satisfaction_rate", "满意率", "Satisfaction rate", KpiUnit.RATE,
        "satisfaction 为 满意 或 基本满意", "satisfaction 非空（回访有效应答）的工单",
        _EXCL_EFFECTIVE + " 未应答（satisfaction 为空）不计。Unanswered callbacks are not counted.",
        ("satisfied", "basically_satisfied", "dissatisfied"), True,
        lambda p: _rate(p.satisfied + p.basically_satisfied, p.answered),
    ),
    KpiDefinition(
        "satisfaction_rate_fair", "满意率（考核口径）", "Satisfaction rate (assessment)", KpiUnit.RATE,
        "满意 + 基本满意，剔除公平性标记工单", "有效应答数，剔除公平性标记工单",
        _EXCL_EFFECTIVE + _FAIR,
        ("satisfied", "basically_satisfied", "dissatisfied", "fairness_excluded_answered",
         "fairness_excluded_content"), True,
        lambda p: _rate(_fair_content(p), p.answered - p.fairness_excluded_answered),
    ),
    KpiDefinition(
        "fairness_excluded_count", "公平性剔除工单数", "Orders excluded by the fairness rule", KpiUnit.COUNT,
        "excluded_from_satisfaction 为真的有效工单", "—", _EXCL_EFFECTIVE,
        ("fairness_excluded",), None,
        lambda p: _count(p.fairness_excluded, p.orders),
    ),
    KpiDefinition(
        "resolution_rate", "解决率", "Resolution rate", KpiUnit.RATE,
        "resolved 为真", "resolved 非空（回访中记录了是否解决）的工单",
        _EXCL_EFFECTIVE + " resolved 为空不计。Orders with no resolved answer are not counted.",
        ("resolved", "resolution_answered"), True,
        lambda p: _rate(p.resolved, p.resolution_answered),
    ),
    KpiDefinition(
        "resolution_rate_fair", "解决率（考核口径）", "Resolution rate (assessment)", KpiUnit.RATE,
        "resolved 为真，剔除公平性标记工单", "resolved 非空，剔除公平性标记工单",
        _EXCL_EFFECTIVE + _FAIR,
        ("resolved", "resolution_answered", "fairness_excluded_resolved",
         "fairness_excluded_resolution_answered"), True,
        lambda p: _rate(
            p.resolved - p.fairness_excluded_resolved,
            p.resolution_answered - p.fairness_excluded_resolution_answered,
        ),
    ),
    KpiDefinition(
        "reopen_rate", "重办率", "Reopen rate", KpiUnit.RATE,
        "reopen_count ≥ 1 的派单工单", "已派单（dispatched_at 非空）的工单",
        _EXCL_DISPATCH, ("reopened", "dispatched"), False,
        lambda p: _rate(p.reopened, p.dispatched),
    ),
    KpiDefinition(
        "reopened_count", "重办工单数", "Reopened orders", KpiUnit.COUNT,
        "reopen_count ≥ 1 的派单工单", "—", _EXCL_DISPATCH, ("reopened",), False,
        lambda p: _count(p.reopened, p.dispatched),
    ),
    KpiDefinition(
        "return_rate", "退单率", "Return rate", KpiUnit.RATE,
        "returned_count ≥ 1 的派单工单", "已派单（dispatched_at 非空）的工单",
        _EXCL_DISPATCH, ("returned", "dispatched"), False,
        lambda p: _rate(p.returned, p.dispatched),
    ),
    KpiDefinition(
        "returned_count", "退单工单数", "Returned orders", KpiUnit.COUNT,
        "returned_count ≥ 1 的派单工单", "—", _EXCL_DISPATCH, ("returned",), False,
        lambda p: _count(p.returned, p.dispatched),
    ),
    KpiDefinition(
        "evidence_compliance_rate", "佐证合规率", "Evidence compliance", KpiUnit.RATE,
        "has_evidence 为真", "已办结（replied_at 非空）且要求佐证（requires_evidence，导入默认为真）的工单",
        _EXCL_EFFECTIVE + " 不要求佐证的工单不计。Orders not requiring evidence.",
        ("evidence_present", "evidence_required"), True,
        lambda p: _rate(p.evidence_present, p.evidence_required),
    ),
    KpiDefinition(
        "dissatisfied_count", "不满意工单数", "Dissatisfied answers", KpiUnit.COUNT,
        "satisfaction 为 不满意", "—", _EXCL_EFFECTIVE, ("dissatisfied",), False,
        lambda p: _count(p.dissatisfied, p.answered),
    ),
    KpiDefinition(
        "praise_count", "表扬工单数", "Praise orders", KpiUnit.COUNT,
        "appeal_type 为 praise 的工单", "—", _EXCL_EFFECTIVE, ("praise",), True,
        lambda p: _count(p.praise, p.orders),
    ),
)  # fmt: skip

#: code → definition, in report order.
KPIS: dict[str, KpiDefinition] = {d.code: d for d in _DEFS}


def compute(code: str, partial: KpiPartial) -> KpiValue:
    """One KPI of a (summed) partial; KeyError names unknown codes."""
    try:
        definition = KPIS[code]
    except KeyError:
        raise KeyError(f"unknown KPI {code!r}; known: {', '.join(KPIS)}") from None
    return definition.compute(partial)


def compute_all(partial: KpiPartial, codes: Iterable[str] | None = None) -> dict[str, KpiValue]:
    """Several KPIs (all by default) of one partial, in registry order."""
    return {code: compute(code, partial) for code in (KPIS if codes is None else codes)}


def format_value(code: str, value: float | int | None, digits: int = 2) -> str:
    """Display form: rates as percentages (``99.17%``), durations with their unit; ``—`` if None."""
    if value is None:
        return "—"
    unit = KPIS[code].unit
    if unit is KpiUnit.RATE:
        return f"{value * 100:.{digits}f}%"
    if unit is KpiUnit.COUNT:
        return str(value)
    suffix = " 个工作日" if unit is KpiUnit.WORKING_DAYS else " 工作小时"
    return f"{value:.{digits}f}{suffix}"
