"""SLA policies and the four clocks of a work order: dispatch, sign, handle, callback.

Policies
--------
A :class:`SlaPolicy` is keyed by up to three keys — ``category`` (a category code; it applies to
that category's whole subtree), ``appeal_type`` and ``urgency`` — and sets any of: the four clock
durations, the working-day ``counting_rule`` (次日起算 / 含本数) and ``warn_ratio``. Unset fields
(``None``) are inherited. The *root* policy (no keys) must set every field: it is the default.

Resolution (:meth:`PolicySet.resolve`), "most specific wins", **field by field**: among the policies
that match the order, each field is taken from the most specific policy that sets it, where
specificity is compared lexicographically on

1. ``urgency`` set (urgency first: an emergency must never get a slower clock from a category rule),
2. category depth (a policy on ``roads/potholes`` beats one on ``roads``; unset = depth 0),
3. ``appeal_type`` set.

Two different matching policies can never tie (a tie needs identical keys, which
:class:`PolicySet` refuses), so resolution is deterministic; cross-key policies (e.g. category +
appeal type) are how an admin settles a conflict between two single-key policies.

Clocks of an order (:func:`compute_order_deadlines`) and the fair-clock rule
----------------------------------------------------------------------------
* ``dispatch`` (centre, centre calendar): from registration to the dispatch that sticks (the last
  one). A wrong dispatch is the centre's error, so re-dispatching does **not** restart it.
* ``sign`` and ``handle`` (unit, that unit's calendar): each assignment of the order to a unit gets
  its own fresh clocks starting at its ``dispatched_at``. When a unit returns an order as wrongly
  dispatched (退回) and the centre re-dispatches it, the new unit's sign and handle clocks start at
  the new dispatch with the policy's full durations; the earlier unit's clocks stop at its return
  (they are kept for the record). The handle clock runs from dispatch, not from signing, so slow
  signing buys no time. Suspensions and extensions belong to the assignment during which they
  happened (pauses are clipped to its tenure; extensions count when approved inside it).
* ``callback`` (centre calendar): from the reply to the callback (回访). Pauses after the reply apply.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from minxin.core.calendar import WorkingCalendar
from minxin.core.calendar_model import require_aware
from minxin.core.deadline import (
    Deadline,
    Extension,
    Pause,
    SlaState,
    Verdict,
    compute_deadline,
    evaluate,
    verdict,
)
from minxin.core.duration import CountingRule, Duration

__all__ = [
    "Assignment",
    "Clock",
    "Deadline",
    "Extension",
    "OrderDeadlines",
    "OrderTimeline",
    "Pause",
    "PolicySet",
    "ResolvedPolicy",
    "SlaPolicy",
    "SlaState",
    "UnitClocks",
    "Verdict",
    "compute_deadline",
    "compute_order_deadlines",
    "evaluate",
    "verdict",
]


class Clock(StrEnum):
    DISPATCH = "dispatch"  # 派单: centre, registration → dispatch
    SIGN = "sign"  # 签收: unit, dispatch → signed
    HANDLE = "handle"  # 办理/答复: unit, dispatch → reply
    CALLBACK = "callback"  # 回访: centre, reply → callback


_SETTINGS = ("dispatch", "sign", "handle", "callback", "counting_rule", "warn_ratio")


@dataclass(frozen=True)
class SlaPolicy:
    """One policy row. Keys: ``category``/``appeal_type``/``urgency`` (``None`` = any)."""

    id: str
    name: str = ""
    category: str | None = None
    appeal_type: str | None = None
    urgency: str | None = None
    dispatch: Duration | None = None
    sign: Duration | None = None
    handle: Duration | None = None
    callback: Duration | None = None
    counting_rule: CountingRule | None = None
    warn_ratio: float | None = None

    def __post_init__(self) -> None:
        if self.warn_ratio is not None and not 0 < self.warn_ratio <= 1:
            raise ValueError(f"policy {self.id}: warn_ratio must be in (0, 1], got {self.warn_ratio}")
        if self.counting_rule is not None:
            object.__setattr__(self, "counting_rule", CountingRule(self.counting_rule))

    @property
    def key(self) -> tuple[str | None, str | None, str | None]:
        return (self.category, self.appeal_type, self.urgency)

    @property
    def is_root(self) -> bool:
        return self.key == (None, None, None)

    def specificity(self, category_path: Sequence[str]) -> tuple[int, int, int] | None:
        """Rank for an order with this category path, appeal type and urgency; ``None`` = no match."""
        depth = 0
        if self.category is not None:
            if self.category not in category_path:
                return None
            depth = list(category_path).index(self.category) + 1
        return (int(self.urgency is not None), depth, int(self.appeal_type is not None))


@dataclass(frozen=True)
class ResolvedPolicy:
    """The effective settings for one order, and which policy each came from (``sources``)."""

    durations: Mapping[str, Duration]
    counting_rule: CountingRule
    warn_ratio: float
    sources: Mapping[str, str]  # setting name -> policy id
    names: Mapping[str, str]  # policy id -> name
    chain: tuple[str, ...]  # ids of the matching policies, most specific first

    def duration(self, clock: Clock | str) -> Duration:
        return self.durations[str(clock)]

    def describe(self, clock: Clock | str) -> dict[str, Any]:
        """The ``policy`` part of a clock's explanation."""
        pid = self.sources[str(clock)]
        return {
            "id": pid,
            "name": self.names.get(pid, ""),
            "counting_rule_from": self.sources["counting_rule"],
            "warn_ratio_from": self.sources["warn_ratio"],
            "matched": list(self.chain),
        }


