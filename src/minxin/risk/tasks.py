"""Background jobs ``risk.drain`` (tag queued orders: the safety net behind each process's drainer,
:mod:`minxin.risk.queue`) and ``risk.scan`` (every 60 s inside ``minxin serve``, in ``minxin worker``, once via
``minxin risk scan`` or ``minxin jobs run risk.scan``). Safe in any number of processes at once:
only the holder of the DB lease scans (see :mod:`minxin.risk.scanner`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from minxin.jobs.registry import job, service
from minxin.risk import queue
from minxin.risk.scanner import scanner_for

if TYPE_CHECKING:
    from minxin.api.state import AppState


def scan(state: AppState) -> dict[str, Any]:
    """One scan at the application clock's ``now`` with this process's detector state."""
    return scanner_for(state.db, state.settings.display_timezone).run(state.clock.now())


@job("risk.scan", every=60, description="Run the risk detectors over new orders; push alerts via the outbox")
def scan_job(state: AppState) -> dict[str, Any] | None:
    """Reports only when an alert was created or grew."""
    result = scan(state)
    return result if result.get("created") or result.get("attached_orders") else None


@job("risk.drain", every=10, description="Tag registered orders still in the risk tag queue")
def drain_job(state: AppState) -> dict[str, Any] | None:
    tagged = queue.drain(state.db)
    return {"tagged": tagged} if tagged else None


@service("risk.drainer")
def start_drainer(state: AppState) -> Callable[[], None]:
    """Every application process tags its own registrations right after they commit."""
    return queue.start(state.db)
