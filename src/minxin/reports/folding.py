"""Keeping the cells in step with live orders: the fact of a work order and folding its change.

``fold(session, order)`` derives the order's current ``OrderFact`` (work-order columns, the SLA
engine's due times, the last callback), computes its clock-free partial, and adds
``new − old`` to the old and new cells, monthly and (city-wide) daily rows; the old partial is recomputed from the
stored fact row with the working times that were folded then (``handling_seconds``,
``sign_working_seconds``), so the subtraction is exact whatever happened to the calendar since.

Invariant: after ``fold`` the ``order_facts`` row equals what the cells hold for this order.
Callers hold the work order's row lock (the work-order service, the refresh job), so two folds
of one order never interleave.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy.orm import Session

from minxin.core.calendar import WorkingCalendar
from minxin.core.kpi import (
    COUNTER_FIELDS,
    DEFAULT_POLICY,
    CellKey,
    KpiPartial,
    OrderFact,
    cell_key_of,
    partial_of,
)
from minxin.core.kpi.partials import WorkingSeconds
from minxin.core.official_calendar import official_calendar
from minxin.reports import repository
from minxin.reports.models import ALL_UNITS, DAILY_DIMS, MONTHLY_DIMS, OrderFactRow
from minxin.reports.repository import Delta
from minxin.workorders.models import WorkOrder


@cache
def kpi_calendar() -> WorkingCalendar:
    """The calendar of every KPI working time (docs/kpis.md §2): official days, default hours."""
    return official_calendar()


def working_seconds(a: datetime, b: datetime) -> timedelta:
    return kpi_calendar().working_time_between(a, b)


# ----------------------------------------------------------------------------- facts
def live_fact(session: Session, order: WorkOrder) -> OrderFact:
    """The KPI facts of a work order as it stands (docs/kpis.md §1, charged to its current unit)."""
    dues = repository.sla_due_times(session, order.id)
    # a callback is an action: an order with only its registration event has none (saves a query
    # on every intake)
    attempt = repository.last_callback(session, order.id, order.reopen_count) if order.event_count > 1 else None
    return OrderFact(
        number=order.number,
        channel=order.channel,  # type: ignore[arg-type]
        appeal_type=order.appeal_type,  # type: ignore[arg-type]
        created_at=order.created_at,
        category=order.category.code if order.category is not None else "",
        unit=order.current_unit.code,
        region=order.region_code or "",
        title=order.title,
        urgency=order.urgency,  # type: ignore[arg-type]
        status=order.status,  # type: ignore[arg-type]
        dispatched_at=order.dispatched_at,
        signed_at=order.signed_at,
        replied_at=order.replied_at,
        closed_at=order.closed_at,
        dispatch_due_at=dues.get("dispatch"),
        sign_due_at=dues.get("sign"),
        handle_due_at=dues.get("handle"),
        callback_at=order.callback_at or (attempt.at if attempt is not None else None),
        satisfaction=order.satisfaction,  # type: ignore[arg-type]
        resolved=order.resolved,
        reopen_count=order.reopen_count,
        returned_count=order.return_count,
        has_evidence=order.has_evidence,
        requires_evidence=True,
        excluded_from_satisfaction=order.excluded_from_satisfaction,
        callback_reachable=None if attempt is None else attempt.reachable,
    )


def fact_of_row(row: OrderFactRow) -> OrderFact:
    return OrderFact(
        number=row.number, channel=row.channel, appeal_type=row.appeal_type,  # type: ignore[arg-type]
        created_at=row.created_at, category=row.category, unit=row.unit, region=row.region,
        title=row.title, content=row.content or "", urgency=row.urgency,  # type: ignore[arg-type]
        status=row.status,  # type: ignore[arg-type]
        dispatched_at=row.dispatched_at, signed_at=row.signed_at, replied_at=row.replied_at,
        closed_at=row.closed_at, dispatch_due_at=row.dispatch_due_at, sign_due_at=row.sign_due_at,
        handle_due_at=row.handle_due_at, callback_at=row.callback_at,
        satisfaction=row.satisfaction,  # type: ignore[arg-type]
        resolved=row.resolved, reopen_count=row.reopen_count, returned_count=row.returned_count,
        has_evidence=row.has_evidence, requires_evidence=row.requires_evidence,
        excluded_from_satisfaction=row.excluded_from_satisfaction, callback_reachable=row.callback_reachable,
    )  # fmt: skip


def folded_working_seconds(row: OrderFactRow) -> WorkingSeconds:
    """Working time as it was when ``row`` was folded (its stored values), else the calendar's."""

    def ws(a: datetime, b: datetime) -> float | timedelta:
        if row.sign_working_seconds is not None and (a, b) == (row.dispatched_at, row.signed_at):
            return row.sign_working_seconds
        if row.handling_seconds is not None and (a, b) == (row.dispatched_at, row.replied_at):
            return float(row.handling_seconds)
        return working_seconds(a, b)

    return ws


def contribution(fact: OrderFact) -> dict[str, Any]:
    """What a fact row stores besides the fact: folded working times and the late thresholds."""
    d, s, r = fact.dispatched_at, fact.signed_at, fact.replied_at
    handling = max(0, round(working_seconds(d, r).total_seconds())) if d and r else None
    sign = working_seconds(d, s).total_seconds() if d and s and fact.sign_due_at is None else None
    sign_late = None
    if d is not None and s is None:
        sign_late = fact.sign_due_at or sign_late_after(d)
    return {
        "handling_seconds": handling,
        "sign_working_seconds": sign,
        "dispatch_late_after": fact.dispatch_due_at or fact.created_at + DEFAULT_POLICY.dispatch_deadline,
        "sign_late_after": sign_late,
    }


