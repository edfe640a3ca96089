"""Every query about risk alerts, their orders and actions, unit routing and the scan lease."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, case, func, select, update
from sqlalchemy.orm import Session

from minxin.accounts.principal import Principal
from minxin.risk.models import AlertAction, AlertOrder, OrderRiskProfile, RiskAlert, ScanLease
from minxin.risk.repository import _insert
from minxin.units.models import Unit
from minxin.workorders.models import WorkOrder

LIVE = ("pushed", "acknowledged", "intervening")


# ------------------------------------------------------------------------------------ alerts
def live_alerts(session: Session) -> list[RiskAlert]:
    return list(session.scalars(select(RiskAlert).where(RiskAlert.state != "closed").order_by(RiskAlert.id)))


def false_alarm_keys(session: Session, since: datetime) -> set[str]:
    """Dedup keys of alerts closed as false alarms since ``since`` (their episodes stay quiet)."""
    stmt = select(RiskAlert.dedup_key).where(
        RiskAlert.state == "closed", RiskAlert.resolution == "false_alarm", RiskAlert.closed_at >= since
    )
    return {str(k) for k in session.scalars(stmt)}


def order_ids_of(session: Session, alert_ids: Sequence[int]) -> dict[int, set[int]]:
    out: dict[int, set[int]] = defaultdict(set)
    if not alert_ids:
        return out
    stmt = select(AlertOrder.alert_id, AlertOrder.order_id).where(AlertOrder.alert_id.in_(list(alert_ids)))
    for alert_id, order_id in session.execute(stmt):
        out[int(alert_id)].add(int(order_id))
    return out


def add_alert(session: Session, alert: RiskAlert) -> RiskAlert:
    session.add(alert)
    session.flush()
    return alert


def attach_orders(session: Session, alert_id: int, order_ids: Sequence[int], at: datetime) -> None:
    if not order_ids:
        return
    rows = [{"alert_id": alert_id, "order_id": o, "attached_at": at} for o in order_ids]
    session.execute(
        _insert(session)(AlertOrder).values(rows).on_conflict_do_nothing(index_elements=["alert_id", "order_id"])
    )


def alert(session: Session, alert_id: int, *, for_update: bool = False) -> RiskAlert | None:
    stmt = select(RiskAlert).where(RiskAlert.id == alert_id)
    if for_update:
        stmt = stmt.with_for_update()
    return session.scalars(stmt).first()


def _scoped(principal: Principal) -> Select[tuple[RiskAlert]]:
    stmt = select(RiskAlert)
    if not principal.sees_everything:
        stmt = stmt.where(RiskAlert.unit_path.startswith(principal.unit_path))
    return stmt


def is_visible(alert_row: RiskAlert, principal: Principal) -> bool:
    return principal.sees_everything or alert_row.unit_path.startswith(principal.unit_path)


@dataclass(frozen=True)
class AlertFilter:
    states: Sequence[str] = ()
    unit_path: str | None = None
    detector: str | None = None
    region: str | None = None
    detected_from: datetime | None = None
    detected_to: datetime | None = None


def search(session: Session, principal: Principal, flt: AlertFilter, *, offset: int, limit: int) -> tuple[list[RiskAlert], int]:
    stmt = _scoped(principal)
    if flt.states:
        stmt = stmt.where(RiskAlert.state.in_(list(flt.states)))
    if flt.unit_path:
        stmt = stmt.where(RiskAlert.unit_path.startswith(flt.unit_path))
    if flt.detector:
        stmt = stmt.where(RiskAlert.detector == flt.detector)
    if flt.region:
        stmt = stmt.where(RiskAlert.region.startswith(flt.region))
    if flt.detected_from:
        stmt = stmt.where(RiskAlert.detected_at >= flt.detected_from)
    if flt.detected_to:
        stmt = stmt.where(RiskAlert.detected_at < flt.detected_to)
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    rows = session.scalars(
        stmt.order_by(RiskAlert.severity.desc(), RiskAlert.detected_at.desc(), RiskAlert.id.desc()).offset(offset).limit(limit)
    )
    return list(rows), int(total)


def alert_orders(session: Session, alert_id: int) -> list[tuple[AlertOrder, WorkOrder]]:
    stmt = (
        select(AlertOrder, WorkOrder)
        .join(WorkOrder, WorkOrder.id == AlertOrder.order_id)
        .where(AlertOrder.alert_id == alert_id)
        .order_by(WorkOrder.created_at, WorkOrder.id)
    )
    return [(a, o) for a, o in session.execute(stmt)]


def actions_of(session: Session, alert_id: int) -> list[AlertAction]:
    return list(session.scalars(select(AlertAction).where(AlertAction.alert_id == alert_id).order_by(AlertAction.id)))


def alerts_of_order(session: Session, order_id: int) -> list[RiskAlert]:
    stmt = (
        select(RiskAlert)
        .join(AlertOrder, AlertOrder.alert_id == RiskAlert.id)
        .where(AlertOrder.order_id == order_id)
        .order_by(RiskAlert.id)
    )
    return list(session.scalars(stmt))


def units_by_ids(session: Session, unit_ids: Sequence[int]) -> dict[int, Unit]:
    if not unit_ids:
        return {}
    return {u.id: u for u in session.scalars(select(Unit).where(Unit.id.in_(list(set(unit_ids)))))}


def stats(session: Session, principal: Principal, since: datetime | None) -> list[tuple[str, str, str, str | None, int]]:
    """(detector, region, state, resolution, count) over the principal's alerts detected since ``since``."""
    base = _scoped(principal)
    if since is not None:
        base = base.where(RiskAlert.detected_at >= since)
    sub = base.subquery()
    stmt = select(sub.c.detector, sub.c.region, sub.c.state, sub.c.resolution, func.count()).group_by(
        sub.c.detector, sub.c.region, sub.c.state, sub.c.resolution
    )
    return [(str(a), str(b), str(c), d, int(n)) for a, b, c, d, n in session.execute(stmt)]


