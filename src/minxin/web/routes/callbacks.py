"""``/callbacks``: the callback (回访) console — the queue of replied orders and, per order, the
script, the reply being checked, satisfaction/resolution, the recording and unreachable attempts.

The form posts to the order's ``callback`` action with ``view=callback``; after a successful
callback the agent lands back on the queue, ready for the next call.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from minxin.api.deps import State
from minxin.core.vocabulary import Role, Status
from minxin.web import auth, render
from minxin.web.routes.orders import show
from minxin.web.routes.queues import PAGE_SIZE, rows_for
from minxin.workorders import repository

router = APIRouter(include_in_schema=False)

ROLES = (Role.AGENT, Role.SUPERVISOR, Role.LEADER, Role.ADMIN)


@router.get("/callbacks")
def callback_queue(request: Request, state: State) -> Response:
    user = auth.current_user(request, state)
    auth.require(*ROLES)(user)
    q = (request.query_params.get("q") or "").strip()[:100] or None
    try:
        page_no = max(1, int(request.query_params.get("page") or 1))
    except ValueError:
        page_no = 1
    flt = repository.OrderFilter(status=[Status.REPLIED.value], q=q)
    with state.db.reading() as session:
        orders, total = repository.search(session, user.principal, flt, offset=(page_no - 1) * PAGE_SIZE, limit=PAGE_SIZE)
        rows = rows_for(session, user, orders, state)
        attempts = {o.number: o.unreachable_attempts for o in orders}
    for row in rows:
        row["_attempts"] = attempts.get(row["number"], 0)
    ctx = {"rows": rows, "total": total, "page": page_no, "pages": max(1, -(-total // PAGE_SIZE)), "q": q or "",
           "max_attempts": state.settings.callback_max_attempts}
    return render.page(request, "callbacks.html", ctx, user=user, title="回访")


@router.get("/callbacks/{number}")
def callback_console(number: str, request: Request, state: State) -> Response:
    user = auth.current_user(request, state)
    auth.require(*ROLES)(user)
    return show(request, state, user, number, view="callback")

