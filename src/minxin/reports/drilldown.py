"""The orders behind a figure: the drill-down list every ``orders_url`` points to.

The list is read from ``order_facts`` (live and imported orders alike) with the same filters as
the figure and the KPI's population (``queries.kpi_population``): its denominator, or with
``part=numerator`` the orders counted in the numerator. Live orders link to their page.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from minxin.core.kpi import KPIS
from minxin.errors import Forbidden, Invalid
from minxin.reports import queries, service
from minxin.reports.folding import fact_of_row
from minxin.reports.models import OrderFactRow
from minxin.reports.report import Labels
from minxin.reports.service import Scope

PARTS = ("denominator", "numerator")


def narrow(scope: Scope, exact_unit: str | None) -> Sequence[str] | None:
    """The unit list of a drill-down: the scope, or one unit of it (``exact_unit``)."""
    if exact_unit is None:
        return scope.units
    if scope.units is not None and exact_unit not in scope.units:
        raise Forbidden(f"单位 {exact_unit} 不在您的管辖范围内", f"Unit '{exact_unit}' is outside your scope",
                        code="stats.unit_forbidden")  # fmt: skip
    return [exact_unit]


def _iso(value: datetime | None, tz: ZoneInfo) -> str | None:
    return value.astimezone(tz).isoformat() if value else None


def item(row: OrderFactRow, labels: Labels, tz: ZoneInfo) -> dict[str, Any]:
    fact = fact_of_row(row)
    handling = None if row.handling_seconds is None else row.handling_seconds / 27_000
    overdue = bool(row.handle_due_at and row.replied_at and row.replied_at > row.handle_due_at)
    return {
        "number": row.number, "source": row.source, "title": row.title,
        "unit": row.unit, "unit_name": labels.of("unit", row.unit) if row.unit else "",
        "category": row.category, "category_name": labels.of("category", row.category) if row.category else "",
        "channel": row.channel, "appeal_type": row.appeal_type, "region": row.region,
        "status": fact.derived_status.value, "created_at": _iso(row.created_at, tz),
        "dispatched_at": _iso(row.dispatched_at, tz), "replied_at": _iso(row.replied_at, tz),
        "closed_at": _iso(row.closed_at, tz), "handle_due_at": _iso(row.handle_due_at, tz),
        "overdue": overdue, "satisfaction": row.satisfaction, "resolved": row.resolved,
        "excluded_from_satisfaction": row.excluded_from_satisfaction, "handling_working_days": handling,
        "url": f"/orders/{row.number}" if row.source == "live" else None,
    }  # fmt: skip


def orders_behind(
    session: Session,
    scope: Scope,
    first: date,
    last: date,
    *,
    filters: Mapping[str, Sequence[str]],
    exact_unit: str | None,
    kpi: str | None,
    part: str,
    as_of: datetime | None,
    offset: int,
    limit: int,
    tz: ZoneInfo,
) -> dict[str, Any]:
    if kpi is not None and kpi not in KPIS:
        raise Invalid(f"未知指标：{kpi}", f"Unknown KPI {kpi!r}", code="stats.bad_kpi")
    if part not in PARTS:
        raise Invalid("part 应为 denominator 或 numerator", "part must be denominator or numerator", code="stats.bad_part")
    population, numerator = queries.kpi_population(kpi or "volume", as_of)
    where = [population]
    if part == "numerator" and numerator is not None:
        where.append(numerator)
    rows, total = queries.fact_page(session, service.local_range(first, last), narrow(scope, exact_unit), filters,
                                    where, offset=offset, limit=limit)  # fmt: skip
    labels = Labels(session)
    return {
        "kpi": kpi, "kpi_name_zh": KPIS[kpi].name_zh if kpi else "有效工单", "part": part,
        "from": first.isoformat(), "to": last.isoformat(), "unit": scope.unit, "exact_unit": exact_unit,
        "filters": {k: list(v) for k, v in filters.items()}, "total": total, "offset": offset, "limit": limit,
        "items": [item(r, labels, tz) for r in rows],
    }  # fmt: skip