def tagged_orders_by_region(session: Session, since: datetime) -> list[tuple[str, int, int]]:
    """(region, orders, orders with a tag of severity ≥ 3) created since ``since``."""
    high = func.sum(case((OrderRiskProfile.max_severity >= 3, 1), else_=0))
    stmt = (
        select(OrderRiskProfile.region, func.count(), high)
        .where(OrderRiskProfile.created_at >= since)
        .group_by(OrderRiskProfile.region)
    )
    return [(str(r or ""), int(n), int(h or 0)) for r, n, h in session.execute(stmt)]


# ------------------------------------------------------------------------------------ routing
def current_units_of(session: Session, order_ids: Sequence[int]) -> list[tuple[int, int]]:
    """(current unit id, unit depth) of each order (the unit already holding it)."""
    if not order_ids:
        return []
    stmt = (
        select(WorkOrder.current_unit_id, Unit.depth)
        .join(Unit, Unit.id == WorkOrder.current_unit_id)
        .where(WorkOrder.id.in_(list(order_ids)))
    )
    return [(int(u), int(d)) for u, d in session.execute(stmt)]


def usual_handler(session: Session, region: str, category_prefix: str, since: datetime) -> int | None:
    """The unit that handled most orders of this category (prefix) in this region since ``since``."""
    if not region or not category_prefix:
        return None
    stmt = (
        select(WorkOrder.handling_unit_id, func.count().label("n"))
        .join(OrderRiskProfile, OrderRiskProfile.order_id == WorkOrder.id)
        .where(
            OrderRiskProfile.region == region,
            OrderRiskProfile.category_code.startswith(category_prefix),
            OrderRiskProfile.created_at >= since,
            WorkOrder.handling_unit_id.is_not(None),
        )
        .group_by(WorkOrder.handling_unit_id)
        .order_by(func.count().desc(), WorkOrder.handling_unit_id)
        .limit(1)
    )
    row = session.execute(stmt).first()
    return int(row[0]) if row else None


def units_of_region(session: Session, region: str) -> list[Unit]:
    """Active units whose region code is ``region`` (shallowest first)."""
    stmt = select(Unit).where(Unit.region_code == region, Unit.active.is_(True)).order_by(Unit.depth, Unit.id)
    return list(session.scalars(stmt))


def root_unit(session: Session) -> Unit | None:
    return session.scalars(select(Unit).where(Unit.parent_id.is_(None)).order_by(Unit.id).limit(1)).first()


def unit(session: Session, unit_id: int) -> Unit | None:
    return session.get(Unit, unit_id)


def unit_by_code(session: Session, code: str) -> Unit | None:
    return session.scalars(select(Unit).where(Unit.code == code)).first()


# -------------------------------------------------------------------------------------- lease
def ensure_lease(session: Session, name: str) -> None:
    stmt = _insert(session)(ScanLease).values(name=name, last_result={}).on_conflict_do_nothing(index_elements=["name"])
    session.execute(stmt)


def try_acquire(session: Session, name: str, owner: str, now: datetime, until: datetime) -> bool:
    """Claim the lease with one conditional UPDATE: free, expired, or already ours."""
    stmt = (
        update(ScanLease)
        .where(
            ScanLease.name == name,
            (ScanLease.owner.is_(None)) | (ScanLease.expires_at.is_(None)) | (ScanLease.expires_at <= now)
            | (ScanLease.owner == owner),
        )
        .values(owner=owner, expires_at=until)
    )
    return bool(session.execute(stmt).rowcount == 1)  # type: ignore[attr-defined]


def lease(session: Session, name: str, *, for_update: bool = False) -> ScanLease | None:
    stmt = select(ScanLease).where(ScanLease.name == name)
    if for_update:
        stmt = stmt.with_for_update()
    return session.scalars(stmt).first()


def release(session: Session, name: str, owner: str, *, watermark: datetime | None, result: dict[str, Any]) -> bool:
    """Free the lease (only if still ours) and record the watermark; False if it was lost."""
    values: dict[str, Any] = {"owner": None, "expires_at": None, "last_result": result}
    if watermark is not None:
        values["watermark"] = watermark
    stmt = update(ScanLease).where(ScanLease.name == name, ScanLease.owner == owner).values(**values)
    return bool(session.execute(stmt).rowcount == 1)  # type: ignore[attr-defined]
