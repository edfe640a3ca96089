"""SLA tests run the application on a ``FixedClock`` (the presenters read it via ``minxin.sla.live``)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from minxin.core.clock import FixedClock, SystemClock
from minxin.sla import live


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 3, 4, 2, 0, tzinfo=UTC))


@pytest.fixture(autouse=True)
def _live_clock(clock: FixedClock) -> Iterator[None]:
    live.use_clock(clock)
    yield
    live.use_clock(SystemClock())


def at(text: str) -> datetime:
    """``"2026-03-09T09:00"`` → that local time in Asia/Shanghai (+08:00)."""
    return datetime.fromisoformat(text + "+08:00")


def clocks(order: dict[str, Any], kind: str | None = None, round_: int | None = None) -> list[dict[str, Any]]:
    return [
        c for c in order["deadlines"] if (kind is None or c["kind"] == kind) and (round_ is None or c["round"] == round_)
    ]


def one(order: dict[str, Any], kind: str, seq: int = 0, round_: int = 0) -> dict[str, Any]:
    found = [c for c in clocks(order, kind, round_) if c["seq"] == seq]
    assert len(found) == 1, (kind, seq, round_, order["deadlines"])
    return found[0]
