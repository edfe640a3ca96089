"""Enqueue side effects in the caller's transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from minxin.outbox.models import OutboxMessage


def enqueue(session: Session, *, topic: str, payload: dict[str, Any], now: datetime) -> OutboxMessage:
    message = OutboxMessage(topic=topic, payload=payload, created_at=now, available_at=now)
    session.add(message)
    return message
