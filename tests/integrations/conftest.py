"""Fixtures for the integrations tests: a fixed clock we move instead of sleeping, an admin
client, a key factory and a webhook receiver."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from minxin.core.clock import FixedClock
from tests.integrations.receiver import Receiver


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 11, 20, 2, 0, tzinfo=UTC))


@pytest.fixture
def admin(as_user: Callable[[str], httpx.Client]) -> httpx.Client:
    return as_user("admin")


@pytest.fixture
def make_key(admin: httpx.Client) -> Callable[..., dict[str, Any]]:
    """Create a key through the admin API; returns the answer (``api_key`` is the secret)."""

    def make(**overrides: Any) -> dict[str, Any]:
        body = {"name": "95598 系统", "unit": "12345", "scopes": ["transfers", "orders"], "system": "95598",
                "burst": 1000, "rate_per_minute": 6000} | overrides
        response = admin.post("/api/v1/integrations/keys", json=body)
        assert response.status_code == 201, response.text
        return dict(response.json())

    return make


@pytest.fixture
def machine(server: Any) -> Iterator[Callable[..., httpx.Client]]:
    """An httpx client authenticated with an API key (``X-API-Key``)."""
    clients: list[httpx.Client] = []

    def make(raw: str, *, bearer: bool = False) -> httpx.Client:
        headers = {"Authorization": f"Bearer {raw}"} if bearer else {"X-API-Key": raw}
        client = httpx.Client(base_url=server.url, headers=headers, timeout=30)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """Not started: tests decide when the receiver is up."""
    r = Receiver()
    yield r
    r.stop()
