"""Foreground pressure: background work waits for a gap between requests, but never for long."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time

from minxin.jobs import pressure


def test_idle_process_does_not_wait() -> None:
    start = time.monotonic()
    assert pressure.wait_idle(5.0) is True
    assert time.monotonic() - start < 1.0


def test_waits_until_the_last_request_leaves() -> None:
    pressure.enter()
    pressure.enter()
    released: list[bool] = []
    waiter = threading.Thread(target=lambda: released.append(pressure.wait_idle(10.0)))
    waiter.start()
    pressure.leave()
    waiter.join(0.2)
    assert waiter.is_alive(), "one request is still in flight"
    pressure.leave()
    waiter.join(5.0)
    assert released == [True] and pressure.inflight() == 0


def test_under_sustained_load_the_wait_is_bounded() -> None:
    pressure.enter()
    try:
        start = time.monotonic()
        assert pressure.wait_idle(0.1) is False
        assert time.monotonic() - start >= 0.1
    finally:
        pressure.leave()


def test_middleware_counts_http_requests_even_when_they_fail() -> None:
    seen: list[int] = []

    async def app(scope, receive, send) -> None:
        seen.append(pressure.inflight())
        if scope["type"] == "http":
            raise RuntimeError("boom")

    middleware = pressure.InFlightMiddleware(app)

    async def run() -> None:
        await middleware({"type": "lifespan"}, None, None)
        with contextlib.suppress(RuntimeError):
            await middleware({"type": "http"}, None, None)

    # in a thread of its own: another test of this process may have left an event loop running here
    runner = threading.Thread(target=lambda: asyncio.run(run()))
    runner.start()
    runner.join(10)
    assert seen == [0, 1] and pressure.inflight() == 0
