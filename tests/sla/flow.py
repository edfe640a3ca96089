"""Driving orders through the HTTP API at chosen (fixed-clock) local times."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from minxin.core.clock import FixedClock
from tests.helpers import act, new_order, photo
from tests.sla.conftest import at

HANDLERS = {"CGJ": "cgj_handler", "ZJJ": "zjj_handler", "GD-LZ": "lz_handler", "SCJ": "scj_handler"}


class Flow:
    """``flow.do("2026-03-09T09:00", "dispatcher", number, "dispatch", {"unit": "CGJ"})``."""

    def __init__(self, as_user: Callable[[str], httpx.Client], clock: FixedClock) -> None:
        self.as_user, self.clock = as_user, clock

    def register(self, when: str, **overrides: Any) -> str:
        self.clock.current = at(when)
        body = {"category": "010201", "appeal_type": "repair"} | overrides
        return str(new_order(self.as_user("agent"), **body)["number"])

    def do(self, when: str, who: str, number: str, action: str, body: dict[str, Any] | None = None, expect: int = 200) -> dict[str, Any]:
        self.clock.current = at(when)
        return act(self.as_user(who), number, action, body, expect=expect)

    def get(self, number: str, when: str | None = None, who: str = "supervisor") -> dict[str, Any]:
        if when is not None:
            self.clock.current = at(when)
        response = self.as_user(who).get(f"/api/v1/orders/{number}")
        assert response.status_code == 200, response.text
        return response.json()

    def dispatched(self, when: str, unit: str = "CGJ", **overrides: Any) -> str:
        """Registered and dispatched to ``unit`` at ``when``."""
        number = self.register(when, **overrides)
        self.do(when, "dispatcher", number, "dispatch", {"unit": unit})
        return number

    def reply(self, when: str, number: str, unit: str = "CGJ") -> dict[str, Any]:
        handler = HANDLERS[unit]
        self.clock.current = at(when)
        return self.do(when, handler, number, "reply", {"result": "已处理完毕", "attachments": [photo(self.as_user(handler))]})
