"""Unit tree routes: everyone reads the tree (to dispatch); admins change it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from minxin.api.deps import AdminPrincipal, CurrentPrincipal, State
from minxin.audit import service as audit
from minxin.units import service

router = APIRouter(prefix="/api/v1", tags=["units"])


class UnitCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    kind: str
    parent: str | None = None
    region_code: str | None = Field(default=None, max_length=12)
    contact_name: str | None = Field(default=None, max_length=100)
    contact_phone: str | None = Field(default=None, max_length=40)
    business_hours: list[list[str]] | None = None
    always_open: bool = False


class UnitUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, min_length=1, max_length=200)
    region_code: str | None = Field(default=None, max_length=12)
    contact_name: str | None = Field(default=None, max_length=100)
    contact_phone: str | None = Field(default=None, max_length=40)
    business_hours: list[list[str]] | None = None
    always_open: bool | None = None
    active: bool | None = None


@router.get("/units", summary="The unit tree with codes")
def list_units(_principal: CurrentPrincipal, state: State) -> list[dict[str, Any]]:
    with state.db.reading() as session:
        return service.tree(session)


@router.post("/units", status_code=201, summary="Create a unit (admin)")
def create_unit(data: UnitCreate, admin: AdminPrincipal, state: State) -> dict[str, Any]:
    with state.db.unit_of_work() as session:
        unit = service.create_unit(
            session,
            code=data.code,
            name=data.name,
            kind=data.kind,
            parent_code=data.parent,
            region_code=data.region_code,
            contact_name=data.contact_name,
            contact_phone=data.contact_phone,
            business_hours=data.business_hours,
            always_open=data.always_open,
        )
        audit.record(session, at=state.clock.now(), actor=admin.username, action="unit.create", target_type="unit", target_id=unit.code)
        return service.to_dict(unit)


@router.patch("/units/{code}", summary="Change a unit (admin)")
def update_unit(code: str, data: UnitUpdate, admin: AdminPrincipal, state: State) -> dict[str, Any]:
    changes = data.model_dump(exclude_unset=True)
    with state.db.unit_of_work() as session:
        unit = service.update_unit(session, code, changes)
        audit.record(
            session, at=state.clock.now(), actor=admin.username, action="unit.update", target_type="unit", target_id=code,
            detail={"changed": sorted(changes)},
        )
        return service.to_dict(unit)
