"""Orders exchanged with other hotlines, and emergency hand-offs.

Inbound (95598 → 12345, 110 non-emergency hand-offs): ``receive`` registers an ordinary work
order (channel ``transfer``) and links it to the sender's id. **Idempotent on (sender,
sender_id)**: a repeat — a retry after a timeout, a duplicate push — returns the first order and
creates nothing; the unique constraint on the link makes this hold under concurrency too (the
loser's transaction rolls back and the API answers with the winner's order). Status changes of
a linked order reach the sender through webhooks (subscriptions of the sender's key).

Outbound (12345 → 95598): ``send_out`` records the link and announces ``transfer.outbound`` with
the whole order to the target system's subscriptions; the target acknowledges with its own id.

Emergency hand-offs (110/119/120) are recorded with the time of the hand-off, a timeline note
and an ``order.handoff`` event; the order itself stays with us.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from minxin.accounts.principal import Principal
from minxin.core.vocabulary import Channel, Role
from minxin.errors import Forbidden, Invalid, NotFound
from minxin.integrations import repository
from minxin.integrations.models import Handoff, TransferLink
from minxin.integrations.schemas import TransferIn
from minxin.outbox import service as outbox
from minxin.workorders import repository as orders_repository
from minxin.workorders import service as orders
from minxin.workorders.models import WorkOrder
from minxin.workorders.schemas import OrderCreate

HANDOFF_ROLES = frozenset({Role.AGENT, Role.DISPATCHER, Role.SUPERVISOR, Role.HANDLER})
TRANSFER_OUT_ROLES = frozenset({Role.AGENT, Role.DISPATCHER, Role.SUPERVISOR})
TARGET_ZH = {"110": "公安110", "119": "消防119", "120": "急救120"}


def _system_of(session: Session, actor: Principal) -> str | None:
    if actor.api_key_id is None:
        return None
    key = repository.key(session, actor.api_key_id)
    return key.system if key else None


def _check_sender(session: Session, actor: Principal, sender: str) -> None:
    system = _system_of(session, actor)
    if system is not None and system != sender:
        raise Forbidden(
            f"该密钥只能代表「{system}」发送转办",
            f"This key may only send transfers as '{system}'",
            code="transfer.wrong_sender",
        )


def receive(
    session: Session, data: TransferIn, *, actor: Principal, now: datetime, settings: orders.Settings
) -> tuple[WorkOrder, TransferLink, bool]:
    """Register the sender's order once; returns ``(order, link, replayed)``."""
    _check_sender(session, actor, data.sender)
    link = repository.transfer(session, "inbound", data.sender, data.sender_id)
    if link is not None:
        order = orders_repository.get_by_id(session, link.order_id)
        assert order is not None
        return order, link, True
    fields = data.order.model_dump()
    ref = {"system": data.sender, "external_id": data.sender_id, "api_key_id": actor.api_key_id}
    create = OrderCreate(
        channel=Channel.TRANSFER,
        **fields,
        extra={"transfer": {"sender": data.sender, "sender_id": data.sender_id, "sender_unit": data.sender_unit,
                            "sent_at": data.sent_at.isoformat() if data.sent_at else None, "note": data.note}},
    )
    order, _ = orders.register(session, create, actor=actor, now=now, settings=settings, channel_ref=ref)
    link = TransferLink(
        direction="inbound",
        system=data.sender,
        external_id=data.sender_id,
        order_id=order.id,
        api_key_id=actor.api_key_id,
        created_at=now,
        created_by=actor.username,
        note=data.note,
    )
    session.add(link)
    session.flush()  # the unique (direction, system, external_id) decides a race here
    return order, link, False


def find(session: Session, system: str, external_id: str, actor: Principal) -> tuple[TransferLink, WorkOrder]:
    """The link and its order, if the caller is that system's key, created it, or sees the order."""
    link = repository.transfer_any_direction(session, system, external_id)
    order = orders_repository.get_by_id(session, link.order_id) if link else None
    if link is None or order is None or not _may_see(session, link, order, actor):
        raise NotFound(f"转办单不存在：{system}/{external_id}", f"No transfer {system}/{external_id}",
                       code="transfer.not_found")
    return link, order


def _may_see(session: Session, link: TransferLink, order: WorkOrder, actor: Principal) -> bool:
    if actor.api_key_id is not None and (link.api_key_id == actor.api_key_id or _system_of(session, actor) == link.system):
        return True
    return orders_repository.is_visible(session, order, actor)


def post_update(
    session: Session, system: str, external_id: str, *, text: str, status: str | None,
    actor: Principal, now: datetime, settings: orders.Settings,
) -> WorkOrder:
    """The other hotline reports progress on a shared order: a note on our timeline."""
    link, order = find(session, system, external_id, actor)
    prefix = f"[{link.system} {status}] " if status else f"[{link.system}] "
    return orders.act(session, order.number, "note", {"text": (prefix + text)[:5000]}, actor=_as_note_taker(actor),
                      now=now, settings=settings)


