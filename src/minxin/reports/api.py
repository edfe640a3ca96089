"""HTTP routes for statistics (thin: parse, scope, call the report builders).

``GET /api/v1/stats/kpis`` — every KPI per group with numerator, denominator, sample size and the
link to the orders behind it; ``/stats/scorecard`` — the monthly ranking; ``/stats/comparison`` —
MoM / YoY / 3-year average; ``/stats/orders`` — the drill-down list; ``/stats/report/monthly`` — the
monthly report as JSON, CSV or XLSX; ``GET/PUT /stats/scorecard/config`` — the versioned scorecard
weights (PUT: admins). Readers are leaders, supervisors, dispatchers and admins, each scoped to
their unit subtree; a handler or agent gets 403.
"""

from __future__ import annotations

import tempfile
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.responses import JSONResponse, Response

from minxin.api.deps import AdminPrincipal, CurrentPrincipal, State
from minxin.audit import service as audit
from minxin.core.kpi import KPIS
from minxin.errors import Invalid
from minxin.reports import drilldown, exporter, report, service

router = APIRouter(prefix="/api/v1/stats", tags=["stats"])

FromQ = Annotated[str | None, Query(alias="from", description="first local date YYYY-MM-DD (default: 1st of this month)")]
ToQ = Annotated[str | None, Query(alias="to", description="last local date YYYY-MM-DD, inclusive (default: today)")]
UnitQ = Annotated[str | None, Query(description="unit code: its whole subtree (within yours)")]


def _date(value: str | None, default: date, name: str) -> date:
    if not value:
        return default
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise Invalid(f"{name} 应为 YYYY-MM-DD", f"'{name}' must be YYYY-MM-DD, got {value!r}", code="stats.bad_date") from None


def _period(state: Any, first: str | None, last: str | None) -> tuple[date, date]:
    today = state.clock.now().astimezone(state.tz).date()
    a = _date(first, today.replace(day=1), "from")
    b = _date(last, today, "to")
    if b < a:
        raise Invalid("结束日期早于开始日期", "'to' is before 'from'", code="stats.bad_period")
    if (b - a).days > 366 * 5:
        raise Invalid("统计期不能超过五年", "The period may span at most five years", code="stats.bad_period")
    return a, b


def _as_of(state: Any, value: str | None) -> datetime:
    if not value:
        return state.clock.now()  # type: ignore[no-any-return]
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        parsed = None
    if parsed is None or parsed.utcoffset() is None:
        raise Invalid("as_of 应为带时区的 ISO 8601 时间", "'as_of' must be ISO 8601 with an offset", code="stats.bad_as_of")
    return parsed


def _filters(request: Request) -> dict[str, list[str]]:
    return {name: report.link_values(raw) for name in service.FILTERS if (raw := request.query_params.get(name))}


def _codes(kpis: str | None) -> list[str] | None:
    if not kpis:
        return None
    codes = [c.strip() for c in kpis.split(",") if c.strip()]
    unknown = [c for c in codes if c not in KPIS]
    if unknown:
        raise Invalid(f"未知指标：{', '.join(unknown)}", f"Unknown KPI codes: {', '.join(unknown)}", code="stats.bad_kpi")
    return codes


def _json(doc: dict[str, Any]) -> Response:
    """A report document as the JSON FastAPI would send, without ``jsonable_encoder``: documents
    are plain JSON values already, and walking a city-wide "by unit" table (≈ 10k figures) value
    by value cost as much as building it. Same bytes (``JSONResponse`` is FastAPI's default)."""
    return JSONResponse(doc)


@router.get("/kpis", summary="KPIs per group, each with numerator, denominator, sample size and orders_url",
            response_model=dict[str, Any])
def kpis(
    request: Request, principal: CurrentPrincipal, state: State, first: FromQ = None, last: ToQ = None,
    unit: UnitQ = None,
    group_by: Annotated[str | None, Query(description="unit|category|channel|appeal_type|region|day|month")] = None,
    kpis: Annotated[str | None, Query(description="comma list of KPI codes (default: all)")] = None,
    as_of: Annotated[str | None, Query(description="judge waiting orders at this instant (default: now)")] = None,
) -> Response:
    """Filters ``category``, ``channel``, ``appeal_type``, ``region`` (comma lists) narrow the orders."""
    a, b = _period(state, first, last)
    codes = _codes(kpis)
    with state.db.reading() as session:
        scope = service.scope_for(session, principal, unit)
        return _json(report.stats(session, scope, a, b, group_by=group_by or None, filters=_filters(request),
                                  codes=codes, as_of=_as_of(state, as_of)))  # fmt: skip


