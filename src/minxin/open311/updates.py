"""mySociety's ``servicerequestupdates`` extension, as FixMyStreet uses it.

GET lists the public steps of requests in a time window (``start_date`` and ``end_date``
together, or neither: the last 24 hours): dispatch, sign, reply, close, reopen, merge, void…
each as ``update_id = <number>_<event seq>`` with an extended status (``mapping``), a masked
public description and ``external_status_code`` = our action. Internal records (notes, urges,
extensions) are not published, nor are the events the same client caused by posting updates,
so FixMyStreet never receives its own update back.

POST applies a client's update to a request: the status is mapped onto a lifecycle action the
key's role may take (``mapping.INCOMING``), otherwise the update becomes a timeline note.
**Idempotent on the client's ``update_id``** per key: a repeated post answers with the same
``update_id`` and writes nothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from minxin.accounts.principal import Principal
from minxin.attachments.models import OrderAttachment
from minxin.core.pii import mask_text
from minxin.core.vocabulary import Status
from minxin.errors import DomainError
from minxin.integrations import repository as integrations_repository
from minxin.integrations.models import ApiKey, Open311InboundUpdate
from minxin.open311 import mapping, repository
from minxin.open311.forms import Params
from minxin.open311.schemas import Open311Error, bad, parse_time, w3c
from minxin.open311.service import window
from minxin.workorders import repository as orders_repository
from minxin.workorders import service as orders
from minxin.workorders.models import OrderEvent, WorkOrder

PUBLIC_ACTIONS = ("answer", "dispatch", "sign", "return", "review_return", "reply", "callback", "close", "reopen",
                  "suspend", "resume", "merge", "void")
DEFAULT_WINDOW = timedelta(hours=24)

_TEXT = {
    "dispatch": "已派至{unit}办理 / assigned to {unit}",
    "sign": "承办单位已签收，正在办理 / the responsible unit has started work",
    "return": "承办单位退回，热线中心重新派单中 / returned to the hotline centre for re-assignment",
    "review_return": "热线中心已重新安排办理 / re-assigned by the hotline centre",
    "callback": "回访完成，已办结归档 / follow-up call done, closed",
    "close": "已办结归档 / closed",
    "reopen": "重新办理 / reopened",
    "suspend": "暂停办理，等待补充信息 / on hold, waiting for more information",
    "resume": "恢复办理 / work resumed",
    "merge": "与其他工单合并办理 / merged with another request",
    "void": "不属受理范围，已作废 / not ours to handle, cancelled",
}


def _description(event: OrderEvent) -> str:
    payload = event.payload or {}
    if event.action == "reply":
        return str(payload.get("result") or "")
    if event.action == "answer":
        return str(payload.get("answer") or "")
    template = _TEXT.get(event.action, "")
    return template.format(unit=payload.get("unit_name") or payload.get("unit") or "")


def _public(event: OrderEvent) -> bool:
    if event.action not in PUBLIC_ACTIONS:
        return False
    return not (event.action == "callback" and event.to_status != Status.CLOSED.value)


def update_dict(event: OrderEvent, order: WorkOrder, tz: ZoneInfo) -> dict[str, Any]:
    return {
        "update_id": f"{order.number}_{event.seq}",
        "service_request_id": order.number,
        "status": mapping.extended_for_event(event.action, event.to_status, event.payload or {}),
        "updated_datetime": w3c(event.at, tz),
        "description": mask_text(_description(event)),
        "media_url": "",
        "external_status_code": event.action,
        "customer_reference": order.number,
    }


def list_updates(
    session: Session, *, start: str | None, end: str | None, principal: Principal | None, now: datetime, tz: ZoneInfo
) -> list[dict[str, Any]]:
    if (start is None) != (end is None):
        raise bad("start_date and end_date must be given together")
    start_at, end_at = window(start, end, now=now, tz=tz, default=DEFAULT_WINDOW)
    rows = [(e, o) for e, o in repository.events_between(session, start=start_at, end=end_at, actions=PUBLIC_ACTIONS,
                                                         principal=principal) if _public(e)]
    own = integrations_repository.inbound_event_keys(
        session, sorted({o.id for _, o in rows}), principal.api_key_id if principal else None
    )
    return [update_dict(e, o, tz) for e, o in rows if (o.id, e.seq) not in own]


def _note_text(key: ApiKey, status: str, description: str | None, author: str | None) -> str:
    head = f"[{key.name} · {status}]"
    body = description or "（无说明 / no text）"
    return f"{head} {body}" + (f" —— {author}" if author else "")


def _apply(
    session: Session, order: WorkOrder, status: str, description: str | None, author: str | None,
    *, key: ApiKey, actor: Principal, now: datetime, settings: orders.Settings,
) -> tuple[str | None, WorkOrder]:
    """Take the lifecycle steps for ``status`` one by one, each in a savepoint, stopping at the
    first refusal; when none could be taken the update is recorded as a note. Returns the last
    action applied (None = a note) and the order."""
    steps = mapping.INCOMING.get(status, {}).get(Status(order.status), [])
    reason = description or f"Open311 {status}"
    applied: str | None = None
    for action, body in steps:
        extra: dict[str, Any] = {}
        if action in ("reopen", "void"):
            extra["reason"] = reason[:2000]
        elif action in ("callback", "close") and description:
            extra["note"] = description[:2000]
        try:
            with session.begin_nested():
                order = orders.act(session, order.number, action, {**body, **extra}, actor=actor, now=now,
                                   settings=settings)
        except DomainError:
            session.expire_all()
            break
        applied = action
    if applied is not None:
        return applied, order
    text = _note_text(key, status, description, author)[:5000]
    order = orders.act(session, order.number, "note", {"text": text}, actor=actor, now=now, settings=settings)
    return None, order


def post_update(
    session: Session, params: Params, *, key: ApiKey, actor: Principal, now: datetime, settings: orders.Settings,
    tz: ZoneInfo, attachment_ids: list[str] | None = None,
) -> dict[str, Any]:
    number = params.get("service_request_id")
    external_id = params.get("update_id")
    raw_status = params.get("status")
    if number is None:
        raise bad("service_request_id is required")
    if external_id is None:
        raise bad("update_id is required")
    if raw_status is None:
        raise bad("status is required")
    status = mapping.normalise_incoming(raw_status)
    if status is None:
        raise bad(f"status {raw_status} is not a known status")
    if params.get("updated_datetime"):
        parse_time(params.get("updated_datetime") or "", "updated_datetime", tz)
    existing = integrations_repository.inbound_update(session, key.id, external_id[:100])
    if existing is not None:
        order = orders_repository.get_by_id(session, existing.order_id)
        return {"update_id": f"{order.number if order else number}_{existing.event_seq}"}
    order = orders_repository.get_by_number(session, number)
    if order is None or not orders_repository.is_visible(session, order, actor):
        raise Open311Error(404, f"service request {number} not found")
    description = params.raw("description")
    description = description.replace("\r\n", "\n").strip() if description else None
    author = " ".join(p for p in (params.get("first_name"), params.get("last_name")) if p) or None
    applied, order = _apply(session, order, status, description, author, key=key, actor=actor, now=now, settings=settings)
    seq = order.event_count
    for attachment_id in dict.fromkeys(attachment_ids or []):
        session.add(OrderAttachment(order_id=order.id, attachment_id=attachment_id, event_seq=seq, purpose="update"))
    session.add(
        Open311InboundUpdate(
            api_key_id=key.id,
            external_update_id=external_id[:100],
            order_id=order.id,
            event_seq=seq,
            status=status,
            applied_action=applied,
            author={k: params.get(k) for k in ("first_name", "last_name", "email", "phone", "updated_datetime")
                    if params.get(k)} | ({"media_url": params.all("media_url")} if params.all("media_url") else {}),
            created_at=now,
        )
    )
    session.flush()
    return {"update_id": f"{order.number}_{seq}"}
