"""The process-wide duplicate index of each database, built in the background and kept current.

What it holds: every open order plus every order registered in the last ``WINDOW_DAYS`` days
(:class:`~minxin.intake.duplicates.DuplicateIndex`, about 300 bytes per order, sub-linear
look-ups). It is built lazily — by the first analysis, or by the auto-dispatch job soon after
the server starts — in a daemon thread, so no request ever waits for it; until it is ready,
analysis answers ``duplicates: []`` with ``duplicates_index: "building"``.

How it stays current: the intake hooks queue "add this order" / "this order's status is now
X" on the session (``session.info``); the queued changes reach the index only **after the
transaction commits** (a SQLAlchemy ``after_commit`` listener), and are dropped on rollback,
so the index never shows an order that was never registered. Changes that arrive while the
index is being built are replayed once it is ready (adding and status updates are
idempotent).

Staleness with several processes (PostgreSQL, ``minxin serve --workers N``): each process
keeps its own index and sees its own registrations at once, but another process's new
orders and status changes only after it rebuilds (``REBUILD_AFTER`` seconds, by default 6
hours) — a duplicate registered through another worker in the meantime can be missed. A
shared index (a separate service) is the fix if that matters; see ``docs/intake.md``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from minxin.core.address import normalise_address
from minxin.intake import repository
from minxin.intake.duplicates import DuplicateConfig, DuplicateIndex, DuplicateRecord, QueryResult
from minxin.routing.regions import resolver

if TYPE_CHECKING:
    from minxin.db.session import Database

log = logging.getLogger("minxin.intake")

WINDOW_DAYS = 30
REBUILD_AFTER = 6 * 3600.0
_OPS = "minxin.intake.index_ops"


def address_key_for(city_code: str | None) -> Callable[[str], str]:
    """"The same place" key: the resolved region + the normalised rest of the address, memoised
    (the same addresses recur, and resolving costs tens of microseconds)."""
    if not city_code:
        return normalise_address
    table = resolver()

    @lru_cache(maxsize=200_000)
    def key(address: str) -> str:
        return table.place_key(address, default_city_code=city_code)

    return key


@dataclass
class Holder:
    """One database's index and its build state: absent → building → ready (or failed)."""

    key: str
    state: str = "absent"
    index: DuplicateIndex | None = None
    built_at: float = 0.0
    build_seconds: float = 0.0
    error: str = ""
    #: a ready index is being rebuilt: changes go to it *and* to ``pending`` for the new one
    rebuilding: bool = False
    pending: list[tuple[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def apply(self, op: str, arg: Any) -> None:
        with self.lock:
            if self.state == "building" or self.rebuilding:
                self.pending.append((op, arg))
            index = self.index if self.state == "ready" else None
        if index is not None:
            _apply(index, op, arg)

    def search(self, *args: Any, **kwargs: Any) -> QueryResult | None:
        index = self.index if self.state == "ready" else None
        return index.search(*args, **kwargs) if index is not None else None

    def install(self, index: DuplicateIndex, seconds: float) -> None:
        """Make ``index`` current, replaying what arrived while it was built."""
        with self.lock:
            for op, arg in self.pending:
                _apply(index, op, arg)
            self.pending.clear()
            self.index, self.state, self.rebuilding = index, "ready", False
            self.built_at, self.build_seconds, self.error = time.monotonic(), seconds, ""

    def info(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "orders": len(self.index) if self.index is not None else 0,
            "build_seconds": round(self.build_seconds, 3),
            "error": self.error or None,
        }


def _apply(index: DuplicateIndex, op: str, arg: Any) -> None:
    if op == "add":
        index.add(arg)
    elif op == "status":
        index.update_status(*arg)


_holders: dict[str, Holder] = {}
_holders_lock = threading.Lock()


def holder(key: str) -> Holder:
    with _holders_lock:
        found = _holders.get(key)
        if found is None:
            found = _holders[key] = Holder(key)
        return found


def reset() -> None:
    """Forget every index (tests)."""
    with _holders_lock:
        _holders.clear()


def config() -> DuplicateConfig:
    return DuplicateConfig(window=timedelta(days=WINDOW_DAYS), limit=10)


def build_index(records: Iterable[DuplicateRecord], city_code: str | None) -> DuplicateIndex:
    return DuplicateIndex.build(records, config(), address_key=address_key_for(city_code))


def _build(db: Database, h: Holder, now: datetime) -> None:
    started = time.perf_counter()
    try:
        with db.reading() as session:
            city = repository.centre_region(session)
            records = repository.duplicate_records(session, now - timedelta(days=WINDOW_DAYS))
            index = build_index(records, city)
        h.install(index, time.perf_counter() - started)
        log.info("intake: duplicate index of %s ready: %d orders in %.1f s", h.key, len(index), h.build_seconds)
    except Exception as exc:  # a background thread must not die silently
        with h.lock:
            h.error, h.pending = f"{type(exc).__name__}: {exc}", []
            if h.rebuilding:  # keep answering from the old index
                h.rebuilding, h.built_at = False, time.monotonic()
            else:
                h.state = "failed"
        log.exception("intake: building the duplicate index failed")


def ensure(db: Database, now: datetime, *, wait: bool = False) -> Holder:
    """Start building the index of ``db`` unless it is ready or being built; never blocks
    unless ``wait`` (tests, the bench, the CLI). A ready index older than ``REBUILD_AFTER`` is
    rebuilt in the background while the old one keeps answering."""
    h = holder(str(db.engine.url))
    with h.lock:
        stale = h.state == "ready" and not h.rebuilding and time.monotonic() - h.built_at > REBUILD_AFTER
        start = h.state in ("absent", "failed") or stale
        if start:
            if stale:
                h.rebuilding = True
            else:
                h.state = "building"
            h.pending = []
    if start:
        thread = threading.Thread(target=_build, args=(db, h, now), name="minxin-dup-index", daemon=True)
        thread.start()
        if wait:
            thread.join()
    elif wait:
        while h.state == "building":
            time.sleep(0.02)
    return h


def install(key: str, index: DuplicateIndex) -> Holder:
    """Use a prebuilt index for a database (the bench, tests)."""
    h = holder(key)
    h.install(index, 0.0)
    return h


# ----------------------------------------------------------------------------- after-commit queue
def queue(session: Session, op: str, arg: Any) -> None:
    """Apply ``op`` to this database's index once the session's transaction commits."""
    session.info.setdefault(_OPS, []).append((str(session.get_bind().url), op, arg))


def record_of(order: Any) -> DuplicateRecord:
    return DuplicateRecord(
        order_id=order.id,
        created_at=order.created_at,
        title=order.title or "",
        content=order.content or "",
        phone=order.citizen_phone,
        address=order.address,
        status=order.status,
        region_code=order.region_code,
    )


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    ops = session.info.pop(_OPS, None)
    for key, op, arg in ops or ():
        found = _holders.get(key)
        if found is not None:
            found.apply(op, arg)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_OPS, None)
