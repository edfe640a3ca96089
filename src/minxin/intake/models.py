"""What intake analysis decided for each order, and the registry of classifier models.

``IntakeSuggestion`` (one per analysed order) keeps the suggestion as it was made — top-3
categories with confidences, the model version, the unit with its rule and runners-up, the
urgency with the words that fired — and, later, its outcome: whether a person accepted or
corrected the category and the unit. Accuracy, coverage (share auto-dispatched) and the
correction rate per month are computed from these rows alone (``minxin model report``).

Invariants:
- at most one suggestion per order (``order_id`` unique); the suggestion part is written once
  at registration, only the outcome columns change afterwards;
- ``dispatch_state`` is ``pending`` only while the order waits for the auto-dispatch job;
  the job moves it to ``done``, ``skipped`` (someone acted first, or the order changed) or
  ``failed``, exactly once (row lock);
- outcomes: ``category_outcome`` / ``unit_outcome`` ∈ {``none`` (nothing suggested),
  ``pending`` (no human verdict yet), ``accepted``, ``corrected``}.

``IntakeModel``: one row per model file registered with the server; at most one ``active``.
Model files are pickles (see ``minxin.intake.model_io``): only files the centre trained.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from minxin.db.base import Base
from minxin.db.types import JSONType, UTCDateTime


class IntakeModel(Base):
    __tablename__ = "intake_models"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    path: Mapped[str] = mapped_column(String(1000), nullable=False)
    #: when the model was trained (from its metadata) and when it was registered here
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    registered_by: Mapped[str] = mapped_column(String(100), nullable=False)
    #: the model file's training metadata (rows, labels, data hash, CV metrics, parameters)
    training: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False, default=dict)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False, index=True)
    #: confidence needed to apply a category (and so to auto-dispatch), per category code; a
    #: code covers its subtree; ``default_threshold`` for the rest
    thresholds: Mapped[dict[str, float]] = mapped_column(JSONType, nullable=False, default=dict)
    default_threshold: Mapped[float] = mapped_column(Float, nullable=False, default=0.85)
    note: Mapped[str] = mapped_column(String(500), nullable=False, default="")


class IntakeSuggestion(Base):
    __tablename__ = "intake_suggestions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id"), nullable=False, unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    #: registration month in the display time zone (``2026-11``): the report's grouping key
    month: Mapped[str] = mapped_column(String(7), nullable=False, index=True)
    model_version: Mapped[str | None] = mapped_column(String(64))
    #: [{code, name, path_zh, confidence, label}], best first (at most three)
    categories: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, nullable=False, default=list)
    #: the category the order came with (a person chose it), if any
    given_category_code: Mapped[str | None] = mapped_column(String(64))
    #: the deepest category whose confidence reached its threshold (None: unsure)
    decided_category_code: Mapped[str | None] = mapped_column(String(64))
    decided_confidence: Mapped[float | None] = mapped_column(Float)
    threshold: Mapped[float | None] = mapped_column(Float)
    #: True when the system set the order's category (no person had chosen one)
    applied_category: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    region_code: Mapped[str | None] = mapped_column(String(12))
    region_confidence: Mapped[float | None] = mapped_column(Float)
    unit_code: Mapped[str | None] = mapped_column(String(64))
    rule_id: Mapped[int | None] = mapped_column(Integer)
    rule_explanation: Mapped[str] = mapped_column(String(2000), nullable=False, default="")
    #: [{code, name, rule_id, rule_zh}]
    runners_up: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, nullable=False, default=list)
    urgency_level: Mapped[str] = mapped_column(String(20), nullable=False, default="normal")
    #: [{rule, label, level, words, handoff}]
    urgency_reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, nullable=False, default=list)
    #: 110 / 119 / 120 hand-offs the text calls for
    handoff: Mapped[list[str]] = mapped_column(JSONType, nullable=False, default=list)
    #: True when the rules raised the order's urgency
    applied_urgency: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    auto_dispatch: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    #: none | pending | done | skipped | failed
    dispatch_state: Mapped[str] = mapped_column(String(10), nullable=False, default="none", index=True)
    decision_zh: Mapped[str] = mapped_column(String(1000), nullable=False, default="")
    auto_dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # -- outcome (updated by later actions on the order)
    category_outcome: Mapped[str] = mapped_column(String(10), nullable=False, default="none")
    final_category_code: Mapped[str | None] = mapped_column(String(64))
    category_corrected_by: Mapped[str | None] = mapped_column(String(100))
    category_corrected_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    unit_outcome: Mapped[str] = mapped_column(String(10), nullable=False, default="none")
    final_unit_code: Mapped[str | None] = mapped_column(String(64))
    unit_corrected_by: Mapped[str | None] = mapped_column(String(100))
    unit_corrected_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    urgency_corrected: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
