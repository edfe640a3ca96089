"""Additive partial aggregates: the counters every KPI is a ratio (or quantile) of.

Why: a monthly scorecard over millions of orders must not touch the orders. Each order becomes a
``KpiPartial`` of 0/1 counters and integer sums; partials are stored per cell
(local day × unit × category × channel × appeal_type × region) and summed at query time. Every
KPI in ``definitions`` is computed from a summed partial only, so

    compute(merge(p1, p2, ...)) == compute(partial over all the orders)      (additivity)

holds exactly: all counters are integers (handling time is kept in whole working seconds), and the
handling-time histogram adds bucket-wise. ``subtract`` is the inverse of ``merge`` so an
aggregate table can be maintained incrementally: when an order changes, subtract its old partial
from its cell and add the new one (the cell key may change too, e.g. on a unit transfer).

Which KPI each field feeds is listed in docs/kpis.md and in ``definitions.KPIS[*].fields``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

from minxin.core.kpi.facts import OrderFact
from minxin.core.kpi.histogram import HandlingHistogram
from minxin.core.vocabulary import AppealType, Satisfaction

#: Seconds in one standard working day: 08:30–12:00 + 13:30–17:30 = 7.5 h.
STANDARD_WORKDAY_SECONDS = 27_000
DEFAULT_TZ = ZoneInfo("Asia/Shanghai")

#: Working time between two instants, in seconds (a float) or as a timedelta; normally
#: ``lambda a, b: calendar.working_time_between(a, b)`` (a timedelta is accepted as is).
WorkingSeconds = Callable[[datetime, datetime], float | timedelta]


@dataclass(frozen=True, slots=True)
class KpiPolicy:
    """Deadlines that the order itself may not carry (the import has no ``sign_due_at``)."""

    #: natural time from ``created_at`` when ``dispatch_due_at`` is empty (hotlines run 24×7)
    dispatch_deadline: timedelta = timedelta(minutes=30)
    #: working time from ``dispatched_at`` when ``sign_due_at`` is empty (units keep office hours)
    sign_deadline_working_seconds: int = 2 * 3600


DEFAULT_POLICY = KpiPolicy()


# ---------------------------------------------------------------------------------------------
# The partial
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class KpiPartial:
    """Counters and sums over a set of orders. Every field is a non-negative integer.

    "Effective" orders are those neither merged nor void; all fields below ``void`` count only
    effective orders. Field meanings (and the KPIs they feed) are in docs/kpis.md §3.
    """

    orders_all: int = 0
    merged: int = 0
    void: int = 0
    orders: int = 0
    praise: int = 0
    direct_answered: int = 0
    dispatched: int = 0
    dispatch_judged: int = 0
    dispatch_on_time: int = 0
    sign_judged: int = 0
    sign_on_time: int = 0
    completion_judged: int = 0
    completion_on_time: int = 0
    replied: int = 0
    finished: int = 0
    callbacks: int = 0
    callbacks_unreachable: int = 0
    satisfied: int = 0
    basically_satisfied: int = 0
    dissatisfied: int = 0
    resolution_answered: int = 0
    resolved: int = 0
    fairness_excluded: int = 0
    fairness_excluded_answered: int = 0
    fairness_excluded_content: int = 0
    fairness_excluded_resolution_answered: int = 0
    fairness_excluded_resolved: int = 0
    reopened: int = 0
    reopen_events: int = 0
    returned: int = 0
    return_events: int = 0
    evidence_required: int = 0
    evidence_present: int = 0
    handled: int = 0
    handling_seconds: int = 0
    handling_hist: HandlingHistogram = field(default_factory=HandlingHistogram)

    @property
    def answered(self) -> int:
        """Callbacks where the citizen gave a satisfaction answer."""
        return self.satisfied + self.basically_satisfied + self.dissatisfied

    @property
    def is_empty(self) -> bool:
        return self.orders_all == 0

    def columns(self) -> dict[str, int]:
        """The counters as ``{column: value}`` (the aggregate table's columns, histogram aside)."""
        return {name: getattr(self, name) for name in COUNTER_FIELDS}

    @classmethod
    def from_columns(
        cls, counters: Mapping[str, int], hist: Mapping[int, tuple[int, int]] | None = None
    ) -> KpiPartial:
        """Rebuild from stored columns; unknown keys are refused so schema drift is loud."""
        unknown = set(counters) - set(COUNTER_FIELDS)
        if unknown:
            raise ValueError(f"unknown partial fields: {sorted(unknown)}")
        return cls(
            **{k: int(v) for k, v in counters.items()},
            handling_hist=HandlingHistogram.from_mapping(hist or {}),
        )


#: The integer columns of a partial, in declaration order (histogram excluded).
COUNTER_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(KpiPartial) if f.name != "handling_hist")
EMPTY_PARTIAL = KpiPartial()


def merge(*parts: KpiPartial) -> KpiPartial:
    """Field-wise sum. Associative and commutative; ``EMPTY_PARTIAL`` is the identity."""
    return sum_partials(parts)


