"""SLA tables: admin calendar days, policies, every order's clocks, and recorded alerts.

Invariants:
- ``sla_calendar_days`` holds only *admin* entries (source ``admin``); the ``chinesecalendar``
  package data is never copied into the database, it is merged in at read time, so a package
  upgrade is picked up without a migration. A year with at least one admin row is official.
- ``sla_policies.key`` is ``category|appeal_type|urgency`` (``*`` for "any"), unique, so two
  policies can never have the same keys (NULLs in a composite unique index would not stop it).
- ``sla_deadlines`` has one row per order × round × clock × assignment
  (``(order_id, round, kind, seq)`` unique; ``seq`` is the assignment's index within the round for
  ``sign``/``handle``, 0 for ``dispatch``/``callback``). Rows are updated in place by the hooks and
  never deleted. A row in state ``met``/``missed``/``cancelled`` is frozen once its order is
  closed or its round is superseded by a reopen.
- ``sla_alerts`` is unique on ``(order_id, round, kind, seq, due_at, level)``: a second scanner's
  insert of the same alert is a no-op (``INSERT … ON CONFLICT DO NOTHING``). That unique index is
  the exactly-once guarantee across processes.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Boolean, Date, Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from minxin.db.base import Base
from minxin.db.types import JSONType, UTCDateTime


class CalendarDay(Base):
    """One admin-entered day of the official schedule (holiday or 调休 working day)."""

    __tablename__ = "sla_calendar_days"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    day: Mapped[date] = mapped_column(Date, nullable=False, unique=True)
    year: Mapped[int] = mapped_column(Integer, nullable=False, index=True)
    kind: Mapped[str] = mapped_column(String(10), nullable=False)  # holiday | workday
    name: Mapped[str] = mapped_column(String(100), nullable=False, default="")
    source: Mapped[str] = mapped_column(String(10), nullable=False, default="admin")  # admin | import
    updated_by: Mapped[str] = mapped_column(String(100), nullable=False, default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)


class SlaPolicyRow(Base):
    """An SLA policy (see ``minxin.core.sla.SlaPolicy``); unset fields are inherited."""

    __tablename__ = "sla_policies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    key: Mapped[str] = mapped_column(String(200), nullable=False, unique=True)
    category_code: Mapped[str | None] = mapped_column(String(64))
    appeal_type: Mapped[str | None] = mapped_column(String(20))
    urgency: Mapped[str | None] = mapped_column(String(20))
    dispatch: Mapped[str | None] = mapped_column(String(20))
    sign: Mapped[str | None] = mapped_column(String(20))
    handle: Mapped[str | None] = mapped_column(String(20))
    callback: Mapped[str | None] = mapped_column(String(20))
    counting_rule: Mapped[str | None] = mapped_column(String(20))
    warn_ratio: Mapped[float | None] = mapped_column(Float)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    updated_by: Mapped[str] = mapped_column(String(100), nullable=False, default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)


class OrderDeadline(Base):
    """One clock of one order: when it started, is due and warns, and how it ended.

    ``state``: ``running`` (counting or, with ``due_at`` NULL, paused), ``met`` (its goal was
    reached at ``met_at``), ``missed`` (it stopped unmet after its due), ``cancelled`` (it stopped
    unmet before its due: the unit returned the order, the order was voided …). ``verdict``
    (``on_time``/``overdue``) is set for ``met`` and ``missed``.
    """

    __tablename__ = "sla_deadlines"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id"), nullable=False)
    round: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    kind: Mapped[str] = mapped_column(String(10), nullable=False)  # dispatch | sign | handle | callback
    seq: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    unit_code: Mapped[str] = mapped_column(String(64), nullable=False)
    policy_code: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    duration: Mapped[str] = mapped_column(String(20), nullable=False)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    warn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    paused_since: Mapped[datetime | None] = mapped_column(UTCDateTime())
    state: Mapped[str] = mapped_column(String(10), nullable=False, default="running")
    met_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    verdict: Mapped[str | None] = mapped_column(String(10))
    unofficial: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    unofficial_years: Mapped[list[int]] = mapped_column(JSONType, nullable=False, default=list)
    explanation: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)

    __table_args__ = (
        UniqueConstraint("order_id", "round", "kind", "seq"),
        Index("ix_sla_deadlines_state_warn_at", "state", "warn_at"),
        Index("ix_sla_deadlines_state_due_at", "state", "due_at"),
    )


class SlaAlert(Base):
    """A recorded warning (yellow) or overdue (red) of one clock at one due instant. Once only."""

    __tablename__ = "sla_alerts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id"), nullable=False)
    deadline_id: Mapped[int] = mapped_column(ForeignKey("sla_deadlines.id"), nullable=False, index=True)
    round: Mapped[int] = mapped_column(Integer, nullable=False)
    kind: Mapped[str] = mapped_column(String(10), nullable=False)
    seq: Mapped[int] = mapped_column(Integer, nullable=False)
    unit_code: Mapped[str] = mapped_column(String(64), nullable=False)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    level: Mapped[str] = mapped_column(String(10), nullable=False)  # warning | overdue
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, index=True)

    __table_args__ = (UniqueConstraint("order_id", "round", "kind", "seq", "due_at", "level"),)
