"""Where the domains are plugged together: routers, hooks, jobs and CLI sub-apps.

The work-order core never imports SLA, intake, risk or integrations; they attach themselves
here. ``install()`` is idempotent.
"""

from __future__ import annotations

import importlib
from typing import Any

from fastapi import APIRouter

#: modules whose import registers hooks, jobs and presenter sections
PLUGIN_MODULES: tuple[str, ...] = (
    "minxin.integrations.plugin",
    "minxin.intake.hooks",
    "minxin.sla.hooks",
    "minxin.risk.hooks",
    "minxin.risk.tasks",
    "minxin.web.sla_slots",
    "minxin.intake.tasks",
    "minxin.intake.web_slots",
    "minxin.reports.hooks",
)

#: modules exposing ``router`` (FastAPI) — order matters only for the web console's catch-alls
ROUTER_MODULES: tuple[str, ...] = (
    "minxin.accounts.api",
    "minxin.units.api",
    "minxin.categories.api",
    "minxin.workorders.api",
    "minxin.attachments.api",
    "minxin.audit.api",
    "minxin.sla.api",
    "minxin.integrations.api",
    "minxin.open311.api",
    "minxin.risk.api",
    "minxin.web.routes.risk",
    "minxin.routing.api",
    "minxin.intake.api",
    "minxin.reports.api",
    "minxin.web.routes.dashboard",
    "minxin.web.routes",
)

#: (command name, module exposing a Typer ``app``) for ``minxin <name> ...``
CLI_MODULES: tuple[tuple[str, str], ...] = (
    ("integrations", "minxin.integrations.cli"),
    ("calendar", "minxin.sla.cli"),
    ("sla", "minxin.sla.sla_cli"),
    ("risk", "minxin.risk.cli"),
    ("model", "minxin.intake.model_cli"),
    ("report", "minxin.reports.cli"),
    ("import", "minxin.reports.import_cli"),
)

_installed = False


def install() -> None:
    global _installed
    if _installed:
        return
    for name in PLUGIN_MODULES:
        importlib.import_module(name)
    _installed = True


def routers() -> list[APIRouter]:
    return [importlib.import_module(name).router for name in ROUTER_MODULES]


def cli_apps() -> list[tuple[str, Any]]:
    return [(name, importlib.import_module(module).app) for name, module in CLI_MODULES]
