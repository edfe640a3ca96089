"""What intake analysis decides when an order is registered (called by the ``after_register``
hook, inside the registration's transaction; never commits).

For every order: analyse it (no duplicate search: the form already showed those), store an
:class:`~minxin.intake.models.IntakeSuggestion`, set the order's ``region_code`` from the
address, and **raise** its urgency when the rules fire (never lower what a person set).

For an order that came **without a category** (web, app, API, Open311, transfers, or a phone
call the agent did not classify): set the decided category when the model is confident
enough (the system's decision, marked ``applied_category``), and decide auto-dispatch:

    auto-dispatch ⇔ a category was decided (confidence ≥ its threshold)
                   ∧ a routing rule keyed on that category (or an ancestor) matched — an
                     any-category catch-all (属地兜底) only suggests, it never auto-dispatches
                   ∧ a region-specific rule rests on a confidently resolved address
                   ∧ the text calls for no 110/119/120 hand-off (a person handles those)

The dispatch itself is done seconds later by the ``intake.autodispatch`` job as the system
principal, so registration stays fast and a failed dispatch never refuses an appeal.

For an order that came **with** a category a person chose, the suggestion is still stored:
the person's choice against the model's top suggestion is the first human verdict that the
monthly report counts (accepted or corrected).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from minxin.accounts.principal import Principal
from minxin.categories.models import Category
from minxin.core.vocabulary import URGENCY_RANK, Role, Urgency
from minxin.db.statements import insert_rows
from minxin.intake import analyze as analysis
from minxin.intake import category_map, model_registry, repository
from minxin.intake import duplicate_store as dupes
from minxin.intake.models import IntakeSuggestion
from minxin.units.models import Unit
from minxin.workorders.models import WorkOrder

#: hook-side time zone for the report month and rule validity (the console's default)
TZ = ZoneInfo("Asia/Shanghai")
SYSTEM_USERNAME = "system"
SYSTEM_NAME = "系统自动派单"
#: below this, a rule keyed on a region is not trusted for auto-dispatch
MIN_REGION_CONFIDENCE = 0.5


def system_principal(centre: Unit) -> Principal:
    """The actor of automatic dispatches: a dispatcher of the order's centre with no user row."""
    return Principal(
        user_id=None,
        username=SYSTEM_USERNAME,
        display_name=SYSTEM_NAME,
        role=Role.DISPATCHER,
        unit_id=centre.id,
        unit_code=centre.code,
        unit_path=centre.path,
    )


def is_system(actor: Principal) -> bool:
    return actor.user_id is None and actor.api_key_id is None and actor.username == SYSTEM_USERNAME


def month_of(at: datetime) -> str:
    return at.astimezone(TZ).strftime("%Y-%m")


def analyse_appeal(session: Session, *, title: str, content: str, address: str | None, phone: str | None,
                   now: datetime, unit_id: int, given_category: str | None) -> analysis.Analysis:
    """The analysis registration stores: suggestions, region, routing and urgency (no duplicate
    look-up). Only reads, so the API runs it before the write transaction."""
    return analysis.analyze(session, title=title, content=content, address=address, phone=phone, now=now, tz=TZ,
                            unit_id=unit_id, given_category=given_category, duplicates=False)


