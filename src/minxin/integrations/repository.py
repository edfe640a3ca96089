"""Every query of the integrations domain. Services decide; this module reads and writes rows.

Claiming rows for background work uses ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so several
workers share the queue without waiting on each other; on SQLite the write transaction
(``BEGIN IMMEDIATE``) already serialises claimers, and the clause is simply not rendered.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from minxin.integrations.models import (
    ApiKey,
    Handoff,
    Open311InboundUpdate,
    Open311Token,
    TransferLink,
    WebhookDelivery,
    WebhookSubscription,
)
from minxin.outbox.models import OutboxMessage
from minxin.workorders.models import OrderUnit

# --- keys -------------------------------------------------------------------------------------


def key_by_prefix(session: Session, prefix: str, *, for_update: bool = False) -> ApiKey | None:
    stmt = select(ApiKey).where(ApiKey.prefix == prefix)
    if for_update:
        stmt = stmt.with_for_update()
    return session.scalars(stmt).first()


def key(session: Session, key_id: int) -> ApiKey | None:
    return session.get(ApiKey, key_id)


def keys(session: Session) -> list[ApiKey]:
    return list(session.scalars(select(ApiKey).order_by(ApiKey.id)))


# --- webhooks ---------------------------------------------------------------------------------


def subscription(session: Session, sub_id: int) -> WebhookSubscription | None:
    return session.get(WebhookSubscription, sub_id)


def subscriptions(session: Session, *, active_only: bool = False) -> list[WebhookSubscription]:
    stmt = select(WebhookSubscription).order_by(WebhookSubscription.id)
    if active_only:
        stmt = stmt.where(WebhookSubscription.active.is_(True))
    return list(session.scalars(stmt))


def claim_outbox(session: Session, *, limit: int) -> list[OutboxMessage]:
    """Pending outbox messages, oldest first, locked for this transaction (skipping locked)."""
    stmt = (
        select(OutboxMessage)
        .where(OutboxMessage.state == "pending")
        .order_by(OutboxMessage.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(session.scalars(stmt))


def has_pending_outbox(session: Session) -> bool:
    return session.scalar(select(OutboxMessage.id).where(OutboxMessage.state == "pending").limit(1)) is not None


def has_due_deliveries(session: Session, *, now: datetime) -> bool:
    stmt = select(WebhookDelivery.id).where(WebhookDelivery.state == "pending", WebhookDelivery.next_attempt_at <= now)
    return session.scalar(stmt.limit(1)) is not None


def has_pending_tokens(session: Session) -> bool:
    return session.scalar(select(Open311Token.token).where(Open311Token.state == "pending").limit(1)) is not None


def delivery_exists(session: Session, sub_id: int, outbox_id: int) -> bool:
    stmt = select(WebhookDelivery.id).where(
        WebhookDelivery.subscription_id == sub_id, WebhookDelivery.outbox_id == outbox_id
    )
    return session.scalar(stmt) is not None


def claim_due_deliveries(session: Session, *, now: datetime, limit: int) -> list[WebhookDelivery]:
    """Pending deliveries that are due, of active subscriptions, locked (skipping locked)."""
    stmt = (
        select(WebhookDelivery)
        .join(WebhookSubscription, WebhookSubscription.id == WebhookDelivery.subscription_id)
        .where(
            WebhookDelivery.state == "pending",
            WebhookDelivery.next_attempt_at <= now,
            WebhookSubscription.active.is_(True),
        )
        .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
        .limit(limit)
        .with_for_update(of=WebhookDelivery, skip_locked=True)
    )
    return list(session.scalars(stmt))


def delivery(session: Session, delivery_id: int, *, for_update: bool = False) -> WebhookDelivery | None:
    stmt = select(WebhookDelivery).where(WebhookDelivery.id == delivery_id)
    if for_update:
        stmt = stmt.with_for_update()
    return session.scalars(stmt).first()


def deliveries(
    session: Session, *, state: str | None, subscription_id: int | None, offset: int, limit: int
) -> list[WebhookDelivery]:
    stmt = select(WebhookDelivery).order_by(WebhookDelivery.id.desc())
    if state:
        stmt = stmt.where(WebhookDelivery.state == state)
    if subscription_id:
        stmt = stmt.where(WebhookDelivery.subscription_id == subscription_id)
    return list(session.scalars(stmt.offset(offset).limit(limit)))


def dead_deliveries(session: Session, subscription_id: int | None) -> list[WebhookDelivery]:
    stmt = select(WebhookDelivery).where(WebhookDelivery.state == "dead").with_for_update()
    if subscription_id:
        stmt = stmt.where(WebhookDelivery.subscription_id == subscription_id)
    return list(session.scalars(stmt.order_by(WebhookDelivery.id)))


def order_unit_paths(session: Session, order_id: int) -> list[str]:
    return list(session.scalars(select(OrderUnit.unit_path).where(OrderUnit.order_id == order_id)))


# --- transfers and hand-offs -----------------------------------------------------------------


def transfer(session: Session, direction: str, system: str, external_id: str) -> TransferLink | None:
    stmt = select(TransferLink).where(
        TransferLink.direction == direction, TransferLink.system == system, TransferLink.external_id == external_id
    )
    return session.scalars(stmt).first()


def transfer_by_id(session: Session, link_id: int) -> TransferLink | None:
    return session.get(TransferLink, link_id)


def transfer_any_direction(session: Session, system: str, external_id: str) -> TransferLink | None:
    stmt = (
        select(TransferLink)
        .where(TransferLink.system == system, TransferLink.external_id == external_id)
        .order_by(TransferLink.id)
    )
    return session.scalars(stmt).first()


def transfers_of(session: Session, order_ids: Sequence[int]) -> list[TransferLink]:
    if not order_ids:
        return []
    stmt = select(TransferLink).where(TransferLink.order_id.in_(list(order_ids))).order_by(TransferLink.id)
    return list(session.scalars(stmt))


def handoffs_of(session: Session, order_id: int) -> list[Handoff]:
    return list(session.scalars(select(Handoff).where(Handoff.order_id == order_id).order_by(Handoff.at, Handoff.id)))


# --- Open311 ----------------------------------------------------------------------------------


def token(session: Session, value: str, *, for_update: bool = False) -> Open311Token | None:
    stmt = select(Open311Token).where(Open311Token.token == value)
    if for_update:
        stmt = stmt.with_for_update(skip_locked=False)
    return session.scalars(stmt).first()


def claim_pending_tokens(session: Session, *, limit: int) -> list[Open311Token]:
    stmt = (
        select(Open311Token)
        .where(Open311Token.state == "pending")
        .order_by(Open311Token.created_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(session.scalars(stmt))


def inbound_update(session: Session, api_key_id: int, external_update_id: str) -> Open311InboundUpdate | None:
    stmt = select(Open311InboundUpdate).where(
        Open311InboundUpdate.api_key_id == api_key_id,
        Open311InboundUpdate.external_update_id == external_update_id,
    )
    return session.scalars(stmt).first()


def inbound_event_keys(session: Session, order_ids: Sequence[int], api_key_id: int | None) -> set[tuple[int, int]]:
    """``(order_id, seq)`` of events that a client's own posted updates created."""
    if not order_ids or api_key_id is None:
        return set()
    stmt = select(Open311InboundUpdate.order_id, Open311InboundUpdate.event_seq).where(
        and_(Open311InboundUpdate.order_id.in_(list(order_ids)), Open311InboundUpdate.api_key_id == api_key_id)
    )
    return {(int(o), int(s)) for o, s in session.execute(stmt)}


def keys_for_system(session: Session, system: str) -> list[ApiKey]:
    stmt = select(ApiKey).where(ApiKey.system == system, ApiKey.revoked_at.is_(None))
    return list(session.scalars(stmt))
