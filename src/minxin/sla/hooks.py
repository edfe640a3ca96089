"""Plugging the SLA engine into work orders (imported via ``wiring.PLUGIN_MODULES``).

* ``after_register`` / ``after_transition`` hooks recompute the order's clocks inside the action's
  transaction (``minxin.sla.deadlines.recompute``), except for actions that cannot move a clock
  (urge, note, co-handling, an extension request, a denied extension).
* ``request_extension`` is checked here too: the engine only applies whole durations
  (``3wd``, ``8wh``, ``90m``), so ``1.5wd`` is refused (422) before it can be approved.
* Presenter sections: ``deadlines`` and ``sla_verdict`` on the order detail, ``deadline`` on
  every list row. Importing this module also registers the ``sla.scan`` job.
"""

from __future__ import annotations

from minxin.core.duration import DurationParseError, parse_duration
from minxin.errors import Invalid
from minxin.sla import deadlines, presenter
from minxin.sla import tasks as _tasks  # noqa: F401  (registers the sla.scan job)
from minxin.workorders import hooks, presenters
from minxin.workorders.hooks import HookContext

#: actions after which no clock can have moved
NO_CLOCK_CHANGE = frozenset({"urge", "note", "co_handle", "request_extension"})


def after_register(ctx: HookContext) -> None:
    deadlines.recompute(ctx.session, ctx.order, now=ctx.now, events=[ctx.event], new=True)


def after_transition(ctx: HookContext) -> None:
    action = ctx.event.action
    if action == "request_extension":
        _check_extension(str(ctx.payload.get("duration", "")))
        return
    if action in NO_CLOCK_CHANGE:
        return
    if action == "decide_extension" and ctx.payload.get("approve") is not True:
        return
    deadlines.recompute(ctx.session, ctx.order, now=ctx.now)


def _check_extension(text: str) -> None:
    try:
        parse_duration(text)
    except DurationParseError as exc:
        raise Invalid(
            f"延期时长须为整数加单位，如 3wd、8wh、90m（收到：{text}）",
            f"Extension duration must be a whole number and a unit such as 3wd, 8wh, 90m (got {text!r})",
            code="order.invalid_payload",
            details={"field": "duration"},
        ) from exc


def _add_section(target: list, name: str, fn: object) -> None:  # type: ignore[type-arg]
    if all(existing != name for existing, _ in target):
        target.append((name, fn))


hooks.register(hooks.after_register, "sla", after_register)
hooks.register(hooks.after_transition, "sla", after_transition)
_add_section(presenters.detail_sections, "deadlines", presenter.deadlines_section)
_add_section(presenters.detail_sections, "sla_verdict", presenter.verdict_section)
_add_section(presenters.summary_fields, "deadline", presenter.badge_field)
