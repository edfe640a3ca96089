"""The work-order core alone, for ``bench/intake_bench.py --minxin-app``: the floor of a create.

minxin's registration runs the plugins wired through ``minxin.workorders.hooks`` (intake
analysis and auto-dispatch, SLA deadlines, risk tagging, the reports fold, webhooks) and the
presenter sections they add to an order's detail. This factory serves the same app with every
hook and every presenter section removed, so a create is only what the core itself does: HTTP,
validation, the bearer token, the per-day number, the order, its unit link and its event,
the outbox row, and the answer. What it costs is the least any change to the plugins could
bring a create down to; the difference from the full product is what the plugins cost.

Not a product configuration (orders registered this way have no deadlines, tags or facts):
a measuring tool only.

    PYTHONPATH=$PWD/bench .venv/bin/python bench/intake_bench.py --phase intake --db sqlite \\
        --minxin-app minxin_core_only:create_app
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from minxin.main import create_app as _create_app
from minxin.workorders import hooks, presenters


def create_app(*args: Any, **kwargs: Any) -> FastAPI:
    app = _create_app(*args, **kwargs)
    for point in (hooks.before_register, hooks.after_register, hooks.after_transition,
                  presenters.detail_sections, presenters.summary_fields):  # fmt: skip
        point.clear()
    return app
