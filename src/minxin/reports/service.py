"""Reporting decisions: who may read which units, how a period is summed, scorecard configuration.

``summed`` is the query planner. A period is split into whole months (read from the small
``kpi_monthly`` rows of one dimension) and the partial months at its edges (read from the
city-wide ``kpi_daily`` rows when the query is city-wide, else from the day cells); a query with
several filters, or grouped by one dimension while filtered by another, reads the day cells for
the whole period. Both give the same sums (tests check it). With
``as_of`` the late-while-waiting counts of orders still open are added (docs/kpis.md §1, §3).

Scoping: leaders, supervisors, dispatchers and admins read reports; everyone but admins and
people of a root unit sees only units of their own subtree (``unit=`` may narrow it further, never
widen it). Orders without a unit (direct answers in imported history) are visible only to those
who see everything.
"""

from __future__ import annotations

import calendar as pycalendar
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from importlib import resources
from typing import Any

import numpy as np
import yaml
from sqlalchemy.orm import Session

from minxin.accounts.principal import Principal
from minxin.core.kpi import COUNTER_FIELDS, KpiPartial, ScorecardConfig, ScorecardConfigError
from minxin.core.kpi.histogram import HandlingHistogram
from minxin.core.kpi.partials import DEFAULT_TZ
from minxin.core.vocabulary import Role
from minxin.errors import Forbidden, Invalid, NotFound
from minxin.reports import late, queries, repository
from minxin.reports.models import CELL_KEY, ScorecardConfigRow

READER_ROLES = frozenset({Role.LEADER, Role.SUPERVISOR, Role.ADMIN, Role.DISPATCHER})
GROUPS = ("unit", "category", "channel", "appeal_type", "region", "day", "month")
FILTERS = ("category", "channel", "appeal_type", "region")
TZ_NAME = "Asia/Shanghai"
_P90 = ("p90_handling_working_days", "p90_handling_working_hours")
_LATE = ("dispatch_judged", "sign_judged", "completion_judged")


@dataclass(frozen=True)
class Scope:
    """The units a reader may see: ``units`` None = everything (and orders with no unit)."""

    units: tuple[str, ...] | None
    unit: str | None  # the unit asked for (``unit=``), if any


def scope_for(session: Session, principal: Principal, unit: str | None) -> Scope:
    if principal.role not in READER_ROLES:
        raise Forbidden("当前角色无权查看统计报表", "Your role may not read reports", code="stats.role_forbidden")
    paths = repository.unit_paths(session)
    if unit:
        if unit not in paths:
            raise NotFound(f"单位不存在：{unit}", f"No unit '{unit}'", code="unit.not_found")
        if not principal.covers(paths[unit]):
            raise Forbidden(f"单位 {unit} 不在您的管辖范围内", f"Unit '{unit}' is outside your scope", code="stats.unit_forbidden")
        root = paths[unit]
    elif principal.sees_everything:
        return Scope(None, None)
    else:
        root = principal.unit_path
    return Scope(tuple(sorted(code for code, path in paths.items() if path.startswith(root))), unit)


def system_scope(session: Session, unit: str | None = None) -> Scope:
    """The CLI's scope: everything, or one unit's subtree."""
    if unit is None:
        return Scope(None, None)
    paths = repository.unit_paths(session)
    if unit not in paths:
        raise NotFound(f"单位不存在：{unit}", f"No unit '{unit}'", code="unit.not_found")
    return Scope(tuple(sorted(c for c, p in paths.items() if p.startswith(paths[unit]))), unit)


# ----------------------------------------------------------------------------- periods
def month_bounds(month: str) -> tuple[date, date]:
    """'2026-10' → (2026-10-01, 2026-10-31); 422 for anything else."""
    try:
        year, mon = (int(p) for p in month.split("-"))
        first = date(year, mon, 1)
    except ValueError:
        raise Invalid(f"月份格式应为 YYYY-MM：{month}", f"Month must be YYYY-MM, got {month!r}", code="stats.bad_month") from None
    return first, date(year, mon, pycalendar.monthrange(year, mon)[1])


def _month_end(d: date) -> date:
    return date(d.year, d.month, pycalendar.monthrange(d.year, d.month)[1])


