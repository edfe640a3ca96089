"""Background job ``sla.scan``: runs inside ``minxin serve``, in ``minxin worker``, and once via
``minxin sla scan`` (or ``minxin jobs run sla.scan``). Safe in any number of processes at once:
see ``minxin.sla.scanner`` for the exactly-once mechanism."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from minxin.jobs.registry import job
from minxin.sla import scanner

if TYPE_CHECKING:
    from minxin.api.state import AppState
    from minxin.db.session import Database

MAX_PASSES = 20


def scan_all(db: Database, now: datetime) -> dict[str, int]:
    """Scan at ``now`` until nothing is left (one transaction per batch, at most ``MAX_PASSES``)."""
    total = {"warning": 0, "overdue": 0, "skipped": 0}
    for _ in range(MAX_PASSES):
        with db.unit_of_work() as session:
            counts = scanner.scan(session, now)
        for k, v in counts.items():
            total[k] += v
        if max(counts.values()) < scanner.BATCH // 2:
            break
    return total


@job("sla.scan", every=30, description="Record SLA warnings and overdues once each; notify via the outbox")
def scan_job(state: AppState) -> dict[str, Any] | None:
    """One scan at the application clock's ``now``; reports only when something was recorded."""
    total = scan_all(state.db, state.clock.now())
    return dict(total) if total["warning"] or total["overdue"] else None
