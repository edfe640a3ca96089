"""Authenticating machine callers of the JSON API with an API key.

Registered in ``minxin.api.deps.authenticators`` (by ``minxin.integrations.plugin``): a request
carrying ``X-API-Key: mxk_...`` or ``Authorization: Bearer mxk_...`` is answered by a key
principal (role and unit of the key, ``api_key_id`` set); any other request falls through to
the user bearer tokens. The scope a call needs follows from its path.
"""

from __future__ import annotations

from fastapi import Request

from minxin.accounts.principal import Principal
from minxin.api.state import AppState
from minxin.integrations import keys

#: (path fragment, scope): the first match decides; everything else under /api/ is "orders"
SCOPE_RULES: tuple[tuple[str, str], ...] = (("/transfers", "transfers"), ("/open311/", "open311"))


def presented_key(request: Request) -> str | None:
    """The API key in the headers, if any (a user's JWT never starts with ``mxk_``)."""
    raw = request.headers.get("x-api-key")
    if raw:
        return raw.strip()
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() == "bearer" and token.startswith(keys.KEY_PREFIX):
        return token
    return None


def scope_for(path: str) -> str:
    for fragment, scope in SCOPE_RULES:
        if fragment in path:
            return scope
    return "orders"


def check_key(state: AppState, raw: str, *, scope: str, method: str, path: str, client: str | None) -> keys.Check:
    """Check a key in its own committed transaction, so the audit entry survives a refusal."""
    with state.db.unit_of_work() as session:
        return keys.check(session, raw, scope=scope, now=state.clock.now(), method=method, path=path, client=client)


def authenticate(request: Request, state: AppState) -> Principal | None:
    raw = presented_key(request)
    if raw is None:
        return None
    client = request.client.host if request.client else None
    result = check_key(
        state, raw, scope=scope_for(request.url.path), method=request.method, path=request.url.path, client=client
    )
    if result.error is not None:
        raise result.error
    assert result.principal is not None
    return result.principal
