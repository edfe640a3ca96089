"""Background job ``intake.autodispatch``: dispatches, as the system, the orders whose
suggestion says so, a few seconds after they were registered.

Why a job and not the registration itself: the registration stays fast and can never be
refused because a dispatch failed, and the dispatch is an ordinary lifecycle action — an
event by actor 系统自动派单 whose note cites the rule — that runs every hook (SLA clocks,
webhooks) like a person's would.

Safe in several processes and idempotent: each order is handled in its own unit of work that
locks the order row, then the suggestion row, and acts only while the suggestion is still
``pending`` and the order still ``registered`` at its centre; otherwise the suggestion is
marked ``skipped`` (a person was faster) or ``failed`` (the dispatch was refused, e.g. the
unit was deactivated), exactly once. The job also starts building the duplicate index and
loads the active model soon after the server starts (and re-checks the model every few
seconds), so the first analysis rarely pays for either.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from minxin.errors import DomainError
from minxin.intake import duplicate_store as dupes
from minxin.intake import model_registry, repository, service
from minxin.intake.urgency_config import default_rules
from minxin.jobs.registry import job
from minxin.units import repository as units_repository
from minxin.workorders import service as orders
from minxin.workorders.service import Settings as OrderSettings

if TYPE_CHECKING:
    from minxin.api.state import AppState
    from minxin.db.session import Database

BATCH = 50


def dispatch_one(db: Database, suggestion_id: int, order_id: int, now: datetime, settings: OrderSettings) -> str:
    """Auto-dispatch one order; returns done | skipped | failed | gone."""
    try:
        with db.unit_of_work() as session:
            order = repository.lock_order(session, order_id)
            s = repository.lock_suggestion(session, suggestion_id)
            if order is None or s is None or s.dispatch_state != "pending":
                return "gone"
            if order.status != "registered" or order.current_unit_id != order.centre_unit_id or not s.unit_code:
                s.dispatch_state = "skipped"
                s.decision_zh = (s.decision_zh + "；工单已不在待派单状态")[:1000]
                return "skipped"
            centre = units_repository.get(session, order.centre_unit_id)
            assert centre is not None
            orders.act(
                session,
                order.number,
                "dispatch",
                {"unit": s.unit_code, "note": s.decision_zh[:2000]},
                actor=service.system_principal(centre),
                now=now,
                settings=settings,
            )
            s.dispatch_state, s.auto_dispatched_at, s.final_unit_code = "done", now, s.unit_code
            return "done"
    except DomainError as exc:
        with db.unit_of_work() as session:
            s = repository.lock_suggestion(session, suggestion_id)
            if s is not None and s.dispatch_state == "pending":
                s.dispatch_state = "failed"
                s.decision_zh = (s.decision_zh + f"；自动派单失败：{exc.message_zh}")[:1000]
        return "failed"


def dispatch_pending(db: Database, now: datetime, settings: OrderSettings, *, limit: int = BATCH) -> dict[str, int]:
    """One pass over the waiting suggestions (oldest first, at most ``limit``)."""
    with db.reading() as session:
        pending = repository.pending_dispatch(session, limit)
    counts = {"done": 0, "skipped": 0, "failed": 0, "gone": 0}
    for suggestion_id, order_id in pending:
        counts[dispatch_one(db, suggestion_id, order_id, now, settings)] += 1
    return counts


@job("intake.autodispatch", every=2, description="Dispatch confidently classified and routed orders as the system")
def autodispatch_job(state: AppState) -> dict[str, Any] | None:
    now = state.clock.now()
    dupes.ensure(state.db, now)  # non-blocking: starts the duplicate index build once
    with state.db.reading() as session:  # load (or re-check) the active model here, not in a request
        model_registry.active(session)
    default_rules()
    counts = dispatch_pending(state.db, now, state.order_settings)
    return {k: v for k, v in counts.items() if v} or None
