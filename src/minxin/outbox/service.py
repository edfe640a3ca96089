"""Enqueue side effects in the caller's transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from minxin.db.statements import insert_rows
from minxin.outbox.models import OutboxMessage


def enqueue(session: Session, *, topic: str, payload: dict[str, Any], now: datetime) -> None:
    """Write one message in the caller's transaction (a Core insert: the dispatcher reads it from
    the table after commit, nobody needs it as an object in this session, and the ORM unit of
    work for it cost more than the insert, on every intake)."""
    insert_rows(session, OutboxMessage.__table__, [{"topic": topic, "payload": payload, "created_at": now,
                                                     "available_at": now}])
