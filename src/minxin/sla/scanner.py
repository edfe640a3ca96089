"""The deadline scanner: record each warning and each overdue once, and announce it in the outbox.

One scan, in the caller's unit of work:

1. running clocks inside their warning window (``warn_at <= now <= due_at``) without a
   ``warning`` alert for their current due — an index range scan on ``(state, warn_at)``;
2. running clocks past due (``due_at < now``) without an ``overdue`` alert for their current due —
   on ``(state, due_at)``;
3. for each, ``INSERT INTO sla_alerts … ON CONFLICT DO NOTHING RETURNING id``; only when a row
   comes back is an outbox message (``sla.warning`` / ``sla.overdue``) enqueued.

Exactly once, across processes: the alert's identity is ``(order, round, clock, assignment,
due_at, level)`` under a unique index. Two scanners that pick the same clock race on that index:
PostgreSQL makes the second insert wait for the first transaction and then do nothing; SQLite
serialises writers. The loser gets no id back and enqueues nothing, so alert and notification
are written together exactly once. A clock whose due moves (a pause, an extension) is a new due
and can warn again, once. A paused clock (``due_at`` NULL) is never scanned; a closed order's
clocks are no longer ``running``, so its verdict stays frozen.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from minxin.outbox import service as outbox
from minxin.sla import repository
from minxin.sla.models import OrderDeadline

BATCH = 500


def _payload(d: OrderDeadline, number: str, status: str, level: str, now: datetime) -> dict[str, Any]:
    """The outbox message: identifiers and times only, never the citizen's personal data."""
    return {
        "number": number,
        "status": status,
        "level": level,
        "kind": d.kind,
        "round": d.round,
        "seq": d.seq,
        "unit": d.unit_code,
        "policy": d.policy_code,
        "started_at": d.started_at.isoformat(),
        "due_at": d.due_at.isoformat() if d.due_at else None,
        "warn_at": d.warn_at.isoformat() if d.warn_at else None,
        "at": now.isoformat(),
    }


def scan(session: Session, now: datetime, *, batch: int = BATCH) -> dict[str, int]:
    """One pass; returns ``{"warning": n, "overdue": n, "skipped": n}`` (skipped: already recorded
    by a concurrent scanner). Call it again while it reports a full batch."""
    counts = {"warning": 0, "overdue": 0, "skipped": 0}
    for level, candidates in (
        ("warning", repository.warning_candidates(session, now, batch)),
        ("overdue", repository.overdue_candidates(session, now, batch)),
    ):
        for deadline, number, status in candidates:
            if repository.insert_alert(session, deadline, level, now) is None:
                counts["skipped"] += 1
                continue
            outbox.enqueue(session, topic=f"sla.{level}", payload=_payload(deadline, number, status, level, now), now=now)
            counts[level] += 1
    return counts
