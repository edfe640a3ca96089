"""Reading the audit trail (admin only). There is no route to change it."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from sqlalchemy import select

from minxin.api.deps import AdminPrincipal, State
from minxin.audit.models import AuditEntry

router = APIRouter(prefix="/api/v1", tags=["audit"])


@router.get("/audit", summary="The append-only audit trail (admin)")
def list_audit(
    _admin: AdminPrincipal,
    state: State,
    action: str | None = None,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, Any]:
    with state.db.reading() as session:
        stmt = select(AuditEntry).order_by(AuditEntry.id.desc())
        if action:
            stmt = stmt.where(AuditEntry.action == action)
        rows = session.scalars(stmt.offset(offset).limit(limit))
        return {
            "items": [
                {
                    "at": r.at.astimezone(state.tz).isoformat(),
                    "actor": r.actor,
                    "action": r.action,
                    "target_type": r.target_type,
                    "target_id": r.target_id,
                    "detail": r.detail,
                }
                for r in rows
            ]
        }
