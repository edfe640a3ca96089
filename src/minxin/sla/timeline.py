"""An order's event history → the SLA facts of each *round* (no SQL, no clock).

A round is the life of an order from registration — or from a reopen (重办) — to the next reopen.
Each round gets fresh clocks; earlier rounds are kept for the record.

How events map onto the clocks (the fair-clock rule of ``minxin.core.sla``, made concrete):

* ``dispatch`` by the centre (派单 / 改派) starts a new *assignment* of the round with fresh sign
  and handle clocks for that unit; the assignment it replaces ends (``transferred``).
* ``dispatch`` by a handler (二级派单 to a sub-unit) does **not** start a new assignment: the unit
  that received the order from the centre stays accountable, so handing it down buys no time.
* ``return`` (退单) ends the assignment (``returned``) and counts as the unit's response to the
  dispatch (its sign clock is met). If the centre *rejects* the return (``review_return`` with
  ``approve: false``) the assignment resumes as if it had never ended: a wrong return buys the
  unit no time either.
* ``suspend`` … ``resume`` is a pause; ``decide_extension`` with ``approve: true`` is an extension
  of the handle clock by the requested duration, approved at the event's time.
* ``reply`` completes the handle clock of the current assignment and starts the callback clock;
  the first reachable ``callback`` (or the order's closing) completes the callback clock.
* ``answer`` (直接答复), ``close``, a closing ``callback``, ``merge`` and ``void`` end the round:
  every clock still running stops there (see ``minxin.sla.deadlines``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from minxin.core.deadline import Extension, Pause
from minxin.core.duration import DurationParseError, parse_duration

FINAL_ACTIONS = frozenset({"answer", "close", "merge", "void"})
FINAL_STATUSES = frozenset({"closed", "merged", "void"})


class EventLike(Protocol):
    seq: int
    action: str
    outcome: str
    to_status: str
    actor_role: str
    at: datetime
    payload: Mapping[str, Any]


@dataclass
class Tenure:
    """One assignment of the order to a unit within a round."""

    unit: str
    dispatched_at: datetime
    signed_at: datetime | None = None
    ended_at: datetime | None = None
    end_reason: str = ""  # returned | transferred
    responded_at: datetime | None = None  # signed, or returned without signing
    replied_at: datetime | None = None
    sub_units: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def open(self) -> bool:
        return self.ended_at is None


@dataclass
class Round:
    """The SLA facts of one round."""

    number: int
    start: datetime
    reopened: bool = False
    tenures: list[Tenure] = field(default_factory=list)
    pauses: list[Pause] = field(default_factory=list)
    extensions: list[Extension] = field(default_factory=list)
    replied_at: datetime | None = None
    callback_at: datetime | None = None  # first reachable callback
    answered_at: datetime | None = None  # direct answer at intake
    ended_at: datetime | None = None  # closed / merged / void / superseded by a reopen
    end_action: str = ""
    notes: list[str] = field(default_factory=list)
    _open_pause: tuple[datetime, str] | None = None

    @property
    def current(self) -> Tenure | None:
        return self.tenures[-1] if self.tenures else None

    def pauses_now(self) -> list[Pause]:
        """Closed pauses plus the open one (``end=None``), if the order is still suspended."""
        out = list(self.pauses)
        if self._open_pause is not None:
            out.append(Pause(self._open_pause[0], None, self._open_pause[1]))
        return out


def rounds_of(events: Iterable[EventLike]) -> list[Round]:
    """Fold an order's events (in ``seq`` order) into its rounds; see the module docstring."""
    rounds: list[Round] = []
    for e in sorted(events, key=lambda ev: ev.seq):
        payload = e.payload or {}
        if e.action == "register":
            rounds.append(Round(0, e.at))
            continue
        if not rounds:  # history without a register event: start where it starts
            rounds.append(Round(0, e.at))
        r = rounds[-1]
        handler = _HANDLERS.get(e.action)
        if handler is not None:
            new = handler(r, e, payload)
            if new is not None:
                rounds.append(new)
        if e.to_status in FINAL_STATUSES and r.ended_at is None and rounds[-1] is r:
            _end_round(r, e.at, e.action)
    return rounds


