"""The queries that feed the detectors: order events in a time window and daily counts.

Every query is a range scan on an indexed time column (``work_orders.created_at``,
``order_events.at``, ``sla_alerts.recorded_at``) bounded by the scan window, so an incremental
scan reads only what arrived since the previous one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, literal, select
from sqlalchemy.orm import Session

from minxin.categories.models import Category
from minxin.risk.models import OrderRiskProfile, TagQueueEntry
from minxin.workorders.models import OrderEvent, WorkOrder

#: order actions that are steps of a handling loop (OverdueChainDetector)
STEP_ACTIONS = ("return", "reopen")


@dataclass(frozen=True, slots=True)
class OrderRow:
    """What a detector event needs of an order (``profiled``: risk tagging has seen it)."""

    id: int
    at: datetime
    region: str
    category: str
    text: str
    subjects: tuple[str, ...]
    parent_id: int | None
    profiled: bool


def _order_columns() -> tuple[Any, ...]:
    return (
        WorkOrder.id, WorkOrder.created_at,
        func.coalesce(OrderRiskProfile.region, WorkOrder.region_code, literal("")),
        func.coalesce(OrderRiskProfile.category_code, Category.code, literal("")),
        WorkOrder.title, WorkOrder.content, OrderRiskProfile.subjects, WorkOrder.merged_into_id,
        OrderRiskProfile.order_id,
    )


def _row(r: Any) -> OrderRow:
    return OrderRow(int(r[0]), r[1], str(r[2] or "")[:6], str(r[3] or ""), f"{r[4]} {r[5]}", tuple(r[6] or ()),
                    int(r[7]) if r[7] is not None else None, r[8] is not None)


def created_between(session: Session, since: datetime, until: datetime, limit: int = 200_000) -> list[OrderRow]:
    """Orders created in ``[since, until]``, oldest first (with their risk profile when tagged)."""
    stmt = (
        select(*_order_columns())
        .outerjoin(OrderRiskProfile, OrderRiskProfile.order_id == WorkOrder.id)
        .outerjoin(Category, Category.id == WorkOrder.category_id)
        .where(WorkOrder.created_at >= since, WorkOrder.created_at <= until)
        .order_by(WorkOrder.created_at, WorkOrder.id)
        .limit(limit)
    )
    return [_row(r) for r in session.execute(stmt)]


def orders_by_ids(session: Session, order_ids: Sequence[int]) -> dict[int, OrderRow]:
    if not order_ids:
        return {}
    stmt = (
        select(*_order_columns())
        .outerjoin(OrderRiskProfile, OrderRiskProfile.order_id == WorkOrder.id)
        .outerjoin(Category, Category.id == WorkOrder.category_id)
        .where(WorkOrder.id.in_(list(set(order_ids))))
    )
    return {row.id: row for row in (_row(r) for r in session.execute(stmt))}


def steps_between(session: Session, since: datetime, until: datetime) -> list[tuple[int, datetime, str, int]]:
    """(order id, at, action, seq) of returns and reopens in ``[since, until]``, oldest first."""
    stmt = (
        select(OrderEvent.order_id, OrderEvent.at, OrderEvent.action, OrderEvent.seq)
        .where(OrderEvent.action.in_(STEP_ACTIONS), OrderEvent.at >= since, OrderEvent.at <= until)
        .order_by(OrderEvent.at, OrderEvent.id)
    )
    return [(int(o), at, str(a), int(s)) for o, at, a, s in session.execute(stmt)]


def overdue_between(session: Session, since: datetime, until: datetime) -> list[tuple[int, datetime, int]]:
    """(order id, at, round) of the SLA engine's recorded *handling* overdues in the window: one
    per order and round, so a late order is one chain step, not one per clock."""
    try:
        from minxin.sla.models import SlaAlert
    except ImportError:  # pragma: no cover - the SLA domain is not installed
        return []
    stmt = (
        select(SlaAlert.order_id, func.min(SlaAlert.recorded_at), SlaAlert.round)
        .where(SlaAlert.level == "overdue", SlaAlert.kind == "handle",
               SlaAlert.recorded_at >= since, SlaAlert.recorded_at <= until)
        .group_by(SlaAlert.order_id, SlaAlert.round)
    )
    rows = [(int(o), at, int(r)) for o, at, r in session.execute(stmt)]
    return sorted(rows, key=lambda x: (x[1], x[0]))


def overdue_counts(session: Session, order_ids: Sequence[int]) -> dict[int, int]:
    """Handling overdues (rounds) per order, for the ``overdue`` tagging count."""
    try:
        from minxin.sla.models import SlaAlert
    except ImportError:  # pragma: no cover
        return {}
    if not order_ids:
        return {}
    stmt = (
        select(SlaAlert.order_id, func.count(func.distinct(SlaAlert.round)))
        .where(SlaAlert.level == "overdue", SlaAlert.kind == "handle", SlaAlert.order_id.in_(list(order_ids)))
        .group_by(SlaAlert.order_id)
    )
    return {int(o): int(n) for o, n in session.execute(stmt)}


def daily_counts(session: Session, since: datetime, until: datetime,
                 offset_hours: int) -> list[tuple[date, str, str, int]]:
    """(local day, category, region, orders) for orders created in ``[since, until)``, grouped in
    the database (400 days of a city hotline is ~10⁵ rows; this returns ~10⁴ cells × days)."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        day = func.date(WorkOrder.created_at + func.make_interval(0, 0, 0, 0, offset_hours))
    else:
        day = func.date(WorkOrder.created_at, f"{offset_hours:+d} hours")
    category = func.coalesce(OrderRiskProfile.category_code, Category.code, literal(""))
    region = func.coalesce(OrderRiskProfile.region, WorkOrder.region_code, literal(""))
    stmt = (
        select(day, category, region, func.count())
        .select_from(WorkOrder)
        .outerjoin(OrderRiskProfile, OrderRiskProfile.order_id == WorkOrder.id)
        .outerjoin(Category, Category.id == WorkOrder.category_id)
        .where(WorkOrder.created_at >= since, WorkOrder.created_at < until)
        .group_by(day, category, region)
    )
    out = []
    for d, c, r, n in session.execute(stmt):
        out.append((d if isinstance(d, date) else date.fromisoformat(str(d)), str(c or ""), str(r or "")[:6], int(n)))
    return out


def untagged_since(session: Session, since: datetime, limit: int) -> list[WorkOrder]:
    """Orders created since ``since`` that risk tagging has not seen (registered before the risk
    domain was installed, or by a path without hooks): the scan backfills them."""
    stmt = (
        select(WorkOrder)
        .outerjoin(OrderRiskProfile, OrderRiskProfile.order_id == WorkOrder.id)
        .where(WorkOrder.created_at >= since, OrderRiskProfile.order_id.is_(None),
               ~select(TagQueueEntry.order_id).where(TagQueueEntry.order_id == WorkOrder.id).exists())
        .order_by(WorkOrder.created_at, WorkOrder.id)
        .limit(limit)
    )
    return list(session.scalars(stmt))


def numbers_of(session: Session, order_ids: Sequence[int]) -> dict[int, str]:
    if not order_ids:
        return {}
    stmt = select(WorkOrder.id, WorkOrder.number).where(WorkOrder.id.in_(list(set(order_ids))))
    return {int(i): str(n) for i, n in session.execute(stmt)}

