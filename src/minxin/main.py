"""The application factory: ``create_app(settings)`` → a FastAPI app with every domain mounted."""

from __future__ import annotations

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


def create_app(settings: Settings | None = None, *, clock: Clock | None = None, state: AppState | None = None) -> FastAPI:
    state = state or build_state(settings or get_settings(), clock)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runner = Runner(state) if state.settings.worker_enabled else None
        stop_services = start_services(state)
        if runner:
            runner.start()
        try:
            yield
        finally:
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
