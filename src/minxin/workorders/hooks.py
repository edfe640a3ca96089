"""Extension points: other domains react to work-order changes inside the same transaction.

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


@dataclass
class HookContext:
    session: Session
    order: WorkOrder
    event: OrderEvent
    actor: Principal
    now: datetime
    transition: Transition | None  # None for registration
    payload: dict[str, Any] = field(default_factory=dict)


Hook = Callable[[HookContext], None]

after_register: list[tuple[str, Hook]] = []
after_transition: list[tuple[str, Hook]] = []


def register(point: list[tuple[str, Hook]], name: str, hook: Hook) -> None:
    """Add a hook once (by name), so wiring twice is harmless."""
    if all(existing != name for existing, _ in point):
        point.append((name, hook))


def run(point: list[tuple[str, Hook]], ctx: HookContext) -> None:
    for _name, hook in list(point):
        hook(ctx)
