"""Plugging intake analysis into work orders (imported via ``wiring.PLUGIN_MODULES``).

Must come **before** ``minxin.sla.hooks`` there: registration may set the order's category
and raise its urgency, and the SLA hook that runs next computes the deadlines from them (and
before ``minxin.risk.hooks``, which reads the ``region_code`` set here).

* ``before_register``: the analysis (suggestion, region, routing, urgency), computed in a read
  session before the write transaction opens.
* ``after_register``: :func:`minxin.intake.service.on_register` (suggestion, category,
  urgency, region, auto-dispatch decision) and the order is queued for the duplicate index.
* ``after_transition``: a status change is queued for the duplicate index; ``classify``,
  ``dispatch``, ``return`` and ``review_return`` settle the suggestion's outcome
  (:mod:`minxin.intake.outcomes`).
* Presenter sections: ``intake`` on the order detail (the suggestion and its outcome, for the
  centre's roles) and ``suggestion`` on every list row (one query per page), so the
  dispatcher's queue shows the suggested unit and why.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from minxin.accounts.principal import Principal
from minxin.intake import duplicate_store as dupes
from minxin.intake import outcomes, repository, service
from minxin.intake.analyze import Analysis
from minxin.intake.models import IntakeSuggestion
from minxin.workorders import hooks, presenters
from minxin.workorders.hooks import HookContext
from minxin.workorders.models import WorkOrder
from minxin.workorders.schemas import OrderCreate


def before_register(session: Session, data: OrderCreate, actor: Principal, now: datetime) -> Analysis | None:
    """Classify and route the appeal in the read session before the write transaction."""
    if actor.unit_id is None:
        return None
    return service.analyse_appeal(session, title=data.title, content=data.content, address=data.address,
                                  phone=data.citizen.phone if data.citizen else None, now=now,
                                  unit_id=actor.unit_id, given_category=data.category)


def after_register(ctx: HookContext) -> None:
    service.on_register(ctx.session, ctx.order, ctx.actor, ctx.now, ctx.prepared.get("intake"))


def after_transition(ctx: HookContext) -> None:
    t = ctx.transition
    if t is not None and t.to_status is not t.from_status:
        dupes.queue(ctx.session, "status", (ctx.order.id, ctx.order.status))
    outcomes.on_transition(ctx.session, ctx.order, ctx.event, ctx.actor, ctx.now)


def suggestion_dict(s: IntakeSuggestion, tz: ZoneInfo) -> dict[str, Any]:
    return {
        "model_version": s.model_version,
        "categories": s.categories,
        "decided_category": s.decided_category_code,
        "decided_confidence": s.decided_confidence,
        "threshold": s.threshold,
        "applied_category": s.applied_category,
        "region_code": s.region_code,
        "unit": {"code": s.unit_code, "rule_id": s.rule_id, "explanation": s.rule_explanation, "runners_up": s.runners_up},
        "urgency": {"level": s.urgency_level, "reasons": s.urgency_reasons, "handoff": s.handoff,
                    "emergency_handoff": bool(s.handoff), "applied": s.applied_urgency},
        "auto_dispatch": s.auto_dispatch,
        "dispatch_state": s.dispatch_state,
        "decision": s.decision_zh,
        "auto_dispatched_at": s.auto_dispatched_at.astimezone(tz).isoformat() if s.auto_dispatched_at else None,
        "outcome": {
            "category": s.category_outcome,
            "final_category": s.final_category_code,
            "category_corrected_by": s.category_corrected_by,
            "unit": s.unit_outcome,
            "final_unit": s.final_unit_code,
            "unit_corrected_by": s.unit_corrected_by,
            "urgency_corrected": s.urgency_corrected,
        },
    }


def detail_section(session: Session, order: WorkOrder, principal: Principal, tz: ZoneInfo) -> dict[str, Any] | None:
    if principal.role not in presenters.CENTRE_ROLES:
        return None
    s = repository.suggestion_for(session, order.id)
    return suggestion_dict(s, tz) if s is not None else None


def summary_field(session: Session, orders: list[WorkOrder], tz: ZoneInfo) -> dict[int, Any]:
    found = repository.suggestions_for(session, [o.id for o in orders])
    out: dict[int, Any] = {}
    for order_id, s in found.items():
        top = s.categories[0] if s.categories else None
        out[order_id] = {
            "unit": s.unit_code,
            "rule_id": s.rule_id,
            "category": top.get("code") if top else None,
            "confidence": top.get("confidence") if top else None,
            "urgency": s.urgency_level,
            "emergency_handoff": bool(s.handoff),
            "dispatch_state": s.dispatch_state,
        }
    return out


def _add_section(target: list[Any], name: str, fn: object) -> None:
    if all(existing != name for existing, _ in target):
        target.append((name, fn))


def _register_early(point: list[Any], name: str, fn: Any) -> None:
    """Register ``fn`` ahead of the SLA and risk hooks even if they were imported first."""
    hooks.register(point, name, fn)
    names = [n for n, _ in point]
    later = [i for i, n in enumerate(names) if n in ("sla", "risk")]
    mine = names.index(name)
    if later and min(later) < mine:
        point.insert(min(later), point.pop(mine))


hooks.register(hooks.before_register, "intake", before_register)
_register_early(hooks.after_register, "intake", after_register)
_register_early(hooks.after_transition, "intake", after_transition)
_add_section(presenters.detail_sections, "intake", detail_section)
_add_section(presenters.summary_fields, "suggestion", summary_field)
