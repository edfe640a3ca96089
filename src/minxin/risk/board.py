"""The risk board's aggregates: the map-free region breakdown (live alerts by severity, overdue
deadlines, tagged orders) shared by ``GET /api/v1/risk/regions`` and the console's ``/risk``."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from minxin.accounts.principal import Principal
from minxin.risk import alert_repository as alert_repo
from minxin.risk.presenter import region_name


def region_breakdown(session: Session, principal: Principal, now: datetime, days: int = 7) -> list[dict[str, Any]]:
    """One row per region: live alerts (by severity, overdue), alerts closed in ``days`` (false
    alarms among them) and, for principals who see every order, orders and high-risk orders
    registered in ``days``. Sorted by live alerts, then high-risk orders."""
    rows: dict[str, dict[str, Any]] = defaultdict(lambda: {
        "live": 0, "overdue": 0, "by_severity": {1: 0, 2: 0, 3: 0, 4: 0}, "closed": 0, "false_alarm": 0,
        "orders": None, "high_risk_orders": None,
    })
    since = now - timedelta(days=days)
    live, _ = alert_repo.search(session, principal, alert_repo.AlertFilter(states=alert_repo.LIVE), offset=0, limit=10_000)
    for alert in live:
        row = rows[alert.region]
        row["live"] += 1
        row["by_severity"][min(4, max(1, alert.severity))] += 1
        due = alert.ack_due_at if alert.state == "pushed" else alert.due_at
        row["overdue"] += 1 if now > due else 0
    closed = alert_repo.AlertFilter(states=("closed",), detected_from=since)
    for alert in alert_repo.search(session, principal, closed, offset=0, limit=10_000)[0]:
        rows[alert.region]["closed"] += 1
        rows[alert.region]["false_alarm"] += 1 if alert.resolution == "false_alarm" else 0
    if principal.sees_everything:
        for region, orders, high in alert_repo.tagged_orders_by_region(session, since):
            rows[region]["orders"], rows[region]["high_risk_orders"] = orders, high
    out = [
        {"region": region, "region_name": region_name(region), **data,
         "by_severity": {str(k): v for k, v in data["by_severity"].items()}}
        for region, data in rows.items()
    ]
    out.sort(key=lambda r: (-r["live"], -(r["high_risk_orders"] or 0), r["region"]))
    return out
