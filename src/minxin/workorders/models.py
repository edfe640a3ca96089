"""Work orders and their append-only history.

Invariants:
- ``status`` is denormalised on the row and changes only through ``workorders.service``;
  the events table holds the history and ``replay`` of the events gives the same status.
- ``version`` is SQLAlchemy's version counter: a concurrent writer that read an older version
  fails (HTTP 409) instead of overwriting.
- ``order_events`` rows are never updated or deleted (database triggers refuse it);
  ``(order_id, seq)`` is unique, so two writers can never both append event N.
- ``order_units`` lists every unit an order has been with; visibility for a user is "some row's
  unit lies in the user's unit subtree" (an indexed ``unit_id IN (subtree)`` lookup).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from minxin.categories.models import Category
from minxin.db.base import Base
from minxin.db.types import JSONType, UTCDateTime
from minxin.units.models import Unit


class WorkOrder(Base):
    __tablename__ = "work_orders"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True, nullable=False)
    channel: Mapped[str] = mapped_column(String(20), nullable=False, index=True)
    appeal_type: Mapped[str] = mapped_column(String(20), nullable=False, index=True)
    urgency: Mapped[str] = mapped_column(String(20), nullable=False, default="normal")
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    content: Mapped[str] = mapped_column(Text, nullable=False)
    citizen_name: Mapped[str | None] = mapped_column(String(100))
    citizen_phone: Mapped[str | None] = mapped_column(String(40), index=True)
    citizen_confidential: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    address: Mapped[str | None] = mapped_column(String(500))
    region_code: Mapped[str | None] = mapped_column(String(12), index=True)
    latitude: Mapped[float | None] = mapped_column()
    longitude: Mapped[float | None] = mapped_column()
    category_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"), index=True)
    centre_unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), nullable=False)
    current_unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), nullable=False, index=True)
    #: the unit that last signed/handled it: a reopen goes back there
    handling_unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    status: Mapped[str] = mapped_column(String(20), nullable=False, index=True)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    event_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    registered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    status_changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    replied_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    callback_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    reopen_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    return_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    urge_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    unreachable_attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    satisfaction: Mapped[str | None] = mapped_column(String(30))
    resolved: Mapped[bool | None] = mapped_column(Boolean)
    has_evidence: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    direct_answer: Mapped[str | None] = mapped_column(Text)
    reply_text: Mapped[str | None] = mapped_column(Text)
    #: fairness (公平性): a supervisor marked the appeal unreasonable / legally unsupportable
    excluded_from_satisfaction: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    exclusion_reason: Mapped[str | None] = mapped_column(String(500))
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("work_orders.id"))
    extra: Mapped[dict[str, Any] | None] = mapped_column(JSONType)

    category: Mapped[Category | None] = relationship(lazy="joined")
    current_unit: Mapped[Unit] = relationship(foreign_keys=[current_unit_id], lazy="joined")
    centre_unit: Mapped[Unit] = relationship(foreign_keys=[centre_unit_id], lazy="raise")

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012
    __table_args__ = (Index("ix_work_orders_status_current_unit", "status", "current_unit_id"),)


class OrderEvent(Base):
    """One accepted action: who, which unit, when, what, from → to, and the payload. Immutable."""

    __tablename__ = "order_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id"), nullable=False)
    seq: Mapped[int] = mapped_column(Integer, nullable=False)
    action: Mapped[str] = mapped_column(String(30), nullable=False, index=True)
    outcome: Mapped[str] = mapped_column(String(30), nullable=False, default="")
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20), nullable=False)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor_name: Mapped[str] = mapped_column(String(100), nullable=False)
    actor_role: Mapped[str] = mapped_column(String(20), nullable=False)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False, default=dict)

    __table_args__ = (UniqueConstraint("order_id", "seq"),)


class OrderUnit(Base):
    """A unit the order has been with (centre, main handler, assisting unit): drives visibility."""

    __tablename__ = "order_units"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id"), nullable=False)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), nullable=False)
    unit_path: Mapped[str] = mapped_column(String(500), nullable=False)
    role: Mapped[str] = mapped_column(String(10), nullable=False)  # centre | main | assist
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    since: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)

    __table_args__ = (
        UniqueConstraint("order_id", "unit_id"),
        Index("ix_order_units_unit_order", "unit_id", "order_id"),
    )


class Callback(Base):
    """One callback attempt (回访): reachable or not, satisfaction, resolution, recording."""

    __tablename__ = "callbacks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id"), nullable=False, index=True)
    round: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reachable: Mapped[bool] = mapped_column(Boolean, nullable=False)
    satisfaction: Mapped[str | None] = mapped_column(String(30))
    resolved: Mapped[bool | None] = mapped_column(Boolean)
    recording_id: Mapped[str | None] = mapped_column(ForeignKey("attachments.id"))
    note: Mapped[str | None] = mapped_column(Text)


class ExtensionRequest(Base):
    """A handler's request for more time (延期申请) and the supervisor's decision."""

    __tablename__ = "extension_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id"), nullable=False, index=True)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    duration: Mapped[str] = mapped_column(String(20), nullable=False)  # e.g. "3wd"
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    state: Mapped[str] = mapped_column(String(10), nullable=False, default="pending", index=True)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decision_note: Mapped[str | None] = mapped_column(Text)


class IdempotencyKey(Base):
    """``Idempotency-Key`` of an intake request: the same key from the same user gives the same order."""

    __tablename__ = "idempotency_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    key: Mapped[str] = mapped_column(String(200), nullable=False)
    request_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id"), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)

    __table_args__ = (UniqueConstraint("user_id", "key"),)


class OrderSequence(Base):
    """Per-day counter behind order numbers; bumped atomically with an upsert."""

    __tablename__ = "order_sequences"

    day: Mapped[str] = mapped_column(String(8), primary_key=True)
    value: Mapped[int] = mapped_column(Integer, nullable=False)
