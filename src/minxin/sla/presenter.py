"""The SLA parts of the order API: the ``deadlines`` section, ``sla_verdict`` and the list badge.

Stored rows carry due/warning instants; the live state (ok/warning/overdue/paused) is derived
here at read time with the application's clock (``minxin.sla.live``), so it is always current
without the scanner having to touch the rows.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from minxin.accounts.principal import Principal
from minxin.sla import live, repository
from minxin.sla.deadlines import KIND_ORDER, KIND_ZH
from minxin.sla.models import OrderDeadline, SlaAlert
from minxin.sla.timeline import FINAL_STATUSES
from minxin.workorders.models import WorkOrder
from minxin.workorders.presenters import is_fresh

STATE_ZH = {
    "ok": "正常",
    "warning": "预警",
    "overdue": "超期",
    "paused": "已暂停",
    "met": "已完成",
    "missed": "超期未完成",
    "cancelled": "已终止",
}


def _iso(value: datetime | None, tz: ZoneInfo) -> str | None:
    return value.astimezone(tz).isoformat() if value is not None else None


def _warning(row: OrderDeadline) -> str | None:
    if not row.unofficial_years:
        return None
    years = ", ".join(str(y) for y in row.unofficial_years)
    return (
        f"no official schedule for {years}: this deadline was computed with weekends only, holidays and "
        f"make-up working days are unknown (无{years}年官方节假日安排，仅按周末计算); import it with "
        "`minxin calendar import` or POST /api/v1/calendar/import"
    )


def clock_dict(row: OrderDeadline, alerts: list[SlaAlert], tz: ZoneInfo, now: datetime, last_round: int) -> dict[str, Any]:
    state = live.state_of(row.state, row.due_at, row.warn_at, row.paused_since, now)
    explanation = row.explanation or {}
    return {
        "kind": row.kind,
        "label_zh": f"{KIND_ZH.get(row.kind, row.kind)}时限",
        "round": row.round,
        "seq": row.seq,
        "unit": row.unit_code,
        "current": row.round == last_round and row.state == "running",
        "policy": row.policy_code,
        "duration": row.duration,
        "rule": explanation.get("rule"),
        "rule_zh": explanation.get("rule_zh"),
        "started_at": _iso(row.started_at, tz),
        "due_at": _iso(row.due_at, tz),
        "warn_at": _iso(row.warn_at, tz),
        "paused_since": _iso(row.paused_since, tz),
        "state": state,
        "state_zh": STATE_ZH.get(state, state),
        "met_at": _iso(row.met_at, tz),
        "ended_at": _iso(row.ended_at, tz),
        "verdict": row.verdict,
        "unofficial_schedule_warning": _warning(row),
        "alerts": [
            {"level": a.level, "due_at": _iso(a.due_at, tz), "recorded_at": _iso(a.recorded_at, tz)}
            for a in alerts
            if (a.round, a.kind, a.seq) == (row.round, row.kind, row.seq)
        ],
        "explanation": explanation,
    }


def deadlines_section(session: Session, order: WorkOrder, _principal: Principal, tz: ZoneInfo) -> list[dict[str, Any]]:
    """``deadlines``: every clock of the order (all rounds), oldest round first."""
    rows = repository.deadlines_of(session, order.id)
    if not rows:
        return []
    # an order just registered by this request has no alerts yet (the scan raises them later)
    alerts = [] if is_fresh(session, order) else repository.alerts_of(session, order.id)
    now = live.now()
    last = max(r.round for r in rows)
    rows.sort(key=lambda r: (r.round, r.seq, KIND_ORDER.get(r.kind, 9)))
    return [clock_dict(r, alerts, tz, now, last) for r in rows]


def verdict_of(rows: list[OrderDeadline]) -> str | None:
    verdicts = [r.verdict for r in rows if r.verdict]
    if "overdue" in verdicts:
        return "overdue"
    return "on_time"


def verdict_section(session: Session, order: WorkOrder, _principal: Principal, _tz: ZoneInfo) -> str | None:
    """``sla_verdict``: frozen when the order is closed/merged/void — ``overdue`` if any clock of
    any round finished late, else ``on_time``; ``None`` while the order is open."""
    if order.status not in FINAL_STATUSES:
        return None
    rows = repository.deadlines_of(session, order.id)
    return verdict_of(rows) if rows else None


def badge_field(session: Session, orders: list[WorkOrder], tz: ZoneInfo) -> dict[int, Any]:
    """``deadline`` on list rows: the most pressing running clock (earliest due; a paused one last)."""
    rows = repository.running_deadlines_of(session, [o.id for o in orders])
    if not rows:
        return {}
    now = live.now()
    best: dict[int, OrderDeadline] = {}
    for r in rows:
        cur = best.get(r.order_id)
        if cur is None or _urgency(r) < _urgency(cur):
            best[r.order_id] = r
    return {
        oid: {
            "kind": r.kind,
            "due_at": _iso(r.due_at, tz),
            "warn_at": _iso(r.warn_at, tz),
            "state": live.state_of(r.state, r.due_at, r.warn_at, r.paused_since, now),
            "unit": r.unit_code,
        }
        for oid, r in best.items()
    }


def _urgency(row: OrderDeadline) -> tuple[int, float, int]:
    if row.due_at is None:
        return (1, 0.0, KIND_ORDER.get(row.kind, 9))
    return (0, row.due_at.timestamp(), KIND_ORDER.get(row.kind, 9))
