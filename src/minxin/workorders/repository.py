"""Every query about work orders. Services decide; this module only reads and writes rows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Select, and_, bindparam, exists, func, or_, select
from sqlalchemy.orm import Session

from minxin.accounts.principal import Principal
from minxin.categories.models import Category
from minxin.db.statements import upsert_insert
from minxin.units.models import Unit
from minxin.workorders.models import (
    Callback,
    ExtensionRequest,
    IdempotencyKey,
    OrderEvent,
    OrderSequence,
    OrderUnit,
    WorkOrder,
)


def next_sequence(session: Session, day: date) -> tuple[str, int]:
    """Atomically bump the per-day counter (an upsert, so parallel intakes never collide).

    On PostgreSQL the bump runs in its own autocommit transaction, like a database sequence:
    the counter row is locked for microseconds instead of for the whole intake transaction,
    so parallel intakes do not queue behind each other. A rolled-back intake therefore leaves
    a gap in the day's numbers; numbers are unique, not gap-free. On SQLite every write holds
    the database lock anyway, so the bump stays in the caller's transaction (gap-free).
    """
    key = day.strftime("%Y%m%d")
    bind = session.get_bind()
    postgres = bind.dialect.name == "postgresql"
    stmt = _bump_statement(bind.dialect.name)
    if postgres:
        engine = bind.engine if hasattr(bind, "engine") else bind
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            return key, int(conn.execute(stmt, {"day": key}).scalar_one())
    return key, int(session.execute(stmt, {"day": key}).scalar_one())


@lru_cache(maxsize=4)
def _bump_statement(dialect: str) -> Any:
    """The counter upsert, built once per dialect (a Core statement on the table: building it and
    the ORM insert path cost more than the statement itself, on every intake)."""
    table = OrderSequence.__table__
    return (
        upsert_insert(dialect)(table)
        .values(day=bindparam("day"), value=1)
        .on_conflict_do_update(index_elements=[table.c.day], set_={"value": table.c.value + 1})
        .returning(table.c.value)
    )


def subtree_ids(principal: Principal) -> Select[tuple[int]]:
    """The ids of the units in the principal's subtree (the unit table is small)."""
    return select(Unit.id).where(Unit.path.startswith(principal.unit_path))


def visible_clause(principal: Principal):  # type: ignore[no-untyped-def]
    """SQL condition: the order has been with some unit in the principal's subtree.

    Written as ``id IN (order ids of those units)`` so the planner can drive the lookup from
    the ``(unit_id, order_id)`` index instead of testing every order row.
    """
    return WorkOrder.id.in_(select(OrderUnit.order_id).where(OrderUnit.unit_id.in_(subtree_ids(principal))))


def get_by_number(session: Session, number: str, *, for_update: bool = False) -> WorkOrder | None:
    stmt = select(WorkOrder).where(WorkOrder.number == number)
    if for_update:
        stmt = stmt.with_for_update(of=WorkOrder)
    return session.scalars(stmt).first()


def get_by_id(session: Session, order_id: int) -> WorkOrder | None:
    return session.get(WorkOrder, order_id)


def is_visible(session: Session, order: WorkOrder, principal: Principal) -> bool:
    if principal.sees_everything:
        return True
    stmt = select(
        exists().where(and_(OrderUnit.order_id == order.id, OrderUnit.unit_id.in_(subtree_ids(principal))))
    )
    return bool(session.scalar(stmt))


@dataclass(frozen=True)
class OrderFilter:
    status: Sequence[str] = ()
    unit_code: str | None = None
    category_code: str | None = None
    q: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    channel: str | None = None
    appeal_type: str | None = None
    urgency: str | None = None
    phone: str | None = None


