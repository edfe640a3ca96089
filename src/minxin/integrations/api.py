"""HTTP routes of the integrations domain (thin): inbound/outbound transfers between hotlines,
emergency hand-offs, plus the admin routes of ``admin_api`` (keys, webhooks, dead letters).

Machines authenticate with ``Authorization: Bearer mxk_...`` or ``X-API-Key`` (see ``auth``);
transfer routes need the key scope ``transfers``, hand-offs ``orders``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from sqlalchemy.exc import IntegrityError

from minxin.api.deps import CurrentPrincipal, State
from minxin.integrations import admin_api, repository, transfers
from minxin.integrations.schemas import (
    AcknowledgeIn,
    HandoffIn,
    OutboundTransferIn,
    TransferIn,
    TransferUpdateIn,
)
from minxin.workorders import repository as orders_repository
from minxin.workorders import service as orders

transfers_router = APIRouter(prefix="/api/v1", tags=["transfers & hand-offs"])


@transfers_router.post("/transfers", status_code=201, summary="Receive an order from another hotline (idempotent on sender_id)")
def receive_transfer(data: TransferIn, principal: CurrentPrincipal, state: State, response: Response) -> dict[str, Any]:
    """Registers the order once per ``(sender, sender_id)``: a repeat answers 200 with the same
    order and the header ``Idempotent-Replayed: true``. Status changes go back to the sender
    through its key's webhook subscriptions."""

    def once() -> tuple[dict[str, Any], bool]:
        with state.db.unit_of_work() as session:
            order, link, replayed = transfers.receive(session, data, actor=principal, now=state.clock.now(),
                                                      settings=state.order_settings)
            return transfers.link_dict(link, order, state.tz), replayed

    try:
        body, replayed = once()
    except IntegrityError:
        body, replayed = once()  # a parallel push of the same sender_id won: answer with its order
    if replayed:
        response.status_code = 200
        response.headers["Idempotent-Replayed"] = "true"
    return body


@transfers_router.get("/transfers/{system}/{external_id}", summary="A transfer by the other system's id")
def get_transfer(system: str, external_id: str, principal: CurrentPrincipal, state: State) -> dict[str, Any]:
    with state.db.reading() as session:
        link, order = transfers.find(session, system, external_id, principal)
        return transfers.link_dict(link, order, state.tz)


@transfers_router.post("/transfers/{system}/{external_id}/updates", summary="The other hotline reports progress (a note)")
def transfer_update(
    system: str, external_id: str, data: TransferUpdateIn, principal: CurrentPrincipal, state: State
) -> dict[str, Any]:
    with state.db.unit_of_work() as session:
        order = transfers.post_update(session, system, external_id, text=data.text, status=data.status,
                                      actor=principal, now=state.clock.now(), settings=state.order_settings)
        return {"number": order.number, "status": order.status, "seq": order.event_count}


@transfers_router.post("/transfers/outbound/{link_id}/ack", summary="The receiving hotline acknowledges with its own id")
def acknowledge(link_id: int, data: AcknowledgeIn, principal: CurrentPrincipal, state: State) -> dict[str, Any]:
    with state.db.unit_of_work() as session:
        link = transfers.acknowledge(session, link_id, external_id=data.external_id, actor=principal,
                                     now=state.clock.now())
        return transfers.link_dict(link, orders_repository.get_by_id(session, link.order_id), state.tz)


@transfers_router.post("/orders/{number}/transfers", status_code=201, summary="Transfer an order to another hotline (e.g. 95598)")
def transfer_out(number: str, data: OutboundTransferIn, principal: CurrentPrincipal, state: State) -> dict[str, Any]:
    with state.db.unit_of_work() as session:
        link = transfers.send_out(session, number, target=data.target, note=data.note, actor=principal,
                                  now=state.clock.now(), settings=state.order_settings)
        return transfers.link_dict(link, orders_repository.get_by_id(session, link.order_id), state.tz)


@transfers_router.post("/orders/{number}/handoff", status_code=201, summary="Record an emergency hand-off to 110/119/120")
def handoff(number: str, data: HandoffIn, principal: CurrentPrincipal, state: State) -> dict[str, Any]:
    with state.db.unit_of_work() as session:
        row = transfers.handoff(session, number, target=data.target, note=data.note, at=data.at, actor=principal,
                                now=state.clock.now(), settings=state.order_settings)
        return transfers.handoff_dict(row, state.tz) | {"number": number}


@transfers_router.get("/orders/{number}/handoffs", summary="Hand-offs of an order")
def list_handoffs(number: str, principal: CurrentPrincipal, state: State) -> list[dict[str, Any]]:
    with state.db.reading() as session:
        order = orders.get_visible(session, number, principal)
        return [transfers.handoff_dict(h, state.tz) for h in repository.handoffs_of(session, order.id)]


#: what ``minxin.wiring`` mounts: transfers and hand-offs, and the admin routes
router = APIRouter()
router.include_router(transfers_router)
router.include_router(admin_api.router)