def _next_month(d: date) -> date:
    return date(d.year + d.month // 12, d.month % 12 + 1, 1)


def _whole_months(first: date, last: date) -> tuple[date, date] | None:
    """The first days of the first and last whole months inside first..last, if any."""
    m0 = first if first.day == 1 else _next_month(first)
    m1 = last.replace(day=1) if last == _month_end(last) else (last.replace(day=1) - timedelta(days=1)).replace(day=1)
    return (m0, m1) if m0 <= m1 else None


def local_range(first: date, last: date) -> tuple[datetime, datetime]:
    """[first 00:00, last+1 00:00) in the KPI zone, as instants."""
    return (datetime.combine(first, time(), DEFAULT_TZ), datetime.combine(last + timedelta(days=1), time(), DEFAULT_TZ))


# ----------------------------------------------------------------------------- the planner
def _key(group_by: str | None, value: Any) -> Any:
    if group_by is None:
        return ()
    if group_by == "month":
        return str(value)[:7]
    if group_by == "day":
        return str(value)[:10]
    return value


class _Acc:
    """Counters and histogram rows of the groups of one query, from any number of reads.

    Histogram rows are kept as columns as they come and grouped once at the end with numpy: a
    city-wide month by unit is ≈ 18k ``(unit, bucket)`` rows, and merging them into dicts row by
    row took longer than reading them."""

    def __init__(self) -> None:
        self.counters: dict[Any, list[int]] = {}
        self.hist: tuple[list[Any], list[int], list[int], list[int]] = ([], [], [], [])  # key, bucket, count, Σ s

    def add(self, key: Any, values: Sequence[Any]) -> None:
        row = self.counters.setdefault(key, [0] * len(COUNTER_FIELDS))
        for j, v in enumerate(values):
            row[j] += int(v or 0)

    def add_hist(self, group_by: str | None, grouped: bool, columns: Sequence[list[Any]]) -> None:
        """Columns ``[*group, bucket, count, Σ seconds]``, with one group column when ``grouped``."""
        n = len(columns[-1])
        if not grouped:
            keys: list[Any] = [()] * n
        elif group_by in ("day", "month"):
            keys = [_key(group_by, v) for v in columns[0]]
        else:
            keys = columns[0]
        for mine, theirs in zip(self.hist, (keys, *columns[-3:]), strict=True):
            mine.extend(theirs)

    def partials(self) -> dict[Any, KpiPartial]:
        """Groups holding at least one order (an ungrouped SUM over nothing is one NULL row)."""
        orders_all = COUNTER_FIELDS.index("orders_all")
        hists = histograms(*self.hist)
        empty = HandlingHistogram()
        return {
            k: KpiPartial(**dict(zip(COUNTER_FIELDS, v, strict=True)), handling_hist=hists.get(k, empty))
            for k, v in sorted(self.counters.items(), key=lambda kv: str(kv[0]))
            if v[orders_all]
        }


def histograms(keys: Sequence[Any], buckets: Sequence[int], counts: Sequence[int],
               seconds: Sequence[Any]) -> dict[Any, HandlingHistogram]:
    """Histogram rows by column (a bucket of a key may repeat) → one histogram per key: counts
    and sums added per bucket, empty buckets dropped (an emptied bucket keeps its row in the
    tables), buckets ascending — what ``HandlingHistogram.from_mapping`` of the summed rows
    gives, computed with numpy."""
    if not len(keys):
        return {}
    index: dict[Any, int] = {}
    ki = np.fromiter((index.setdefault(k, len(index)) for k in keys), dtype=np.int64, count=len(keys))
    b = np.fromiter(buckets, dtype=np.int64, count=len(keys))
    order = np.lexsort((b, ki))
    ki, b = ki[order], b[order]
    c = np.fromiter(counts, dtype=np.int64, count=len(keys))[order]
    s = np.fromiter((int(x or 0) for x in seconds), dtype=np.int64, count=len(keys))[order]
    starts = np.flatnonzero(np.concatenate(([True], (ki[1:] != ki[:-1]) | (b[1:] != b[:-1]))))
    ki, b, c, s = ki[starts], b[starts], np.add.reduceat(c, starts), np.add.reduceat(s, starts)
    kept = c > 0
    ki, b, c, s = ki[kept], b[kept], c[kept], s[kept]
    bounds = np.searchsorted(ki, np.arange(len(index) + 1)).tolist()
    bl, cl, sl = b.tolist(), c.tolist(), s.tolist()
    return {key: HandlingHistogram(tuple(zip(bl[bounds[i]:bounds[i + 1]], cl[bounds[i]:bounds[i + 1]],
                                             sl[bounds[i]:bounds[i + 1]], strict=True)))
            for key, i in index.items() if bounds[i] < bounds[i + 1]}  # fmt: skip


def total_of(parts: Iterable[KpiPartial]) -> KpiPartial:
    """``sum_partials`` of many groups, with the histograms added by column (see ``histograms``)."""
    parts = list(parts)
    totals = [sum(getattr(p, name) for p in parts) for name in COUNTER_FIELDS]
    triples = [p.handling_hist.buckets for p in parts]
    columns = [[t[j] for bs in triples for t in bs] for j in range(3)]
    hist = histograms([()] * len(columns[0]), *columns).get((), HandlingHistogram())
    return KpiPartial(**dict(zip(COUNTER_FIELDS, totals, strict=True)), handling_hist=hist)


def _daily_dim(units: Sequence[str] | None, group_by: str | None, filters: Mapping[str, Sequence[str]]) -> str | None:
    """The ``kpi_daily`` dimension that answers a query, if one does: city-wide only (no unit
    list, not by unit), at most one filter, grouped by nothing, a day or month, or that filter."""
    if units is not None or group_by == "unit" or len(filters) > 1:
        return None
    if filters:
        dim = next(iter(filters))
        return dim if group_by in (None, "day", "month", dim) else None
    return "all" if group_by in (None, "day", "month") else group_by


def summed(
    session: Session,
    scope: Scope,
    first: date,
    last: date,
    *,
    group_by: str | None = None,
    filters: Mapping[str, Sequence[str]] | None = None,
    with_hist: bool = True,
    as_of: datetime | None = None,
) -> dict[Any, KpiPartial]:
    """Summed partials of the orders created first..last (local dates), per group."""
    if group_by is not None and group_by not in GROUPS:
        raise Invalid(f"不支持的分组：{group_by}", f"group_by must be one of {', '.join(GROUPS)}", code="stats.bad_group")
    if last < first:
        raise Invalid("结束日期早于开始日期", "'to' is before 'from'", code="stats.bad_period")
    filters = {k: list(v) for k, v in (filters or {}).items() if v}
    units = scope.units
    acc = _Acc()
    cell_group = ["day"] if group_by == "month" else ([group_by] if group_by else [])
    monthly_dim: str | None = None
    if not filters:
        monthly_dim = "all" if group_by in (None, "unit", "month") else group_by
    elif len(filters) == 1 and group_by in (None, "unit", "month", *filters):
        monthly_dim = next(iter(filters))
    if monthly_dim == "day" or (monthly_dim is not None and group_by == "day"):
        monthly_dim = None if filters else "day"
    mgroup = {None: [], "unit": ["unit"], "month": ["month"]}.get(group_by, ["value"])
    values = filters.get(monthly_dim) if monthly_dim in filters else None
    daily_dim = _daily_dim(units, group_by, filters)
    dgroup = {None: [], "month": ["day"], "day": ["day"]}.get(group_by, ["value"])

    def from_cells(a: date, b: date) -> None:
        for row in queries.cell_sums(session, a, b, units, filters, cell_group):
            acc.add(_key(group_by, row[0]) if cell_group else (), row[len(cell_group):])
        if with_hist:
            acc.add_hist(group_by, bool(cell_group), queries.cell_hist(session, a, b, units, filters, cell_group))

    def from_months(dim: str, a: date, b: date, value_range: tuple[str, str] | None = None) -> None:
        kw: dict[str, Any] = {"values": values, "value_range": value_range}
        for row in queries.monthly_sums(session, dim, a, b, units, mgroup, **kw):
            acc.add(_key(group_by, row[0]) if mgroup else (), row[len(mgroup):])
        if with_hist:
            acc.add_hist(group_by, bool(mgroup), queries.monthly_hist(session, dim, a, b, units, mgroup, **kw))

    def from_days(a: date, b: date) -> None:
        """Days that are not whole months: the city-wide daily rows if they can answer, else cells."""
        if daily_dim is None:
            return from_cells(a, b)
        kw: dict[str, Any] = {"values": filters.get(daily_dim)}
        for row in queries.daily_sums(session, daily_dim, a, b, dgroup, **kw):
            acc.add(_key(group_by, row[0]) if dgroup else (), row[len(dgroup):])
        if with_hist:
            acc.add_hist(group_by, bool(dgroup), queries.daily_hist(session, daily_dim, a, b, dgroup, **kw))

    if monthly_dim == "day":
        from_months("day", first.replace(day=1), last.replace(day=1), (first.isoformat(), last.isoformat()))
    elif monthly_dim is not None and (months := _whole_months(first, last)) is not None:
        from_months(monthly_dim, *months)
        if first < months[0]:
            from_days(first, months[0] - timedelta(days=1))
        if _month_end(months[1]) < last:
            from_days(_month_end(months[1]) + timedelta(days=1), last)
    else:
        from_days(first, last)
    if as_of is not None:
        late_group = ["day"] if group_by == "month" else cell_group
        rows = late.lookup(session, first, last, units, filters, late_group, as_of)
        if rows is None:
            rows = queries.late_counts(session, local_range(first, last), units, filters, late_group, as_of, TZ_NAME)
        for row in rows:
            key = _key(group_by, row[0]) if late_group else ()
            adjust = [0] * len(COUNTER_FIELDS)
            for name, value in zip(_LATE, row[len(late_group):], strict=True):
                adjust[COUNTER_FIELDS.index(name)] = int(value or 0)
            acc.add(key, adjust)
    return acc.partials()


@contextmanager
def shared_late_counts(session: Session, scope: Scope, as_of: datetime, first: date, last: date, *,
                       since: date, dims: Sequence[str]) -> Iterator[None]:
    """Inside the block, ``summed`` takes the late counts of ``scope`` at ``as_of`` from one read:
    totals, days and months anywhere in since..last, and ``dims`` over exactly first..last (see
    ``late``). A page judging many figures at one instant wraps itself in this."""
    if not set(dims) <= set(CELL_KEY) - {"day"}:
        raise ValueError(f"late counts by {dims} are not supported")
    rows = queries.late_counts_at_grains(session, local_range(since, last), local_range(first, last), dims, scope.units,
                                         as_of, TZ_NAME)  # fmt: skip
    memo = late.SharedLate.of(rows, units=scope.units, as_of=as_of, days=(since, last), dims_period=(first, last), dims=dims)
    with late.installed(session, memo):
        yield


def total(session: Session, scope: Scope, first: date, last: date, **kw: Any) -> KpiPartial | None:
    """The one summed partial of a period (None when it holds no order)."""
    part = summed(session, scope, first, last, **kw).get(())
    return None if part is None or part.is_empty else part


def needs_hist(codes: Sequence[str] | None) -> bool:
    return codes is None or any(c in _P90 for c in codes)


# ----------------------------------------------------------------------------- scorecard config
def default_config_text() -> str:
    return resources.files("minxin.reports").joinpath("scorecard_default.yaml").read_text(encoding="utf-8")


def parse_config(text: str) -> tuple[ScorecardConfig, dict[str, Any]]:
    """YAML (or JSON, which is YAML) → validated config; 422 naming every bad key."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise Invalid("考核方案不是有效的 YAML/JSON", f"Not valid YAML/JSON: {exc}", code="scorecard.bad_config") from None
    if not isinstance(data, dict):
        raise Invalid("考核方案应为映射（键值对）", "The configuration must be a mapping", code="scorecard.bad_config")
    try:
        config = ScorecardConfig.from_mapping(data)
    except ScorecardConfigError as exc:
        raise Invalid("考核方案校验失败", str(exc), code="scorecard.bad_config") from None
    return config, config.model_dump(mode="json")


def current_config(session: Session) -> tuple[ScorecardConfig, int, str]:
    """(config, version, source text); version 0 is the shipped default."""
    row = repository.latest_config(session)
    if row is None:
        text = default_config_text()
        return parse_config(text)[0], 0, text
    return ScorecardConfig.from_mapping(row.config), row.version, row.source_text


def save_config(session: Session, text: str, *, actor: str, now: datetime) -> ScorecardConfigRow:
    """Validate and store a new version (versions are never overwritten)."""
    _config, data = parse_config(text)
    latest = repository.latest_config(session)
    row = ScorecardConfigRow(version=(latest.version if latest else 0) + 1, config=data, source_text=text,
                             created_at=now, created_by=actor)  # fmt: skip
    repository.add_config(session, row)
    return row
