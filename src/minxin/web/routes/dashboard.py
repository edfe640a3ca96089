"""``/dashboard``: the KPI dashboard (统计分析) and ``/dashboard/orders``, the orders behind a figure.

Leaders, supervisors, dispatchers and admins; each sees their own unit subtree (``unit=`` narrows
it). The page is rendered server-side (cards, ranking and comparison tables work without
JavaScript); the charts are drawn by ``static/js/dashboard.js`` with the vendored ECharts from the
same data, embedded as JSON. Clicking any figure opens the list of the orders behind it.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from starlette.responses import Response

from minxin.api.deps import State
from minxin.core.kpi import KPIS
from minxin.core.vocabulary import Role
from minxin.errors import DomainError, Invalid
from minxin.reports import dashboard, drilldown, report, service
from minxin.web import auth, render

router = APIRouter(include_in_schema=False)
ROLES = (Role.LEADER, Role.SUPERVISOR, Role.ADMIN, Role.DISPATCHER)
PAGE_SIZE = 50
ECHARTS = "vendor/echarts-6.1.0/echarts.min.js"


def _user(request: Request, state: Any) -> auth.WebUser:
    user = auth.current_user(request, state)
    auth.require(*ROLES)(user)
    return user


@router.get("/dashboard")
def dashboard_page(request: Request, state: State) -> Response:
    user = _user(request, state)
    now = state.clock.now()
    month = request.query_params.get("month") or now.astimezone(state.tz).strftime("%Y-%m")
    unit = request.query_params.get("unit") or None
    with state.db.reading() as session:
        mine = service.scope_for(session, user.principal, None)
        try:
            scope = service.scope_for(session, user.principal, unit)
            page = dashboard.data(session, scope, month, as_of=now)
        except DomainError as exc:
            if unit is None and not isinstance(exc, Invalid):
                raise
            scope, month = mine, now.astimezone(state.tz).strftime("%Y-%m")
            page = dashboard.data(session, scope, month, as_of=now) | {"error": exc.message_zh}
        units = [{"value": c, "label": label} for c, label in dashboard.unit_choices(session, mine)]
        if scope.unit is None and not user.principal.sees_everything:
            page["unit_name"] = next((u["label"].strip("　") for u in units if u["value"] == user.principal.unit_code),
                                     user.principal.unit_code)  # fmt: skip
    charts = {k: page[k] for k in ("trend", "breakdowns", "ranking")}
    ctx = {"d": page, "units": units, "charts_json": json.dumps(charts, ensure_ascii=False, default=str),
           "echarts": ECHARTS, "month": month}  # fmt: skip
    return render.page(request, "dashboard/index.html", ctx, user=user, title="统计分析")


@router.get("/dashboard/orders")
def dashboard_orders(request: Request, state: State) -> Response:
    user = _user(request, state)
    q = request.query_params
    now = state.clock.now()
    today = now.astimezone(state.tz).date()
    try:
        first = date.fromisoformat(q.get("from") or today.replace(day=1).isoformat())
        last = date.fromisoformat(q.get("to") or today.isoformat())
        page_no = max(1, int(q.get("page") or 1))
    except ValueError:
        raise Invalid("日期或页码格式错误", "Bad date or page number", code="stats.bad_date") from None
    filters = {name: report.link_values(q[name]) for name in service.FILTERS if q.get(name)}
    kpi = q.get("kpi") or None
    with state.db.reading() as session:
        scope = service.scope_for(session, user.principal, q.get("unit") or None)
        result = drilldown.orders_behind(
            session, scope, first, last, filters=filters, exact_unit=report.exact_unit_of(q.get("exact_unit")), kpi=kpi,
            part=q.get("part") or "denominator", as_of=now, offset=(page_no - 1) * PAGE_SIZE, limit=PAGE_SIZE, tz=state.tz,
        )  # fmt: skip
    keep = {k: v for k, v in q.items() if k != "page" and v}
    pages = max(1, -(-result["total"] // PAGE_SIZE))
    other_part = "numerator" if result["part"] == "denominator" else "denominator"
    ctx = {"r": result, "page": page_no, "pages": pages, "query": urlencode(keep),
           "other_part_url": "/dashboard/orders?" + urlencode(keep | {"part": other_part}),
           "has_numerator": bool(kpi and KPIS[kpi].unit.value != "count"),
           "back": "/dashboard?" + urlencode({k: v for k, v in {"month": first.strftime("%Y-%m"), "unit": q.get("unit")}.items() if v})}  # fmt: skip
    return render.page(request, "dashboard/orders.html", ctx, user=user, title="工单明细")
