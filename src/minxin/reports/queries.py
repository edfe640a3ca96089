"""Reads for reports: sums over ``kpi_monthly`` / ``kpi_daily`` / ``kpi_cells``, histograms, the
late-while-waiting counts of open orders, and the drill-down lists of ``order_facts``. All SQL of the read side.

Every sum returns plain tuples ``(*group values, *counters in COUNTER_FIELDS order)``; the
service turns them into ``KpiPartial``s. Unit scoping is always an explicit list of unit codes
(a subtree resolved by the service) or None for "everything" (admins and the centre).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Select,
    String,
    and_,
    case,
    cast,
    func,
    literal,
    literal_column,
    or_,
    select,
    tuple_,
    union_all,
)
from sqlalchemy.orm import Session

from minxin.core.kpi import COUNTER_FIELDS
from minxin.reports.models import (
    ALL_UNITS,
    OrderFactRow,
    kpi_cell_hist,
    kpi_cells,
    kpi_daily,
    kpi_daily_hist,
    kpi_monthly,
    kpi_monthly_hist,
    order_facts_waiting,
)

facts = OrderFactRow.__table__
#: cell dimensions a query may filter or group by (``month`` is rolled up from ``day`` by the caller)
CELL_DIMS = ("day", "unit", "category", "channel", "appeal_type", "region")
_NOT_EFFECTIVE = ("merged", "void")


def _sums(table: Any) -> list[Any]:
    return [func.sum(table.c[name]).label(name) for name in COUNTER_FIELDS]


_PROBE_SETTINGS = ("enable_hashjoin", "enable_mergejoin", "max_parallel_workers_per_gather")


def _hist_sums(h: Any) -> list[Any]:
    """Σ count, Σ seconds of histogram rows. The seconds as BIGINT: PostgreSQL sums a BIGINT
    into NUMERIC, which reaches Python as ``Decimal`` (slow to sum, convert and encode)."""
    return [func.sum(h.c.count), cast(func.sum(h.c.sum_seconds), BigInteger)]


def _fetched(session: Session, stmt: Any) -> list[tuple[Any, ...]]:
    """All rows as tuples, fetched at once (iterating a result fetches row by row)."""
    return [tuple(r) for r in session.execute(stmt).all()]


def _hist_columns(session: Session, stmt: Any) -> list[list[Any]]:
    """The rows of a histogram read as column lists ``[*group, bucket, count, Σ seconds]``.

    Fetched from the driver in batches and turned into columns at once: iterating a result row by
    row goes through the driver once per row (slower than the query for the ≈ 18k rows of a
    city-wide month by unit), and holding rows as tuples or ``Row`` objects kept tens of thousands
    of objects alive across collections, enough to set off a full garbage collection of the
    server (≈ 0.3 s) every other call.

    On PostgreSQL the read probes the histogram's ``(owner, bucket)`` key: the planner prefers
    hashing the whole histogram table (a full scan of millions of rows), or a parallel scan of the
    rollup table, to probing it for the few rows asked for; the probe is what scales (2M orders,
    two weeks city-wide: 252 → 114 ms; 1M orders, one month by unit: 250 → 35 ms on a loaded
    2-core machine, where parallel workers only compete with each other). Scoped to this one
    statement; on an error the transaction is rolled back, which undoes ``SET LOCAL`` too."""
    postgres = session.get_bind().dialect.name == "postgresql"
    conn = session.connection()
    if postgres:
        for name in _PROBE_SETTINGS:
            conn.exec_driver_sql(f"SET LOCAL {name} = {'0' if name.startswith('max_') else 'off'}")
    result = session.execute(stmt)
    columns: list[list[Any]] = [[] for _ in range(len(result.keys()))]
    cursor = result.cursor  # the driver's rows: plain tuples of ints and texts (``_key`` reads dates as text)
    while part := cursor.fetchmany(4096):
        for column, values in zip(columns, zip(*part, strict=True), strict=True):
            column.extend(values)
    result.close()
    if postgres:
        for name in _PROBE_SETTINGS:
            conn.exec_driver_sql(f"RESET {name}")
    return columns


def _units(column: Any, units: Sequence[str] | None) -> Any:
    return literal(True) if units is None else column.in_(list(units))


def _monthly_units(column: Any, units: Sequence[str] | None, city: bool) -> Any:
    """Unit rows of ``kpi_monthly``: a unit list; every real unit; or the city-wide ``*`` rows."""
    if units is not None:
        return column.in_(list(units))
    return column == ALL_UNITS if city else column != ALL_UNITS


# ----------------------------------------------------------------------------- monthly rollups
def _monthly_where(dim: str, first: date, last: date, units: Sequence[str] | None,
                   values: Sequence[str] | None, value_range: tuple[str, str] | None, city: bool) -> list[Any]:
    t = kpi_monthly
    where = [t.c.dim == dim, t.c.month >= first, t.c.month <= last, _monthly_units(t.c.unit, units, city)]
    if values is not None:
        where.append(t.c.value.in_(list(values)))
    if value_range is not None:
        where += [t.c.value >= value_range[0], t.c.value <= value_range[1]]
    return where


def monthly_sums(session: Session, dim: str, first: date, last: date, units: Sequence[str] | None,
                 group: Sequence[str], *, values: Sequence[str] | None = None,
                 value_range: tuple[str, str] | None = None) -> list[tuple[Any, ...]]:
    """Σ counters of ``kpi_monthly`` rows of one dimension, months first..last (1st of month),
    grouped by any of ``month``, ``unit``, ``value``. Unscoped and not by unit: the ``*`` rows."""
    t = kpi_monthly
    cols = [t.c[g] for g in group]
    city = units is None and "unit" not in group
    stmt = select(*cols, *_sums(t)).where(*_monthly_where(dim, first, last, units, values, value_range, city))
    return _fetched(session, stmt.group_by(*cols))


def monthly_hist(session: Session, dim: str, first: date, last: date, units: Sequence[str] | None,
                 group: Sequence[str], *, values: Sequence[str] | None = None,
                 value_range: tuple[str, str] | None = None) -> list[list[Any]]:
    """Columns (*group, bucket, Σ count, Σ seconds) of the same rows as ``monthly_sums``."""
    t, h = kpi_monthly, kpi_monthly_hist
    cols = [t.c[g] for g in group]
    city = units is None and "unit" not in group
    stmt = (
        select(*cols, h.c.bucket, *_hist_sums(h))
        .join(h, h.c.monthly_id == t.c.id)
        .where(*_monthly_where(dim, first, last, units, values, value_range, city))
        .group_by(*cols, h.c.bucket)
    )
    return _hist_columns(session, stmt)


# ----------------------------------------------------------------------------- city-wide daily rollups
def _daily_where(dim: str, first: date, last: date, values: Sequence[str] | None) -> list[Any]:
    t = kpi_daily
    where = [t.c.dim == dim, t.c.day >= first, t.c.day <= last]
    if values is not None:
        where.append(t.c.value.in_(list(values)))
    return where


def daily_sums(session: Session, dim: str, first: date, last: date, group: Sequence[str], *,
               values: Sequence[str] | None = None) -> list[tuple[Any, ...]]:
    """Σ counters of the city-wide ``kpi_daily`` rows of one dimension, days first..last,
    grouped by any of ``day``, ``value``."""
    t = kpi_daily
    cols = [t.c[g] for g in group]
    stmt = select(*cols, *_sums(t)).where(*_daily_where(dim, first, last, values))
    return _fetched(session, stmt.group_by(*cols))


def daily_hist(session: Session, dim: str, first: date, last: date, group: Sequence[str], *,
               values: Sequence[str] | None = None) -> list[list[Any]]:
    """Columns (*group, bucket, Σ count, Σ seconds) of the same rows as ``daily_sums``."""
    t, h = kpi_daily, kpi_daily_hist
    cols = [t.c[g] for g in group]
    stmt = (
        select(*cols, h.c.bucket, *_hist_sums(h))
        .join(h, h.c.daily_id == t.c.id)
        .where(*_daily_where(dim, first, last, values))
        .group_by(*cols, h.c.bucket)
    )
    return _hist_columns(session, stmt)


# ----------------------------------------------------------------------------- day cells
def _cell_where(first: date, last: date, units: Sequence[str] | None, filters: Mapping[str, Sequence[str]]) -> list[Any]:
    t = kpi_cells
    where = [t.c.day >= first, t.c.day <= last, _units(t.c.unit, units)]
    where += [t.c[dim].in_(list(values)) for dim, values in filters.items()]
    return where


def cell_sums(session: Session, first: date, last: date, units: Sequence[str] | None,
              filters: Mapping[str, Sequence[str]], group: Sequence[str]) -> list[tuple[Any, ...]]:
    """Σ counters of the day cells first..last matching ``filters``, grouped by cell dimensions."""
    t = kpi_cells
    cols = [t.c[g] for g in group]
    stmt = select(*cols, *_sums(t)).where(*_cell_where(first, last, units, filters))
    return _fetched(session, stmt.group_by(*cols))


def cell_hist(session: Session, first: date, last: date, units: Sequence[str] | None,
              filters: Mapping[str, Sequence[str]], group: Sequence[str]) -> list[list[Any]]:
    t, h = kpi_cells, kpi_cell_hist
    cols = [t.c[g] for g in group]
    stmt = (
        select(*cols, h.c.bucket, *_hist_sums(h))
        .join(h, h.c.cell_id == t.c.id)
        .where(*_cell_where(first, last, units, filters))
        .group_by(*cols, h.c.bucket)
    )
    return _hist_columns(session, stmt)


# ----------------------------------------------------------------------------- order facts
def local_day(session: Session, tz_name: str, column: Any = None) -> Any:
    """SQL for the local date of ``order_facts.created_at`` (stored UTC), or of ``column``."""
    column = facts.c.created_at if column is None else column
    if session.get_bind().dialect.name == "postgresql":
        return func.date(func.timezone(tz_name, column))
    offset = {"Asia/Shanghai": "+8 hours"}.get(tz_name)
    if offset is None:
        raise ValueError(f"SQLite reports support Asia/Shanghai only, not {tz_name}")
    return func.date(column, offset)


def _fact_where(created: tuple[datetime, datetime], units: Sequence[str] | None,
                filters: Mapping[str, Sequence[str]]) -> list[Any]:
    where = [facts.c.created_at >= created[0], facts.c.created_at < created[1], _units(facts.c.unit, units)]
    where += [facts.c[dim].in_(list(values)) for dim, values in filters.items()]
    return where


def _is_open() -> Any:
    return and_(facts.c.replied_at.is_(None), facts.c.closed_at.is_(None))


def _effective() -> Any:
    return or_(facts.c.status.is_(None), facts.c.status.not_in(_NOT_EFFECTIVE))


def _late_conditions(as_of: datetime) -> tuple[Any, Any, Any]:
    """(late for dispatch, late for signing, late for completion) of an order still waiting."""
    w = order_facts_waiting.c
    return (
        and_(w.dispatched_at.is_(None), w.dispatch_late_after < as_of),
        and_(w.dispatched_at.is_not(None), w.signed_at.is_(None), w.sign_late_after < as_of),
        and_(w.handle_due_at.is_not(None), w.handle_due_at < as_of),
    )


def _waiting_where(created: tuple[datetime, datetime], units: Sequence[str] | None,
                   filters: Mapping[str, Sequence[str]]) -> list[Any]:
    """Effective open orders created in [created) of the units, matching ``filters``."""
    w = order_facts_waiting.c
    where = [w.created_at >= created[0], w.created_at < created[1], _units(w.unit, units),
             or_(w.status.is_(None), w.status.not_in(_NOT_EFFECTIVE))]
    return where + [w[dim].in_(list(values)) for dim, values in filters.items()]


def _index_hint(stmt: Any, units: Sequence[str] | None) -> Any:
    # SQLite's planner may prefer the unit index for a city-wide period, or the other way round
    index = "ix_order_facts_waiting_created" if units is None else "ix_order_facts_waiting_unit"
    return stmt.with_hint(order_facts_waiting, f"INDEXED BY {index}", "sqlite")


def late_counts(session: Session, created: tuple[datetime, datetime], units: Sequence[str] | None,
                filters: Mapping[str, Sequence[str]], group: Sequence[str], as_of: datetime,
                tz_name: str) -> list[tuple[Any, ...]]:
    """(*group, dispatch late, sign late, completion late) of effective orders still waiting at
    ``as_of`` (docs/kpis.md §1): what ``as_of_adjustment`` adds to the clock-free cells. Read
    from ``order_facts_waiting`` (the open orders' columns, densely stored)."""
    w = order_facts_waiting.c
    cols = [local_day(session, tz_name, w.created_at).label("day") if g == "day" else w[g] for g in group]
    one = lambda cond: func.sum(case((cond, 1), else_=0))  # noqa: E731
    stmt = select(*cols, *(one(c) for c in _late_conditions(as_of))).where(*_waiting_where(created, units, filters))
    return _fetched(session, _index_hint(stmt.group_by(*cols), units))


def late_counts_at_grains(session: Session, days: tuple[datetime, datetime], dims_period: tuple[datetime, datetime],
                          dims: Sequence[str], units: Sequence[str] | None, as_of: datetime,
                          tz_name: str) -> list[tuple[str, str, int, int, int]]:
    """The late counts of a whole page in one statement: per local day over ``days``, and per
    value of each of ``dims`` over ``dims_period`` (inside ``days``). Rows: (grain — ``day`` or
    the dimension —, key as text, dispatch late, sign late, completion late); only orders late
    in some way are counted (the others add nothing).

    PostgreSQL reads the waiting orders once and aggregates every grain in the same pass
    (``GROUPING SETS``); SQLite, which has none, runs one small GROUP BY per grain in one
    ``UNION ALL``. Eleven separate ``late_counts`` of a dashboard page each re-read the month's
    open orders; rolling one finest-grain result up in Python was slower still."""
    c = order_facts_waiting.c
    flags = [case((cond, 1), else_=0).label(n) for cond, n in zip(_late_conditions(as_of), "dsh", strict=True)]
    late_only = or_(*_late_conditions(as_of))
    in_period = and_(c.created_at >= dims_period[0], c.created_at < dims_period[1])
    day = cast(local_day(session, tz_name, c.created_at), String)
    if session.get_bind().dialect.name == "postgresql":
        sub = select(day.label("day"), in_period.label("m"), *(c[d] for d in dims), *flags).where(
            *_waiting_where(days, units, {}), late_only
        ).subquery("late_open")
        k = sub.c
        sets = func.grouping_sets(tuple_(k.day), *(tuple_(k.m, k[d]) for d in dims))
        stmt = select(k.day, k.m, *(k[d] for d in dims), *(func.grouping(k[d]) for d in dims),
                      *(func.sum(k[n]) for n in "dsh")).group_by(sets)  # fmt: skip
        out = []
        for row in session.execute(stmt):
            counts = tuple(int(v or 0) for v in row[-3:])
            grouped = [d for i, d in enumerate(dims) if row[2 + len(dims) + i] == 0]
            if not grouped:
                out.append(("day", str(row[0]), *counts))
            elif row[1]:  # the dimension grains count only the orders of dims_period
                out.append((grouped[0], str(row[2 + dims.index(grouped[0])]), *counts))
        return out  # type: ignore[return-value]
    sums = [func.sum(f) for f in flags]
    parts = [_index_hint(select(literal_column("'day'"), day, *sums).where(*_waiting_where(days, units, {}), late_only)
                         .group_by(day), units)]  # fmt: skip
    for d in dims:
        parts.append(_index_hint(select(literal_column(f"'{d}'"), c[d], *sums)
                                 .where(*_waiting_where((dims_period[0], dims_period[1]), units, {}), late_only)
                                 .group_by(c[d]), units))  # fmt: skip
    return [(str(g), str(k), int(a or 0), int(b or 0), int(c or 0)) for g, k, a, b, c in session.execute(union_all(*parts))]


#: the orders behind each KPI figure: (denominator population, numerator condition); None = all
def kpi_population(code: str, as_of: datetime | None) -> tuple[Any, Any]:
    f = facts.c
    eff = _effective()
    disp = and_(eff, f.dispatched_at.is_not(None))
    waiting = and_(eff, _is_open()) if as_of is not None else literal(False)
    late = (lambda col: col < as_of) if as_of is not None else (lambda col: literal(False))
    answered = and_(eff, f.satisfaction.is_not(None))
    content = f.satisfaction.in_(("satisfied", "basically_satisfied"))
    fair = ~f.excluded_from_satisfaction
    known = and_(eff, f.resolved.is_not(None))
    due_judged = or_(
        and_(eff, f.handle_due_at.is_not(None), f.replied_at.is_not(None)),
        and_(waiting, f.handle_due_at.is_not(None), late(f.handle_due_at)),
    )
    on_time = and_(f.replied_at.is_not(None), f.replied_at <= f.handle_due_at)
    sign_on_time = or_(
        and_(f.sign_due_at.is_not(None), f.signed_at <= f.sign_due_at),
        and_(f.sign_due_at.is_(None), f.sign_working_seconds <= 7200),
    )
    handled = and_(disp, f.replied_at.is_not(None))
    finished = and_(eff, or_(f.replied_at.is_not(None), f.closed_at.is_not(None)))
    evidence = and_(eff, f.replied_at.is_not(None), f.requires_evidence)
    table: dict[str, tuple[Any, Any]] = {
        "volume": (eff, None),
        "volume_all": (literal(True), None),
        "merged_count": (f.status == "merged", None),
        "void_count": (f.status == "void", None),
        "praise_count": (and_(eff, f.appeal_type == "praise"), None),
        "dispatch_on_time_rate": (
            or_(disp, and_(waiting, f.dispatched_at.is_(None), late(f.dispatch_late_after))),
            f.dispatched_at <= f.dispatch_late_after,
        ),
        "sign_on_time_rate": (
            or_(and_(disp, f.signed_at.is_not(None)),
                and_(waiting, f.dispatched_at.is_not(None), f.signed_at.is_(None), late(f.sign_late_after))),
            and_(f.signed_at.is_not(None), sign_on_time),
        ),
        "on_time_completion_rate": (due_judged, on_time),
        "overdue_count": (and_(due_judged, ~on_time), None),
        "direct_answer_rate": (eff, and_(f.dispatched_at.is_(None), f.closed_at.is_not(None))),
        "callback_rate": (finished, f.callback_at.is_not(None)),
        "satisfaction_rate": (answered, content),
        "satisfaction_rate_fair": (and_(answered, fair), content),
        "fairness_excluded_count": (and_(eff, f.excluded_from_satisfaction), None),
        "resolution_rate": (known, f.resolved),
        "resolution_rate_fair": (and_(known, fair), f.resolved),
        "reopen_rate": (disp, f.reopen_count > 0),
        "reopened_count": (and_(disp, f.reopen_count > 0), None),
        "return_rate": (disp, f.returned_count > 0),
        "returned_count": (and_(disp, f.returned_count > 0), None),
        "evidence_compliance_rate": (evidence, f.has_evidence),
        "dissatisfied_count": (and_(eff, f.satisfaction == "dissatisfied"), None),
    }
    for duration in ("avg_handling_working_days", "avg_handling_working_hours",
                     "p90_handling_working_days", "p90_handling_working_hours"):  # fmt: skip
        table[duration] = (handled, None)
    return table.get(code, (eff, None))


def fact_page(session: Session, created: tuple[datetime, datetime], units: Sequence[str] | None,
              filters: Mapping[str, Sequence[str]], where: Sequence[Any], *, offset: int,
              limit: int) -> tuple[list[OrderFactRow], int]:
    """One page of the orders behind a figure (newest first) and how many there are."""
    stmt: Select[Any] = select(OrderFactRow).where(*_fact_where(created, units, filters), *where)
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    rows = session.scalars(stmt.order_by(facts.c.created_at.desc(), facts.c.number.desc()).offset(offset).limit(limit))
    return list(rows), int(total)