def _end_round(r: Round, at: datetime, action: str) -> None:
    r.ended_at, r.end_action = at, action
    if r._open_pause is not None:  # a suspended order voided: the pause lasts to the end
        r.pauses.append(Pause(r._open_pause[0], at, r._open_pause[1]))
        r._open_pause = None


def _dispatch(r: Round, e: EventLike, p: Mapping[str, Any]) -> None:
    unit = str(p.get("unit") or "")
    cur = r.current
    if e.actor_role == "handler" and cur is not None and cur.open:
        cur.sub_units.append(unit)
        cur.notes.append(
            f"second-level dispatch to {unit} at {e.at.isoformat()}: {cur.unit} stays accountable, the clocks continue"
        )
        return
    if cur is not None and cur.open:
        cur.ended_at, cur.end_reason = e.at, "transferred"
    r.tenures.append(Tenure(unit, e.at))


def _sign(r: Round, e: EventLike, p: Mapping[str, Any]) -> None:
    cur = r.current
    if cur is not None and cur.open and cur.signed_at is None:
        cur.signed_at = e.at
        cur.responded_at = cur.responded_at or e.at


def _return(r: Round, e: EventLike, p: Mapping[str, Any]) -> None:
    cur = r.current
    if cur is not None and cur.open:
        cur.ended_at, cur.end_reason = e.at, "returned"
        cur.responded_at = cur.responded_at or e.at


def _review_return(r: Round, e: EventLike, p: Mapping[str, Any]) -> None:
    cur = r.current
    if p.get("approve") is False and cur is not None and cur.end_reason == "returned":
        cur.notes.append(
            f"return at {cur.ended_at.isoformat() if cur.ended_at else '?'} rejected at {e.at.isoformat()}: "
            "the unit's clocks continue from its original dispatch"
        )
        cur.ended_at, cur.end_reason = None, ""


def _suspend(r: Round, e: EventLike, p: Mapping[str, Any]) -> None:
    if r._open_pause is None:
        r._open_pause = (e.at, str(p.get("reason") or ""))


def _resume(r: Round, e: EventLike, p: Mapping[str, Any]) -> None:
    if r._open_pause is not None:
        start, reason = r._open_pause
        r.pauses.append(Pause(start, e.at, reason))
        r._open_pause = None


def _decide_extension(r: Round, e: EventLike, p: Mapping[str, Any]) -> None:
    if p.get("approve") is not True:
        return
    text = str(p.get("duration") or "")
    try:
        add = parse_duration(text)
    except DurationParseError:
        r.notes.append(f"extension {text!r} approved at {e.at.isoformat()} could not be applied: not a whole duration")
        return
    ident = p.get("request_id")
    r.extensions.append(
        Extension(e.at, add=add, clock="handle", reason=str(p.get("note") or ""), id=None if ident is None else str(ident))
    )


def _reply(r: Round, e: EventLike, p: Mapping[str, Any]) -> None:
    r.replied_at = e.at
    cur = r.current
    if cur is not None and cur.open and cur.replied_at is None:
        cur.replied_at = e.at


def _callback(r: Round, e: EventLike, p: Mapping[str, Any]) -> None:
    if p.get("reachable", True) and r.callback_at is None:
        r.callback_at = e.at


def _answer(r: Round, e: EventLike, p: Mapping[str, Any]) -> None:
    r.answered_at = e.at


def _reopen(r: Round, e: EventLike, p: Mapping[str, Any]) -> Round:
    if r.ended_at is None:
        _end_round(r, e.at, "reopen")
    elif r.end_action != "reopen":
        r.notes.append(f"reopened at {e.at.isoformat()}")
    new = Round(r.number + 1, e.at, reopened=True)
    new.tenures.append(Tenure(str(p.get("unit") or ""), e.at, notes=["reopened (重办): a new round with fresh clocks"]))
    return new


_HANDLERS: dict[str, Any] = {
    "dispatch": _dispatch,
    "sign": _sign,
    "return": _return,
    "review_return": _review_return,
    "suspend": _suspend,
    "resume": _resume,
    "decide_extension": _decide_extension,
    "reply": _reply,
    "callback": _callback,
    "answer": _answer,
    "reopen": _reopen,
}