def sign_late_after(dispatched_at: datetime) -> datetime:
    """The last instant at which a dispatched, unsigned order is not yet late for signing:
    late ⟺ working time since dispatch > 2 h ⟺ ``as_of`` is after this instant."""
    cal = kpi_calendar()
    limit = timedelta(seconds=DEFAULT_POLICY.sign_deadline_working_seconds)
    return cal.next_working_instant(cal.add_working_time(dispatched_at, limit))


def row_values(fact: OrderFact, *, source: str, batch_id: int | None = None) -> dict[str, Any]:
    return {
        "number": fact.number, "source": source, "batch_id": batch_id, "unit": fact.unit,
        "category": fact.category, "channel": fact.channel.value, "appeal_type": fact.appeal_type.value,
        "region": fact.region, "urgency": fact.urgency.value, "title": fact.title[:200],
        "content": fact.content or None, "status": fact.status.value if fact.status else None,
        "created_at": fact.created_at, "dispatched_at": fact.dispatched_at, "signed_at": fact.signed_at,
        "replied_at": fact.replied_at, "closed_at": fact.closed_at, "dispatch_due_at": fact.dispatch_due_at,
        "sign_due_at": fact.sign_due_at, "handle_due_at": fact.handle_due_at, "callback_at": fact.callback_at,
        "satisfaction": fact.satisfaction.value if fact.satisfaction else None, "resolved": fact.resolved,
        "reopen_count": fact.reopen_count, "returned_count": fact.returned_count,
        "has_evidence": fact.has_evidence, "requires_evidence": fact.requires_evidence,
        "excluded_from_satisfaction": fact.excluded_from_satisfaction,
        "callback_reachable": fact.callback_reachable,
    } | contribution(fact)  # fmt: skip


# ----------------------------------------------------------------------------- deltas
def _add(deltas: dict[tuple[Any, ...], Delta], key: tuple[Any, ...], part: KpiPartial, sign: int) -> None:
    counters, hist = deltas.setdefault(key, ({}, {}))
    for name in COUNTER_FIELDS:
        value = getattr(part, name)
        if value:
            counters[name] = counters.get(name, 0) + sign * value
    for b, c, s in part.handling_hist.buckets:
        c0, s0 = hist.get(b, (0, 0))
        hist[b] = (c0 + sign * c, s0 + sign * s)


def _clean(deltas: dict[tuple[Any, ...], Delta]) -> dict[tuple[Any, ...], Delta]:
    out = {}
    for key, (counters, hist) in deltas.items():
        counters = {k: v for k, v in counters.items() if v}
        hist = {b: cs for b, cs in hist.items() if cs != (0, 0)}
        if counters or hist:
            out[key] = (counters, hist)
    return out


def monthly_keys(key: CellKey) -> list[tuple[Any, ...]]:
    """The ``kpi_monthly`` rows (dim, month, unit, value) a cell rolls up into: its unit's and ``*``'s."""
    value = {"all": "", "channel": key.channel, "appeal_type": key.appeal_type, "category": key.category,
             "region": key.region, "day": key.day.isoformat()}  # fmt: skip
    return [(dim, key.month, unit, value[dim]) for dim in MONTHLY_DIMS for unit in (key.unit, ALL_UNITS)]


def daily_keys(key: CellKey) -> list[tuple[Any, ...]]:
    """The ``kpi_daily`` rows (dim, day, value) a cell rolls up into (city-wide: no unit)."""
    value = {"all": "", "channel": key.channel, "appeal_type": key.appeal_type, "category": key.category,
             "region": key.region}  # fmt: skip
    return [(dim, key.day, value[dim]) for dim in DAILY_DIMS]


def change_deltas(
    changes: Mapping[CellKey, list[tuple[KpiPartial, int]]],
) -> tuple[dict[tuple[Any, ...], Delta], dict[tuple[Any, ...], Delta], dict[tuple[Any, ...], Delta]]:
    """Cell, monthly and daily deltas of (partial, ±1) changes per cell key."""
    cells: dict[tuple[Any, ...], Delta] = {}
    months: dict[tuple[Any, ...], Delta] = {}
    days: dict[tuple[Any, ...], Delta] = {}
    for key, parts in changes.items():
        for part, sign in parts:
            _add(cells, (key.day, key.unit, key.category, key.channel, key.appeal_type, key.region), part, sign)
            for mkey in monthly_keys(key):
                _add(months, mkey, part, sign)
            for dkey in daily_keys(key):
                _add(days, dkey, part, sign)
    return _clean(cells), _clean(months), _clean(days)


def fold(session: Session, order: WorkOrder, *, new: bool = False) -> bool:
    """Bring the order's fact row and its cells up to date. Returns True if anything changed.

    ``new``: the order was registered in this transaction, so it has no fact row or waiting copy
    yet and neither is read nor deleted (were one there, inserting the fact would fail loudly on
    its primary key rather than count the order twice)."""
    fresh = live_fact(session, order)
    new_part = partial_of(fresh, working_seconds)
    new_key = cell_key_of(fresh)
    row = None if new else repository.fact(session, order.number)
    changes: dict[CellKey, list[tuple[KpiPartial, int]]] = {new_key: [(new_part, 1)]}
    if row is not None:
        old = fact_of_row(row)
        changes.setdefault(cell_key_of(old), []).append((partial_of(old, folded_working_seconds(row)), -1))
    cells, months, days = change_deltas(changes)
    values = row_values(fresh, source="live")
    repository.set_waiting(session, values, new=new)
    if row is None:
        repository.add_fact(session, values)
    else:
        for name, value in values.items():
            if getattr(row, name) != value:
                setattr(row, name, value)
    if cells:
        repository.add_to_cells(session, cells)
        repository.add_to_monthly(session, months)
        repository.add_to_daily(session, days)
    return bool(cells)
