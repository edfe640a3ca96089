"""Plugged in by ``minxin.wiring`` (PLUGIN_MODULES): the API-key authenticator, the jobs
``webhooks.deliver`` and ``open311.tokens``, and the ``integrations`` section of the order
detail (transfer links and hand-offs). Importing twice registers nothing twice."""

from __future__ import annotations

from minxin.api import deps
from minxin.integrations import auth, tasks, transfers
from minxin.open311 import tasks as open311_tasks
from minxin.workorders import presenters

__all__ = ["open311_tasks", "tasks"]

if auth.authenticate not in deps.authenticators:
    deps.authenticators.append(auth.authenticate)

if all(name != "integrations" for name, _ in presenters.detail_sections):
    presenters.detail_sections.append(("integrations", transfers.detail_section))
