"""HTTP routes of intake analysis.

``POST /api/v1/intake/analyze`` is called by the intake form while the agent types, so it
only reads, answers in milliseconds, and never waits for the duplicate index (it starts the
build and answers ``duplicates_index: "building"`` until it is ready). Empty input is a 422;
nothing a client sends can make it answer 500.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from minxin.accounts.principal import Principal
from minxin.api.deps import AdminPrincipal, State, require_roles
from minxin.audit import service as audit
from minxin.core.vocabulary import Role
from minxin.errors import Invalid
from minxin.intake import analyze as analysis
from minxin.intake import duplicate_store as dupes
from minxin.intake import model_registry, outcomes, repository
from minxin.workorders.repository import visible_clause

router = APIRouter(prefix="/api/v1/intake", tags=["intake"])

Analyst = Annotated[Principal, Depends(require_roles(Role.AGENT, Role.DISPATCHER, Role.SUPERVISOR, Role.ADMIN))]
Supervisor = Annotated[Principal, Depends(require_roles(Role.SUPERVISOR, Role.ADMIN, Role.LEADER))]


class AnalyzeIn(BaseModel):
    """What the form knows so far; extra fields are ignored so the form may send more."""

    model_config = ConfigDict(extra="ignore")

    title: str = Field(default="", max_length=200)
    content: str = Field(default="", max_length=10000)
    address: str | None = Field(default=None, max_length=500)
    phone: str | None = Field(default=None, max_length=40)
    appeal_type: str | None = Field(default=None, max_length=20)
    channel: str | None = Field(default=None, max_length=20)
    category: str | None = Field(default=None, max_length=64, description="a category the agent already chose")


class ThresholdsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    default: float | None = Field(default=None, gt=0, le=1)
    categories: dict[str, float | None] | None = Field(default=None, description="category code → threshold; null removes")
    replace: bool = Field(default=False, description="replace all per-category thresholds instead of merging")


@router.post("/analyze", summary="Suggestions for an appeal: categories, unit with its rule, urgency, region, duplicates")
def analyze(
    data: AnalyzeIn,
    principal: Analyst,
    state: State,
    window_days: Annotated[int | None, Query(ge=1, le=dupes.WINDOW_DAYS)] = None,
) -> dict[str, Any]:
    title, content = data.title.strip(), data.content.strip()
    if not title and not content:
        raise Invalid("请填写诉求标题或内容", "Give a title or a content to analyse", code="intake.empty")
    now = state.clock.now()
    with state.db.reading() as session:
        result = analysis.analyze(
            session,
            title=title,
            content=content,
            address=(data.address or "").strip() or None,
            phone=(data.phone or "").strip() or None,
            now=now,
            tz=state.tz,
            unit_id=principal.unit_id,
            given_category=(data.category or "").strip() or None,
            visible=None if principal.sees_everything else visible_clause(principal),
            window=timedelta(days=window_days) if window_days else None,
            on_index_missing=lambda: dupes.ensure(state.db, now),
        )
    return analysis.to_response(result)


@router.get("/models", summary="Registered classifier models (the active one first)")
def list_models(_principal: Analyst, state: State) -> dict[str, Any]:
    with state.db.reading() as session:
        rows = repository.models(session)
    items = sorted((model_registry.model_dict(r) for r in rows), key=lambda m: not m["active"])
    return {"items": items, "active": next((m["version"] for m in items if m["active"]), None)}


@router.post("/models/{version}/activate", summary="Make a registered model the active one (admin)")
def activate_model(version: str, admin: AdminPrincipal, state: State) -> dict[str, Any]:
    now = state.clock.now()
    with state.db.unit_of_work() as session:
        row = model_registry.activate_version(session, version)
        audit.record(session, at=now, actor=admin.username, action="intake.model_activate", target_type="intake_model",
                     target_id=version, detail={"path": row.path})
        result = model_registry.model_dict(row)
    model_registry.invalidate()
    return result


@router.get("/thresholds", summary="Confidence thresholds of the active model (admin)")
def get_thresholds(_admin: AdminPrincipal, state: State) -> dict[str, Any]:
    with state.db.reading() as session:
        row = model_registry.current_or_404(session)
        return {"version": row.version, "default": row.default_threshold, "categories": row.thresholds or {}}


@router.put("/thresholds", summary="Change the thresholds of the active model (admin)")
def put_thresholds(data: ThresholdsIn, admin: AdminPrincipal, state: State) -> dict[str, Any]:
    now = state.clock.now()
    with state.db.unit_of_work() as session:
        row = model_registry.set_thresholds(
            session, default=data.default, per_category=data.categories, replace=data.replace
        )
        audit.record(session, at=now, actor=admin.username, action="intake.thresholds", target_type="intake_model",
                     target_id=row.version, detail=data.model_dump())
        result = {"version": row.version, "default": row.default_threshold, "categories": row.thresholds or {}}
    model_registry.invalidate()
    return result


@router.get("/report", summary="Accuracy, coverage and correction rate per month")
def report(
    _principal: Supervisor,
    state: State,
    months: Annotated[str | None, Query(max_length=200, description="comma list, e.g. 2026-10,2026-11")] = None,
) -> dict[str, Any]:
    wanted = [m.strip() for m in months.split(",") if m.strip()] if months else None
    with state.db.reading() as session:
        return {"columns": dict(outcomes.COLUMNS), "months": outcomes.report(session, wanted)}


@router.get("/status", summary="Active model and duplicate index of this process")
def status(_principal: Analyst, state: State) -> dict[str, Any]:
    with state.db.reading() as session:
        model = model_registry.active(session)
    return {
        "model": model.version if model else None,
        "duplicates_index": dupes.holder(str(state.db.engine.url)).info(),
    }