def _as_note_taker(actor: Principal) -> Principal:
    """Keys with a reading role still leave notes as an agent of their unit."""
    if actor.role in (Role.AGENT, Role.DISPATCHER, Role.HANDLER, Role.SUPERVISOR):
        return actor
    return dataclasses.replace(actor, role=Role.AGENT)


def send_out(
    session: Session, number: str, *, target: str, note: str | None, actor: Principal, now: datetime,
    settings: orders.Settings,
) -> TransferLink:
    """Transfer our order to another hotline: link it and announce it to the target's receivers."""
    if actor.role not in TRANSFER_OUT_ROLES:
        raise Forbidden("当前角色不能转办至其他热线", "Your role may not transfer orders out", code="transfer.forbidden")
    order = orders.get_visible(session, number, actor)
    link = TransferLink(direction="outbound", system=target, external_id=None, order_id=order.id,
                        api_key_id=actor.api_key_id, created_at=now, created_by=actor.username, note=note)
    session.add(link)
    session.flush()
    text = f"转办至{target}" + (f"：{note}" if note else "")
    orders.act(session, number, "note", {"text": text}, actor=actor, now=now, settings=settings)
    outbox.enqueue(session, topic="transfer.outbound", now=now, payload={
        "number": order.number, "transfer_id": link.id, "target": target, "note": note,
        "order": {
            "title": order.title, "content": order.content, "appeal_type": order.appeal_type, "urgency": order.urgency,
            "address": order.address, "latitude": order.latitude, "longitude": order.longitude,
            "category": order.category.code if order.category else None,
            "citizen": {"name": order.citizen_name, "phone": order.citizen_phone},
            "confidential": order.citizen_confidential, "created_at": order.created_at.isoformat(),
        },
    })
    return link


def acknowledge(session: Session, link_id: int, *, external_id: str, actor: Principal, now: datetime) -> TransferLink:
    """The receiving system tells us its own id for an outbound transfer (idempotent)."""
    link = repository.transfer_by_id(session, link_id)
    if link is None or link.direction != "outbound" or _system_of(session, actor) not in (link.system,):
        raise NotFound(f"转办单不存在：{link_id}", f"No outbound transfer {link_id}", code="transfer.not_found")
    if link.external_id not in (None, external_id):
        raise Invalid("该转办单已登记对方编号", "This transfer already has the other side's id", code="transfer.acknowledged")
    link.external_id, link.acknowledged_at = external_id, link.acknowledged_at or now
    return link


def handoff(
    session: Session, number: str, *, target: str, note: str | None, at: datetime | None,
    actor: Principal, now: datetime, settings: orders.Settings,
) -> Handoff:
    """Record an emergency hand-off to 110/119/120 at ``at`` (default now; never in the future)."""
    if actor.role not in HANDOFF_ROLES:
        raise Forbidden("当前角色不能登记紧急移交", "Your role may not record hand-offs", code="handoff.forbidden")
    when = at or now
    if when > now + timedelta(minutes=1):
        raise Invalid("移交时间不能晚于现在", "The hand-off time cannot be in the future", code="handoff.future")
    order = orders.get_visible(session, number, actor)
    row = Handoff(order_id=order.id, target=target, at=when, recorded_at=now, by=actor.username,
                  by_user_id=actor.user_id, note=note)
    session.add(row)
    local = when.astimezone(settings.timezone).strftime("%Y-%m-%d %H:%M:%S")
    text = f"紧急移交{TARGET_ZH[target]}（{local}）" + (f"：{note}" if note else "")
    orders.act(session, number, "note", {"text": text}, actor=actor, now=now, settings=settings)
    session.flush()
    outbox.enqueue(session, topic="order.handoff", now=now, payload={
        "number": order.number, "status": order.status, "action": "handoff", "target": target,
        "at": when.isoformat(), "unit": order.current_unit.code if order.current_unit else None, "actor": actor.display_name,
    })
    return row


def link_dict(link: TransferLink, order: WorkOrder | None, tz: ZoneInfo) -> dict[str, Any]:
    return {
        "id": link.id,
        "direction": link.direction,
        "system": link.system,
        "external_id": link.external_id,
        "number": order.number if order else None,
        "status": order.status if order else None,
        "created_at": link.created_at.astimezone(tz).isoformat(),
        "acknowledged_at": link.acknowledged_at.astimezone(tz).isoformat() if link.acknowledged_at else None,
        "note": link.note,
    }


def handoff_dict(row: Handoff, tz: ZoneInfo) -> dict[str, Any]:
    return {"id": row.id, "target": row.target, "target_zh": TARGET_ZH[row.target], "at": row.at.astimezone(tz).isoformat(),
            "recorded_at": row.recorded_at.astimezone(tz).isoformat(), "by": row.by, "note": row.note}


def detail_section(session: Session, order: WorkOrder, _principal: Principal, tz: ZoneInfo) -> dict[str, Any] | None:
    """``integrations`` section of the order detail: transfer links and hand-offs."""
    links = repository.transfers_of(session, [order.id])
    handoffs = repository.handoffs_of(session, order.id)
    if not links and not handoffs:
        return None
    return {"transfers": [link_dict(x, order, tz) for x in links], "handoffs": [handoff_dict(h, tz) for h in handoffs]}
