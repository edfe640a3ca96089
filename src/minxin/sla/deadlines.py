"""Every order's clocks, recomputed from its history and stored in ``sla_deadlines``.

``recompute(session, order)`` is what the work-order hooks call after every action that can move
a clock. It folds the order's events into rounds (``minxin.sla.timeline``), resolves the order's
policy (category × appeal type × urgency), builds each unit's calendar, lets
``minxin.core.sla.compute_order_deadlines`` compute every clock, decides how each clock stands
(running / met / missed / cancelled) and writes the rows. Five queries, whatever the history.

Outcome of a clock (``_outcome``): ``met`` when its goal happened (dispatch → the dispatch that
sticks or a direct answer; sign → signed, or returned; handle → replied; callback → the first
reachable callback, or the order closed), with the verdict ``on_time``/``overdue`` of that instant;
otherwise, when the clock stopped (its assignment ended, the round ended by close/merge/void/reopen),
``missed`` (verdict ``overdue``) if that was after its due, else ``cancelled``; otherwise ``running``.

Freezing: a row that is already finished keeps its values while the recompute still finds it
finished — its due, warning and verdict are those of the moment it finished, so later edits to
policies or calendars never rewrite history. A finished row only runs again when its assignment
resumes (a rejected return) or the dispatch clock re-opens (the unit returned the order). Rows of
a closed order or of a round superseded by a reopen are never touched again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from minxin.core.calendar import WorkingCalendar
from minxin.core.deadline import Deadline, verdict
from minxin.core.sla import Assignment, OrderTimeline, ResolvedPolicy, compute_order_deadlines
from minxin.sla import calendar_service, policy_service, repository
from minxin.sla.models import OrderDeadline
from minxin.sla.timeline import FINAL_STATUSES, Round, rounds_of
from minxin.units.models import Unit
from minxin.workorders import repository as orders_repository
from minxin.workorders.models import WorkOrder

log = logging.getLogger("minxin.sla")

KIND_ORDER = {"dispatch": 0, "sign": 1, "handle": 2, "callback": 3}
KIND_ZH = {"dispatch": "派单", "sign": "签收", "handle": "办理", "callback": "回访"}


@dataclass
class Outcome:
    state: str  # running | met | missed | cancelled
    met_at: datetime | None = None
    ended_at: datetime | None = None
    verdict: str | None = None


@dataclass
class Clock:
    """One desired row: which clock, its computed deadline, how it stands, and extra notes."""

    round: int
    kind: str
    seq: int
    unit: str
    deadline: Deadline
    outcome: Outcome
    notes: list[str] = field(default_factory=list)

    @property
    def key(self) -> tuple[int, str, int]:
        return (self.round, self.kind, self.seq)


def _outcome(deadline: Deadline, goal_at: datetime | None, stop_at: datetime | None) -> Outcome:
    if goal_at is not None:
        return Outcome("met", goal_at, goal_at, verdict(deadline, goal_at).value)
    if stop_at is not None:
        if deadline.due_at is not None and stop_at > deadline.due_at:
            return Outcome("missed", None, stop_at, "overdue")
        return Outcome("cancelled", None, stop_at, None)
    return Outcome("running")


def _first(*values: datetime | None) -> datetime | None:
    present = [v for v in values if v is not None]
    return min(present) if present else None


def clocks_of_round(
    r: Round, policy: ResolvedPolicy, calendar_for: Callable[[str], WorkingCalendar], centre: str, centre_cal: WorkingCalendar
) -> list[Clock]:
    """Every clock of one round with its outcome (pure: no SQL, no clock)."""
    timeline = OrderTimeline(
        registered_at=r.start,
        assignments=tuple(
            Assignment(t.unit, t.dispatched_at, calendar_for(t.unit), t.signed_at, t.ended_at, t.end_reason)
            for t in r.tenures
        ),
        replied_at=r.replied_at,
        pauses=tuple(r.pauses_now()),
        extensions=tuple(r.extensions),
    )
    od = compute_order_deadlines(policy, timeline, centre_cal)
    out: list[Clock] = []
    if not r.reopened:
        cur = r.current
        goal = r.answered_at or (cur.dispatched_at if cur is not None and cur.open else None)
        out.append(Clock(r.number, "dispatch", 0, centre, od.dispatch, _outcome(od.dispatch, goal, r.ended_at)))
    for i, (t, uc) in enumerate(zip(r.tenures, od.units, strict=True)):
        stop = _first(t.ended_at, r.ended_at)
        notes = [*t.notes]
        if t.sub_units:
            notes.append(f"handed down to {', '.join(t.sub_units)} (二级派单)")
        out.append(Clock(r.number, "sign", i, t.unit, uc.sign, _outcome(uc.sign, t.responded_at, stop), notes))
        out.append(Clock(r.number, "handle", i, t.unit, uc.handle, _outcome(uc.handle, t.replied_at, stop), notes))
    if od.callback is not None:
        goal = r.callback_at or (r.ended_at if r.end_action in ("close", "callback") else None)
        out.append(Clock(r.number, "callback", 0, centre, od.callback, _outcome(od.callback, goal, r.ended_at)))
    for c in out:
        c.notes.extend(r.notes)
    return out


def _explanation(c: Clock) -> dict[str, Any]:
    data = dict(c.deadline.explanation)
    data["notes"] = [*data.get("notes", []), *c.notes]
    o = c.outcome
    data["outcome"] = {
        "state": o.state,
        "met_at": o.met_at.isoformat() if o.met_at else None,
        "ended_at": o.ended_at.isoformat() if o.ended_at else None,
        "verdict": o.verdict,
    }
    return data


def _write(row: OrderDeadline, c: Clock, policy: ResolvedPolicy, now: datetime) -> None:
    d = c.deadline
    row.unit_code = c.unit
    row.policy_code = policy.sources.get(c.kind, "")
    row.duration = str(d.duration)
    row.started_at = d.start
    row.due_at, row.warn_at, row.paused_since = d.due_at, d.warn_at, d.paused_since
    row.state = c.outcome.state
    row.met_at, row.ended_at, row.verdict = c.outcome.met_at, c.outcome.ended_at, c.outcome.verdict
    row.unofficial = bool(d.unofficial_years)
    row.unofficial_years = list(d.unofficial_years)
    row.explanation = _explanation(c)
    row.updated_at = now


def recompute(
    session: Session, order: WorkOrder, *, now: datetime, events: Sequence[Any] | None = None, new: bool = False
) -> list[OrderDeadline]:
    """Recompute and store every clock of ``order`` that may still change; returns its rows.

    ``events`` may be passed when the caller has them (a new order: just its registration), and
    ``new=True`` says the order has no stored clocks yet: both save queries on the intake path.
    """
    rounds = rounds_of(events if events is not None else orders_repository.events_of(session, order.id))
    rows = [] if new else repository.deadlines_of(session, order.id)
    existing = {(d.round, d.kind, d.seq): d for d in rows}
    if not rounds:
        return rows
    todo = [
        r
        for r in rounds
        if r is rounds[-1]
        or not any(k[0] == r.number for k in existing)
        or any(d.state == "running" for k, d in existing.items() if k[0] == r.number)
    ]
    token = repository.config_token(session)
    category = order.category
    policy = policy_service.resolve(
        session,
        policy_service.category_path(category.path if category is not None else None),
        order.appeal_type,
        order.urgency,
        token,
    )
    codes = {t.unit for r in todo for t in r.tenures}
    units: dict[str, Unit] = {u.code: u for u in repository.units_for(session, codes, order.centre_unit_id)}
    centre_unit = next((u for u in units.values() if u.id == order.centre_unit_id), None)
    centre = centre_unit.code if centre_unit is not None else ""
    centre_cal = calendar_service.unit_calendar(session, centre_unit, token)

    def calendar_for(code: str) -> WorkingCalendar:
        return calendar_service.unit_calendar(session, units.get(code), token)

    for r in todo:
        for c in clocks_of_round(r, policy, calendar_for, centre, centre_cal):
            row = existing.get(c.key)
            if row is not None and row.state != "running" and c.outcome.state != "running":
                continue  # finished and still finished: frozen
            if row is None:
                row = OrderDeadline(order_id=order.id, round=c.round, kind=c.kind, seq=c.seq)
                session.add(row)
                rows.append(row)
                existing[c.key] = row
            _write(row, c, policy, now)
            if c.deadline.unofficial_years and c.outcome.state == "running":
                log.warning(
                    "order %s: %s deadline (%s) computed WITHOUT an official schedule for %s — "
                    "weekends only, holidays and 调休 unknown; import the schedule (minxin calendar import)",
                    order.number,
                    c.kind,
                    c.deadline.due_at.isoformat() if c.deadline.due_at else "paused",
                    ", ".join(map(str, c.deadline.unofficial_years)),
                )
    session.flush()
    return rows


def recompute_orders(session: Session, order_ids: Sequence[int], *, now: datetime) -> int:
    """Recompute these orders (locking them, like an action would). Returns how many."""
    orders = repository.orders_by_id(session, order_ids, for_update=True)
    for order in orders:
        recompute(session, order, now=now)
    return len(orders)


def refresh_unofficial(session: Session, *, now: datetime) -> int:
    """After a calendar import: recompute open orders whose running clocks lacked a schedule."""
    ids = repository.orders_with_unofficial_running(session)
    return recompute_orders(session, ids, now=now) if ids else 0


def recompute_open(session: Session, *, now: datetime, batch: int = 200) -> int:
    """Recompute every open order (after a policy change, ``minxin sla recompute``)."""
    done, after = 0, 0
    while True:
        ids = repository.open_order_ids(session, after, batch, sorted(FINAL_STATUSES))
        if not ids:
            return done
        done += recompute_orders(session, ids, now=now)
        after = ids[-1]