class PolicySet:
    """A validated set of policies: unique ids, unique keys, and a complete root policy."""

    def __init__(self, policies: Iterable[SlaPolicy]) -> None:
        self.policies = tuple(policies)
        ids, keys = set(), set()
        for p in self.policies:
            if p.id in ids:
                raise ValueError(f"duplicate SLA policy id {p.id!r}")
            if p.key in keys:
                raise ValueError(f"two SLA policies have the same keys {p.key!r} (policy {p.id!r})")
            ids.add(p.id)
            keys.add(p.key)
        roots = [p for p in self.policies if p.is_root]
        if not roots:
            raise ValueError("the SLA policies need a root policy (no category, appeal type or urgency)")
        missing = [name for name in _SETTINGS if getattr(roots[0], name) is None]
        if missing:
            raise ValueError(f"the root SLA policy {roots[0].id!r} must set {', '.join(missing)}")

    def resolve(
        self, category_path: Sequence[str] = (), appeal_type: str | None = None, urgency: str | None = None
    ) -> ResolvedPolicy:
        """Field-by-field "most specific wins" for an order (see the module docstring).

        ``category_path`` is the order's category and its ancestors, root first.
        """
        ranked: list[tuple[tuple[int, int, int], SlaPolicy]] = []
        for p in self.policies:
            if p.appeal_type is not None and p.appeal_type != appeal_type:
                continue
            if p.urgency is not None and p.urgency != urgency:
                continue
            rank = p.specificity(category_path)
            if rank is not None:
                ranked.append((rank, p))
        ranked.sort(key=lambda rp: rp[0], reverse=True)
        values: dict[str, Any] = {}
        sources: dict[str, str] = {}
        for name in _SETTINGS:
            for _, p in ranked:
                value = getattr(p, name)
                if value is not None:
                    values[name], sources[name] = value, p.id
                    break
        return ResolvedPolicy(
            durations={c.value: values[c.value] for c in Clock},
            counting_rule=values["counting_rule"],
            warn_ratio=values["warn_ratio"],
            sources=sources,
            names={p.id: p.name for _, p in ranked},
            chain=tuple(p.id for _, p in ranked),
        )


@dataclass(frozen=True)
class Assignment:
    """One dispatch of the order to a unit; ``ended_at`` is set when the unit returned it (退回)."""

    unit: str
    dispatched_at: datetime
    calendar: WorkingCalendar
    signed_at: datetime | None = None
    ended_at: datetime | None = None
    end_reason: str = ""  # e.g. "wrong_dispatch"


@dataclass(frozen=True)
class OrderTimeline:
    """What happened to an order, as plain values loaded by ``sla/`` from the DB."""

    registered_at: datetime
    assignments: tuple[Assignment, ...] = ()
    replied_at: datetime | None = None
    pauses: tuple[Pause, ...] = ()
    extensions: tuple[Extension, ...] = ()


@dataclass(frozen=True)
class UnitClocks:
    """The sign and handle clocks of one assignment."""

    unit: str
    dispatched_at: datetime
    sign: Deadline
    handle: Deadline
    current: bool
    ended_at: datetime | None = None
    end_reason: str = ""


