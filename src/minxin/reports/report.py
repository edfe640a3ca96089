"""Report documents (plain dicts, JSON-ready): stats rows, the monthly report, drill-down lists.

Every number carries what it is made of (numerator, denominator, sample size) and a link to the
orders behind it (``orders_url``: ``/api/v1/stats/orders`` with the same filters plus the KPI, or
``/dashboard/orders`` for the console). Values are never rounded here; ``display`` is the
formatted form (``99.17%``) used by tables and spreadsheets.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from functools import cache
from typing import Any
from urllib.parse import urlencode

from sqlalchemy.orm import Session

from minxin.core.kpi import (
    KPIS,
    KpiPartial,
    Period,
    ScorecardConfig,
    compare,
    compute_all,
    format_value,
    score_units,
)
from minxin.core.kpi.definitions import KpiUnit
from minxin.core.vocabulary import APPEAL_TYPE_ZH, CHANNEL_ZH, AppealType, Channel
from minxin.reports import repository, service
from minxin.reports.service import Scope

API_ORDERS = "/api/v1/stats/orders"
#: how an empty dimension value ("no category", "no region") is written in a link
EMPTY = "~"
#: the breakdowns of the monthly report, in sheet order
BREAKDOWNS = ("unit", "channel", "appeal_type", "category", "region")


@cache
def _region_names() -> dict[str, str]:
    try:
        from minxin.intake.regions import load_package_divisions
    except ImportError:
        return {}
    names: dict[str, str] = {}
    for division in load_package_divisions():
        code = division.code.rstrip("0") or division.code
        names.setdefault(division.code, division.name)
        for width in (2, 4, 6, 9, 12):
            if len(code) <= width:
                names.setdefault(division.code[:width], division.name)
    return names


class Labels:
    """Display names of group values (units and categories from the database)."""

    def __init__(self, session: Session) -> None:
        units = repository.all_units(session)
        self.units = {u.code: u.name for u in units}
        #: the hotline centre itself is not a handling unit: it is not ranked
        self.centres = {u.code for u in units if u.kind == "centre"}
        self.categories = {c.code: c.name for c in repository.categories_by_code(session).values()}

    def of(self, group_by: str | None, value: Any) -> str:
        if group_by is None:
            return "合计"
        text = str(value)
        if text == "":
            return "（未填写）"
        if group_by == "unit":
            return self.units.get(text, text)
        if group_by == "category":
            return self.categories.get(text, text)
        if group_by == "channel":
            return CHANNEL_ZH.get(Channel(text), text) if text in Channel._value2member_map_ else text
        if group_by == "appeal_type":
            return APPEAL_TYPE_ZH.get(AppealType(text), text) if text in AppealType._value2member_map_ else text
        if group_by == "region":
            return _region_names().get(text, text)
        return text


def link_values(raw: str | None) -> list[str]:
    """A comma list from a link back into dimension values (``~`` is the empty value)."""
    return [("" if v == EMPTY else v) for v in (raw or "").split(",") if v][:200]


def exact_unit_of(raw: str | None) -> str | None:
    """The ``exact_unit`` of a link (``~``: orders with no unit); None when absent."""
    values = link_values(raw)
    return values[0] if values else None


def orders_url(base: str, params: Mapping[str, Any]) -> str:
    return f"{base}?{urlencode({k: v for k, v in params.items() if v not in (None, '')})}"


def group_params(group_by: str | None, key: Any, first: date, last: date) -> dict[str, Any]:
    """Filters selecting the orders of one group row (a day or month narrows the period)."""
    if group_by is None:
        return {}
    if group_by == "day":
        return {"from": key, "to": key}
    if group_by == "month":
        a, b = service.month_bounds(key)
        return {"from": max(a, first).isoformat(), "to": min(b, last).isoformat()}
    if group_by == "unit":
        return {"exact_unit": key or EMPTY}
    return {group_by: key or EMPTY}


@cache
def _described(code: str) -> tuple[tuple[tuple[str, str], ...], bool]:
    """A KPI's names and kind (the same in every figure), and whether it is a rate or duration."""
    d = KPIS[code]
    return (("name_zh", d.name_zh), ("name_en", d.name_en), ("kind", d.unit.value)), d.unit is not KpiUnit.COUNT


