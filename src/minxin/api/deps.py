"""FastAPI dependencies: the application state and the authenticated principal."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request

from minxin.accounts import service as accounts_service
from minxin.accounts import tokens
from minxin.accounts.principal import Principal
from minxin.api.state import AppState
from minxin.core.vocabulary import Role
from minxin.errors import Forbidden, Unauthorized

#: other ways to authenticate a request (e.g. integration API keys), tried before bearer tokens
authenticators: list[Callable[[Request, AppState], Principal | None]] = []


def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.minxin
    return state


State = Annotated[AppState, Depends(get_state)]


def current_principal(request: Request, state: State) -> Principal:
    for authenticate in authenticators:
        principal = authenticate(request, state)
        if principal is not None:
            request.state.principal = principal
            return principal
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("请先登录（缺少 Bearer 令牌）", "Missing bearer token", code="auth.missing_token")
    claims = tokens.decode(token.strip(), secret=state.secret_key)
    try:
        user_id, version = int(claims["sub"]), int(claims.get("ver", 0))
    except (KeyError, ValueError) as exc:
        raise Unauthorized("无效的访问令牌", "Invalid token", code="auth.invalid_token") from exc
    principal = state.cached_principal(user_id, version)
    if principal is None:
        with state.db.reading() as session:
            principal = accounts_service.load_principal(session, user_id, version)
        state.remember_principal(version, principal)
    request.state.principal = principal
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require_roles(*roles: Role) -> Callable[[Principal], Principal]:
    allowed = frozenset(roles)

    def check(principal: CurrentPrincipal) -> Principal:
        if principal.role not in allowed:
            raise Forbidden(
                "当前角色无权访问此功能",
                f"Requires one of: {', '.join(sorted(r.value for r in allowed))}",
                code="auth.role_forbidden",
            )
        return principal

    return check


AdminPrincipal = Annotated[Principal, Depends(require_roles(Role.ADMIN))]