@dataclass(frozen=True)
class OrderDeadlines:
    """All clocks of an order; ``units[-1]`` is the current assignment."""

    dispatch: Deadline
    units: tuple[UnitClocks, ...] = ()
    callback: Deadline | None = None
    unofficial_years: tuple[int, ...] = field(default=())

    @property
    def current(self) -> UnitClocks | None:
        return self.units[-1] if self.units else None

    def all(self) -> list[Deadline]:
        """Every clock, for storage (one row per clock and assignment)."""
        out = [self.dispatch]
        for u in self.units:
            out += [u.sign, u.handle]
        return out + ([self.callback] if self.callback is not None else [])

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable explanation of every clock (the order API's ``deadlines`` field)."""
        return {
            "dispatch": self.dispatch.explanation,
            "units": [
                {
                    "unit": u.unit,
                    "current": u.current,
                    "dispatched_at": u.dispatched_at.isoformat(),
                    "ended_at": None if u.ended_at is None else u.ended_at.isoformat(),
                    "end_reason": u.end_reason,
                    "sign": u.sign.explanation,
                    "handle": u.handle.explanation,
                }
                for u in self.units
            ],
            "callback": None if self.callback is None else self.callback.explanation,
            "unofficial_years": list(self.unofficial_years),
        }


def compute_order_deadlines(
    policy: ResolvedPolicy, timeline: OrderTimeline, centre_calendar: WorkingCalendar
) -> OrderDeadlines:
    """Every clock of an order under the fair-clock rule (module docstring)."""
    require_aware(timeline.registered_at, "registered_at")
    rule, ratio = policy.counting_rule, policy.warn_ratio

    def clock(
        name: Clock,
        start: datetime,
        cal: WorkingCalendar,
        pauses: Sequence[Pause],
        extensions: Sequence[Extension],
        notes: Sequence[str],
    ) -> Deadline:
        return compute_deadline(
            start,
            policy.duration(name),
            cal,
            rule=rule,
            warn_ratio=ratio,
            pauses=pauses,
            extensions=extensions,
            clock=name.value,
            policy=policy.describe(name),
            notes=notes,
        )

    n = len(timeline.assignments)
    dispatch_note = "runs from registration to the final dispatch; a re-dispatch after a wrong dispatch does not restart it"
    if n > 1:
        dispatch_note += f" (dispatched {n} times)"
    dispatch = clock(
        Clock.DISPATCH, timeline.registered_at, centre_calendar, (), timeline.extensions, [dispatch_note]
    )
    units: list[UnitClocks] = []
    for i, a in enumerate(timeline.assignments):
        require_aware(a.dispatched_at, "dispatched_at")
        end = a.ended_at
        pauses = _clip(timeline.pauses, a.dispatched_at, end)
        exts = [
            e
            for e in timeline.extensions
            if a.dispatched_at <= e.approved_at and (end is None or e.approved_at < end)
        ]
        notes = [f"unit {a.unit}: fresh clock from its dispatch at {a.dispatched_at.isoformat()}"]
        if i > 0:
            notes.append("re-dispatched after a return: the new unit gets the full policy time (fair clock)")
        if end is not None:
            notes.append(f"ended at {end.isoformat()} ({a.end_reason or 'returned'}); kept for the record")
        units.append(
            UnitClocks(
                a.unit,
                a.dispatched_at,
                clock(Clock.SIGN, a.dispatched_at, a.calendar, pauses, exts, notes),
                clock(Clock.HANDLE, a.dispatched_at, a.calendar, pauses, exts, notes),
                current=i == n - 1,
                ended_at=end,
                end_reason=a.end_reason,
            )
        )
    callback = None
    if timeline.replied_at is not None:
        callback = clock(
            Clock.CALLBACK,
            timeline.replied_at,
            centre_calendar,
            timeline.pauses,
            timeline.extensions,
            ["runs from the reply to the callback"],
        )
    years = sorted(
        {
            y
            for d in (dispatch, *(c for u in units for c in (u.sign, u.handle)), callback)
            if d is not None
            for y in d.unofficial_years
        }
    )
    return OrderDeadlines(dispatch, tuple(units), callback, tuple(years))


def _clip(pauses: Iterable[Pause], start: datetime, end: datetime | None) -> list[Pause]:
    """Pauses restricted to an assignment's tenure ``[start, end)``."""
    out = []
    for p in pauses:
        if end is not None and p.start >= end:
            continue
        if p.end is not None and p.end <= start:
            continue
        stop = p.end if end is None or (p.end is not None and p.end < end) else end
        out.append(Pause(max(p.start, start), stop, p.reason))
    return out
