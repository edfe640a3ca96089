"""Foreground pressure: how many HTTP requests this process is serving right now.

Why: background work that runs inside a server process (the risk tag drainer) competes with the
requests for the GIL and, on SQLite, for the single write lock, so a batch that starts while a
request is in flight adds its whole length to that request's latency. A background service calls
:func:`wait_idle` before it starts: it then runs in a gap between requests. The wait is bounded
(``max_wait``), so under sustained load the work is delayed, never starved.

Invariant: ``enter``/``leave`` pair up per request (the middleware's ``finally``), so the count
cannot drift; it is per process, as the GIL and the thread pool are.
"""

from __future__ import annotations

import threading
import time
from typing import Any

_cond = threading.Condition()
_inflight = 0


def enter() -> None:
    global _inflight
    with _cond:
        _inflight += 1


def leave() -> None:
    global _inflight
    with _cond:
        _inflight -= 1
        if _inflight == 0:
            _cond.notify_all()


def inflight() -> int:
    return _inflight


def wait_idle(max_wait: float) -> bool:
    """Block until no request is in flight or ``max_wait`` seconds have passed; True if idle."""
    deadline = time.monotonic() + max_wait
    with _cond:
        while _inflight > 0:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            _cond.wait(left)
    return True


class InFlightMiddleware:
    """Pure ASGI middleware counting the HTTP requests being served (no per-request objects)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        enter()
        try:
            await self.app(scope, receive, send)
        finally:
            leave()
