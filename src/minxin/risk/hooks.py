"""Plugging risk tagging into work orders (imported via ``wiring.PLUGIN_MODULES``).

* ``after_register``: queue the new order for tagging (:mod:`minxin.risk.queue`): the drainer links
  and scores its subjects, tags it and re-tags its open relatives right after the intake commits.
* ``after_transition`` on ``reopen`` / ``return`` / ``callback``: the order's own counts changed;
  re-tag it (:func:`minxin.risk.tagger.retag_after_transition`).
* Presenter sections: ``risk`` on the order detail, a compact ``risk`` field on every list row
  (one query per page). Importing this module also registers the ``risk.scan`` job.
"""

from __future__ import annotations

from typing import Any

from minxin.risk import presenter, queue, tagger
from minxin.risk import tasks as _tasks  # noqa: F401  (registers the risk.scan job)
from minxin.workorders import hooks, presenters
from minxin.workorders.hooks import HookContext


def after_register(ctx: HookContext) -> None:
    queue.enqueue(ctx.session, ctx.order.id, ctx.now)


def after_transition(ctx: HookContext) -> None:
    tagger.retag_after_transition(ctx.session, ctx.order, ctx.event.action, now=ctx.now)


def _add_section(target: list[Any], name: str, fn: object) -> None:
    if all(existing != name for existing, _ in target):
        target.append((name, fn))


hooks.register(hooks.after_register, "risk", after_register)
hooks.register(hooks.after_transition, "risk", after_transition)
_add_section(presenters.detail_sections, "risk", presenter.detail_section)
_add_section(presenters.summary_fields, "risk", presenter.summary_field)
