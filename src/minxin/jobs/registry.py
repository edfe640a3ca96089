"""A tiny job registry and runner.

Jobs are declared next to their domain with ``@job("sla.scan", every=30)`` and must be
idempotent and safe to run in several processes at once (they rely on unique constraints and
row locks, not on being alone). The runner is a daemon thread in ``minxin serve``, or the
foreground loop of ``minxin worker``; ``minxin jobs run NAME`` runs one once.

Services (``@service``) are different: threads that every application process runs, even with
``--no-jobs``, because requests of that process feed them (the risk tag queue's drainer).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from minxin.api.state import AppState

log = logging.getLogger("minxin.jobs")

JobFn = Callable[["AppState"], dict[str, Any] | None]


@dataclass(frozen=True)
class Job:
    name: str
    every_seconds: float
    fn: JobFn
    description: str = ""


JOBS: dict[str, Job] = {}

#: background services every application process runs (jobs or not): name → start(state),
#: which returns the function that stops it
Starter = Callable[["AppState"], Callable[[], None]]
SERVICES: dict[str, Starter] = {}


def service(name: str) -> Callable[[Starter], Starter]:
    def register(fn: Starter) -> Starter:
        SERVICES[name] = fn
        return fn

    return register


def start_services(state: AppState) -> Callable[[], None]:
    """Start every registered service; returns one function that stops them all."""
    stops = [start(state) for start in SERVICES.values()]

    def stop_all() -> None:
        for stop in reversed(stops):
            try:
                stop()
            except Exception:
                log.exception("stopping a background service failed")

    return stop_all


def job(name: str, *, every: float, description: str = "") -> Callable[[JobFn], JobFn]:
    def register(fn: JobFn) -> JobFn:
        JOBS[name] = Job(name, every, fn, description or (fn.__doc__ or "").strip().split("\n")[0])
        return fn

    return register


def run_once(state: AppState, name: str) -> dict[str, Any] | None:
    return JOBS[name].fn(state)


class Runner(threading.Thread):
    """Runs every registered job at its interval until stopped. Errors are logged, not fatal."""

    def __init__(self, state: AppState, *, tick: float = 1.0) -> None:
        super().__init__(name="minxin-jobs", daemon=True)
        self.state = state
        self.tick = tick
        self.stopping = threading.Event()
        self.last_run: dict[str, float] = {}

    def run(self) -> None:
        while not self.stopping.is_set():
            self.run_due()
            self.stopping.wait(self.tick)

    def run_due(self) -> None:
        now = time.monotonic()
        for job_ in list(JOBS.values()):
            if now - self.last_run.get(job_.name, -1e9) < job_.every_seconds:
                continue
            self.last_run[job_.name] = now
            try:
                result = job_.fn(self.state)
                if result:
                    log.info("job %s: %s", job_.name, result)
            except Exception:
                log.exception("job %s failed", job_.name)

    def stop(self) -> None:
        self.stopping.set()
