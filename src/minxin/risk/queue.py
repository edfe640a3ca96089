"""The tag queue: registration queues an order, a drainer tags it right after commit.

Why: tagging re-tags up to 20 open relatives of the new order's caller and address and compares
its text with the region's recent orders. Inside the intake transaction that was a third of a
registration's CPU, and it held the per-day number lock (and SQLite's single write lock) while it
ran, so every other intake queued behind it. Now:

* registration writes one ``risk_tag_queue`` row in its own transaction (:func:`enqueue`);
* after that commit, this process's :class:`Drainer` thread wakes, gathers for
  ``GATHER_SECONDS`` and tags queued orders in batches of ``BATCH`` (``SQLITE_BATCH``) (:func:`minxin.risk.tagger.tag_batch`, one transaction per batch: a busy
  estate's relatives are re-tagged once per batch, not once per new order);
* on SQLite the drainer is *gentle* while the backlog is short (fewer than ``GENTLE_BELOW``
  queued): one order per transaction, and before each one it waits for a gap between this
  process's requests. A batch holds the single write lock for its whole length (≈ 4–5 ms of
  CPU per order in-process, a 12 ms median hold under the paced bench), and every intake of
  every process waits behind it; at a hotline's normal pace this cut the slowest intakes by
  about a fifth (docs/benchmarks.md, "Intake over HTTP"). And it holds that lock only for the
  order's writes: it claims the order and plans its tags under a deferred transaction (a WAL
  snapshot, no lock; :func:`minxin.risk.tagger.plan_one`), then takes the lock and writes
  (:meth:`Database.optimistic_unit_of_work`); if another writer committed meanwhile, SQLite
  refuses the first write, nothing is written, and it plans again (``OPTIMISTIC_TRIES``, then
  under the lock as before). A longer backlog
  (saturation) is drained in full batches without waiting, as before, so it keeps up;
* the ``risk.drain`` job (``minxin worker``, ``serve``) and ``risk.scan`` drain too, so rows that
  another process left behind (a crash, a CLI registration) are tagged within seconds.

Invariants:
* an order is tagged once from the queue: its row is deleted in the transaction that writes its
  profile, and an order that already has a profile is only dequeued;
* one drainer at a time per database (a PostgreSQL advisory lock; SQLite's single writer), so
  batches never lock subjects against each other;
* each order is tagged as of its own registration time (``created_at``), as it was inline, so the
  tags do not depend on how long it waited;
* a batch that fails is retried one order at a time; an order that fails alone is logged and
  dropped from the queue (the scan's backfill retries it), so one bad order cannot stop the rest.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from sqlalchemy import event
from sqlalchemy.orm import Session

from minxin.db.session import StaleSnapshot
from minxin.jobs import pressure
from minxin.risk import queue_repository, tagger, taxonomy_service

if TYPE_CHECKING:
    from datetime import datetime

    from minxin.db.session import Database

log = logging.getLogger("minxin.risk")

#: orders per drain transaction: big enough to share relatives; on SQLite small enough that the
#: single write lock, which intakes wait for, is not held long (≈ 4–5 ms per order)
BATCH = 32
SQLITE_BATCH = 4
#: a gentle drainer (SQLite) tags one order per transaction while fewer than this are queued
GENTLE_BELOW = 16
#: a gentle drainer reads and plans an order without the write lock this many times (each try
#: fails if another writer committed meanwhile) before it tags it under the lock
OPTIMISTIC_TRIES = 2
#: a drainer also looks at the queue this often without being woken (other processes' rows)
POLL_SECONDS = 2.0
#: after being woken, wait this long before draining, so that a busy moment's registrations are
#: tagged in one batch: tags appear about this much later, at a fraction of the CPU
GATHER_SECONDS = 0.2
#: ... and then until this process serves no request, at most this long (:mod:`minxin.jobs.pressure`)
MAX_DEFER_SECONDS = 0.5
_KICK = "minxin.risk.kick"


def enqueue(session: Session, order_id: int, now: datetime) -> None:
    """Queue a just-registered order; the drainer of this process is woken after commit."""
    queue_repository.enqueue(session, order_id, now)
    session.info[_KICK] = str(session.get_bind().url)


def batch_size(db: Database) -> int:
    return SQLITE_BATCH if db.is_sqlite else BATCH


def drain_once(db: Database, limit: int | None = None, *, gentle: bool = False) -> tuple[int, bool, bool]:
    """Tag up to ``limit`` queued orders in one transaction: (orders dequeued, whether to stop for
    now: another drainer holds the lock, or transitions hold some of the orders, whether more were
    queued than it took).

    ``gentle``: while fewer than ``GENTLE_BELOW`` are queued, tag only the oldest one (the caller
    comes back for the rest), so the transaction is as short as one order."""
    limit = limit or batch_size(db)
    if gentle and db.is_sqlite:
        for _ in range(OPTIMISTIC_TRIES):
            try:
                done = _drain_one_optimistically(db)
            except StaleSnapshot:  # another writer committed while this one read: read again
                continue
            if done is not None:
                return done
            break  # a long backlog: a full batch, below
    with db.unit_of_work() as session:
        if not queue_repository.try_drain_lock(session):
            return 0, True, False
        backlog = queue_repository.queue_length(session) if gentle else None
        if backlog is not None and backlog < GENTLE_BELOW:
            limit = 1
        claimed, orders = queue_repository.claim_queued(session, limit)
        if not claimed:
            return 0, False, False
        more = len(claimed) == limit if backlog is None else backlog > len(claimed)
        if not orders:  # every one of them is held by a transition right now: next time
            return 0, True, more
        done = queue_repository.profiled(session, [o.id for o in orders])
        todo = [o for o in orders if o.id not in done]
        if todo:
            tagger.tag_batch(session, todo, now=max(o.created_at for o in todo))
        queue_repository.dequeue(session, [o.id for o in orders])
        return len(orders), len(orders) < len(claimed), more


def _drain_one_optimistically(db: Database) -> tuple[int, bool, bool] | None:
    """:func:`drain_once` of one order (a gentle drainer on SQLite) that holds the write lock only
    for its writes: it claims and plans under a deferred transaction (a snapshot) and then writes;
    :class:`StaleSnapshot` if another writer committed in between (nothing written). None when
    ``GENTLE_BELOW`` or more are queued (the caller drains a full batch)."""
    with db.optimistic_unit_of_work() as (session, lock):
        backlog = queue_repository.queue_length(session)
        if backlog >= GENTLE_BELOW:
            return None
        claimed, orders = queue_repository.claim_queued(session, 1)
        if not claimed:
            return 0, False, False
        if not orders:
            return 0, True, backlog > 1
        order = orders[0]
        plan = None if queue_repository.profiled(session, [order.id]) else tagger.plan_one(
            session, order, now=order.created_at)
        lock()
        if plan is not None:
            tagger.apply(session, plan)
        queue_repository.dequeue(session, [order.id])
        return 1, False, backlog > 1


def drain(db: Database, *, limit: int | None = None, gentle: bool = False) -> int:
    """Drain until the queue is empty or another drainer has it; returns the orders dequeued.

    ``gentle`` (the in-process drainer on SQLite): a short backlog is tagged one order per
    transaction, each after a gap between this process's requests (see the module doc)."""
    limit = limit or batch_size(db)
    gentle = gentle and db.is_sqlite and limit > 1
    total = n = 0
    while True:
        if gentle and n == 1:  # a short backlog: the next order after a gap between requests
            pressure.wait_idle(MAX_DEFER_SECONDS)
        try:
            n, busy, more = drain_once(db, limit, gentle=gentle)
        except Exception:
            if limit == 1:
                _drop_oldest(db)
                continue
            log.exception("risk: tagging a batch failed; retrying its orders one by one")
            n, busy = _drain_singly(db, limit)
            more = n == limit
        total += n
        if busy or not more:  # the queue is empty (as of the last claim) or another drainer has it
            return total


