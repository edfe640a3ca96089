"""``/supervision``: the supervision board (督办).

What exists now: open orders per unit (counts by status, the oldest status change, urges),
the orders stuck longest in their status and the most urged ones with a one-click urge,
and the extension requests awaiting approval. Overdue and warned orders by unit appear once
the SLA engine fills ``extensions.overdue_search``; until then that panel says "尚未启用".
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from minxin.api.deps import State
from minxin.api.state import AppState
from minxin.core.lifecycle import Facts, possible_actions
from minxin.core.vocabulary import Action, Role, Status
from minxin.web import auth, extensions, queues, render
from minxin.web import repository as board
from minxin.web.routes.queues import rows_for
from minxin.workorders import repository
from minxin.workorders.models import WorkOrder

router = APIRouter(include_in_schema=False)

ROLES = (Role.SUPERVISOR, Role.LEADER, Role.ADMIN)
LIMIT = 20
URGE_NOTE = "请加快办理，按时办结并及时回复。"


def age(since: datetime | None, now: datetime) -> str:
    """"3天4小时" — how long something has waited."""
    if since is None:
        return ""
    minutes = max(0, int((now - since).total_seconds() // 60))
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days}天{hours}小时"
    return f"{hours}小时{mins}分" if hours else f"{mins}分钟"


def _by_unit(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    groups: dict[str, dict[str, Any]] = {}
    for row in rows:
        unit = row.get("current_unit") or {"code": "", "name": "（未派单）"}
        groups.setdefault(unit["code"], {"unit": unit, "rows": []})["rows"].append(row)
    return sorted(groups.values(), key=lambda g: -len(g["rows"]))


def _sla_lists(session: Session, user: auth.WebUser, state: AppState) -> dict[str, Any] | None:
    if extensions.overdue_search is None:
        return None
    out = {}
    flt = repository.OrderFilter(status=list(queues.OPEN))
    for kind in ("overdue", "warning"):
        orders, total = extensions.overdue_search(session, user.principal, flt, kind, 0, 100)
        out[kind] = {"groups": _by_unit(rows_for(session, user, orders, state)), "total": total}
    return out


def _with_age(session: Session, user: auth.WebUser, state: AppState, orders: list[WorkOrder]) -> list[dict[str, Any]]:
    now = state.clock.now()
    rows = rows_for(session, user, orders, state)
    for row, order in zip(rows, orders, strict=True):
        row["_age"] = age(order.status_changed_at, now)
        row["_can_urge"] = Action.URGE in possible_actions(Status(order.status), Facts(role=user.role))
    return rows


@router.get("/supervision")
def supervision_board(request: Request, state: State) -> Response:
    user = auth.current_user(request, state)
    auth.require(*ROLES)(user)
    now = state.clock.now()
    pending_statuses = (*queues.WORKING, Status.RETURNED.value)
    with state.db.reading() as session:
        loads = board.unit_loads(session, user.principal, pending_statuses)
        stale = _with_age(session, user, state, board.stale_orders(session, user.principal, queues.OPEN, LIMIT))
        urged = _with_age(session, user, state, board.most_urged(session, user.principal, queues.OPEN, LIMIT))
        extension_rows = []
        for request_row, order in board.pending_extensions(session, user.principal, 50):
            can_decide = Action.DECIDE_EXTENSION in possible_actions(
                Status(order.status), Facts(role=user.role, pending_extension=True)
            )
            extension_rows.append({
                "number": order.number,
                "title": order.title,
                "unit": order.current_unit.name,
                "duration": request_row.duration,
                "reason": request_row.reason,
                "requested_at": request_row.requested_at.astimezone(state.tz).isoformat(),
                "waited": age(request_row.requested_at, now),
                "can_decide": can_decide,
                "version": order.version,
                "status": order.status,
            })
        sla = _sla_lists(session, user, state)
    ctx = {
        "loads": [
            {"unit": u, "oldest": age(u.oldest_change, now)} for u in loads
        ],
        "stale": stale,
        "urged": urged,
        "extensions": extension_rows,
        "sla": sla,
        "urge_note": URGE_NOTE,
    }
    return render.page(request, "supervision.html", ctx, user=user, title="督办")
