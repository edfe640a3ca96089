"""``/queues/<key>``: a role's work queues with filters, search, paging and deadline badges;
``POST /queues/bulk-dispatch``: dispatch several orders at once, reporting each failure."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from minxin.api.deps import State
from minxin.api.state import AppState
from minxin.core.lifecycle import Facts, possible_actions
from minxin.core.vocabulary import APPEAL_TYPE_ZH, CHANNEL_ZH, STATUS_ZH, URGENCY_ZH, Action, Status
from minxin.errors import DomainError, NotFound
from minxin.web import auth, deadlines, extensions, options, queues, render
from minxin.workorders import presenters, repository, service
from minxin.workorders.models import WorkOrder

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 20
FILTERS = ("q", "category", "unit", "urgency", "appeal_type", "channel", "status", "created_from", "created_to")


def _day(value: str | None, tz: Any, *, end: bool = False) -> datetime | None:
    try:
        day = date.fromisoformat(value) if value else None
    except ValueError:
        return None
    if day is None:
        return None
    if end:
        day += timedelta(days=1)
    return datetime.combine(day, time(0), tzinfo=tz)


def _filter(user: auth.WebUser, queue: queues.Queue, params: dict[str, str], tz: Any) -> repository.OrderFilter:
    status = [params["status"]] if params.get("status") in {s.value for s in Status} else list(queue.statuses)
    unit = params.get("unit") or (user.principal.unit_code if queues.unit_scoped(user.role, queue) else None)
    return repository.OrderFilter(
        status=status,
        unit_code=unit,
        category_code=params.get("category") or None,
        q=(params.get("q") or "").strip()[:100] or None,
        created_from=_day(params.get("created_from"), tz),
        created_to=_day(params.get("created_to"), tz, end=True),
        channel=params.get("channel") or None,
        appeal_type=params.get("appeal_type") or None,
        urgency=params.get("urgency") or None,
    )


def search_queue(session: Session, user: auth.WebUser, queue: queues.Queue, flt: repository.OrderFilter,
                 offset: int, limit: int) -> tuple[list[WorkOrder], int]:
    if queue.via == "overdue":
        if extensions.overdue_search is None:
            return [], 0
        return extensions.overdue_search(session, user.principal, flt, "overdue", offset, limit)
    return repository.search(session, user.principal, flt, offset=offset, limit=limit)


def count_queue(session: Session, user: auth.WebUser, queue: queues.Queue, state: AppState) -> int:
    _rows, total = search_queue(session, user, queue, _filter(user, queue, {}, state.tz), 0, 1)
    return total


def rows_for(session: Session, user: auth.WebUser, orders: list[WorkOrder], state: AppState) -> list[dict[str, Any]]:
    rows = presenters.summaries(session, orders, user.principal, state.tz)
    now = state.clock.now()
    for row in rows:
        row["_badge"] = deadlines.row_badge(row, now)
    return rows


def may_bulk_dispatch(user: auth.WebUser) -> bool:
    return Action.DISPATCH in possible_actions(Status.REGISTERED, Facts(role=user.role))


@router.get("/queues")
def queues_index(request: Request, state: State) -> Response:
    user = auth.current_user(request, state)
    first = queues.HOME[user.role][0]
    return render.redirect(f"/queues/{first}")


@router.get("/queues/{key}")
def queue_page(key: str, request: Request, state: State) -> Response:
    user = auth.current_user(request, state)
    queue = queues.BY_KEY.get(key)
    if queue is None or user.role not in queue.roles:
        raise NotFound("没有这个工单队列", f"No queue '{key}'", code="web.no_queue")
    params = {k: str(request.query_params.get(k) or "") for k in FILTERS}
    try:
        page_no = max(1, int(request.query_params.get("page") or 1))
    except ValueError:
        page_no = 1
    enabled = queue.via != "overdue" or extensions.overdue_search is not None
    with state.db.reading() as session:
        flt = _filter(user, queue, params, state.tz)
        orders, total = search_queue(session, user, queue, flt, (page_no - 1) * PAGE_SIZE, PAGE_SIZE)
        rows = rows_for(session, user, orders, state)
        bulk = queue.bulk_dispatch and may_bulk_dispatch(user)
        ctx = {
            "queue": queue,
            "tabs": queues.for_role(user.role),
            "rows": rows,
            "total": total,
            "page": page_no,
            "pages": max(1, -(-total // PAGE_SIZE)),
            "params": params,
            "query": urlencode({k: v for k, v in params.items() if v}),
            "enabled": enabled,
            "bulk": bulk,
            "targets": options.dispatch_targets(session, user.principal) if bulk else [],
            "categories": options.categories(session),
            "units": options.co_handle_targets(session, None),
            "urgencies": URGENCY_ZH,
            "appeal_types": APPEAL_TYPE_ZH,
            "channels": CHANNEL_ZH,
            "statuses": STATUS_ZH,
        }
    return render.page(request, "queue.html", ctx, user=user, title=queue.label)


@router.post("/queues/bulk-dispatch")
def bulk_dispatch(request: Request, state: State, form: auth.PostedForm) -> Response:
    user = auth.current_user(request, state)
    back = auth.safe_next(str(form.get("next") or ""), "/queues/to_dispatch")
    # each box carries "number@version": an order changed since the list was shown is refused
    # (409) instead of being re-dispatched (改派) behind someone's back
    picked = [str(v).partition("@") for v in form.getlist("numbers") if str(v).strip()]
    numbers = list(dict.fromkeys((n.strip(), int(v) if v.isdigit() else None) for n, _sep, v in picked))[:200]
    unit = str(form.get("unit") or "").strip()
    if not numbers:
        return render.redirect(back, "请先勾选要派单的工单", "warn")
    if not unit:
        return render.redirect(back, "请选择派往单位", "warn")
    done: list[str] = []
    failed: list[str] = []
    now = state.clock.now()
    with state.db.unit_of_work() as session:
        for number, version in numbers:
            body: dict[str, object] = {"unit": unit} | ({"expected_version": version} if version is not None else {})
            try:
                with session.begin_nested():
                    service.act(session, number, "dispatch", body, actor=user.principal, now=now,
                                settings=state.order_settings)
                done.append(number)
            except DomainError as exc:
                failed.append(f"{number}：{exc.message_zh}")
    text = f"已派单 {len(done)} 件"
    if failed:
        text += f"；{len(failed)} 件未派出 —— " + "；".join(failed)
    return render.redirect(back, text, "warn" if failed else "ok")
