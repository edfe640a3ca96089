"""Background job ``reports.refresh``: refold live orders whose SLA deadlines changed outside an
action (policy change, calendar import), and fold work orders that have no fact row yet.

Idempotent and safe in several processes: each order is folded under its work-order row lock,
and a fold only adds ``new − stored`` (zero when nothing changed). The watermark (the latest
deadline change seen, in ``app_settings``) only limits the work; re-reading a minute of changes
each time covers transactions that committed late.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from minxin.jobs.registry import job
from minxin.reports import folding, repository

if TYPE_CHECKING:
    from minxin.api.state import AppState
    from minxin.db.session import Database

WATERMARK = "reports.sla_watermark"
OVERLAP = timedelta(minutes=1)
BATCH = 500


def refresh(db: Database, *, limit: int = BATCH) -> dict[str, int]:
    """One pass; returns how many orders were refolded and backfilled."""
    refolded = backfilled = 0
    with db.unit_of_work() as session:
        text = repository.setting(session, WATERMARK)
        since = datetime.fromisoformat(text) if text else datetime(1970, 1, 1, tzinfo=UTC)
        changed = repository.orders_with_deadlines_changed(session, since - OVERLAP, limit)
        for order_id, _at in changed:
            order = repository.work_order(session, order_id, for_update=True)
            if order is not None and folding.fold(session, order):
                refolded += 1
        if changed:
            repository.set_setting(session, WATERMARK, max(at for _, at in changed).isoformat())
    with db.unit_of_work() as session:
        for order_id in repository.live_order_ids_without_facts(session, 0, limit):
            order = repository.work_order(session, order_id, for_update=True)
            if order is not None:
                folding.fold(session, order)
                backfilled += 1
    return {"refolded": refolded, "backfilled": backfilled}


@job("reports.refresh", every=30, description="Refold orders whose SLA deadlines changed; fold orders without facts")
def refresh_job(state: AppState) -> dict[str, Any] | None:
    counts = refresh(state.db)
    return counts if any(counts.values()) else None