def on_register(session: Session, order: WorkOrder, actor: Principal, now: datetime,
                prepared: analysis.Analysis | None = None) -> dict[str, Any]:
    """Store the suggestion and apply it (category, region, urgency, auto-dispatch decision);
    returns the stored row's values. ``prepared`` is :func:`analyse_appeal` of the same appeal,
    computed before the transaction. The row is a Core insert: nothing reads it back as an object
    in this transaction (the auto-dispatch job and the presenters read the table), and its ORM
    unit of work cost more than the insert, on every intake."""
    given = order.category.code if order.category is not None else None
    a = prepared or analyse_appeal(session, title=order.title, content=order.content, address=order.address,
                                   phone=order.citizen_phone, now=now, unit_id=order.centre_unit_id,
                                   given_category=given)
    tree = category_map.tree(session, model_registry.db_key(session))
    decision = a.routing
    assessment = a.urgency
    s: dict[str, Any] = dict(
        order_id=order.id,
        created_at=now,
        month=month_of(now),
        model_version=a.model_version,
        categories=[c.to_dict() for c in a.categories],
        given_category_code=given,
        decided_category_code=a.decided.code if a.decided else None,
        decided_confidence=round(a.decided.confidence, 4) if a.decided else None,
        threshold=a.threshold,
        region_code=a.region.code if a.region else None,
        region_confidence=a.region.confidence if a.region else None,
        unit_code=decision.unit if decision else None,
        rule_id=decision.rule.id if decision and decision.rule else None,
        rule_explanation=(decision.explanation_zh if decision else "")[:2000],
        runners_up=[
            {"code": r.unit_code, "name": r.unit_name, "rule_id": r.id, "rule_zh": r.label_zh}
            for r in (decision.runners_up if decision else [])
        ],
        urgency_level=assessment.level.value if assessment else "normal",
        urgency_reasons=analysis.urgency_dict(assessment)["reasons"],
        handoff=list(assessment.handoff) if assessment else [],
        category_outcome="none",
        unit_outcome="pending" if decision and decision.unit else "none",
    )
    fields: dict[str, object] = {}
    if a.region is not None and not order.region_code:
        fields["region_code"] = a.region.code
    top = a.categories[0].code if a.categories else None
    category: Category | None = None
    if given is None and a.decided is not None and a.decided.code:
        category = session.get(Category, tree.by_code[a.decided.code].id)
        fields["category_id"] = category.id if category else None
        s["applied_category"] = category is not None
    if top:
        if given is None:
            s["category_outcome"] = "pending"
        elif actor.api_key_id is None:  # a person chose the category with the suggestions in view
            agreed = tree.consistent(top, given)
            s["category_outcome"] = "accepted" if agreed else "corrected"
            s["final_category_code"] = given
            if not agreed:
                s["category_corrected_by"], s["category_corrected_at"] = actor.username, now
    if assessment is not None and assessment.level.rank > URGENCY_RANK[Urgency(order.urgency)]:
        fields["urgency"] = assessment.level.value
        s["applied_urgency"] = True
    repository.set_registration_fields(session, order, fields)
    if category is not None:
        set_committed_value(order, "category", category)
    s["auto_dispatch"], s["decision_zh"] = _auto_dispatch(a, given)
    s["dispatch_state"] = "pending" if s["auto_dispatch"] else "none"
    insert_rows(session, IntakeSuggestion.__table__, [s])
    dupes.queue(session, "add", dupes.record_of(order))
    return s


def _auto_dispatch(a: analysis.Analysis, given: str | None) -> tuple[bool, str]:
    """(eligible, why in Chinese) — the rule in the module docstring, first failing clause named."""
    if given is not None:
        return False, "话务员已选择类别，由派单员派单"
    if a.urgency is not None and a.urgency.handoff:
        targets = "、".join(analysis.HANDOFF_ZH.get(h, h) for h in a.urgency.handoff)
        return False, f"需立即转交{targets}，由话务员/派单员人工处置"
    if a.model_version is None:
        return False, "尚未启用分类模型，待人工派单"
    if a.decided is None:
        best = a.categories[0] if a.categories else None
        if best is None:
            return False, "无分类建议，待人工派单"
        needed = f"（阈值 {a.threshold:.0%}）" if a.threshold is not None else ""
        return False, f"分类置信度不足：{best.path_zh or best.label} {best.confidence:.0%}{needed}，待人工派单"
    decision = a.routing
    if decision is None or decision.unit is None or decision.rule is None:
        return False, f"分类「{a.decided.path_zh}」没有匹配的派单规则，待人工派单"
    if not decision.rule.category_code:
        return False, f"分类「{a.decided.path_zh}」只匹配到通用规则（{decision.rule.label_zh}），待人工派单"
    if decision.rule.region_code and (a.region is None or a.region.confidence < MIN_REGION_CONFIDENCE or a.region.ambiguous):
        return False, "地址所属区域不确定，待人工确认后派单"
    why = (
        f"自动派单：分类「{a.decided.path_zh}」置信度 {a.decided.confidence:.0%}（阈值 {a.threshold:.0%}，"
        f"模型 {a.model_version}）；{decision.rule_zh}"
    )
    return True, why[:1000]
