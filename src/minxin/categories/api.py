"""Category tree routes: everyone reads; admins create, change and import."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from fastapi import APIRouter, UploadFile
from pydantic import BaseModel, ConfigDict, Field

from minxin.api.deps import AdminPrincipal, CurrentPrincipal, State
from minxin.audit import service as audit
from minxin.categories import service

router = APIRouter(prefix="/api/v1", tags=["categories"])


class CategoryCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    parent: str | None = None
    requires_photo: bool = False
    fields: list[dict[str, Any]] | None = None
    description: str | None = Field(default=None, max_length=1000)


class CategoryUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, min_length=1, max_length=200)
    requires_photo: bool | None = None
    active: bool | None = None
    fields: list[dict[str, Any]] | None = None
    description: str | None = Field(default=None, max_length=1000)


@router.get("/categories", summary="The category tree")
def list_categories(_principal: CurrentPrincipal, state: State) -> list[dict[str, Any]]:
    with state.db.reading() as session:
        return service.tree(session)


@router.post("/categories", status_code=201, summary="Create a category (admin)")
def create_category(data: CategoryCreate, admin: AdminPrincipal, state: State) -> dict[str, Any]:
    with state.db.unit_of_work() as session:
        category = service.create_category(
            session,
            code=data.code,
            name=data.name,
            parent_code=data.parent,
            requires_photo=data.requires_photo,
            fields=data.fields,
            description=data.description,
        )
        audit.record(session, at=state.clock.now(), actor=admin.username, action="category.create", target_type="category", target_id=data.code)
        return service.to_dict(category)


@router.patch("/categories/{code}", summary="Change a category (admin)")
def update_category(code: str, data: CategoryUpdate, admin: AdminPrincipal, state: State) -> dict[str, Any]:
    changes = data.model_dump(exclude_unset=True)
    with state.db.unit_of_work() as session:
        category = service.update_category(session, code, changes)
        audit.record(
            session, at=state.clock.now(), actor=admin.username, action="category.update", target_type="category",
            target_id=code, detail={"changed": sorted(changes)},
        )
        return service.to_dict(category)


@router.post("/categories/import", summary="Import a category tree file: YAML or CSV (admin)")
def import_categories(file: UploadFile, admin: AdminPrincipal, state: State) -> dict[str, Any]:
    suffix = Path(file.filename or "tree.yaml").suffix.lower()
    with tempfile.NamedTemporaryFile(suffix=suffix) as tmp:
        tmp.write(file.file.read(5 * 1024 * 1024))
        tmp.flush()
        nodes = service.parse_tree_file(Path(tmp.name))
    with state.db.unit_of_work() as session:
        created = service.import_tree(session, nodes)
        audit.record(
            session, at=state.clock.now(), actor=admin.username, action="category.import", target_type="category",
            target_id=file.filename or "-", detail={"created": created},
        )
    return {"created": created}
