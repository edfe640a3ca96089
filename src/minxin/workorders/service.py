"""Work-order use cases: register, act (every lifecycle action), read.

``act`` is the only way a status changes: load the order under a row lock, check visibility,
validate the payload, ask ``core.lifecycle.fire`` (which refuses before anything is written),
apply the effects, append one immutable event, run hooks, enqueue an outbox message. The
caller's unit of work commits once.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError
from sqlalchemy.orm import Session

from minxin.accounts.principal import Principal
from minxin.categories import service as categories_service
from minxin.core.lifecycle import Facts, IllegalTransition, fire
from minxin.core.vocabulary import Action, AppealType, Role, Satisfaction, Status
from minxin.errors import Conflict, DomainError, Forbidden, Invalid, NotFound
from minxin.outbox import service as outbox
from minxin.workorders import hooks, repository
from minxin.workorders.effects import EFFECTS, ActionContext, reply_has_photo
from minxin.workorders.models import IdempotencyKey, OrderEvent, OrderUnit, WorkOrder
from minxin.workorders.schemas import PAYLOADS, ActionBase, OrderCreate

REGISTER = "register"
INTAKE_ROLES = frozenset({Role.AGENT, Role.DISPATCHER, Role.SUPERVISOR, Role.ADMIN})


@dataclass(frozen=True)
class Settings:
    """What the service needs from configuration."""

    timezone: ZoneInfo
    callback_max_attempts: int = 3


def request_hash(data: OrderCreate) -> str:
    return hashlib.sha256(json.dumps(data.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()


def register(
    session: Session,
    data: OrderCreate,
    *,
    actor: Principal,
    now: datetime,
    settings: Settings,
    idempotency_key: str | None = None,
    channel_ref: dict[str, Any] | None = None,
    prepared: dict[str, Any] | None = None,
) -> tuple[WorkOrder, bool]:
    """Register an appeal. Returns ``(order, replayed)``; replayed is True for a repeated key.
    ``prepared``: what :func:`prepare` computed for this appeal before the transaction."""
    if actor.role not in INTAKE_ROLES and actor.api_key_id is None:
        raise Forbidden("当前角色不能受理诉求", "Your role may not register appeals", code="order.intake_forbidden")
    digest = request_hash(data)
    if idempotency_key is not None and actor.user_id is not None:
        existing = repository.idempotency_key(session, actor.user_id, idempotency_key)
        if existing is not None:
            if existing.request_hash != digest:
                raise Conflict(
                    "该幂等键已用于内容不同的请求",
                    "This Idempotency-Key was used for a different request",
                    code="idempotency.key_reused",
                )
            order = repository.get_by_id(session, existing.order_id)
            assert order is not None
            return order, True
    category = categories_service.require(session, data.category) if data.category else None
    day, seq = repository.next_sequence(session, now.astimezone(settings.timezone).date())
    citizen = data.citizen
    order = WorkOrder(
        number=f"{day}{seq:06d}",
        channel=data.channel.value,
        appeal_type=data.appeal_type.value,
        urgency=data.urgency.value,
        title=data.title,
        content=data.content,
        citizen_name=citizen.name if citizen else None,
        citizen_phone=citizen.phone if citizen else None,
        citizen_confidential=data.confidential,
        address=data.address,
        latitude=data.latitude,
        longitude=data.longitude,
        category_id=category.id if category else None,
        category=category,
        centre_unit_id=actor.unit_id,
        current_unit_id=actor.unit_id,
        status=Status.REGISTERED.value,
        event_count=1,
        registered_by_id=actor.user_id,
        created_at=now,
        updated_at=now,
        status_changed_at=now,
        extra=(data.extra or {}) | ({"ref": channel_ref} if channel_ref else {}) or None,
    )
    session.add(order)
    session.flush()
    session.add(
        OrderUnit(order_id=order.id, unit_id=actor.unit_id, unit_path=actor.unit_path, role="centre", active=True, since=now)
    )
    payload = {"channel": order.channel, "appeal_type": order.appeal_type, "urgency": order.urgency}
    if category:
        payload["category"] = category.code
    event = _append_event(session, order, action=REGISTER, outcome="", from_status=None, actor=actor, now=now, payload=payload)
    if idempotency_key is not None and actor.user_id is not None:
        session.add(
            IdempotencyKey(
                user_id=actor.user_id, key=idempotency_key, request_hash=digest, order_id=order.id, created_at=now
            )
        )
    session.flush()
    hooks.run(hooks.after_register, hooks.HookContext(session, order, event, actor, now, None, payload, prepared or {}))
    outbox.enqueue(session, topic="order.created", payload=_announcement(order, event, actor.unit_code), now=now)
    return order, False


def prepare(session: Session, data: OrderCreate, *, actor: Principal, now: datetime) -> dict[str, Any]:
    """Run the read-only ``before_register`` hooks for an appeal in a read session, before the
    write transaction (see :mod:`minxin.workorders.hooks`); pass the result to :func:`register`."""
    return hooks.prepare(session, data, actor, now)


def get_visible(session: Session, number: str, actor: Principal, *, for_update: bool = False) -> WorkOrder:
    """The order, or 404 as if it did not exist when the actor may not see it."""
    order = repository.get_by_number(session, number, for_update=for_update)
    if order is None or not repository.is_visible(session, order, actor):
        raise NotFound(f"工单不存在：{number}", f"No order '{number}'", code="order.not_found")
    return order


def parse_action(name: str) -> Action:
    try:
        return Action(name)
    except ValueError as exc:
        raise NotFound(
            f"未知操作：{name}",
            f"Unknown action '{name}'; use one of {', '.join(a.value for a in Action)}",
            code="order.unknown_action",
        ) from exc


def parse_payload(action: Action, body: dict[str, Any] | None) -> ActionBase:
    try:
        return PAYLOADS[action].model_validate(body or {})
    except ValidationError as exc:
        raise Invalid(
            "操作内容不完整或格式错误",
            "The action's body is incomplete or malformed",
            code="order.invalid_payload",
            details={"errors": json.loads(exc.json(include_url=False, include_context=False))},
        ) from exc


def act(
    session: Session,
    number: str,
    action_name: str,
    body: dict[str, Any] | None,
    *,
    actor: Principal,
    now: datetime,
    settings: Settings,
) -> WorkOrder:
    action = parse_action(action_name)
    payload = parse_payload(action, body)
    order = get_visible(session, number, actor, for_update=True)
    if payload.expected_version is not None and payload.expected_version != order.version:
        raise Conflict(
            "工单已被他人修改，请刷新后重试",
            f"The order changed (version {order.version}, you had {payload.expected_version}); reload and retry",
            code="order.version_conflict",
        )
    facts = _facts(session, order, action, payload, actor, settings)
    try:
        transition = fire(Status(order.status), action, facts)
    except IllegalTransition as exc:
        r = exc.refusal
        raise DomainError(r.message_zh, r.message_en, code=r.code, status_code=r.http_status) from exc
    ctx = ActionContext(session=session, order=order, actor=actor, payload=payload, now=now, transition=transition)
    EFFECTS[action](ctx)
    if transition.to_status is not transition.from_status:
        order.status = transition.to_status.value
        order.status_changed_at = now
    order.updated_at = now
    event = _append_event(
        session,
        order,
        action=action.value,
        outcome=transition.outcome,
        from_status=transition.from_status.value,
        actor=actor,
        now=now,
        payload=ctx.event_payload,
    )
    ctx.event_seq = event.seq
    for link in ctx.after_event:
        link(event.seq)
    session.flush()
    hooks.run(hooks.after_transition, hooks.HookContext(session, order, event, actor, now, transition, ctx.event_payload))
    outbox.enqueue(
        session, topic=f"order.{action.value}", payload=_announcement(order, event, order.current_unit.code), now=now
    )
    return order


def _facts(
    session: Session, order: WorkOrder, action: Action, payload: ActionBase, actor: Principal, settings: Settings
) -> Facts:
    satisfaction = getattr(payload, "satisfaction", None)
    return Facts(
        role=actor.role,
        appeal_type=AppealType(order.appeal_type),
        at_current_unit=order.current_unit.path.startswith(actor.unit_path),
        photo_required=action is Action.REPLY and categories_service.requires_photo(session, order.category),
        reply_has_photo=action is Action.REPLY and reply_has_photo(session, getattr(payload, "attachments", [])),
        pending_extension=action in (Action.REQUEST_EXTENSION, Action.DECIDE_EXTENSION)
        and repository.pending_extension(session, order.id) is not None,
        last_callback_dissatisfied=order.satisfaction == Satisfaction.DISSATISFIED.value,
        reachable=getattr(payload, "reachable", True),
        satisfaction=Satisfaction(satisfaction) if satisfaction else None,
        unreachable_attempts=order.unreachable_attempts,
        max_callback_attempts=settings.callback_max_attempts,
        approve=getattr(payload, "approve", True),
    )


def _append_event(
    session: Session,
    order: WorkOrder,
    *,
    action: str,
    outcome: str,
    from_status: str | None,
    actor: Principal,
    now: datetime,
    payload: dict[str, Any],
) -> OrderEvent:
    seq = 1 if from_status is None else order.event_count + 1
    order.event_count = seq
    event = OrderEvent(
        order_id=order.id,
        seq=seq,
        action=action,
        outcome=outcome,
        from_status=from_status,
        to_status=order.status,
        actor_id=actor.user_id,
        actor_name=actor.display_name,
        actor_role=actor.role.value,
        unit_id=actor.unit_id,
        at=now,
        payload=payload,
    )
    session.add(event)
    return event


def _announcement(order: WorkOrder, event: OrderEvent, unit_code: str) -> dict[str, Any]:
    """The outbox payload: identifiers and the change, never the citizen's personal data."""
    return {
        "number": order.number,
        "status": order.status,
        "action": event.action,
        "outcome": event.outcome,
        "seq": event.seq,
        "at": event.at.isoformat(),
        "unit": unit_code,
        "actor": event.actor_name,
    }
