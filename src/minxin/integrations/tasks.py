"""Background job ``webhooks.deliver``: drain the outbox into deliveries, then send what is due.

Safe in several processes at once: the outbox and the deliveries are claimed with
``FOR UPDATE SKIP LOCKED`` on PostgreSQL (SQLite's write lock serialises claimers), and a
claimed delivery is leased (``next_attempt_at`` pushed ahead) before the HTTP call, which runs
outside any transaction. The outcome is recorded in a transaction of its own.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import httpx

from minxin.integrations import repository, webhooks
from minxin.jobs.registry import job

if TYPE_CHECKING:
    from minxin.api.state import AppState

#: per run, stop claiming new deliveries after this many wall-clock seconds
RUN_BUDGET_SECONDS = 25.0
TIMEOUT_SECONDS = 5.0


def send(client: httpx.Client, attempt: webhooks.Attempt) -> tuple[bool, int | None, str | None]:
    """POST one delivery; 2xx is success, anything else (or no answer) a failure to retry."""
    try:
        response = client.post(attempt.url, content=attempt.body, headers=attempt.headers)
    except httpx.HTTPError as exc:
        return False, None, f"{type(exc).__name__}: {exc}"[:2000]
    if 200 <= response.status_code < 300:
        return True, response.status_code, None
    return False, response.status_code, f"HTTP {response.status_code}: {response.text[:500]}"


@job("webhooks.deliver", every=5, description="Fan the outbox out to webhook subscriptions and deliver due events")
def deliver(state: AppState) -> dict[str, Any] | None:
    with state.db.reading() as session:  # cheap look first: an idle run takes no write lock
        pending = repository.has_pending_outbox(session)
        due = repository.has_due_deliveries(session, now=state.clock.now())
    if not (pending or due):
        return None
    fanned = 0
    if pending:
        with state.db.unit_of_work() as session:
            fanned = webhooks.fan_out(session, now=state.clock.now())
    sent = failed = dead = 0
    started = time.monotonic()
    with httpx.Client(timeout=TIMEOUT_SECONDS, follow_redirects=False) as client:
        while time.monotonic() - started < RUN_BUDGET_SECONDS:
            with state.db.unit_of_work() as session:
                attempts = webhooks.claim(session, now=state.clock.now())
            if not attempts:
                break
            for attempt in attempts:
                ok, status, error = send(client, attempt)
                with state.db.unit_of_work() as session:
                    outcome = webhooks.record(session, attempt.delivery_id, ok=ok, status=status, error=error,
                                              now=state.clock.now())
                sent += ok
                failed += not ok
                dead += outcome == "dead"
    if not (fanned or sent or failed):
        return None
    return {"fanned_out": fanned, "delivered": sent, "failed": failed, "dead": dead}
