"""Authentication and user administration routes."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form
from pydantic import BaseModel, ConfigDict, Field

from minxin.accounts import repository, service, tokens
from minxin.accounts.models import User
from minxin.api.deps import AdminPrincipal, CurrentPrincipal, State
from minxin.audit import service as audit
from minxin.core.vocabulary import ROLE_ZH, Role
from minxin.errors import Unauthorized

router = APIRouter(prefix="/api/v1", tags=["auth & users"])


@router.post("/auth/token", summary="Log in (OAuth2 password form) and get a bearer token")
def token(
    state: State,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=200)],
) -> dict[str, Any]:
    now = state.clock.now()
    try:
        with state.db.unit_of_work() as session:
            user = service.authenticate(session, username, password)
            audit.record(session, at=now, actor=user.username, action="auth.login", target_type="user", target_id=user.id)
            access = tokens.issue(
                secret=state.secret_key,
                user_id=user.id,
                token_version=user.token_version,
                now=now,
                ttl_minutes=state.settings.token_ttl_minutes,
            )
            role = user.role
    except Unauthorized:
        with state.db.unit_of_work() as session:
            audit.record(session, at=now, actor=username[:100], action="auth.login_failed", target_type="user", target_id=username[:100])
        raise
    return {"access_token": access, "token_type": "bearer", "expires_in": state.settings.token_ttl_minutes * 60, "role": role}


def user_dict(user: User) -> dict[str, Any]:
    return {
        "username": user.username,
        "display_name": user.display_name,
        "role": user.role,
        "role_zh": ROLE_ZH[Role(user.role)],
        "unit": {"code": user.unit.code, "name": user.unit.name},
        "active": user.active,
    }


@router.get("/me", summary="Who am I")
def me(principal: CurrentPrincipal) -> dict[str, Any]:
    return {
        "username": principal.username,
        "display_name": principal.display_name,
        "role": principal.role.value,
        "role_zh": ROLE_ZH[principal.role],
        "unit": principal.unit_code,
    }


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=200)
    role: str
    unit: str
    display_name: str | None = Field(default=None, max_length=100)


class UserUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    password: str | None = Field(default=None, max_length=200)
    role: str | None = None
    unit: str | None = None
    display_name: str | None = Field(default=None, max_length=100)
    active: bool | None = None


@router.get("/users", summary="All users (admin)")
def list_users(_admin: AdminPrincipal, state: State) -> list[dict[str, Any]]:
    with state.db.reading() as session:
        return [user_dict(u) for u in repository.list_all(session)]


@router.post("/users", status_code=201, summary="Create a user (admin)")
def create_user(data: UserCreate, admin: AdminPrincipal, state: State) -> dict[str, Any]:
    now = state.clock.now()
    with state.db.unit_of_work() as session:
        user = service.create_user(
            session,
            username=data.username,
            password=data.password,
            role=data.role,
            unit_code=data.unit,
            display_name=data.display_name,
            now=now,
        )
        audit.record(
            session, at=now, actor=admin.username, action="user.create", target_type="user", target_id=user.username,
            detail={"role": user.role, "unit": data.unit},
        )
        return user_dict(user)


@router.patch("/users/{username}", summary="Change a user's role, unit, password or status (admin)")
def update_user(username: str, data: UserUpdate, admin: AdminPrincipal, state: State) -> dict[str, Any]:
    now = state.clock.now()
    with state.db.unit_of_work() as session:
        user, changed = service.update_user(
            session,
            username,
            role=data.role,
            unit_code=data.unit,
            display_name=data.display_name,
            active=data.active,
            password=data.password,
        )
        state.forget_principal(user.id)
        audit.record(
            session, at=now, actor=admin.username, action="user.update", target_type="user", target_id=username,
            detail={"changed": changed},
        )
        return user_dict(user)
