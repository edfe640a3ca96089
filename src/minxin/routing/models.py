"""The routing table (派单规则) and its append-only change history.

A rule says: orders of category ``category_code`` (and its subtree; ``""`` = any category)
whose region lies under ``region_code`` (an NBS code prefix: a city code covers its counties
and townships; ``""`` = anywhere) go to unit ``unit_code``.

Invariants:
- rules are never deleted: "delete" deactivates (``active = False``), so a decision recorded
  on an order can always be traced back to the rule that made it;
- every create/update/deactivate appends one :class:`RoutingRuleChange` row (who, when, why,
  field-by-field ``{"from", "to"}``); that table refuses updates and deletes at the database
  level, like the order events;
- ``valid_from``/``valid_to`` are inclusive calendar dates in the display time zone; ``None``
  means open-ended.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from minxin.db.base import Base
from minxin.db.types import JSONType, UTCDateTime


class RoutingRule(Base):
    __tablename__ = "routing_rules"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    category_code: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    region_code: Mapped[str] = mapped_column(String(12), nullable=False, default="")
    unit_code: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    #: higher wins between rules that are equally specific
    priority: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    #: why the rule exists (duty list reference, agreement …), shown with every decision
    note: Mapped[str] = mapped_column(String(500), nullable=False, default="")
    #: "default" (seeded demo/package rule) or "admin"
    source: Mapped[str] = mapped_column(String(20), nullable=False, default="admin")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    edited_by: Mapped[str] = mapped_column(String(100), nullable=False)
    edited_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)

    __table_args__ = (Index("ix_routing_rules_lookup", "category_code", "region_code"),)


class RoutingRuleChange(Base):
    """One change of one rule. Append-only (database triggers refuse UPDATE and DELETE)."""

    __tablename__ = "routing_rule_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rule_id: Mapped[int] = mapped_column(ForeignKey("routing_rules.id"), nullable=False, index=True)
    #: create | update | deactivate | reactivate
    action: Mapped[str] = mapped_column(String(20), nullable=False)
    changes: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False, default=dict)
    why: Mapped[str] = mapped_column(String(500), nullable=False, default="")
    by: Mapped[str] = mapped_column(String(100), nullable=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
