"""Extension points: other domains react to work-order changes inside the same transaction.

``before_register`` hooks run first, in a *read* session before the write transaction opens
(:func:`minxin.workorders.service.prepare`): work that only reads and computes (classifying the
text, routing) is done there, so it does not hold the write lock (SQLite's single writer, the
per-day number row on PostgreSQL) while other intakes wait. Their results reach the
``after_register`` hooks as ``ctx.prepared[name]``; a caller that does not prepare (the demo,
imports) leaves it empty and the hook computes inline.

SLA deadlines, intake analysis and auto-dispatch, risk tagging and webhooks register here
(``minxin.wiring.install``) instead of the work-order service importing them, so dependencies
keep pointing one way. A hook must not commit; it may write rows and outbox messages, and an
exception in a hook rolls the whole action back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from minxin.accounts.principal import Principal
    from minxin.core.lifecycle import Transition
    from minxin.workorders.models import OrderEvent, WorkOrder
    from minxin.workorders.schemas import OrderCreate


@dataclass
class HookContext:
    session: Session
    order: WorkOrder
    event: OrderEvent
    actor: Principal
    now: datetime
    transition: Transition | None  # None for registration
    payload: dict[str, Any] = field(default_factory=dict)
    #: results of the ``before_register`` hooks, by hook name (registration only)
    prepared: dict[str, Any] = field(default_factory=dict)


Hook = Callable[[HookContext], None]
#: (read session, the appeal as submitted, the registering principal, now) → anything
Prepare = Callable[[Session, "OrderCreate", "Principal", datetime], Any]

before_register: list[tuple[str, Prepare]] = []

after_register: list[tuple[str, Hook]] = []
after_transition: list[tuple[str, Hook]] = []


def register(point: list[tuple[str, Any]], name: str, hook: Any) -> None:
    """Add a hook once (by name), so wiring twice is harmless."""
    if all(existing != name for existing, _ in point):
        point.append((name, hook))


def run(point: list[tuple[str, Hook]], ctx: HookContext) -> None:
    for _name, hook in list(point):
        hook(ctx)


def prepare(session: Session, data: OrderCreate, actor: Principal, now: datetime) -> dict[str, Any]:
    return {name: fn(session, data, actor, now) for name, fn in list(before_register)}
