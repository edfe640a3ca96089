"""Plugging reporting into work orders (imported via ``wiring.PLUGIN_MODULES``).

Freshness of the aggregates for live orders: **none stale at commit**. Every registration and
action marks its order in the session (``after_register`` / ``after_transition`` hooks); just
before the transaction commits (SQLAlchemy ``before_commit``) each marked order is folded into
its fact row, cells and monthly rollups (``folding.fold``), in the same transaction as the action.
Folding at commit time rather than inside the hook means the fold sees the order exactly as the
action left it, whatever other hooks (SLA deadlines, intake analysis) ran after this one, and an
order touched by several actions in one transaction (bulk dispatch) is folded once.

The only changes that do not go through an action are SLA recomputations (a policy change, a
calendar import): the ``reports.refresh`` job (every 30 s) refolds the orders whose deadline rows
changed, so those are at most about a minute stale. It also folds work orders that have no fact
row yet (created before reporting was installed).

Importing this module also registers the jobs and the dashboard's navigation entry.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from minxin.reports import folding, repository
from minxin.reports import tasks as _tasks  # noqa: F401  (registers reports.refresh)
from minxin.workorders import hooks
from minxin.workorders.hooks import HookContext
from minxin.workorders.models import WorkOrder

DIRTY = "minxin.reports.dirty"
#: orders registered in this session: they have no fact row yet (live numbers never collide
#: with imported ones, see ``importer``), so their fold skips reading and deleting the old one
NEW = "minxin.reports.new"


def mark(ctx: HookContext) -> None:
    """Remember the order; it is folded once, just before the transaction commits."""
    ctx.session.info.setdefault(DIRTY, set()).add(ctx.order.id)


def mark_new(ctx: HookContext) -> None:
    mark(ctx)
    ctx.session.info.setdefault(NEW, set()).add(ctx.order.id)


def fold_marked(session: Session) -> int:
    """Fold every order marked in this session (called from ``before_commit``)."""
    ids = session.info.pop(DIRTY, None)
    new = session.info.pop(NEW, set())
    if not ids:
        return 0
    for order_id in sorted(ids):
        order = session.get(WorkOrder, order_id) or repository.work_order(session, order_id)
        if order is not None:
            folding.fold(session, order, new=order_id in new)
    session.flush()
    return len(ids)


def _forget(session: Session, *_args: Any) -> None:
    session.info.pop(DIRTY, None)
    session.info.pop(NEW, None)


def install() -> None:
    """Idempotent: hooks by name, session listeners once."""
    hooks.register(hooks.after_register, "reports", mark_new)
    hooks.register(hooks.after_transition, "reports", mark)
    if not event.contains(Session, "before_commit", fold_marked):
        event.listen(Session, "before_commit", fold_marked)
        event.listen(Session, "after_rollback", _forget)
    _nav()


def _nav() -> None:
    try:
        from minxin.core.vocabulary import Role
        from minxin.web.nav import NavItem, extra_items
    except ImportError:  # the console is optional
        return
    if all(item.href != "/dashboard" for item in extra_items):
        roles = frozenset({Role.LEADER, Role.SUPERVISOR, Role.ADMIN, Role.DISPATCHER})
        extra_items.append(NavItem("统计分析", "/dashboard", roles, match="/dashboard", key="g d"))


install()
