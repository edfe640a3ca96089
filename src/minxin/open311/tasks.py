"""Background job ``open311.tokens``: register the orders of deferred Open311 submissions.

Safe in several processes: pending tokens are claimed with ``FOR UPDATE SKIP LOCKED`` (SQLite's
write lock serialises), and a token a client polled first is already ``created`` and skipped.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from minxin.integrations import repository
from minxin.jobs.registry import job
from minxin.open311 import service

if TYPE_CHECKING:
    from minxin.api.state import AppState

BATCH = 50


@job("open311.tokens", every=2, description="Create the orders behind deferred Open311 tokens")
def process_tokens(state: AppState) -> dict[str, Any] | None:
    with state.db.reading() as session:  # an idle run takes no write lock
        if not repository.has_pending_tokens(session):
            return None
    created = failed = 0
    with state.db.unit_of_work() as session:
        for token in repository.claim_pending_tokens(session, limit=BATCH):
            order = service.process(session, token, now=state.clock.now(), settings=state.order_settings)
            created += order is not None
            failed += order is None
    return {"created": created, "failed": failed} if (created or failed) else None
