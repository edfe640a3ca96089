"""Risk tables: taxonomy versions, per-order tags and facts, subjects, alerts and their actions.

Invariants:
- ``risk_taxonomy_versions`` is a history: a PUT/import adds a row and moves ``active`` to it; at
  most one row is active (partial unique index). No row means "the packaged default".
- ``risk_order_profiles`` has one row per tagged order (PK = order id): the region, subject keys
  and counts the order was last tagged with. Re-tagging updates it in place.
- ``risk_order_tags`` is unique on ``(order_id, label_code)``: a label no longer supported gets
  ``removed_at``; if it fires again the same row is revived (``removed_at`` cleared).
- ``risk_subjects.key`` is the core subject key (``caller:13800138000``, ``addr:…``, ``ent:…``);
  ``ref`` (sha256 of the key, 16 hex) is what URLs carry, so phone numbers never appear in links;
  ``display`` is masked for callers. ``score`` is the decayed score as of ``score_at``
  (:func:`minxin.core.risk.subjects.accumulate`).
- ``risk_alerts``: at most one *live* (not closed) alert per ``dedup_key`` (partial unique index),
  the database-level guarantee behind "duplicates attach to the live alert". ``state`` moves
  pushed → acknowledged → intervening → closed only through ``minxin.risk.alerts``; ``version``
  is a version counter so concurrent actions conflict (409) instead of overwriting.
- ``risk_alert_actions`` is append-only (database triggers refuse UPDATE/DELETE).
- ``risk_tag_queue`` holds the orders registered but not tagged yet (one row per order, written in
  the intake's transaction, deleted in the transaction that tags the order): tagging runs after
  commit (:mod:`minxin.risk.queue`), and a crash between the two only delays it.
- ``risk_scan_leases`` holds one row per scanner name: ``owner`` + ``expires_at`` are claimed with
  one conditional UPDATE (the lease); ``watermark`` is the ``now`` of the last committed scan.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Mapped, mapped_column

from minxin.db.base import Base
from minxin.db.types import JSONType, UTCDateTime


class TaxonomyVersion(Base):
    """One saved taxonomy (the whole YAML mapping as JSON) with who saved it and when."""

    __tablename__ = "risk_taxonomy_versions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[str] = mapped_column(String(60), nullable=False)
    content_hash: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    mapping: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False)
    label_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    note: Mapped[str] = mapped_column(String(500), nullable=False, default="")
    created_by: Mapped[str] = mapped_column(String(100), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)

    __table_args__ = (
        Index(
            "uq_risk_taxonomy_versions_active", "active", unique=True,
            sqlite_where=sql_text("active = 1"), postgresql_where=sql_text("active"),
        ),
    )


class OrderRiskProfile(Base):
    """What tagging and the detectors know of one order, so neither re-derives it per read."""

    __tablename__ = "risk_order_profiles"

    order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id"), primary_key=True)
    #: county-level division code (6 digits) or the centre's city code when the address is unknown
    region: Mapped[str] = mapped_column(String(12), nullable=False, default="")
    category_code: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    #: the order's ``created_at`` (denormalised for the ``(region, created_at)`` index)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, index=True)
    subjects: Mapped[list[str]] = mapped_column(JSONType, nullable=False, default=list)
    counts: Mapped[dict[str, int]] = mapped_column(JSONType, nullable=False, default=dict)
    related: Mapped[dict[str, list[str]]] = mapped_column(JSONType, nullable=False, default=dict)
    max_severity: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    taxonomy_hash: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    tagged_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)

    __table_args__ = (Index("ix_risk_order_profiles_region_created", "region", "created_at"),)


class TagQueueEntry(Base):
    """An order waiting to be tagged (see :mod:`minxin.risk.queue`)."""

    __tablename__ = "risk_tag_queue"

    order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id"), primary_key=True)
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)


class OrderRiskTag(Base):
    """A risk label on an order with the evidence that fired it (words, counts, related orders)."""

    __tablename__ = "risk_order_tags"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id"), nullable=False)
    label_code: Mapped[str] = mapped_column(String(100), nullable=False, index=True)
    category_code: Mapped[str] = mapped_column(String(64), nullable=False)
    severity: Mapped[int] = mapped_column(Integer, nullable=False)
    role: Mapped[str] = mapped_column(String(40), nullable=False, default="")
    evidence: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False, default=dict)
    taxonomy_hash: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    tagged_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (UniqueConstraint("order_id", "label_code"),)


class RiskSubject(Base):
    """A caller, an address or an enterprise accumulating risk across its orders."""

    __tablename__ = "risk_subjects"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(10), nullable=False)  # caller | address | enterprise
    key: Mapped[str] = mapped_column(String(500), nullable=False, unique=True)
    ref: Mapped[str] = mapped_column(String(16), nullable=False, index=True)  # a hash of key (0007)
    display: Mapped[str] = mapped_column(String(300), nullable=False, default="")
    score: Mapped[float] = mapped_column(Float, nullable=False, default=0.0)
    score_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    level: Mapped[str] = mapped_column(String(10), nullable=False, default="low")
    order_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    first_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    last_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, index=True)

    __table_args__ = (Index("ix_risk_subjects_kind_score", "kind", "score"),)


class SubjectLink(Base):
    """Order ``order_id`` concerns subject ``subject_id``; ``at`` is the order's creation time."""

    __tablename__ = "risk_subject_links"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("risk_subjects.id"), nullable=False)
    order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id"), nullable=False, index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)

    __table_args__ = (
        UniqueConstraint("subject_id", "order_id"),
        Index("ix_risk_subject_links_subject_at", "subject_id", "at"),
    )


