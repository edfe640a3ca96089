"""What the console's dashboard page shows, as plain data (the page and its charts render it).

Every figure carries ``url``: the console's drill-down list of the orders behind it
(``/dashboard/orders`` with the figure's period, unit, dimension value and KPI). All numbers come
from the monthly rollups (whole months), so the page costs a dozen small queries at any scale,
plus one read of the late-while-waiting counts shared by every figure.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from minxin.core.kpi import KPIS, Period, compute, format_value
from minxin.core.kpi.definitions import KpiUnit
from minxin.reports import report, repository, service
from minxin.reports.service import Scope

PAGE = "/dashboard/orders"
CARDS = ("volume", "on_time_completion_rate", "satisfaction_rate_fair", "resolution_rate_fair",
         "avg_handling_working_days", "callback_rate", "sign_on_time_rate", "overdue_count")  # fmt: skip
COMPARED = ("volume", "on_time_completion_rate", "satisfaction_rate_fair", "resolution_rate_fair",
            "avg_handling_working_days", "reopen_rate")  # fmt: skip
TREND_MONTHS = 12
#: the comparisons reach back this many years (``core.kpi.compare``'s three-year average)
BASELINE_YEARS = 3
#: the breakdowns and the ranking: the groupings whose late counts the page shares
LATE_DIMS = ("channel", "appeal_type", "category", "unit")


def _months_back(first: date, n: int) -> date:
    index = first.year * 12 + first.month - 1 - n
    return date(index // 12, index % 12 + 1, 1)


def _value(code: str, part: Any) -> tuple[float | int | None, int]:
    v = compute(code, part)
    return v.value, v.sample_size


def data(session: Session, scope: Scope, month: str, *, as_of: datetime) -> dict[str, Any]:
    """Every figure of the page, judged at ``as_of``. The late counts of waiting orders are read
    once for the whole page (``service.shared_late_counts``): the card totals, the trend, the
    breakdowns, the ranking and the comparisons (back three years) all come from that one read."""
    first, last = service.month_bounds(month)
    since = date(first.year - BASELINE_YEARS, first.month, 1)
    with service.shared_late_counts(session, scope, as_of, first, last, since=since, dims=LATE_DIMS):
        return _figures(session, scope, month, as_of=as_of)


def _figures(session: Session, scope: Scope, month: str, *, as_of: datetime) -> dict[str, Any]:
    first, last = service.month_bounds(month)
    labels = report.Labels(session)
    config, version, _ = service.current_config(session)
    small = config.small_sample
    base = {"from": first.isoformat(), "to": last.isoformat(), "unit": scope.unit}
    link = lambda **kw: report.orders_url(PAGE, base | kw)  # noqa: E731
    total = service.summed(session, scope, first, last, with_hist=False, as_of=as_of).get(())
    cards = []
    for code in CARDS:
        value, n = _value(code, total) if total is not None else (None, 0)
        d = KPIS[code]
        cards.append({"code": code, "name": d.name_zh, "display": format_value(code, value), "n": n,
                      "small": d.unit is not KpiUnit.COUNT and n < small, "url": link(kpi=code)})  # fmt: skip

    start = _months_back(first, TREND_MONTHS - 1)
    by_month = service.summed(session, scope, start, last, group_by="month", with_hist=False, as_of=as_of)
    months = [_months_back(first, TREND_MONTHS - 1 - i).strftime("%Y-%m") for i in range(TREND_MONTHS)]
    trend: dict[str, list[Any]] = {"months": months, "volume": [], "satisfaction": [], "on_time": [], "urls": []}
    for m in months:
        part = by_month.get(m)
        a, b = service.month_bounds(m)
        trend["volume"].append(part.orders if part else 0)
        for key, code in (("satisfaction", "satisfaction_rate_fair"), ("on_time", "on_time_completion_rate")):
            value = _value(code, part)[0] if part else None
            trend[key].append(None if value is None else round(float(value) * 100, 2))
        trend["urls"].append(report.orders_url(PAGE, {"from": a.isoformat(), "to": b.isoformat(), "unit": scope.unit}))

    breakdowns: dict[str, list[dict[str, Any]]] = {}
    for dim in ("channel", "appeal_type", "category"):
        groups = service.summed(session, scope, first, last, group_by=dim, with_hist=False, as_of=as_of)
        rows = sorted(groups.items(), key=lambda kv: -kv[1].orders)
        breakdowns[dim] = [
            {"key": key, "name": labels.of(dim, key), "value": part.orders,
             "satisfaction": format_value("satisfaction_rate_fair", compute("satisfaction_rate_fair", part).value),
             "url": link(**{dim: key})}
            for key, part in rows if part.orders
        ]  # fmt: skip
    ranking = report.scorecard(session, scope, first, last, config, as_of=as_of, labels=labels, base_url=PAGE)
    comparison = report.comparisons(session, scope, Period.month(first.year, first.month), as_of=as_of)
    compared = [
        {"name": KPIS[c].name_zh, "current": format_value(c, comparison["kpis"][c]["current"]),
         **{k: _change(c, comparison["kpis"][c][k]) for k in ("mom", "yoy", "three_year")},
         "years": "、".join(str(y) for y in comparison["kpis"][c]["three_year"]["years_used"]) or "无"}
        for c in COMPARED
    ]  # fmt: skip
    return {
        "month": month, "unit": scope.unit, "unit_name": labels.of("unit", scope.unit) if scope.unit else "全部单位",
        "as_of": as_of.isoformat(), "config": {"name": config.name, "version": version}, "small_sample": small,
        "cards": cards, "trend": trend, "breakdowns": breakdowns, "ranking": ranking,
        "comparison": {"rows": compared, "notes": comparison["notes"], "mom_period": comparison["mom_period"],
                       "yoy_period": comparison["yoy_period"], "baselines": comparison["baseline_periods"]},
        "exports": {fmt: report.orders_url("/api/v1/stats/report/monthly", {"month": month, "unit": scope.unit, "format": fmt})
                    for fmt in ("xlsx", "csv", "json")},
    }  # fmt: skip


def _change(code: str, c: dict[str, Any]) -> str:
    if c["baseline"] is None:
        return "无基期数据"
    if c["absolute"] is None:
        return "—"
    if KPIS[code].unit is KpiUnit.RATE:
        text = f"{c['absolute'] * 100:+.2f} 个百分点"
    else:
        text = f"{c['absolute']:+.2f}" if isinstance(c["absolute"], float) and not c["absolute"].is_integer() else f"{c['absolute']:+.0f}"
    return text + ("" if c["relative"] is None else f"（{c['relative'] * 100:+.1f}%）")


def unit_choices(session: Session, scope: Scope) -> list[tuple[str, str]]:
    """(code, indented name) of the units a reader may pick, in tree order."""
    units = repository.all_units(session)
    allowed = None if scope.units is None else set(scope.units)
    return [(u.code, "　" * u.depth + u.name) for u in units if allowed is None or u.code in allowed]