@router.get("/scorecard", summary="Monthly unit scorecard and ranking", response_model=dict[str, Any])
def scorecard(principal: CurrentPrincipal, state: State, month: Annotated[str | None, Query(description="YYYY-MM")] = None,
              unit: UnitQ = None, as_of: str | None = None) -> Response:
    month = month or state.clock.now().astimezone(state.tz).strftime("%Y-%m")
    a, b = service.month_bounds(month)
    with state.db.reading() as session:
        scope = service.scope_for(session, principal, unit)
        config, version, _ = service.current_config(session)
        units = report.scorecard(session, scope, a, b, config, as_of=_as_of(state, as_of))
    return _json({"month": month, "unit": unit, "config": {"name": config.name, "version": version}, "units": units})


@router.get("/comparison", summary="MoM, YoY and 3-year average of every KPI for a month")
def comparison(principal: CurrentPrincipal, state: State, month: str, unit: UnitQ = None, as_of: str | None = None) -> dict[str, Any]:
    from minxin.core.kpi import Period

    a, _ = service.month_bounds(month)
    with state.db.reading() as session:
        scope = service.scope_for(session, principal, unit)
        return report.comparisons(session, scope, Period.month(a.year, a.month), as_of=_as_of(state, as_of))


@router.get("/orders", summary="The orders behind a figure (drill-down)")
def orders(
    request: Request, principal: CurrentPrincipal, state: State, first: FromQ = None, last: ToQ = None,
    unit: UnitQ = None, exact_unit: str | None = None, kpi: str | None = None, part: str = "denominator",
    as_of: str | None = None, offset: Annotated[int, Query(ge=0)] = 0, limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> dict[str, Any]:
    a, b = _period(state, first, last)
    with state.db.reading() as session:
        scope = service.scope_for(session, principal, unit)
        return drilldown.orders_behind(session, scope, a, b, filters=_filters(request),
                                       exact_unit=report.exact_unit_of(exact_unit), kpi=kpi,
                                       part=part, as_of=_as_of(state, as_of), offset=offset, limit=limit, tz=state.tz)  # fmt: skip


@router.get("/report/monthly", summary="The monthly report (json, csv or xlsx)")
def monthly_report(principal: CurrentPrincipal, state: State, month: str, unit: UnitQ = None,
                   format: str = "json") -> Any:
    if format not in ("json", "csv", "xlsx"):
        raise Invalid("format 应为 json、csv 或 xlsx", "format must be json, csv or xlsx", code="stats.bad_format")
    now = state.clock.now()
    with state.db.reading() as session:
        scope = service.scope_for(session, principal, unit)
        doc = report.monthly(session, scope, month, as_of=now, generated_at=now)
    if format == "json":
        return doc
    name = f"report-{month}{'-' + unit if unit else ''}.{format}"
    if format == "csv":
        return Response(exporter.to_csv(doc).encode("utf-8-sig"), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        exporter.to_xlsx(doc, path)
        data = path.read_bytes()
    return Response(data, media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})  # fmt: skip


@router.get("/scorecard/config", summary="The scorecard configuration in force (and its version)")
def get_config(principal: CurrentPrincipal, state: State) -> dict[str, Any]:
    with state.db.reading() as session:
        service.scope_for(session, principal, None)  # readers only
        config, version, text = service.current_config(session)
        versions = [{"version": r.version, "created_at": r.created_at.isoformat(), "created_by": r.created_by}
                    for r in service.repository.config_versions(session)]  # fmt: skip
    return {"version": version, "config": config.model_dump(mode="json"), "source_text": text, "versions": versions}


_CONFIG_BODY = {"requestBody": {"required": True, "content": {
    "application/yaml": {"schema": {"type": "string"}}, "application/json": {"schema": {"type": "object"}}}}}  # fmt: skip


@router.put("/scorecard/config", summary="Replace the scorecard configuration (admin; YAML or JSON body)",
            openapi_extra=_CONFIG_BODY)
async def put_config(request: Request, principal: AdminPrincipal, state: State) -> dict[str, Any]:
    """Validated with ``ScorecardConfig`` (weights sum to 100, known KPI codes…); 422 names each
    bad key. Every accepted body becomes a new version; the previous ones are kept."""
    raw = (await request.body()).decode("utf-8", errors="replace")
    if not raw.strip():
        raise Invalid("请求体为空", "Empty body: send the configuration as YAML or JSON", code="scorecard.bad_config")
    now = state.clock.now()
    with state.db.unit_of_work() as session:
        row = service.save_config(session, raw, actor=principal.username, now=now)
        version = row.version
        audit.record(session, at=now, actor=principal.username, action="scorecard.config", target_type="scorecard",
                     target_id=str(version))  # fmt: skip
    with state.db.reading() as session:
        config, _, _ = service.current_config(session)
    return {"version": version, "config": config.model_dump(mode="json")}
