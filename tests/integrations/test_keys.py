"""Integration keys: created, scoped, rotated and revoked by admins, stored hashed, rate-limited
per key, every machine call audited."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select

from minxin.audit.models import AuditEntry
from minxin.core.clock import FixedClock
from minxin.integrations.models import ApiKey
from tests.helpers import APPEAL, error_code


def _audit(state: Any, action: str) -> list[AuditEntry]:
    with state.db.reading() as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))


def test_keys_are_shown_once_and_stored_hashed(make_key: Callable[..., dict[str, Any]], admin: httpx.Client, state: Any) -> None:
    created = make_key()
    raw = created["api_key"]
    assert raw.startswith(f"mxk_{created['prefix']}_")
    listed = admin.get("/api/v1/integrations/keys").json()
    assert [k["prefix"] for k in listed] == [created["prefix"]] and "api_key" not in listed[0]
    with state.db.reading() as session:
        row = session.scalars(select(ApiKey)).one()
        assert row.secret_hash == hashlib.sha256(raw.encode()).hexdigest()
        assert raw not in str(vars(row))
    assert _audit(state, "api_key.create")[0].actor == "admin"


def test_only_admins_manage_keys(as_user: Callable[[str], httpx.Client], make_key: Callable[..., dict[str, Any]],
                                 machine: Callable[..., httpx.Client]) -> None:
    response = as_user("supervisor").post("/api/v1/integrations/keys", json={"name": "x", "unit": "12345"})
    assert response.status_code == 403
    key = make_key(scopes=["*"])
    assert machine(key["api_key"]).get("/api/v1/integrations/keys").status_code == 403
    bad = as_user("admin").post("/api/v1/integrations/keys", json={"name": "x", "unit": "12345", "role": "admin"})
    assert bad.status_code == 422 and error_code(bad) == "api_key.bad_role"
    bad = as_user("admin").post("/api/v1/integrations/keys", json={"name": "x", "unit": "12345", "scopes": ["root"]})
    assert error_code(bad) == "api_key.bad_scope"


def test_key_principal_has_the_keys_unit_role_and_scopes(
    make_key: Callable[..., dict[str, Any]], machine: Callable[..., httpx.Client], as_user: Callable[[str], httpx.Client]
) -> None:
    centre = make_key(scopes=["orders"])
    county = make_key(name="辽中供电", unit="GD-LZ", role="handler", scopes=["orders"], system=None)
    client = machine(centre["api_key"], bearer=True)
    created = client.post("/api/v1/orders", json=APPEAL | {"channel": "api"})
    assert created.status_code == 201, created.text
    number = created.json()["number"]
    assert created.json()["events"][0]["actor"].startswith("95598 系统")
    assert machine(county["api_key"]).get(f"/api/v1/orders/{number}").status_code == 404  # not in its subtree
    assert client.get(f"/api/v1/orders/{number}").status_code == 200
    refused = client.post("/api/v1/transfers", json={})
    assert refused.status_code == 403 and error_code(refused) == "api_key.scope_forbidden"
    assert machine("mxk_0000_nope").get("/api/v1/orders").status_code == 401
    assert machine("garbage").get("/api/v1/orders").status_code == 401


def test_rotation_with_and_without_grace_and_revocation(
    make_key: Callable[..., dict[str, Any]], machine: Callable[..., httpx.Client], admin: httpx.Client, clock: FixedClock
) -> None:
    key = make_key()
    old = key["api_key"]
    assert machine(old).get("/api/v1/orders").status_code == 200
    rotated = admin.post(f"/api/v1/integrations/keys/{key['id']}/rotate", json={"grace_minutes": 30}).json()
    new = rotated["api_key"]
    assert new != old and rotated["prefix"] == key["prefix"]
    assert machine(old).get("/api/v1/orders").status_code == 200  # grace period
    assert machine(new).get("/api/v1/orders").status_code == 200
    clock.advance(timedelta(minutes=31))
    assert machine(old).get("/api/v1/orders").status_code == 401
    newest = admin.post(f"/api/v1/integrations/keys/{key['id']}/rotate").json()["api_key"]
    assert machine(new).get("/api/v1/orders").status_code == 401  # no grace: refused at once
    assert machine(newest).get("/api/v1/orders").status_code == 200
    revoked = admin.post(f"/api/v1/integrations/keys/{key['id']}/revoke").json()
    assert revoked["active"] is False
    response = machine(newest).get("/api/v1/orders")
    assert response.status_code == 401 and error_code(response) == "api_key.revoked"
    assert admin.post(f"/api/v1/integrations/keys/{key['id']}/rotate").status_code == 409


def test_rate_limit_gives_429_and_refills(
    make_key: Callable[..., dict[str, Any]], machine: Callable[..., httpx.Client], clock: FixedClock, state: Any, server: Any
) -> None:
    key = make_key(burst=3, rate_per_minute=2, scopes=["orders", "open311"])
    client = machine(key["api_key"])
    assert [client.get("/api/v1/units").status_code for _ in range(3)] == [200, 200, 200]
    limited = client.get("/api/v1/units")
    assert limited.status_code == 429 and error_code(limited) == "api_key.rate_limited"
    assert limited.json()["error"]["details"]["retry_after"] == 30
    open311 = httpx.get(f"{server.url}/open311/v2/requests.xml", params={"api_key": key["api_key"]})
    assert open311.status_code == 429 and open311.headers["retry-after"] == "30"
    assert open311.text.count("<code>429</code>") == 1
    clock.advance(timedelta(seconds=30))
    assert client.get("/api/v1/units").status_code == 200
    assert client.get("/api/v1/units").status_code == 429
    assert len(_audit(state, "api.rate_limited")) == 3


def test_every_machine_call_is_audited(
    make_key: Callable[..., dict[str, Any]], machine: Callable[..., httpx.Client], state: Any, admin: httpx.Client
) -> None:
    key = make_key()
    client = machine(key["api_key"])
    paths = ["/api/v1/orders", "/api/v1/units", "/api/v1/categories", "/api/v1/orders?status=registered"]
    for path in paths:
        assert client.get(path).status_code == 200
    machine("mxk_ffff_forged").get("/api/v1/orders")
    calls = _audit(state, "api.call")
    assert [c.detail["path"] for c in calls] == ["/api/v1/orders", "/api/v1/units", "/api/v1/categories", "/api/v1/orders"]
    assert {c.actor for c in calls} == {f"key:{key['prefix']}"}
    assert _audit(state, "api.denied")[-1].detail["reason"] == "invalid"
    listed = admin.get("/api/v1/audit", params={"action": "api.call"}).json()["items"]
    assert len(listed) == 4
    assert admin.get(f"/api/v1/integrations/keys/{key['id']}").json()["last_used_at"] is not None