def sum_partials(parts: Iterable[KpiPartial]) -> KpiPartial:
    totals = dict.fromkeys(COUNTER_FIELDS, 0)
    hist: dict[int, tuple[int, int]] = {}
    for p in parts:
        for name in COUNTER_FIELDS:
            totals[name] += getattr(p, name)
        for b, c, s in p.handling_hist.buckets:
            c0, s0 = hist.get(b, (0, 0))
            hist[b] = (c0 + c, s0 + s)
    return KpiPartial(**totals, handling_hist=HandlingHistogram.from_mapping(hist))


def subtract(total: KpiPartial, part: KpiPartial) -> KpiPartial:
    """``total − part``; raises ValueError if ``part`` was not included in ``total``."""
    values = {name: getattr(total, name) - getattr(part, name) for name in COUNTER_FIELDS}
    negative = [k for k, v in values.items() if v < 0]
    if negative:
        raise ValueError(f"subtracting a partial that is not part of the total: {negative}")
    return KpiPartial(**values, handling_hist=total.handling_hist.subtract(part.handling_hist))


def _seconds(value: float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def partial_of(
    fact: OrderFact,
    working_seconds: WorkingSeconds,
    *,
    policy: KpiPolicy = DEFAULT_POLICY,
    as_of: datetime | None = None,
) -> KpiPartial:
    """The partial of one order.

    ``as_of`` is the instant the snapshot describes. With it, an order still waiting for a step
    (dispatch, signing, reply) whose deadline has passed counts as late for that step; without
    it (None) a waiting order is not judged yet. Results never depend on anything but the
    arguments.
    """
    if not fact.effective:
        return KpiPartial(orders_all=1, merged=int(fact.merged), void=int(fact.void))
    c: dict[str, int] = {"orders_all": 1, "orders": 1}
    c["praise"] = int(fact.appeal_type is AppealType.PRAISE)
    c["direct_answered"] = int(fact.direct_answer)
    dispatched = fact.dispatched_at is not None
    c["dispatched"] = int(dispatched)
    c["replied"] = int(fact.replied_at is not None)
    finished = fact.replied_at is not None or fact.closed_at is not None

    # 派单及时: natural time from intake.
    dispatch_due = fact.dispatch_due_at or fact.created_at + policy.dispatch_deadline
    if fact.dispatched_at is not None:
        c["dispatch_judged"], c["dispatch_on_time"] = 1, int(fact.dispatched_at <= dispatch_due)
    elif as_of is not None and not finished and dispatch_due < as_of:
        c["dispatch_judged"] = 1

    # 签收及时: explicit due instant, else working time after dispatch.
    if fact.dispatched_at is not None:
        if fact.signed_at is not None:
            c["sign_judged"] = 1
            if fact.sign_due_at is not None:
                c["sign_on_time"] = int(fact.signed_at <= fact.sign_due_at)
            else:
                used = _seconds(working_seconds(fact.dispatched_at, fact.signed_at))
                c["sign_on_time"] = int(used <= policy.sign_deadline_working_seconds)
        elif as_of is not None and not finished:
            if fact.sign_due_at is not None:
                late = fact.sign_due_at < as_of
            else:
                late = (
                    _seconds(working_seconds(fact.dispatched_at, as_of))
                    > policy.sign_deadline_working_seconds
                )
            c["sign_judged"] = int(late)

    # 按时办结: only orders that carry a handling deadline.
    if fact.handle_due_at is not None:
        if fact.replied_at is not None:
            c["completion_judged"], c["completion_on_time"] = 1, int(fact.replied_at <= fact.handle_due_at)
        elif as_of is not None and fact.closed_at is None and fact.handle_due_at < as_of:
            c["completion_judged"] = 1

    # 回访 and the citizen's answers.
    c["finished"] = int(finished)
    called = finished and fact.callback_at is not None
    c["callbacks"] = int(called)
    c["callbacks_unreachable"] = int(called and fact.callback_reachable is False)
    sat = fact.satisfaction
    c["satisfied"] = int(sat is Satisfaction.SATISFIED)
    c["basically_satisfied"] = int(sat is Satisfaction.BASICALLY_SATISFIED)
    c["dissatisfied"] = int(sat is Satisfaction.DISSATISFIED)
    c["resolution_answered"] = int(fact.resolved is not None)
    c["resolved"] = int(fact.resolved is True)
    if fact.excluded_from_satisfaction:
        c["fairness_excluded"] = 1
        c["fairness_excluded_answered"] = int(sat is not None)
        c["fairness_excluded_content"] = int(
            sat in (Satisfaction.SATISFIED, Satisfaction.BASICALLY_SATISFIED)
        )
        c["fairness_excluded_resolution_answered"] = c["resolution_answered"]
        c["fairness_excluded_resolved"] = c["resolved"]

    # Unit quality: reopen, return, evidence.
    if dispatched:
        c["reopened"], c["reopen_events"] = int(fact.reopen_count > 0), fact.reopen_count
        c["returned"], c["return_events"] = int(fact.returned_count > 0), fact.returned_count
    if fact.replied_at is not None and fact.requires_evidence:
        c["evidence_required"], c["evidence_present"] = 1, int(fact.has_evidence)

    # 办理时长: working time from dispatch to reply, whole seconds, never negative.
    hist = HandlingHistogram()
    if fact.dispatched_at is not None and fact.replied_at is not None:
        seconds = max(0, round(_seconds(working_seconds(fact.dispatched_at, fact.replied_at))))
        c["handled"], c["handling_seconds"] = 1, seconds
        hist = HandlingHistogram.of(seconds)
    return KpiPartial(**c, handling_hist=hist)


def as_of_adjustment(
    fact: OrderFact,
    working_seconds: WorkingSeconds,
    as_of: datetime,
    *,
    policy: KpiPolicy = DEFAULT_POLICY,
) -> KpiPartial:
    """What ``as_of`` adds to an order's clock-free partial: its late-while-waiting counters.

    Why: an aggregate table stores ``partial_of(fact, ws)`` (no ``as_of``), which changes only
    when the order changes; a report taken at ``t`` adds this adjustment for the orders still
    waiting (neither ``replied_at`` nor ``closed_at``: the only ones it can be non-zero for), so
    the table is never rewritten as the clock moves. Invariant:
    ``merge(partial_of(f, ws), as_of_adjustment(f, ws, t)) == partial_of(f, ws, as_of=t)``.
    """
    if fact.replied_at is not None or fact.closed_at is not None:
        return EMPTY_PARTIAL
    return subtract(
        partial_of(fact, working_seconds, policy=policy, as_of=as_of),
        partial_of(fact, working_seconds, policy=policy),
    )


# ---------------------------------------------------------------------------------------------
# Grouping
# ---------------------------------------------------------------------------------------------

#: Dimensions a cell can be rolled up by. ``month`` is the first day of the cell's month.
DIMENSIONS: tuple[str, ...] = ("day", "month", "unit", "category", "channel", "appeal_type", "region")


@dataclass(frozen=True, order=True, slots=True)
class CellKey:
    """The storage grain: one local day × unit × category × channel × appeal type × region.

    ``day`` is the date of ``created_at`` in the reporting zone (Asia/Shanghai): an order is
    reported in the period it was received, for every KPI.
    """

    day: date
    unit: str
    category: str
    channel: str
    appeal_type: str
    region: str

    @property
    def month(self) -> date:
        return self.day.replace(day=1)

    def value(self, dimension: str) -> object:
        if dimension not in DIMENSIONS:
            raise ValueError(f"unknown dimension {dimension!r}; expected one of {DIMENSIONS}")
        return getattr(self, dimension)


def cell_key_of(fact: OrderFact, tz: tzinfo = DEFAULT_TZ) -> CellKey:
    return CellKey(
        day=fact.local_date(tz),
        unit=fact.unit,
        category=fact.category,
        channel=fact.channel.value,
        appeal_type=fact.appeal_type.value,
        region=fact.region,
    )


def aggregate(
    facts: Iterable[OrderFact],
    working_seconds: WorkingSeconds,
    *,
    tz: tzinfo = DEFAULT_TZ,
    policy: KpiPolicy = DEFAULT_POLICY,
    as_of: datetime | None = None,
) -> dict[CellKey, KpiPartial]:
    """Cells from raw orders: what the aggregate table holds, computed in one pass."""
    grouped: dict[CellKey, list[KpiPartial]] = {}
    for fact in facts:
        part = partial_of(fact, working_seconds, policy=policy, as_of=as_of)
        grouped.setdefault(cell_key_of(fact, tz), []).append(part)
    return {key: sum_partials(parts) for key, parts in grouped.items()}


def rollup(
    cells: Mapping[CellKey, KpiPartial],
    by: Sequence[str],
    where: Callable[[CellKey], bool] | None = None,
) -> dict[tuple[object, ...], KpiPartial]:
    """Sum cells into groups keyed by the values of ``by`` (e.g. ``("month", "unit")``).

    ``by=()`` gives one group keyed ``()``: the total. ``where`` filters cells first (a period,
    a unit subtree...). Groups are returned in sorted key order for stable reports.
    """
    for dim in by:
        _PROBE.value(dim)  # unknown dimensions fail even when there are no cells
    grouped: dict[tuple[object, ...], list[KpiPartial]] = {}
    for key, part in cells.items():
        if where is not None and not where(key):
            continue
        grouped.setdefault(tuple(key.value(d) for d in by), []).append(part)
    return {k: sum_partials(grouped[k]) for k in sorted(grouped, key=_sort_key)}


_PROBE = CellKey(date(2000, 1, 1), "", "", "", "", "")


def _sort_key(key: tuple[object, ...]) -> tuple[str, ...]:
    return tuple(v.isoformat() if isinstance(v, date) else str(v) for v in key)
