"""Risk tests run the application on a ``FixedClock`` that the tests move (presenters read it via
``minxin.sla.live``); ``scan()`` runs the ``risk.scan`` job once at that clock's ``now``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from minxin.api.state import AppState
from minxin.core.clock import FixedClock, SystemClock
from minxin.risk import queue, tasks
from minxin.sla import live
from tests.helpers import APPEAL

#: Thursday 2026-11-26 09:00 in Shanghai
START = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture(autouse=True)
def _live_clock(clock: FixedClock) -> Iterator[None]:
    live.use_clock(clock)
    yield
    live.use_clock(SystemClock())


_state: list[AppState] = []


@pytest.fixture(autouse=True)
def _risk_state(state: AppState) -> Iterator[None]:
    """The running app's state, for :func:`register` to wait for tagging (which runs after commit)."""
    _state.append(state)
    yield
    _state.remove(state)


def tagged() -> None:
    """Wait until every registered order is tagged (the drainer runs after the intake commits)."""
    for state in _state:
        queue.settle(state.db)


@pytest.fixture
def scan(state: AppState) -> Callable[[], dict[str, Any]]:
    return lambda: tasks.scan(state)


def register(client: httpx.Client, clock: FixedClock, *, step: timedelta = timedelta(minutes=1), **overrides: Any) -> dict[str, Any]:
    """Register an appeal ``step`` after the previous one (moves the shared clock)."""
    clock.advance(step)
    response = client.post("/api/v1/orders", json=APPEAL | overrides)
    assert response.status_code == 201, response.text
    tagged()
    detail = client.get(f"/api/v1/orders/{response.json()['number']}")
    assert detail.status_code == 200, detail.text
    return dict(detail.json())


def alerts_of(client: httpx.Client, **params: Any) -> list[dict[str, Any]]:
    response = client.get("/api/v1/risk/alerts", params=params)
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


BACKGROUND = [
    ("噪音扰民", "和平区太原街夜间施工噪音很大，影响休息", "沈阳市和平区太原街", "020103"),
    ("垃圾清运", "铁西区兴工街道小区垃圾多日未清运", "沈阳市铁西区兴工街道", "020201"),
    ("供暖不热", "新民市城区家里暖气温度只有十五度", "沈阳市新民市城区", "080301"),
    ("道路破损", "康平县城主路有大坑，车辆经过危险", "沈阳市康平县", "010101"),
    ("路灯不亮", "辽中区城区文化路路灯不亮", "沈阳市辽中区文化路", "010102"),
    ("水质浑浊", "法库县城自来水发黄浑浊", "沈阳市法库县", "080202"),
    ("物业乱收费", "小区物业服务差还乱收费", "沈阳市铁西区兴工街道", "010201"),
]


def background(client: httpx.Client, clock: FixedClock, days: int = 3) -> None:
    """A few ordinary orders per day before a test's events (the detectors' yardstick)."""
    for day in range(days):
        for i, (title, content, address, category) in enumerate(BACKGROUND):
            register(client, clock, step=timedelta(hours=3), title=title, content=content, address=f"{address}{day}{i}号",
                     category=category, citizen={"name": "市民", "phone": f"1390000{day:02d}{i:02d}"})
