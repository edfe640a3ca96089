"""Tables of the integrations domain: machine keys, webhooks, transfers, hand-offs, Open311 tokens.

Invariants:
- an API key's secret is never stored: only ``sha256(key)`` (keys are 32 random bytes, so a
  fast hash is as safe as a slow one and costs nothing per request); ``prefix`` is the public,
  unique lookup handle. A rotated key keeps the previous hash until ``previous_valid_until``.
- ``(subscription_id, outbox_id)`` is unique: an outbox message fans out to a subscription at
  most once, even if two workers raced (at-least-once delivery, never a duplicate row).
- a delivery's ``payload`` is frozen when it is created, so every retry sends identical bytes
  apart from the signature timestamp; receivers deduplicate on ``event_id``.
- ``(direction, system, external_id)`` is unique: a repeated inbound transfer finds its order.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from minxin.db.base import Base
from minxin.db.types import JSONType, UTCDateTime


class ApiKey(Base):
    """A machine credential bound to a unit (its scope), a role and a list of scopes."""

    __tablename__ = "integration_api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    prefix: Mapped[str] = mapped_column(String(16), unique=True, nullable=False)
    secret_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    previous_hash: Mapped[str | None] = mapped_column(String(64))
    previous_valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    #: the external system this key speaks for ("95598", "110", "fixmystreet"); transfers
    #: posted with the key must name it as their sender
    system: Mapped[str | None] = mapped_column(String(40), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), nullable=False)
    role: Mapped[str] = mapped_column(String(20), nullable=False, default="agent")
    scopes: Mapped[list[str]] = mapped_column(JSONType, nullable=False, default=list)
    rate_per_minute: Mapped[int] = mapped_column(Integer, nullable=False, default=120)
    burst: Mapped[int] = mapped_column(Integer, nullable=False, default=60)
    #: Open311 POST /requests answers with a token; the order is created by a job or on poll
    open311_deferred: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    created_by: Mapped[str] = mapped_column(String(100), nullable=False)
    rotated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: token bucket (rate limit shared by every process): tokens left at ``bucket_at``
    bucket_tokens: Mapped[float] = mapped_column(Float, nullable=False, default=0.0)
    bucket_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class WebhookSubscription(Base):
    """Where to POST events. Scope: a unit subtree, an integration's own orders, or everything."""

    __tablename__ = "integration_webhooks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    url: Mapped[str] = mapped_column(String(1000), nullable=False)
    secret: Mapped[str] = mapped_column(String(100), nullable=False)
    event_types: Mapped[list[str]] = mapped_column(JSONType, nullable=False, default=list)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    api_key_id: Mapped[int | None] = mapped_column(ForeignKey("integration_api_keys.id"))
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    created_by: Mapped[str] = mapped_column(String(100), nullable=False)


class WebhookDelivery(Base):
    """One event for one subscription: pending → delivered, or dead after the last attempt."""

    __tablename__ = "integration_webhook_deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("integration_webhooks.id"), nullable=False)
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id"))
    event: Mapped[str] = mapped_column(String(60), nullable=False)
    event_id: Mapped[str] = mapped_column(String(40), nullable=False)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False)
    state: Mapped[str] = mapped_column(String(10), nullable=False, default="pending")
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        UniqueConstraint("subscription_id", "outbox_id"),
        Index("ix_integration_webhook_deliveries_state_next", "state", "next_attempt_at"),
    )


class TransferLink(Base):
    """An order exchanged with another hotline: inbound (they sent it) or outbound (we did)."""

    __tablename__ = "integration_transfers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    direction: Mapped[str] = mapped_column(String(10), nullable=False)  # inbound | outbound
    system: Mapped[str] = mapped_column(String(40), nullable=False)
    #: the other side's id for the order (unknown for an outbound transfer until acknowledged)
    external_id: Mapped[str | None] = mapped_column(String(100))
    order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id"), nullable=False, index=True)
    api_key_id: Mapped[int | None] = mapped_column(ForeignKey("integration_api_keys.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    created_by: Mapped[str] = mapped_column(String(100), nullable=False)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    note: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (UniqueConstraint("direction", "system", "external_id"),)


class Handoff(Base):
    """An emergency hand-off of an order's caller to 110 / 119 / 120, with its time."""

    __tablename__ = "integration_handoffs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id"), nullable=False, index=True)
    target: Mapped[str] = mapped_column(String(3), nullable=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    by: Mapped[str] = mapped_column(String(100), nullable=False)
    by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str | None] = mapped_column(Text)


class Open311Token(Base):
    """Every Open311 POST /requests gets a token; deferred ones keep their submission here
    until a job (or the client's first poll) registers the order."""

    __tablename__ = "open311_tokens"

    token: Mapped[str] = mapped_column(String(40), primary_key=True)
    api_key_id: Mapped[int] = mapped_column(ForeignKey("integration_api_keys.id"), nullable=False)
    jurisdiction_id: Mapped[str | None] = mapped_column(String(100))
    state: Mapped[str] = mapped_column(String(10), nullable=False, default="pending", index=True)
    submission: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("work_orders.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    error: Mapped[str | None] = mapped_column(Text)


class Open311InboundUpdate(Base):
    """An update a client (FixMyStreet) posted onto a request, idempotent on its ``update_id``."""

    __tablename__ = "open311_inbound_updates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    api_key_id: Mapped[int] = mapped_column(ForeignKey("integration_api_keys.id"), nullable=False)
    external_update_id: Mapped[str] = mapped_column(String(100), nullable=False)
    order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id"), nullable=False, index=True)
    event_seq: Mapped[int] = mapped_column(Integer, nullable=False)
    status: Mapped[str | None] = mapped_column(String(40))
    applied_action: Mapped[str | None] = mapped_column(String(30))
    author: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)

    __table_args__ = (UniqueConstraint("api_key_id", "external_update_id"),)
