"""Turning orders into API dicts: display time zone, masking, the actions this user may take.

Masking rules: the caller's phone is shown in full only to principals that need it
(``Principal.may_see_phone``) and, for confidential callers (保密), only to the centre's roles;
personal data in free text is masked in lists (``mask_text``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from minxin.accounts.principal import Principal
from minxin.attachments import repository as attachments_repository
from minxin.core.lifecycle import Facts, possible_actions
from minxin.core.pii import mask_phone, mask_text
from minxin.core.vocabulary import (
    ACTION_ZH,
    APPEAL_TYPE_ZH,
    CHANNEL_ZH,
    STATUS_ZH,
    URGENCY_ZH,
    AppealType,
    Channel,
    Role,
    Status,
    Urgency,
)
from minxin.units import repository as units_repository
from minxin.workorders import repository
from minxin.workorders.models import WorkOrder

#: extra sections other domains add to the detail view (e.g. "deadlines" from SLA)
detail_sections: list[tuple[str, Callable[[Session, WorkOrder, Principal, ZoneInfo], Any]]] = []
#: extra fields other domains add to every list row (e.g. the deadline badge)
summary_fields: list[tuple[str, Callable[[Session, list[WorkOrder], ZoneInfo], dict[int, Any]]]] = []

CENTRE_ROLES = frozenset({Role.AGENT, Role.DISPATCHER, Role.SUPERVISOR, Role.ADMIN})
_FRESH = "minxin.workorders.fresh"


def mark_fresh(session: Session, order_id: int) -> None:
    """Say that ``session`` presents an order its own request has just registered (the answer to
    ``POST /orders``), so that sections may skip reading what registration never writes."""
    session.info.setdefault(_FRESH, set()).add(order_id)


def is_fresh(session: Session, order: WorkOrder) -> bool:
    """True for an order registered by this request that has had nothing but its registration
    (``event_count == 1`` as read back): it has no attachments, callbacks or extensions, no SLA or
    risk alerts and no risk profile yet (tagging is queued). What a section then shows is the
    order as of its commit; an alert or a tag written a moment later shows on the next read."""
    return order.event_count == 1 and order.id in session.info.get(_FRESH, ())


def iso(value: datetime | None, tz: ZoneInfo) -> str | None:
    return value.astimezone(tz).isoformat() if value else None


def phone_for(order: WorkOrder, principal: Principal) -> str | None:
    phone = order.citizen_phone
    if not phone:
        return None
    if not principal.may_see_phone or (order.citizen_confidential and principal.role not in CENTRE_ROLES):
        return mask_phone(phone)
    return phone


def summary(order: WorkOrder, principal: Principal, tz: ZoneInfo, *, mask_free_text: bool = True) -> dict[str, Any]:
    unit = order.current_unit
    return {
        "number": order.number,
        "status": order.status,
        "status_zh": STATUS_ZH[Status(order.status)],
        "channel": order.channel,
        "channel_zh": CHANNEL_ZH[Channel(order.channel)],
        "appeal_type": order.appeal_type,
        "appeal_type_zh": APPEAL_TYPE_ZH[AppealType(order.appeal_type)],
        "urgency": order.urgency,
        "urgency_zh": URGENCY_ZH[Urgency(order.urgency)],
        "title": mask_text(order.title) if mask_free_text else order.title,
        "citizen": {"name": order.citizen_name, "phone": phone_for(order, principal)},
        "address": order.address,
        "region_code": order.region_code,
        "category": {"code": order.category.code, "name": order.category.name} if order.category else None,
        "current_unit": {"code": unit.code, "name": unit.name} if unit else None,
        "version": order.version,
        "created_at": iso(order.created_at, tz),
        "updated_at": iso(order.updated_at, tz),
        "dispatched_at": iso(order.dispatched_at, tz),
        "signed_at": iso(order.signed_at, tz),
        "replied_at": iso(order.replied_at, tz),
        "closed_at": iso(order.closed_at, tz),
        "reopen_count": order.reopen_count,
        "return_count": order.return_count,
        "urge_count": order.urge_count,
        "satisfaction": order.satisfaction,
        "resolved": order.resolved,
    }


def summaries(session: Session, orders: list[WorkOrder], principal: Principal, tz: ZoneInfo) -> list[dict[str, Any]]:
    rows = [summary(o, principal, tz) for o in orders]
    for name, build in summary_fields:
        extra = build(session, orders, tz)
        for order, row in zip(orders, rows, strict=True):
            row[name] = extra.get(order.id)
    return rows


def detail(session: Session, order: WorkOrder, principal: Principal, tz: ZoneInfo) -> dict[str, Any]:
    data = summary(order, principal, tz, mask_free_text=False)
    data["title"] = order.title
    data["content"] = order.content if principal.may_see_phone else mask_text(order.content)
    data["confidential"] = order.citizen_confidential
    data["latitude"], data["longitude"] = order.latitude, order.longitude
    data["extra"] = order.extra or {}
    data["direct_answer"] = order.direct_answer
    data["reply"] = order.reply_text
    data["has_evidence"] = order.has_evidence
    data["excluded_from_satisfaction"] = order.excluded_from_satisfaction
    data["exclusion_reason"] = order.exclusion_reason
    data["callback_at"] = iso(order.callback_at, tz)
    data["unreachable_attempts"] = order.unreachable_attempts
    merged_into = repository.get_by_id(session, order.merged_into_id) if order.merged_into_id else None
    data["merged_into"] = merged_into.number if merged_into else None
    handling = units_repository.get(session, order.handling_unit_id) if order.handling_unit_id else None
    data["handling_unit"] = {"code": handling.code, "name": handling.name} if handling else None
    data["units"] = [
        {"code": unit.code, "name": unit.name, "role": link.role, "active": link.active}
        for link, unit in repository.order_units(session, order.id)
    ]
    # callbacks and extension requests are made by actions: a just-registered order has neither
    acted = order.event_count > 1
    extensions = repository.extensions_of(session, order.id) if acted else []
    facts = Facts(
        role=principal.role,
        appeal_type=AppealType(order.appeal_type),
        at_current_unit=order.current_unit.path.startswith(principal.unit_path),
        pending_extension=any(x.state == "pending" for x in extensions),
        last_callback_dissatisfied=order.satisfaction == "dissatisfied",
    )
    data["allowed_actions"] = [
        {"action": a.value, "label_zh": ACTION_ZH[a]} for a in possible_actions(Status(order.status), facts)
    ]
    data["events"] = [
        {
            "seq": e.seq,
            "action": e.action,
            "action_zh": ACTION_ZH.get(e.action, "受理") if e.action != "register" else "受理",  # type: ignore[call-overload]
            "outcome": e.outcome,
            "from_status": e.from_status,
            "to_status": e.to_status,
            "actor": e.actor_name,
            "actor_role": e.actor_role,
            "at": iso(e.at, tz),
            "payload": e.payload,
        }
        for e in repository.events_of(session, order.id)
    ]
    fresh = is_fresh(session, order)
    data["attachments"] = [
        {
            "id": a.id,
            "kind": a.kind,
            "content_type": a.content_type,
            "size": a.size,
            "sha256": a.sha256,
            "purpose": link.purpose,
            "event_seq": link.event_seq,
            "url": f"/api/v1/attachments/{a.id}",
        }
        for link, a in ([] if fresh else attachments_repository.of_order(session, order.id))
    ]
    data["callbacks"] = [
        {
            "at": iso(c.at, tz),
            "round": c.round,
            "reachable": c.reachable,
            "satisfaction": c.satisfaction,
            "resolved": c.resolved,
            "recording": c.recording_id,
            "note": c.note,
        }
        for c in (repository.callbacks_of(session, order.id) if acted else [])
    ]
    data["extensions"] = [
        {
            "id": x.id,
            "duration": x.duration,
            "reason": x.reason,
            "state": x.state,
            "requested_at": iso(x.requested_at, tz),
            "decided_at": iso(x.decided_at, tz),
            "decision_note": x.decision_note,
        }
        for x in extensions
    ]
    for name, build in detail_sections:
        data[name] = build(session, order, principal, tz)
    return data
