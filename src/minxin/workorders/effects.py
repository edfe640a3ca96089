"""What each accepted action does to the order, besides the status change.

One small function per action, keyed by ``Action`` in ``EFFECTS``. They run after
``core.lifecycle.fire`` has accepted the action and before the event is appended; they may
raise ``DomainError`` for payload problems only they can see (an unknown unit, a missing
attachment), which still rolls everything back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from minxin.accounts.principal import Principal
from minxin.attachments import repository as attachments_repository
from minxin.attachments.models import OrderAttachment
from minxin.categories import repository as categories_repository
from minxin.core.lifecycle import Transition
from minxin.core.vocabulary import Action, Role, Status
from minxin.errors import Conflict, Invalid, NotFound
from minxin.units import repository as units_repository
from minxin.units.models import Unit
from minxin.workorders import repository
from minxin.workorders.models import Callback, ExtensionRequest, OrderUnit, WorkOrder
from minxin.workorders.schemas import (
    ActionBase,
    AnswerIn,
    CallbackIn,
    ClassifyIn,
    CloseIn,
    CoHandleIn,
    DecideExtensionIn,
    DispatchIn,
    ExtensionRequestIn,
    MergeIn,
    NoteIn,
    NoteOptional,
    ReasonIn,
    ReplyIn,
    ReviewReturnIn,
    UrgeIn,
)


@dataclass
class ActionContext:
    session: Session
    order: WorkOrder
    actor: Principal
    payload: ActionBase
    now: datetime
    transition: Transition
    #: what the event records (filled by the effect)
    event_payload: dict[str, Any] = field(default_factory=dict)
    #: callbacks run with the new event's seq once it exists (to link attachments to it)
    after_event: list[Callable[[int], None]] = field(default_factory=list)
    event_seq: int = 0


def _note(ctx: ActionContext, text: str | None) -> None:
    if text:
        ctx.event_payload["note"] = text


def _unit(ctx: ActionContext, code: str) -> Unit:
    unit = units_repository.get_by_code(ctx.session, code)
    if unit is None or not unit.active:
        raise Invalid(f"单位不存在或已停用：{code}", f"Unknown or inactive unit '{code}'", code="unit.not_found")
    return unit


def _move_to(ctx: ActionContext, unit: Unit, role: str = "main") -> None:
    """Make ``unit`` the one holding the order, keeping the visibility rows in step."""
    order = ctx.order
    for link, _unit_row in repository.order_units(ctx.session, order.id):
        if link.role == "main" and link.unit_id != unit.id:
            link.active = False
    link = repository.order_unit(ctx.session, order.id, unit.id)
    if link is None:
        ctx.session.add(
            OrderUnit(order_id=order.id, unit_id=unit.id, unit_path=unit.path, role=role, active=True, since=ctx.now)
        )
    elif link.role != "centre":
        link.role, link.active = role, True
    order.current_unit_id = unit.id
    order.current_unit = unit


def _centre(ctx: ActionContext) -> Unit:
    unit = units_repository.get(ctx.session, ctx.order.centre_unit_id)
    assert unit is not None
    return unit


def answer(ctx: ActionContext) -> None:
    p = ctx.payload
    assert isinstance(p, AnswerIn)
    ctx.order.direct_answer = p.answer
    ctx.order.closed_at = ctx.now
    ctx.event_payload["answer"] = p.answer


def dispatch(ctx: ActionContext) -> None:
    p = ctx.payload
    assert isinstance(p, DispatchIn)
    order, target = ctx.order, _unit(ctx, p.unit)
    current = order.current_unit
    if ctx.actor.role is Role.HANDLER:
        if not (target.path.startswith(current.path) and target.id != current.id):
            raise Invalid(
                "二级派单只能派给本单位的下级单位",
                "Second-level dispatch must go to a unit below yours",
                code="order.bad_dispatch_target",
            )
    elif not ctx.actor.covers(target.path):
        raise Invalid("不能派给管辖范围以外的单位", "Target unit is outside your scope", code="order.bad_dispatch_target")
    if target.id == order.centre_unit_id:
        raise Invalid("不能派给热线中心本身", "Cannot dispatch to the centre itself", code="order.bad_dispatch_target")
    if target.id == current.id:
        raise Conflict("工单已在该单位", "The order is already with that unit", code="order.same_unit")
    ctx.event_payload.update({"from_unit": current.code, "unit": target.code, "unit_name": target.name})
    _note(ctx, p.note)
    _move_to(ctx, target)
    if order.dispatched_at is None:
        order.dispatched_at = ctx.now
    order.signed_at = None  # the receiving unit signs afresh


def sign(ctx: ActionContext) -> None:
    assert isinstance(ctx.payload, NoteOptional)
    ctx.order.signed_at = ctx.now
    ctx.order.handling_unit_id = ctx.order.current_unit_id
    ctx.event_payload["unit"] = ctx.order.current_unit.code
    _note(ctx, ctx.payload.note)


def return_(ctx: ActionContext) -> None:
    p = ctx.payload
    assert isinstance(p, ReasonIn)
    order = ctx.order
    order.return_count += 1
    ctx.event_payload.update({"reason": p.reason, "from_unit": order.current_unit.code})
    _move_to(ctx, _centre(ctx), role="centre")


def review_return(ctx: ActionContext) -> None:
    p = ctx.payload
    assert isinstance(p, ReviewReturnIn)
    ctx.event_payload["approve"] = p.approve
    _note(ctx, p.note)
    if not p.approve:
        last = repository.last_event(ctx.session, ctx.order.id, Action.RETURN.value)
        code = (last.payload or {}).get("from_unit") if last else None
        if not code:
            raise Conflict("找不到退单单位", "Cannot find the unit that returned the order", code="order.no_return_unit")
        unit = _unit(ctx, code)
        ctx.event_payload["unit"] = unit.code
        _move_to(ctx, unit)


def co_handle(ctx: ActionContext) -> None:
    p = ctx.payload
    assert isinstance(p, CoHandleIn)
    added = []
    for code in dict.fromkeys(p.units):
        unit = _unit(ctx, code)
        if unit.id == ctx.order.current_unit_id:
            raise Invalid("协办单位不能是主办单位", "An assisting unit cannot be the lead unit", code="order.bad_co_unit")
        link = repository.order_unit(ctx.session, ctx.order.id, unit.id)
        if link is None:
            ctx.session.add(
                OrderUnit(order_id=ctx.order.id, unit_id=unit.id, unit_path=unit.path, role="assist", active=True, since=ctx.now)
            )
        elif link.role != "centre":
            link.role, link.active = "assist", True
        added.append(unit.code)
    ctx.event_payload["units"] = added
    _note(ctx, p.note)


def _link_attachments(ctx: ActionContext, ids: list[str], purpose: str) -> None:
    def link(seq: int) -> None:
        for attachment_id in ids:
            ctx.session.add(OrderAttachment(order_id=ctx.order.id, attachment_id=attachment_id, event_seq=seq, purpose=purpose))

    ctx.after_event.append(link)


def _require_attachments(ctx: ActionContext, ids: list[str], kind: str | None = None) -> None:
    for attachment_id in ids:
        attachment = attachments_repository.get(ctx.session, attachment_id)
        if attachment is None or (kind and attachment.kind != kind):
            raise Invalid(
                f"附件不存在或类型不符：{attachment_id}",
                f"Attachment '{attachment_id}' does not exist or is not {kind or 'valid'}",
                code="attachment.not_found",
            )


def reply_has_photo(session: Session, ids: list[str]) -> bool:
    return any((a := attachments_repository.get(session, i)) is not None and a.kind == "image" for i in ids)


def reply(ctx: ActionContext) -> None:
    p = ctx.payload
    assert isinstance(p, ReplyIn)
    ids = list(dict.fromkeys(p.attachments))
    _require_attachments(ctx, ids)
    order = ctx.order
    order.reply_text = p.result
    order.replied_at = ctx.now
    order.has_evidence = reply_has_photo(ctx.session, ids)
    order.handling_unit_id = order.current_unit_id
    ctx.event_payload.update({"result": p.result, "attachments": ids, "unit": order.current_unit.code})
    _link_attachments(ctx, ids, "evidence")


def callback(ctx: ActionContext) -> None:
    p = ctx.payload
    assert isinstance(p, CallbackIn)
    order = ctx.order
    if p.recording:
        _require_attachments(ctx, [p.recording], kind="audio")
        _link_attachments(ctx, [p.recording], "recording")
    ctx.session.add(
        Callback(
            order_id=order.id,
            round=order.reopen_count,
            at=ctx.now,
            by_user_id=ctx.actor.user_id,
            reachable=p.reachable,
            satisfaction=p.satisfaction.value if p.satisfaction else None,
            resolved=p.resolved,
            recording_id=p.recording,
            note=p.note,
        )
    )
    ctx.event_payload.update({"reachable": p.reachable})
    _note(ctx, p.note)
    if p.reachable:
        assert p.satisfaction is not None
        order.satisfaction = p.satisfaction.value
        order.resolved = p.resolved
        order.callback_at = ctx.now
        ctx.event_payload.update({"satisfaction": p.satisfaction.value, "resolved": p.resolved, "recording": p.recording})
    else:
        order.unreachable_attempts += 1
        ctx.event_payload["attempt"] = order.unreachable_attempts
    if ctx.transition.to_status is Status.CLOSED:
        order.closed_at = ctx.now


def close(ctx: ActionContext) -> None:
    p = ctx.payload
    assert isinstance(p, CloseIn)
    order = ctx.order
    order.closed_at = ctx.now
    if p.unreasonable:
        order.excluded_from_satisfaction = True
        order.exclusion_reason = p.reason
        ctx.event_payload.update({"unreasonable": True, "reason": p.reason})
    _note(ctx, p.note)


def reopen(ctx: ActionContext) -> None:
    p = ctx.payload
    assert isinstance(p, ReasonIn)
    order = ctx.order
    unit_id = order.handling_unit_id or order.current_unit_id
    unit = units_repository.get(ctx.session, unit_id)
    assert unit is not None
    order.reopen_count += 1
    order.satisfaction = None
    order.resolved = None
    order.replied_at = None
    order.closed_at = None
    order.callback_at = None
    order.signed_at = None
    order.unreachable_attempts = 0
    ctx.event_payload.update({"reason": p.reason, "unit": unit.code, "round": order.reopen_count})
    _move_to(ctx, unit)


def request_extension(ctx: ActionContext) -> None:
    p = ctx.payload
    assert isinstance(p, ExtensionRequestIn)
    request = ExtensionRequest(
        order_id=ctx.order.id,
        requested_by_id=ctx.actor.user_id,
        requested_at=ctx.now,
        duration=p.duration,
        reason=p.reason,
        state="pending",
    )
    ctx.session.add(request)
    ctx.event_payload.update({"duration": p.duration, "reason": p.reason})


def decide_extension(ctx: ActionContext) -> None:
    p = ctx.payload
    assert isinstance(p, DecideExtensionIn)
    request = repository.pending_extension(ctx.session, ctx.order.id)
    assert request is not None  # the lifecycle guard checked it
    request.state = "approved" if p.approve else "denied"
    request.decided_by_id = ctx.actor.user_id
    request.decided_at = ctx.now
    request.decision_note = p.note
    ctx.event_payload.update({"approve": p.approve, "duration": request.duration, "request_id": request.id})
    _note(ctx, p.note)


def suspend(ctx: ActionContext) -> None:
    assert isinstance(ctx.payload, ReasonIn)
    ctx.event_payload["reason"] = ctx.payload.reason


def resume(ctx: ActionContext) -> None:
    assert isinstance(ctx.payload, NoteOptional)
    _note(ctx, ctx.payload.note)


def urge(ctx: ActionContext) -> None:
    assert isinstance(ctx.payload, UrgeIn)
    ctx.order.urge_count += 1
    ctx.event_payload.update({"note": ctx.payload.note, "unit": ctx.order.current_unit.code})


def merge(ctx: ActionContext) -> None:
    p = ctx.payload
    assert isinstance(p, MergeIn)
    order = ctx.order
    target = repository.get_by_number(ctx.session, p.into)
    if target is None or not repository.is_visible(ctx.session, target, ctx.actor):
        raise NotFound(f"目标工单不存在：{p.into}", f"No order '{p.into}' to merge into", code="order.merge_target_not_found")
    if target.id == order.id:
        raise Invalid("不能并入自身", "Cannot merge an order into itself", code="order.merge_self")
    if Status(target.status) in (Status.MERGED, Status.VOID):
        raise Conflict("目标工单已并单或作废", "The target order is merged or void", code="order.merge_target_final")
    order.merged_into_id = target.id
    order.closed_at = ctx.now
    ctx.event_payload["into"] = target.number
    _note(ctx, p.note)


def void(ctx: ActionContext) -> None:
    assert isinstance(ctx.payload, ReasonIn)
    ctx.order.closed_at = ctx.now
    ctx.event_payload["reason"] = ctx.payload.reason


def classify(ctx: ActionContext) -> None:
    """Correct the category or urgency (修改分类); the event keeps old and new values, which is
    what intake's correction statistics read."""
    p = ctx.payload
    assert isinstance(p, ClassifyIn)
    order = ctx.order
    if p.category is not None:
        category = categories_repository.get_by_code(ctx.session, p.category)
        if category is None:
            raise Invalid(f"类别不存在：{p.category}", f"Unknown category '{p.category}'", code="category.not_found")
        ctx.event_payload["category"] = {"from": order.category.code if order.category else None, "to": category.code}
        order.category_id, order.category = category.id, category
    if p.urgency is not None:
        ctx.event_payload["urgency"] = {"from": order.urgency, "to": p.urgency.value}
        order.urgency = p.urgency.value
    _note(ctx, p.note)


def note(ctx: ActionContext) -> None:
    assert isinstance(ctx.payload, NoteIn)
    ctx.event_payload["text"] = ctx.payload.text


EFFECTS: dict[Action, Callable[[ActionContext], None]] = {
    Action.ANSWER: answer,
    Action.DISPATCH: dispatch,
    Action.SIGN: sign,
    Action.RETURN: return_,
    Action.REVIEW_RETURN: review_return,
    Action.REPLY: reply,
    Action.CALLBACK: callback,
    Action.CLOSE: close,
    Action.REOPEN: reopen,
    Action.REQUEST_EXTENSION: request_extension,
    Action.DECIDE_EXTENSION: decide_extension,
    Action.SUSPEND: suspend,
    Action.RESUME: resume,
    Action.URGE: urge,
    Action.MERGE: merge,
    Action.VOID: void,
    Action.CO_HANDLE: co_handle,
    Action.NOTE: note,
    Action.CLASSIFY: classify,
}

assert set(EFFECTS) == set(Action), "every action needs an effect"
