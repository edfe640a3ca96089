"""Fixtures for the Open311 tests: a fixed clock inside the recorded clients' date ranges, the
"001" pothole service the recorded FixMyStreet calls use, API keys, and the shared folder."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from minxin.core.clock import FixedClock
from tests.conftest import REPO

JURISDICTION = "minxin.example"
POTHOLE = {
    "code": "001",
    "name": "Pothole",
    "description": "Pothole Repairs Service",
    "fields": [
        {"code": "depth", "label": "depth of pothole, in centimetres", "datatype": "number", "required": True},
        {"code": "shape", "label": "shape of the pothole", "datatype": "singlevaluelist",
         "values": [{"key": "circle", "name": "Circle"}, {"key": "square", "name": "Square"}]},
    ],
}


def open311_dir() -> Path:
    return Path(os.environ.get("MINXIN_SHARED_OPEN311", REPO.parent / "shared" / "open311"))


@pytest.fixture
def shared() -> Path:
    path = open311_dir()
    if not path.is_dir():
        pytest.skip("../shared/open311 is not available")
    return path


@pytest.fixture
def clock() -> FixedClock:
    """Inside 2026-11-01 .. 2026-11-26, the window of the recorded client calls."""
    return FixedClock(datetime(2026, 11, 20, 2, 0, tzinfo=UTC))


@pytest.fixture
def admin(as_user: Callable[[str], httpx.Client]) -> httpx.Client:
    return as_user("admin")


@pytest.fixture
def pothole(admin: httpx.Client) -> dict[str, Any]:
    response = admin.post("/api/v1/categories", json=POTHOLE)
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture
def make_key(admin: httpx.Client) -> Callable[..., str]:
    def make(**overrides: Any) -> str:
        body = {"name": "FixMyStreet", "unit": "12345", "scopes": ["open311"], "system": "fixmystreet", "burst": 1000,
                "rate_per_minute": 6000} | overrides
        response = admin.post("/api/v1/integrations/keys", json=body)
        assert response.status_code == 201, response.text
        return str(response.json()["api_key"])

    return make


@pytest.fixture
def key(make_key: Callable[..., str], pothole: dict[str, Any]) -> str:
    return make_key()


@pytest.fixture
def base(server: Any) -> str:
    return f"{server.url}/open311/v2"
