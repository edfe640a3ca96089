"""The application factory: ``create_app(settings)`` → a FastAPI app with every domain mounted."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from sqlalchemy import text

from minxin import __version__, web, wiring
from minxin.accounts import service as accounts_service
from minxin.api import errors
from minxin.api.state import AppState
from minxin.config import Settings, get_settings
from minxin.core.clock import Clock, SystemClock
from minxin.db.migrate import upgrade
from minxin.db.session import Database
from minxin.jobs.pressure import InFlightMiddleware
from minxin.jobs.registry import Runner, start_services
from minxin.sla import live as sla_live
from minxin.sla import policy_service as sla_policy_service

log = logging.getLogger("minxin")

DESCRIPTION = """
民心 minxin — 12345 / 95598 热线工单平台 API.

Log in with `POST /api/v1/auth/token` (form fields `username`, `password`), then send
`Authorization: Bearer <token>`. Errors are `{"error": {"code", "message_zh", "message_en", ...}}`.
"""


def build_state(settings: Settings, clock: Clock | None = None) -> AppState:
    """Open the database (migrating it if allowed) and load the shared token key."""
    wiring.install()
    if settings.auto_migrate:
        upgrade(settings.database_url)
    db = Database(settings.database_url)
    clock = clock or SystemClock()
    with db.unit_of_work() as session:
        secret = settings.secret_key or accounts_service.ensure_secret_key(session)
        sla_policy_service.seed_defaults(session, now=clock.now())  # no-op once policies exist
    sla_live.use_clock(clock)  # presenter sections compute live deadline states with this clock
    return AppState(settings=settings, db=db, clock=clock, secret_key=secret)


def warm_up(state: AppState) -> None:
    """Load now what the first requests would otherwise load: jieba's dictionary, the intake
    classifier, the address table, the risk taxonomy.

    Then the lifespan freezes the heap (``gc.freeze``): these long-lived objects (about 300k) leave
    the garbage collector's generations, so a full collection no longer walks them. On the 2-core
    box such a collection took 250–300 ms and came every 10–20 city-wide dashboard calls, which
    alone put the dashboard's p95 over its target; intake's tail paid for it too."""
    try:
        from minxin.intake import features, model_registry
        from minxin.risk import taxonomy_service
        from minxin.routing import regions

        features.warm_up()
        regions.resolver()
        with state.db.reading() as session:
            model_registry.active(session)
            taxonomy_service.active(session)
    except Exception:  # a cold start is slower, not broken
        log.exception("warming up failed")


def create_app(settings: Settings | None = None, *, clock: Clock | None = None, state: AppState | None = None) -> FastAPI:
    state = state or build_state(settings or get_settings(), clock)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runner = Runner(state) if state.settings.worker_enabled else None
        stop_services = start_services(state)
        if runner:
            runner.start()
        warm_up(state)
        gc.freeze()
        try:
            yield
        finally:
            gc.unfreeze()  # a test process starts many apps: their leftovers must stay collectable
            if runner:
                runner.stop()
            stop_services()

    app = FastAPI(title="minxin 民心", version=__version__, description=DESCRIPTION, lifespan=lifespan)
    app.state.minxin = state
    app.add_middleware(InFlightMiddleware)  # lets in-process background work wait for a gap
    errors.install(app)
    for router in wiring.routers():
        app.include_router(router)
    web.install(app)  # the console's /static mount, HTML error pages, session-cookie auth

    @app.get("/healthz", tags=["ops"], summary="Liveness and database check")
    def healthz() -> dict[str, Any]:
        with state.db.reading() as session:
            session.execute(text("SELECT 1"))
        return {"status": "ok", "version": __version__}

    return app


def app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory`` and multi-process ``minxin serve --workers N``."""
    return create_app(get_settings())
