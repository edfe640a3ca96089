"""Read-only queries only the console needs (the supervision board). All SQL of ``web/``.

They reuse ``workorders.repository.visible_clause`` so the board never shows an order the
user could not open.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from minxin.accounts.principal import Principal
from minxin.units.models import Unit
from minxin.workorders.models import ExtensionRequest, WorkOrder
from minxin.workorders.repository import visible_clause


@dataclass(frozen=True)
class UnitLoad:
    code: str
    name: str
    counts: dict[str, int]
    total: int
    oldest_change: datetime | None
    urges: int


def _visible(stmt, principal: Principal):  # type: ignore[no-untyped-def]
    return stmt if principal.sees_everything else stmt.where(visible_clause(principal))


def unit_loads(session: Session, principal: Principal, statuses: Sequence[str]) -> list[UnitLoad]:
    """Open orders per current unit: counts by status, the oldest status change, urges."""
    stmt = (
        select(
            Unit.code,
            Unit.name,
            WorkOrder.status,
            func.count(WorkOrder.id),
            func.min(WorkOrder.status_changed_at),
            func.coalesce(func.sum(WorkOrder.urge_count), 0),
        )
        .join(Unit, Unit.id == WorkOrder.current_unit_id)
        .where(WorkOrder.status.in_(list(statuses)))
        .group_by(Unit.code, Unit.name, WorkOrder.status)
    )
    rows: dict[str, dict] = {}
    for code, name, status, count, oldest, urges in session.execute(_visible(stmt, principal)):
        row = rows.setdefault(code, {"name": name, "counts": {}, "oldest": None, "urges": 0})
        row["counts"][status] = int(count)
        row["urges"] += int(urges or 0)
        if oldest is not None and (row["oldest"] is None or oldest < row["oldest"]):
            row["oldest"] = oldest
    loads = [
        UnitLoad(code, r["name"], r["counts"], sum(r["counts"].values()), r["oldest"], r["urges"])
        for code, r in rows.items()
    ]
    return sorted(loads, key=lambda u: (-u.total, u.code))


def stale_orders(session: Session, principal: Principal, statuses: Sequence[str], limit: int) -> list[WorkOrder]:
    """Open orders that have stayed longest in their current status (oldest change first)."""
    stmt = (
        select(WorkOrder)
        .where(WorkOrder.status.in_(list(statuses)))
        .order_by(WorkOrder.status_changed_at.asc(), WorkOrder.id.asc())
        .limit(limit)
    )
    return list(session.scalars(_visible(stmt, principal)))


def pending_extensions(session: Session, principal: Principal, limit: int) -> list[tuple[ExtensionRequest, WorkOrder]]:
    """Extension requests awaiting a decision, oldest first, on orders the user may see."""
    stmt = (
        select(ExtensionRequest, WorkOrder)
        .join(WorkOrder, WorkOrder.id == ExtensionRequest.order_id)
        .where(ExtensionRequest.state == "pending")
        .order_by(ExtensionRequest.requested_at.asc())
        .limit(limit)
    )
    return [(x, o) for x, o in session.execute(_visible(stmt, principal))]


def most_urged(session: Session, principal: Principal, statuses: Sequence[str], limit: int) -> list[WorkOrder]:
    stmt = (
        select(WorkOrder)
        .where(WorkOrder.status.in_(list(statuses)), WorkOrder.urge_count > 0)
        .order_by(WorkOrder.urge_count.desc(), WorkOrder.status_changed_at.asc())
        .limit(limit)
    )
    return list(session.scalars(_visible(stmt, principal)))