def _drain_singly(db: Database, count: int) -> tuple[int, bool]:
    done = 0
    for _ in range(count):
        try:
            n, busy, _ = drain_once(db, 1)
        except Exception:
            _drop_oldest(db)
            n, busy = 1, False
        if n == 0 or busy:
            return done, busy
        done += n
    return done, False


def _drop_oldest(db: Database) -> None:
    with db.unit_of_work() as session:
        _, orders = queue_repository.claim_queued(session, 1)
        if orders:
            log.exception("risk: tagging order %s failed; dropped from the queue (the scan retries it)",
                          orders[0].number)
            queue_repository.dequeue(session, [orders[0].id])


def settle(db: Database, *, timeout: float = 30.0, strict: bool = True) -> int:
    """Drain and wait until the queue is empty, by whichever drainer (tests, the scan and
    ``minxin risk drain`` need "tagged now", not "tagged soon"). After ``timeout`` (intake never
    pauses) raise, or with ``strict=False`` return what was tagged."""
    deadline = time.monotonic() + timeout
    total = drain(db)
    while pending(db):
        if time.monotonic() > deadline:
            if not strict:
                return total
            raise TimeoutError(f"risk tag queue not drained after {timeout:g} s")
        time.sleep(0.01)
        total += drain(db)
    return total


def pending(db: Database) -> int:
    with db.reading() as session:
        return queue_repository.queue_length(session)


# ------------------------------------------------------------------------------------- drainer
class Drainer(threading.Thread):
    """Tags queued orders whenever a registration of this process commits, and every
    ``POLL_SECONDS`` in any case. Errors are logged; the thread keeps going."""

    def __init__(self, db: Database, *, poll: float = POLL_SECONDS, delay: float = GATHER_SECONDS) -> None:
        super().__init__(name="minxin-risk-drain", daemon=True)
        self.db = db
        self.poll = poll
        self.delay = delay
        self.wake = threading.Event()
        self.stopping = threading.Event()

    def kick(self) -> None:
        self.wake.set()

    def run(self) -> None:
        try:  # compile the taxonomy now, not in the first batch after the server takes requests
            with self.db.reading() as session:
                taxonomy_service.active(session)
        except Exception:
            log.exception("risk: loading the taxonomy failed")
        while not self.stopping.is_set():
            self.wake.clear()
            try:
                drain(self.db, gentle=True)
            except Exception:
                log.exception("risk: draining the tag queue failed")
            if self.wake.wait(self.poll):
                # let the registrations of the next moment join one batch (they share relatives)
                self.stopping.wait(self.delay)
            # then start in a gap between this process's requests, not in the middle of one
            pressure.wait_idle(MAX_DEFER_SECONDS)

    def stop(self) -> None:
        self.stopping.set()
        self.wake.set()


_drainers: dict[str, Drainer] = {}
_lock = threading.Lock()


def start(db: Database) -> Callable[[], None]:
    """Start this process's drainer for ``db`` (idempotent); returns the function that stops it."""
    key = str(db.engine.url)
    with _lock:
        found = _drainers.get(key)
        if found is None or not found.is_alive():
            found = _drainers[key] = Drainer(db)
            found.start()
    drainer = found

    def stop() -> None:
        with _lock:
            if _drainers.get(key) is drainer:
                del _drainers[key]
        drainer.stop()
        drainer.join(timeout=10)

    return stop


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    key = session.info.pop(_KICK, None)
    if key is not None and (drainer := _drainers.get(key)) is not None:
        drainer.kick()


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_KICK, None)