class RiskAlert(Base):
    """An alert a unit must act on: pushed → acknowledged → intervening → closed."""

    __tablename__ = "risk_alerts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    detector: Mapped[str] = mapped_column(String(20), nullable=False)
    dedup_key: Mapped[str] = mapped_column(String(500), nullable=False)
    label_code: Mapped[str] = mapped_column(String(100), nullable=False)
    risk_category: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    #: the business category (order category code) the alert is about
    category_code: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    region: Mapped[str] = mapped_column(String(12), nullable=False, default="", index=True)
    severity: Mapped[int] = mapped_column(Integer, nullable=False)
    role: Mapped[str] = mapped_column(String(40), nullable=False, default="")
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), nullable=False, index=True)
    unit_path: Mapped[str] = mapped_column(String(500), nullable=False, index=True)
    state: Mapped[str] = mapped_column(String(20), nullable=False, index=True)
    resolution: Mapped[str | None] = mapped_column(String(20))
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    detected_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, index=True)
    pushed_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    ack_due_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    order_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False, default=dict)
    version: Mapped[int] = mapped_column(Integer, nullable=False)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012
    __table_args__ = (
        Index(
            "uq_risk_alerts_live_dedup_key", "dedup_key", unique=True,
            sqlite_where=sql_text("state != 'closed'"), postgresql_where=sql_text("state != 'closed'"),
        ),
    )


class AlertOrder(Base):
    """An order attached to an alert (the first ones, and every later duplicate)."""

    __tablename__ = "risk_alert_orders"

    alert_id: Mapped[int] = mapped_column(ForeignKey("risk_alerts.id"), primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id"), primary_key=True, index=True)
    attached_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)


class AlertAction(Base):
    """One step of an alert's loop: acknowledge, intervene (what, by whom, attachments), close, note."""

    __tablename__ = "risk_alert_actions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("risk_alerts.id"), nullable=False, index=True)
    action: Mapped[str] = mapped_column(String(20), nullable=False)
    from_state: Mapped[str] = mapped_column(String(20), nullable=False)
    to_state: Mapped[str] = mapped_column(String(20), nullable=False)
    resolution: Mapped[str | None] = mapped_column(String(20))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor_name: Mapped[str] = mapped_column(String(100), nullable=False)
    actor_role: Mapped[str] = mapped_column(String(20), nullable=False)
    unit_code: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    text: Mapped[str] = mapped_column(Text, nullable=False, default="")
    attachments: Mapped[list[str]] = mapped_column(JSONType, nullable=False, default=list)


class ScanLease(Base):
    """The scanner's lease and watermark (one row per scanner name, e.g. ``risk.scan``)."""

    __tablename__ = "risk_scan_leases"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    owner: Mapped[str | None] = mapped_column(String(100))
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    watermark: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_result: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False, default=dict)