def kpi_dict(code: str, value: Any, small_sample: int, url: str | None = None) -> dict[str, Any]:
    names, sampled = _described(code)
    out = dict(names)
    out["value"], out["numerator"], out["denominator"] = value.value, value.numerator, value.denominator
    out["sample_size"] = value.sample_size
    out["display"] = format_value(code, value.value)
    out["small_sample"] = sampled and value.sample_size < small_sample
    if url is not None:
        out["orders_url"] = url
    return out


def kpis_of(partial: KpiPartial, codes: Sequence[str] | None, small_sample: int, base_url: str | None,
            params: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    values = compute_all(partial, codes)
    if not base_url:
        return {code: kpi_dict(code, v, small_sample) for code, v in values.items()}
    # the group's query string is encoded once, not once per KPI (a city-wide "by unit" table has
    # thousands of figures); KPI codes are URL-safe, so appending "kpi=" gives the same URL
    prefix = orders_url(base_url, {k: v for k, v in params.items() if k != "kpi"})
    sep = "" if prefix.endswith("?") else "&"
    return {code: kpi_dict(code, v, small_sample, f"{prefix}{sep}kpi={code}") for code, v in values.items()}


def stats(session: Session, scope: Scope, first: date, last: date, *, group_by: str | None,
          filters: Mapping[str, Sequence[str]], codes: Sequence[str] | None, as_of: datetime | None,
          small_sample: int = 30, base_url: str = API_ORDERS) -> dict[str, Any]:
    """The stats API document: one row per group (and the total), every KPI with its parts."""
    with_hist = service.needs_hist(codes)
    groups = service.summed(session, scope, first, last, group_by=group_by, filters=filters, with_hist=with_hist, as_of=as_of)
    # every order has exactly one value of any dimension: the groups partition the total
    totals = {(): service.total_of(groups.values())} if groups else {}
    labels = Labels(session)
    common = {"from": first.isoformat(), "to": last.isoformat(), "unit": scope.unit,
              **{k: ",".join(v) for k, v in filters.items()}}  # fmt: skip
    rows = []
    for key, partial in groups.items():
        params = common | group_params(group_by, key, first, last)
        rows.append({"key": key, "label": labels.of(group_by, key), "orders_url": orders_url(base_url, params),
                     "kpis": kpis_of(partial, codes, small_sample, base_url, params)})  # fmt: skip
    total = totals.get((), KpiPartial())
    return {
        "from": first.isoformat(), "to": last.isoformat(), "unit": scope.unit, "group_by": group_by,
        "filters": {k: list(v) for k, v in filters.items()}, "as_of": as_of.isoformat() if as_of else None,
        "rows": rows,
        "total": {"key": None, "label": "合计", "orders_url": orders_url(base_url, common),
                  "kpis": kpis_of(total, codes, small_sample, base_url, common)},
    }  # fmt: skip


# ----------------------------------------------------------------------------- scorecard
def scorecard(session: Session, scope: Scope, first: date, last: date, config: ScorecardConfig, *,
              as_of: datetime | None, labels: Labels | None = None, base_url: str = API_ORDERS) -> list[dict[str, Any]]:
    """Ranked handling units of the period. Not ranked: orders with no unit (unassigned history)
    and the hotline centre itself (its direct answers and undispatched orders are its own work,
    measured by the dispatch KPIs, not a unit's handling)."""
    uses_hist = any(code.startswith("p90_") for code in config.kpis)
    by_unit = service.summed(session, scope, first, last, group_by="unit", with_hist=uses_hist, as_of=as_of)
    labels = labels or Labels(session)
    out = []
    for s in score_units({u: p for u, p in by_unit.items() if u and u not in labels.centres}, config):
        params = {"from": first.isoformat(), "to": last.isoformat(), "exact_unit": s.unit or EMPTY}
        # encoded once per unit, not once per line (KPI codes are URL-safe: the same URLs)
        link = orders_url(base_url, params)
        out.append({
            "rank": s.rank, "unit": s.unit, "name": labels.of("unit", s.unit), "score": s.score,
            "base_score": s.base_score, "deduction": s.deduction, "bonus": s.bonus, "volume": s.volume,
            "fairness_excluded": s.fairness_excluded, "fairness_excluded_answered": s.fairness_excluded_answered,
            "weight_scored": s.weight_scored, "orders_url": link,
            "lines": [
                {"kpi": line.code, "name_zh": line.name_zh, "weight": line.weight, "target": line.target,
                 "floor": line.floor, "value": line.value, "display": format_value(line.code, line.value),
                 "numerator": line.numerator, "denominator": line.denominator, "sample_size": line.sample_size,
                 "points": line.points, "small_sample": line.small_sample, "ci_low": line.ci_low,
                 "ci_high": line.ci_high, "orders_url": f"{link}&kpi={line.code}"}
                for line in s.lines
            ],
            "deductions": [{"kpi": a.kpi, "label": a.label, "count": a.count, "points": a.points} for a in s.deductions],
            "bonuses": [{"kpi": a.kpi, "label": a.label, "count": a.count, "points": a.points} for a in s.bonuses],
        })  # fmt: skip
    return out


# ----------------------------------------------------------------------------- comparisons
def comparisons(session: Session, scope: Scope, period: Period, *, as_of: datetime | None) -> dict[str, Any]:
    """MoM, YoY and the 3-year average of every KPI, with the baseline notes (docs/kpis.md §5)."""

    def source(p: Period) -> KpiPartial | None:
        return service.total(session, scope, p.start, p.end, as_of=as_of)

    rep = compare(period, source)

    def change(c: Any) -> dict[str, Any]:
        return {"baseline": c.baseline, "absolute": c.absolute, "relative": c.relative}

    return {
        "period": period.label,
        "mom_period": rep.mom_period.label,
        "yoy_period": rep.yoy_period.label,
        "baseline_periods": [p.label for p in rep.baseline_periods],
        "mom_has_data": rep.mom_has_data,
        "yoy_has_data": rep.yoy_has_data,
        "baseline_years_without_data": list(rep.baseline_years_without_data),
        "notes": list(rep.notes),
        "kpis": {
            code: {"name_zh": KPIS[code].name_zh, "current": c.current.value, "mom": change(c.mom),
                   "yoy": change(c.yoy), "three_year": change(c.three_year) | {"years_used": list(c.three_year_years_used)}}
            for code, c in rep.kpis.items()
        },
    }  # fmt: skip


# ----------------------------------------------------------------------------- the monthly report
def monthly(session: Session, scope: Scope, month: str, *, as_of: datetime, generated_at: datetime) -> dict[str, Any]:
    """``minxin report monthly``: overview, comparisons, scorecard ranking and breakdowns. The
    late counts of waiting orders are read once for all of them (``service.shared_late_counts``)."""
    first, last = service.month_bounds(month)
    since = date(first.year - 3, first.month, 1)  # the comparisons' three baseline years
    with service.shared_late_counts(session, scope, as_of, first, last, since=since, dims=BREAKDOWNS):
        return _monthly(session, scope, month, as_of=as_of, generated_at=generated_at)


def _monthly(session: Session, scope: Scope, month: str, *, as_of: datetime, generated_at: datetime) -> dict[str, Any]:
    first, last = service.month_bounds(month)
    config, version, _text = service.current_config(session)
    labels = Labels(session)
    small = config.small_sample
    total = service.summed(session, scope, first, last, as_of=as_of).get((), KpiPartial())
    base = {"from": first.isoformat(), "to": last.isoformat(), "unit": scope.unit}
    breakdowns = {}
    for dim in BREAKDOWNS:
        groups = service.summed(session, scope, first, last, group_by=dim, as_of=as_of)
        breakdowns[dim] = [
            {"key": key, "label": labels.of(dim, key), "orders_url": orders_url(API_ORDERS, base | group_params(dim, key, first, last)),
             "kpis": kpis_of(part, None, small, None, {})}
            for key, part in groups.items()
        ]  # fmt: skip
    notes = []
    if total.is_empty:
        notes.append(f"{month} 无工单数据 / no orders in {month}")
    return {
        "report": "monthly", "title": f"{month} 月度工单统计报告", "month": month,
        "period": {"from": first.isoformat(), "to": last.isoformat()},
        "unit": {"code": scope.unit, "name": labels.of("unit", scope.unit)} if scope.unit else None,
        "as_of": as_of.isoformat(), "generated_at": generated_at.isoformat(), "timezone": "Asia/Shanghai",
        "kpis": kpis_of(total, None, small, API_ORDERS, base),
        "comparisons": comparisons(session, scope, Period.month(first.year, first.month), as_of=as_of),
        "scorecard": {"name": config.name, "version": version, "small_sample": small,
                      "units": scorecard(session, scope, first, last, config, as_of=as_of, labels=labels)},
        "breakdowns": breakdowns, "notes": notes,
    }  # fmt: skip
