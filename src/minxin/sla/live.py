"""The clock that presenters use to turn stored deadlines into live states (ok/warning/overdue).

Presenter sections receive ``(session, order, principal, tz)`` but no ``now``, and only
``core/clock.py`` may read the wall clock; so the SLA presenters ask this module, which holds the
application's clock (``SystemClock`` unless ``use_clock`` installed another one — tests and replays
install their ``FixedClock`` here, and ``build_state`` should install ``state.clock``).
"""

from __future__ import annotations

from datetime import datetime

from minxin.core.clock import Clock, SystemClock

_clock: list[Clock] = [SystemClock()]


def use_clock(clock: Clock) -> None:
    """Make ``clock`` the one presenters read (process-wide)."""
    _clock[0] = clock


def now() -> datetime:
    return _clock[0].now()


def state_of(state: str, due_at: datetime | None, warn_at: datetime | None, paused_since: datetime | None, at: datetime) -> str:
    """A stored clock's state at ``at``: its final state, or the live one of a running clock.

    Same rules as ``minxin.core.deadline.evaluate``: ``overdue`` after ``due_at``; ``warning`` from
    ``warn_at``; ``paused`` while an open suspension holds the clock (``due_at`` is NULL); else ``ok``.
    """
    if state != "running":
        return state
    if due_at is None:
        if paused_since is not None and at >= paused_since:
            return "paused"
        return "warning" if warn_at is not None and at >= warn_at else "ok"
    if at > due_at:
        return "overdue"
    if warn_at is not None and at >= warn_at:
        return "warning"
    return "ok"
