"""HTTP routes for work orders (thin: parse, call the service, commit, present)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Query, Response
from sqlalchemy.exc import IntegrityError

from minxin.api.deps import CurrentPrincipal, State
from minxin.core.lifecycle import RULES
from minxin.errors import Invalid
from minxin.workorders import presenters, repository, service
from minxin.workorders.schemas import OrderCreate

router = APIRouter(prefix="/api/v1", tags=["orders"])

MAX_PAGE = 200


@router.post("/orders", status_code=201, summary="Register an appeal (受理)")
def create_order(
    data: OrderCreate,
    principal: CurrentPrincipal,
    state: State,
    response: Response,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)] = None,
) -> dict[str, Any]:
    """Register a new work order. Repeating a request with the same ``Idempotency-Key``
    returns the same order (header ``Idempotent-Replayed: true``) instead of a second one."""
    now = state.clock.now()
    with state.db.reading() as session:  # classify and route before taking the write lock
        prepared = service.prepare(session, data, actor=principal, now=now)
    try:
        with state.db.unit_of_work() as session:
            order, replayed = service.register(
                session,
                data,
                actor=principal,
                now=now,
                settings=state.order_settings,
                idempotency_key=idempotency_key,
                prepared=prepared,
            )
            number = order.number
    except IntegrityError:
        if idempotency_key is None:
            raise
        # a parallel request with the same key won the race: answer with its order
        with state.db.unit_of_work() as session:
            order, replayed = service.register(
                session,
                data,
                actor=principal,
                now=state.clock.now(),
                settings=state.order_settings,
                idempotency_key=idempotency_key,
            )
            number = order.number
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    with state.db.reading() as session:
        order = service.get_visible(session, number, principal)
        if not replayed:
            presenters.mark_fresh(session, order.id)
        return presenters.detail(session, order, principal, state.tz)


def _parse_time(value: str | None, name: str) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise Invalid(f"{name} 时间格式应为 ISO 8601", f"{name} must be ISO 8601", code="invalid_time") from exc
    if parsed.tzinfo is None:
        raise Invalid(f"{name} 需要带时区", f"{name} needs a UTC offset", code="invalid_time")
    return parsed


@router.get("/orders", summary="List and search orders visible to you")
def list_orders(
    principal: CurrentPrincipal,
    state: State,
    status: Annotated[str | None, Query(description="comma-separated statuses")] = None,
    unit: str | None = None,
    category: str | None = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
    created_from: str | None = None,
    created_to: str | None = None,
    channel: str | None = None,
    appeal_type: str | None = None,
    urgency: str | None = None,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
) -> dict[str, Any]:
    flt = repository.OrderFilter(
        status=[s for s in (status or "").split(",") if s],
        unit_code=unit,
        category_code=category,
        q=q,
        created_from=_parse_time(created_from, "created_from"),
        created_to=_parse_time(created_to, "created_to"),
        channel=channel,
        appeal_type=appeal_type,
        urgency=urgency,
    )
    with state.db.reading() as session:
        orders, total = repository.search(session, principal, flt, offset=offset, limit=limit)
        items = presenters.summaries(session, orders, principal, state.tz)
    return {"items": items, "total": total, "offset": offset, "limit": limit}


@router.get("/orders/{number}", summary="One order with its whole timeline")
def get_order(number: str, principal: CurrentPrincipal, state: State) -> dict[str, Any]:
    with state.db.reading() as session:
        return presenters.detail(session, service.get_visible(session, number, principal), principal, state.tz)


@router.post("/orders/{number}/actions/{action}", summary="Act on an order (dispatch, sign, reply, ...)")
def act(
    number: str,
    action: str,
    principal: CurrentPrincipal,
    state: State,
    body: Annotated[dict[str, Any] | None, Body()] = None,
) -> dict[str, Any]:
    """Every lifecycle action. Refused actions answer 409 (state), 403 (role) or 422 (body),
    and nothing is written."""
    with state.db.unit_of_work() as session:
        service.act(session, number, action, body, actor=principal, now=state.clock.now(), settings=state.order_settings)
    with state.db.reading() as session:
        return presenters.detail(session, service.get_visible(session, number, principal), principal, state.tz)


@router.get("/lifecycle", summary="The lifecycle table every client and the UI read")
def lifecycle(_principal: CurrentPrincipal) -> list[dict[str, Any]]:
    return [
        {
            "action": r.action.value,
            "outcome": r.outcome,
            "label_zh": r.label_zh,
            "from": sorted(s.value for s in r.sources),
            "to": r.target.value if r.target else None,
            "roles": sorted(x.value for x in r.roles),
        }
        for r in RULES
    ]
