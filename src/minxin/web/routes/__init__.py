"""The console's pages, one module per area, as one router for ``wiring.ROUTER_MODULES``.

Order matters only where paths overlap: ``admin`` (fixed paths) comes before
``admin_config`` (which ends with the ``/admin/{key}`` sections).
"""

from __future__ import annotations

from fastapi import APIRouter

from minxin.web.routes import (
    admin,
    admin_config,
    auth,
    callbacks,
    home,
    intake,
    orders,
    queues,
    supervision,
)

router = APIRouter(include_in_schema=False)
for module in (auth, home, intake, queues, orders, callbacks, supervision, admin, admin_config):
    router.include_router(module.router)