def filtered(principal: Principal, flt: OrderFilter) -> Select[tuple[WorkOrder]]:
    stmt = select(WorkOrder)
    if not principal.sees_everything:
        stmt = stmt.where(visible_clause(principal))
    if flt.status:
        stmt = stmt.where(WorkOrder.status.in_(list(flt.status)))
    if flt.unit_code:
        unit_path = select(Unit.path).where(Unit.code == flt.unit_code).scalar_subquery()
        stmt = stmt.where(
            WorkOrder.current_unit_id.in_(select(Unit.id).where(Unit.path.startswith(unit_path)))
        )
    if flt.category_code:
        cat_path = select(Category.path).where(Category.code == flt.category_code).scalar_subquery()
        stmt = stmt.where(
            WorkOrder.category_id.in_(select(Category.id).where(Category.path.startswith(cat_path)))
        )
    if flt.q:
        like = f"%{flt.q}%"
        stmt = stmt.where(
            or_(
                WorkOrder.title.ilike(like),
                WorkOrder.content.ilike(like),
                WorkOrder.address.ilike(like),
                WorkOrder.number == flt.q,
            )
        )
    if flt.created_from:
        stmt = stmt.where(WorkOrder.created_at >= flt.created_from)
    if flt.created_to:
        stmt = stmt.where(WorkOrder.created_at < flt.created_to)
    for column, value in (
        (WorkOrder.channel, flt.channel),
        (WorkOrder.appeal_type, flt.appeal_type),
        (WorkOrder.urgency, flt.urgency),
        (WorkOrder.citizen_phone, flt.phone),
    ):
        if value:
            stmt = stmt.where(column == value)
    return stmt


def search(
    session: Session, principal: Principal, flt: OrderFilter, *, offset: int, limit: int
) -> tuple[list[WorkOrder], int]:
    stmt = filtered(principal, flt)
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    rows = session.scalars(stmt.order_by(WorkOrder.created_at.desc(), WorkOrder.id.desc()).offset(offset).limit(limit))
    return list(rows), int(total)


def events_of(session: Session, order_id: int) -> list[OrderEvent]:
    return list(session.scalars(select(OrderEvent).where(OrderEvent.order_id == order_id).order_by(OrderEvent.seq)))


def last_event(session: Session, order_id: int, action: str) -> OrderEvent | None:
    stmt = (
        select(OrderEvent)
        .where(OrderEvent.order_id == order_id, OrderEvent.action == action)
        .order_by(OrderEvent.seq.desc())
        .limit(1)
    )
    return session.scalars(stmt).first()


def order_units(session: Session, order_id: int) -> list[tuple[OrderUnit, Unit]]:
    stmt = (
        select(OrderUnit, Unit)
        .join(Unit, Unit.id == OrderUnit.unit_id)
        .where(OrderUnit.order_id == order_id)
        .order_by(OrderUnit.id)
    )
    return [(ou, unit) for ou, unit in session.execute(stmt)]


def order_unit(session: Session, order_id: int, unit_id: int) -> OrderUnit | None:
    stmt = select(OrderUnit).where(OrderUnit.order_id == order_id, OrderUnit.unit_id == unit_id)
    return session.scalars(stmt).first()


def callbacks_of(session: Session, order_id: int) -> list[Callback]:
    return list(session.scalars(select(Callback).where(Callback.order_id == order_id).order_by(Callback.id)))


def extensions_of(session: Session, order_id: int) -> list[ExtensionRequest]:
    stmt = select(ExtensionRequest).where(ExtensionRequest.order_id == order_id).order_by(ExtensionRequest.id)
    return list(session.scalars(stmt))


def pending_extension(session: Session, order_id: int) -> ExtensionRequest | None:
    stmt = select(ExtensionRequest).where(
        ExtensionRequest.order_id == order_id, ExtensionRequest.state == "pending"
    )
    return session.scalars(stmt).first()


def idempotency_key(session: Session, user_id: int, key: str) -> IdempotencyKey | None:
    stmt = select(IdempotencyKey).where(IdempotencyKey.user_id == user_id, IdempotencyKey.key == key)
    return session.scalars(stmt).first()


def status_counts(session: Session, principal: Principal) -> dict[str, int]:
    stmt = select(WorkOrder.status, func.count()).group_by(WorkOrder.status)
    if not principal.sees_everything:
        stmt = stmt.where(visible_clause(principal))
    return {status: int(n) for status, n in session.execute(stmt)}
