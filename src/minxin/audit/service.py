"""Recording audit entries. Called inside the caller's unit of work (no commit here)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from minxin.audit.models import AuditEntry


def record(
    session: Session,
    *,
    at: datetime,
    actor: str,
    action: str,
    target_type: str,
    target_id: str | int,
    detail: dict[str, Any] | None = None,
) -> None:
    session.add(
        AuditEntry(
            at=at, actor=actor, action=action, target_type=target_type, target_id=str(target_id), detail=detail or {}
        )
    )
