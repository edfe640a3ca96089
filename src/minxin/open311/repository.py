"""The Open311 queries: service requests and their public updates.

Who sees what: an anonymous client (GeoReport GETs carry no key) sees the requests that came in
through Open311 — the public reports; a client presenting a key sees every order its key's unit
subtree may see. Text is masked by the caller.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.orm import Session

from minxin.accounts.principal import Principal
from minxin.categories.models import Category
from minxin.core.vocabulary import Channel
from minxin.workorders import repository as orders_repository
from minxin.workorders.models import OrderEvent, WorkOrder

MAX_RESULTS = 1000


def _scoped(stmt: Select, principal: Principal | None) -> Select:  # type: ignore[type-arg]
    if principal is None:
        return stmt.where(WorkOrder.channel == Channel.OPEN311.value)
    if principal.sees_everything:
        return stmt
    return stmt.where(orders_repository.visible_clause(principal))


def by_numbers(session: Session, numbers: Sequence[str], principal: Principal | None) -> list[WorkOrder]:
    stmt = _scoped(select(WorkOrder).where(WorkOrder.number.in_(list(numbers)[:MAX_RESULTS])), principal)
    found = {o.number: o for o in session.scalars(stmt)}
    return [found[n] for n in dict.fromkeys(numbers) if n in found]


@dataclass(frozen=True)
class RequestQuery:
    start: datetime
    end: datetime
    statuses: frozenset[str] = frozenset()
    service_codes: tuple[str, ...] = ()


def search(session: Session, query: RequestQuery, principal: Principal | None) -> list[WorkOrder]:
    stmt = select(WorkOrder).where(WorkOrder.created_at >= query.start, WorkOrder.created_at <= query.end)
    if query.statuses:
        stmt = stmt.where(WorkOrder.status.in_(sorted(query.statuses)))
    if query.service_codes:
        paths = select(Category.path).where(Category.code.in_(list(query.service_codes)))
        prefixes = list(session.scalars(paths))
        if not prefixes:
            return []
        stmt = stmt.where(
            WorkOrder.category_id.in_(select(Category.id).where(or_(*[Category.path.startswith(p) for p in prefixes])))
        )
    stmt = _scoped(stmt, principal).order_by(WorkOrder.created_at.desc(), WorkOrder.id.desc()).limit(MAX_RESULTS)
    return list(session.scalars(stmt))


def events_between(
    session: Session, *, start: datetime, end: datetime, actions: Sequence[str], principal: Principal | None
) -> list[tuple[OrderEvent, WorkOrder]]:
    stmt = (
        select(OrderEvent, WorkOrder)
        .join(WorkOrder, WorkOrder.id == OrderEvent.order_id)
        .where(and_(OrderEvent.at >= start, OrderEvent.at <= end, OrderEvent.action.in_(list(actions))))
    )
    stmt = _scoped(stmt, principal).order_by(OrderEvent.at, OrderEvent.id).limit(MAX_RESULTS)
    return [(event, order) for event, order in session.execute(stmt)]


def event(session: Session, order_id: int, seq: int) -> OrderEvent | None:
    stmt = select(OrderEvent).where(OrderEvent.order_id == order_id, OrderEvent.seq == seq)
    return session.scalars(stmt).first()
