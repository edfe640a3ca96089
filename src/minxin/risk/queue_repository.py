"""Every query of the risk tag queue (:mod:`minxin.risk.queue`): queue rows, the drain lock, and
the locks a drain takes on the orders it tags.

Split from :mod:`minxin.risk.repository` (which keeps profiles, tags, subjects and links). The
statements run for every drained order are built once, with bind parameters (see there).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import bindparam, delete, func, select, text
from sqlalchemy.orm import Session

from minxin.db.statements import id_list, insert_rows
from minxin.risk.models import OrderRiskProfile, TagQueueEntry
from minxin.workorders.models import WorkOrder

#: the PostgreSQL advisory lock that lets one drainer at a time tag (any constant unique to us)
DRAIN_LOCK = 0x6D78_7269  # "mxri"


def enqueue(session: Session, order_id: int, at: datetime) -> None:
    insert_rows(session, TagQueueEntry.__table__, [{"order_id": order_id, "queued_at": at}])


def try_drain_lock(session: Session) -> bool:
    """Take the transaction-scoped drain lock (PostgreSQL); SQLite's single writer already is one."""
    if session.get_bind().dialect.name != "postgresql":
        return True
    return bool(session.scalar(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": DRAIN_LOCK}))


def claim_queued(session: Session, limit: int) -> tuple[list[int], list[WorkOrder]]:
    """The oldest queued order ids (by id, i.e. registration order), their queue rows locked, and
    those of the orders themselves that no transition holds right now, share-locked
    (:func:`share_lock_orders`); the others stay queued for the next batch."""
    ids = list(session.scalars(_CLAIM, {"limit": limit}))
    if not ids:
        return [], []
    free = share_lock_orders(session, ids)
    orders = list(session.scalars(_ORDERS, {"ids": free})) if free else []
    return ids, orders


_CLAIM = (
    select(TagQueueEntry.order_id).order_by(TagQueueEntry.order_id).limit(bindparam("limit"))
    .with_for_update(skip_locked=True)
)
_ORDERS = select(WorkOrder).where(WorkOrder.id.in_(id_list())).order_by(WorkOrder.id)
_SHARE_LOCK = (
    select(WorkOrder.id).where(WorkOrder.id.in_(id_list())).order_by(WorkOrder.id)
    .with_for_update(read=True, key_share=True, skip_locked=True)
)


def share_lock_orders(session: Session, order_ids: Sequence[int]) -> list[int]:
    """Share-lock (``FOR KEY SHARE``) the work orders no one holds for update, skipping the rest.

    Why: a transition locks its order ``FOR UPDATE`` first and then, re-tagging it, its risk
    subjects; the drainer locks subjects first and then needs the orders' key-share lock for the
    foreign keys of the tag and profile rows it writes. Taking the orders' locks up front and
    skipping those a transition holds breaks that cycle (PostgreSQL; a no-op on SQLite)."""
    if not order_ids:
        return []
    return [int(i) for i in session.scalars(_SHARE_LOCK, {"ids": list(order_ids)})]


_IS_QUEUED = select(TagQueueEntry.order_id).where(TagQueueEntry.order_id == bindparam("order_id")).with_for_update()


def is_queued(session: Session, order_id: int) -> bool:
    """Whether the order still waits to be tagged; locks its queue row (PostgreSQL) so a drainer
    tagging it right now finishes first and this answers False afterwards."""
    return session.scalar(_IS_QUEUED, {"order_id": order_id}) is not None


def in_queue(session: Session, order_id: int) -> bool:
    """Whether the order waits to be tagged (a plain read, for presenters)."""
    return session.scalar(select(TagQueueEntry.order_id).where(TagQueueEntry.order_id == order_id)) is not None


_DEQUEUE = delete(TagQueueEntry).where(TagQueueEntry.order_id.in_(id_list()))


def dequeue(session: Session, order_ids: Sequence[int]) -> None:
    if order_ids:
        session.execute(_DEQUEUE, {"ids": list(order_ids)})


def oldest_queued_at(session: Session) -> datetime | None:
    """Registration time of the oldest order still waiting to be tagged."""
    stmt = select(func.min(WorkOrder.created_at)).join(TagQueueEntry, TagQueueEntry.order_id == WorkOrder.id)
    return session.scalar(stmt)


_QUEUE_LENGTH = select(func.count()).select_from(TagQueueEntry)
_PROFILED = select(OrderRiskProfile.order_id).where(OrderRiskProfile.order_id.in_(id_list()))


def queue_length(session: Session) -> int:
    return int(session.scalar(_QUEUE_LENGTH) or 0)


def profiled(session: Session, order_ids: Sequence[int]) -> set[int]:
    """Which of these orders already have a profile (were tagged)."""
    if not order_ids:
        return set()
    return {int(i) for i in session.scalars(_PROFILED, {"ids": list(order_ids)})}
