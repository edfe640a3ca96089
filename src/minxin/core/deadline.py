"""One SLA clock: due time and warning time under pauses and extensions, with its explanation.

A clock measures one kind of time — *natural* (every second; ``m``/``h``/``d`` durations) or
*working* (business seconds of the unit's :class:`WorkingCalendar`; ``wh``/``wd`` durations) — and
has an *allowed* amount of that time, its budget:

* budget = the time from ``start`` to ``calendar.add(start, duration, rule)``, measured in the
  clock's kind (for ``N wd`` that is the working time up to the end of business of the Nth
  working day, so with no pause or extension the due is exactly that end of business);
* **pauses** (suspensions, 挂起/中止) stop the clock: the due is the earliest instant at which the
  budget has been used *outside* pauses. A pause therefore pushes the due by the paused amount of
  the same kind of time (a weekend inside a suspension pushes a working clock by nothing). Only
  a pause that starts before the due moves it; an open pause (still suspended) leaves no due
  (``due_at is None``) until it ends;
* **extensions** (approved 延期) are applied in approval order. ``add=Duration`` extends from the
  due as it stood at approval (``+5wd`` = end of business of the 5th working day after that due)
  and adds that span, in the clock's kind, to the budget; ``new_due=T`` sets the budget to the
  clock time from ``start`` to ``T`` net of the pauses known at approval. Pauses after the approval
  keep pushing the due in both cases;
* **warning** (yellow) at ``warn_at``: the earliest instant at which ``warn_ratio`` of the budget
  has been used, measured the same way (so pauses push it too); overdue (red) after ``due_at``.

``compute_deadline`` is pure: callers pass ``now`` only to :func:`evaluate`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from minxin.core.calendar import WorkingCalendar
from minxin.core.calendar_model import require_aware
from minxin.core.duration import ClockKind, CountingRule, Duration

__all__ = ["Deadline", "Extension", "Pause", "SlaState", "Verdict", "compute_deadline", "evaluate", "verdict"]

_ZERO = timedelta(0)


class SlaState(StrEnum):
    """Live state of a clock at ``now`` (:func:`evaluate`)."""

    OK = "ok"
    WARNING = "warning"  # yellow: warn_ratio of the allowed time used
    OVERDUE = "overdue"  # red: past the due time
    PAUSED = "paused"  # an open suspension stopped the clock before it ran out


class Verdict(StrEnum):
    """Final judgement of a finished clock (:func:`verdict`)."""

    ON_TIME = "on_time"
    OVERDUE = "overdue"


@dataclass(frozen=True, slots=True)
class Pause:
    """A suspension ``[start, end)``; ``end=None`` while still suspended."""

    start: datetime
    end: datetime | None = None
    reason: str = ""

    def __post_init__(self) -> None:
        require_aware(self.start, "pause start")
        if self.end is not None:
            require_aware(self.end, "pause end")
            if self.end < self.start:
                raise ValueError(
                    f"pause ends ({self.end.isoformat()}) before it starts ({self.start.isoformat()})"
                )


@dataclass(frozen=True, slots=True)
class Extension:
    """An approved extension (延期) of one clock: exactly one of ``add`` and ``new_due``."""

    approved_at: datetime
    add: Duration | None = None
    new_due: datetime | None = None
    clock: str = "handle"
    reason: str = ""
    id: str | None = None

    def __post_init__(self) -> None:
        require_aware(self.approved_at, "extension approved_at")
        if (self.add is None) == (self.new_due is None):
            raise ValueError("an extension needs exactly one of add (a Duration) and new_due (an instant)")
        if self.new_due is not None:
            require_aware(self.new_due, "extension new_due")


@dataclass(frozen=True)
class Deadline:
    """A computed clock. ``due_at``/``warn_at`` are ``None`` while an open pause holds the clock.

    ``allowed`` is the budget (incl. extensions) in the clock's ``kind`` of time;
    ``unofficial_years`` lists years without an official schedule that the clock touched (warn!);
    ``explanation`` is a JSON-serialisable dict for the order's API output.
    """

    clock: str
    start: datetime
    duration: Duration
    rule: CountingRule
    kind: ClockKind
    due_at: datetime | None
    warn_at: datetime | None
    allowed: timedelta
    warn_ratio: float
    paused_since: datetime | None = None
    unofficial_years: tuple[int, ...] = ()
    explanation: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def official(self) -> bool:
        return not self.unofficial_years

    @property
    def warnings(self) -> list[str]:
        return list(self.explanation.get("warnings", []))


class _Meter:
    """Measures and advances one kind of time."""

    def __init__(self, kind: ClockKind, calendar: WorkingCalendar) -> None:
        self.kind, self.calendar = kind, calendar

    def measure(self, a: datetime, b: datetime) -> timedelta:
        if self.kind is ClockKind.WORKING:
            return self.calendar.working_time_between(a, b)
        return b.astimezone(UTC) - a.astimezone(UTC)

    def advance(self, t: datetime, amount: timedelta) -> datetime:
        if self.kind is ClockKind.WORKING:
            return self.calendar.add_working_time(t, amount)
        return (t.astimezone(UTC) + amount).astimezone(self.calendar.tz)

    def run(
        self, start: datetime, amount: timedelta, pauses: Sequence[tuple[datetime, datetime | None]]
    ) -> tuple[datetime | None, datetime | None]:
        """Earliest instant where ``amount`` is used outside ``pauses`` → (due, None) or (None, paused_since)."""
        cursor, remaining = start, amount
        for ps, pe in pauses:
            used = self.measure(cursor, ps)
            if used >= remaining:
                break
            remaining -= used
            if pe is None:
                return None, ps
            cursor = pe
        return self.advance(cursor, remaining), None

    def net(
        self, start: datetime, end: datetime, pauses: Sequence[tuple[datetime, datetime | None]]
    ) -> timedelta:
        """Clock time in ``[start, end)`` outside ``pauses``."""
        total = self.measure(start, end) if end > start else _ZERO
        for ps, pe in pauses:
            lo, hi = max(ps, start), min(pe if pe is not None else end, end)
            if hi > lo:
                total -= self.measure(lo, hi)
        return total


def _normalise(
    pauses: Iterable[Pause], start: datetime, until: datetime | None = None
) -> list[tuple[datetime, datetime | None]]:
    """Clip to ``[start, until)``, sort and merge; an open pause swallows everything after it."""
    spans: list[tuple[datetime, datetime | None]] = []
    for p in sorted(pauses, key=lambda p: p.start):
        ps, pe = max(p.start, start), p.end
        if until is not None:
            if ps >= until:
                continue
            pe = until if pe is None or pe > until else pe
        if pe is not None and pe <= ps:
            continue
        if spans:
            last_s, last_e = spans[-1]
            if last_e is None:
                break  # everything after an open pause is paused anyway
            if ps <= last_e:
                spans[-1] = (last_s, None if pe is None else max(last_e, pe))
                continue
        spans.append((ps, pe))
    return spans


def _iso(t: datetime | None) -> str | None:
    return None if t is None else t.isoformat()


def _secs(td: timedelta) -> int | float:
    s = td.total_seconds()
    return int(s) if s == int(s) else s


def compute_deadline(
    start: datetime,
    duration: Duration,
    calendar: WorkingCalendar,
    *,
    rule: CountingRule = CountingRule.NEXT_DAY,
    warn_ratio: float = 0.75,
    pauses: Iterable[Pause] = (),
    extensions: Iterable[Extension] = (),
    clock: str = "handle",
    policy: dict[str, Any] | None = None,
    notes: Sequence[str] = (),
) -> Deadline:
    """Compute one clock (see the module docstring for pauses, extensions and warnings).

    ``policy`` (e.g. ``{"id": ..., "name": ..., "source": ...}``) and ``notes`` are copied into the
    explanation. Extensions for other clocks (``ext.clock != clock``) are ignored.
    """
    require_aware(start, "clock start")
    if not 0 < warn_ratio <= 1:
        raise ValueError(f"warn_ratio must be in (0, 1], got {warn_ratio}")
    start = start.astimezone(calendar.tz)
    pauses, extensions = tuple(pauses), tuple(extensions)
    kind = duration.kind
    meter = _Meter(kind, calendar)
    nominal = calendar.add(start, duration, rule)
    budget = meter.measure(start, nominal.due)
    spans = _normalise(pauses, start)
    years: set[int] = set(nominal.unofficial_years) if kind is ClockKind.WORKING else set()
    ext_log: list[dict[str, Any]] = []
    for ext in sorted((e for e in extensions if e.clock == clock), key=lambda e: e.approved_at):
        known = _normalise(pauses, start, until=ext.approved_at)
        before, _ = meter.run(start, budget, known)
        assert before is not None  # pauses clipped at approval are closed
        entry: dict[str, Any] = {"id": ext.id, "approved_at": _iso(ext.approved_at), "reason": ext.reason}
        if ext.add is not None:
            moved = calendar.add(before, ext.add, rule)
            if ext.add.is_working:
                years.update(moved.unofficial_years)
            added = meter.measure(before, moved.due)
            entry.update(add=str(ext.add), rule=ext.add.describe(rule))
        else:
            assert ext.new_due is not None
            added = max(meter.net(start, ext.new_due, known), _ZERO) - budget
            entry["new_due"] = _iso(ext.new_due.astimezone(calendar.tz))
        budget += added
        after, _ = meter.run(start, budget, known)
        entry.update(added_seconds=_secs(added), due_before=_iso(before), due_after=_iso(after))
        ext_log.append(entry)
    due, paused_since = meter.run(start, budget, spans)
    warn_budget = timedelta(microseconds=math.ceil(warn_ratio * (budget // timedelta(microseconds=1))))
    warn_at, _ = meter.run(start, warn_budget, spans)
    if kind is ClockKind.WORKING:
        years.update(calendar.unofficial_years(start, due or paused_since or start))
    unofficial = tuple(sorted(years))
    pause_log = [
        {
            "start": _iso(ps),
            "end": _iso(pe),
            "paused_seconds": None if pe is None else _secs(meter.measure(ps, pe)),
            "applied": due is None or ps < due,
        }
        for ps, pe in spans
    ]
    warnings = []
    if unofficial:
        yrs = ", ".join(map(str, unofficial))
        warnings.append(
            f"no official schedule for {yrs}: computed with weekends only, holidays and 调休 unknown; "
            f"import the {yrs} schedule (minxin calendar import)"
        )
    explanation: dict[str, Any] = {
        "clock": clock,
        "policy": policy,
        "duration": str(duration),
        "counting_rule": rule.value,
        "rule": duration.describe(rule),
        "rule_zh": duration.describe_zh(rule),
        "kind": kind.value,
        "calendar": {"tz": str(calendar.tz), "hours": str(calendar.hours)},
        "start": _iso(start),
        "nominal_due": _iso(nominal.due),
        "due_at": _iso(due),
        "warn_at": _iso(warn_at),
        "warn_ratio": warn_ratio,
        "allowed_seconds": _secs(budget),
        "paused_since": _iso(paused_since),
        "pauses": pause_log,
        "extensions": ext_log,
        "unofficial_years": list(unofficial),
        "warnings": warnings,
        "notes": list(notes),
    }
    return Deadline(
        clock,
        start,
        duration,
        rule,
        kind,
        due,
        warn_at,
        budget,
        warn_ratio,
        paused_since,
        unofficial,
        explanation,
    )


def evaluate(deadline: Deadline, now: datetime) -> SlaState:
    """``overdue`` after ``due_at``; ``warning`` from ``warn_at`` up to ``due_at``; ``paused``; else ``ok``."""
    require_aware(now, "now")
    if deadline.due_at is None:
        if deadline.paused_since is not None and now >= deadline.paused_since:
            return SlaState.PAUSED
        return SlaState.WARNING if deadline.warn_at is not None and now >= deadline.warn_at else SlaState.OK
    if now > deadline.due_at:
        return SlaState.OVERDUE
    if deadline.warn_at is not None and now >= deadline.warn_at:
        return SlaState.WARNING
    return SlaState.OK


def verdict(deadline: Deadline, done_at: datetime) -> Verdict:
    """``on_time`` when done at or before ``due_at`` (or while the clock was still held by a pause)."""
    require_aware(done_at, "done_at")
    if deadline.due_at is None or done_at <= deadline.due_at:
        return Verdict.ON_TIME
    return Verdict.OVERDUE
