"""How people's later actions settle a suggestion, and the monthly report built from that.

Human verdicts (the system's own dispatches never count as one):

* **category** — a ``classify`` event that sets category Y: *accepted* when Y is consistent
  with the suggestion (the same category, or one is an ancestor of the other: refining
  ``电力供应`` to ``停电`` accepts it), else *corrected*. The suggestion compared is the
  category the system applied, or the model's top-1 when it applied none. An agent who
  registers with a category has given the first verdict already (``service.on_register``).
* **unit** — a first-level ``dispatch`` (by a dispatcher, supervisor or agent; a handler's
  second-level dispatch inside its own unit is not one) to the suggested unit or a unit below
  it *accepts* the suggested unit; to any other unit (a first dispatch elsewhere, or a later
  transfer 改派) *corrects* it. A ``return`` (退单) by the suggested unit corrects it; a return
  that the centre refuses (``review_return`` with approve = false) restores *accepted*.
  The latest verdict stands.
* **urgency** — a ``classify`` that lowers an urgency the rules had raised.

Report (per registration month): ``analysed``; ``accuracy`` = top-1 suggestion consistent
with the order's final category, over orders that have both; ``reviewed_accuracy`` = accepted
÷ (accepted + corrected) category verdicts (only what a person looked at); ``coverage`` =
auto-dispatched ÷ analysed; ``correction_rate`` = orders with a corrected category or unit ÷
orders with a category or unit suggestion.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from minxin.accounts.principal import Principal
from minxin.core.vocabulary import URGENCY_RANK, Role, Urgency
from minxin.intake import category_map, model_registry, repository
from minxin.intake.models import IntakeSuggestion
from minxin.intake.service import is_system
from minxin.routing import repository as routing_repository
from minxin.workorders.models import OrderEvent, WorkOrder

WATCHED = frozenset({"classify", "dispatch", "return", "review_return"})


def _within(session: Session, unit_code: str | None, suggested: str | None) -> bool:
    """Whether ``unit_code`` is the suggested unit or lies below it in the unit tree."""
    if not unit_code or not suggested:
        return False
    if unit_code == suggested:
        return True
    unit = routing_repository.unit_by_code(session, unit_code)
    top = routing_repository.unit_by_code(session, suggested)
    return unit is not None and top is not None and unit.path.startswith(top.path)


def on_transition(session: Session, order: WorkOrder, event: OrderEvent, actor: Principal, now: datetime) -> None:
    if event.action not in WATCHED or is_system(actor):
        return
    s = repository.suggestion_for(session, order.id)
    if s is None:
        return
    payload = event.payload or {}
    if event.action == "classify":
        _classified(session, s, payload, actor, now)
    elif event.action == "dispatch" and actor.role is not Role.HANDLER:
        if s.dispatch_state == "pending":
            s.dispatch_state = "skipped"
            s.decision_zh = (s.decision_zh + "；人工已先派单")[:1000]
        target = payload.get("unit")
        s.final_unit_code = target
        if s.unit_outcome != "none":
            _unit_verdict(s, _within(session, target, s.unit_code), actor, now)
    elif event.action == "return":
        if s.unit_outcome != "none" and _within(session, payload.get("from_unit"), s.unit_code):
            _unit_verdict(s, False, actor, now)
    elif event.action == "review_return":
        refused = payload.get("approve") is False and s.unit_outcome == "corrected"
        if refused and _within(session, payload.get("unit"), s.unit_code):
            _unit_verdict(s, True, actor, now)


def _unit_verdict(s: IntakeSuggestion, accepted: bool, actor: Principal, now: datetime) -> None:
    s.unit_outcome = "accepted" if accepted else "corrected"
    if not accepted:
        s.unit_corrected_by, s.unit_corrected_at = actor.username, now


def _classified(session: Session, s: IntakeSuggestion, payload: dict[str, Any], actor: Principal, now: datetime) -> None:
    if s.dispatch_state == "pending":
        s.dispatch_state = "skipped"
        s.decision_zh = (s.decision_zh + "；人工已修改分类")[:1000]
    change = payload.get("category")
    if isinstance(change, dict) and change.get("to") and s.categories:
        tree = category_map.tree(session, model_registry.db_key(session))
        suggested = s.decided_category_code if s.applied_category else s.categories[0].get("code")
        new = str(change["to"])
        s.final_category_code = new
        if tree.consistent(suggested, new):
            s.category_outcome = "accepted"
        else:
            s.category_outcome = "corrected"
            s.category_corrected_by, s.category_corrected_at = actor.username, now
    urgency = payload.get("urgency")
    lowered = (
        s.applied_urgency
        and isinstance(urgency, dict)
        and bool(urgency.get("to"))
        and URGENCY_RANK[Urgency(urgency["to"])] < URGENCY_RANK[Urgency(s.urgency_level)]
    )
    if lowered:
        s.urgency_corrected = True


# ----------------------------------------------------------------------------- report
COLUMNS: list[tuple[str, str]] = [
    ("month", "月份"),
    ("analysed", "分析工单"),
    ("with_model", "有分类建议"),
    ("accuracy", "分类准确率"),
    ("reviewed", "人工确认"),
    ("reviewed_accuracy", "人工确认准确率"),
    ("category_corrections", "分类纠正"),
    ("unit_suggested", "有承办单位建议"),
    ("unit_corrections", "单位纠正"),
    ("auto_dispatched", "自动派单"),
    ("coverage", "自动派单覆盖率"),
    ("auto_dispatch_corrected", "自动派单被纠正"),
    ("correction_rate", "纠正率"),
    ("urgency_raised", "规则提升紧急度"),
    ("urgency_corrected", "紧急度被下调"),
]


def _ratio(a: int, b: int) -> float | None:
    return round(a / b, 4) if b else None


def report(session: Session, months: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """One row per registration month (oldest first) plus a final ``total`` row."""
    tree = category_map.build(session)
    rows = list(repository.suggestions_in_months(session, months))
    finals = repository.final_categories(session, [s.order_id for s in rows if s.categories])
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for s in rows:
        for bucket in (s.month, "total"):
            c = counts[bucket]
            c["analysed"] += 1
            top = s.categories[0].get("code") if s.categories else None
            if s.categories:
                c["with_model"] += 1
                final = finals.get(s.order_id)
                if final:
                    c["final_known"] += 1
                    c["correct"] += tree.consistent(top, final)
            if s.category_outcome in ("accepted", "corrected"):
                c["reviewed"] += 1
                c["accepted"] += s.category_outcome == "accepted"
            c["category_corrections"] += s.category_outcome == "corrected"
            c["unit_suggested"] += s.unit_code is not None
            c["unit_corrections"] += s.unit_outcome == "corrected"
            c["auto_dispatched"] += s.dispatch_state == "done"
            c["auto_dispatch_corrected"] += s.dispatch_state == "done" and s.unit_outcome == "corrected"
            c["suggested"] += bool(s.categories) or s.unit_code is not None
            c["corrected_orders"] += s.category_outcome == "corrected" or s.unit_outcome == "corrected"
            c["urgency_raised"] += s.applied_urgency
            c["urgency_corrected"] += s.urgency_corrected
    out = []
    for month in sorted(k for k in counts if k != "total") + (["total"] if counts else []):
        c = counts[month]
        out.append({
            "month": month,
            "analysed": c["analysed"],
            "with_model": c["with_model"],
            "accuracy": _ratio(c["correct"], c["final_known"]),
            "reviewed": c["reviewed"],
            "reviewed_accuracy": _ratio(c["accepted"], c["reviewed"]),
            "category_corrections": c["category_corrections"],
            "unit_suggested": c["unit_suggested"],
            "unit_corrections": c["unit_corrections"],
            "auto_dispatched": c["auto_dispatched"],
            "coverage": _ratio(c["auto_dispatched"], c["analysed"]),
            "auto_dispatch_corrected": c["auto_dispatch_corrected"],
            "correction_rate": _ratio(c["corrected_orders"], c["suggested"]),
            "urgency_raised": c["urgency_raised"],
            "urgency_corrected": c["urgency_corrected"],
        })
    return out
