"""The risk tag queue: registration queues, drainers tag after commit, exactly once.

These tests use the services directly on the test database (no server, so no drainer thread runs
behind their back): they decide when and by how many threads the queue is drained.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from minxin import wiring
from minxin.accounts import repository as accounts_repository
from minxin.accounts import service as accounts_service
from minxin.accounts.principal import Principal
from minxin.api.state import AppState
from minxin.db.session import Database, StaleSnapshot
from minxin.jobs.registry import run_once
from minxin.risk import queue, queue_repository, tagger
from minxin.risk.models import OrderRiskProfile, RiskSubject, SubjectLink, TagQueueEntry
from minxin.workorders import repository as orders_repository
from minxin.workorders import service as orders
from minxin.workorders.schemas import OrderCreate

AT = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)
SETTINGS = orders.Settings(timezone=ZoneInfo("Asia/Shanghai"))


@pytest.fixture
def db(state: AppState) -> Iterator[Database]:
    wiring.install()
    yield state.db


def agent(db: Database) -> Principal:
    with db.reading() as session:
        user = accounts_repository.get_by_username(session, "agent")
        assert user is not None
        return accounts_service.principal_of(user)


def register(db: Database, n: int, *, phone: str = "13912345678", fail: bool = False, at: datetime = AT,
             mix: int = 0, **extra: Any) -> list[int]:
    """``n`` orders of one caller at one address, or with ``mix`` > 0 rotating over ``mix``
    callers and ``mix`` addresses (orders then share subjects in crossing combinations)."""
    actor = agent(db)
    ids = []
    with db.unit_of_work() as session:
        for i in range(n):
            data = OrderCreate.model_validate({
                "channel": "phone", "appeal_type": "complaint", "title": "楼上漏水",
                "content": f"楼上卫生间漏水到我家，第{i + 1}次反映", "citizen": {"name": "市民", "phone": phone},
                "address": "沈阳市和平区太原街1号", "category": "010201", **extra,
            })
            if mix:
                data.citizen.phone = f"1391234{(i + at.hour) % mix:04d}"  # type: ignore[union-attr]
                data.address = f"沈阳市和平区太原街{i % mix + 1}号"
            order, _ = orders.register(session, data, actor=actor, now=at + timedelta(minutes=i), settings=SETTINGS)
            ids.append(order.id)
        if fail:
            raise RuntimeError("roll back")
    return ids


def count(db: Database, model: Any, *where: Any) -> int:
    with db.reading() as session:
        return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def test_registration_queues_and_draining_tags_once(db: Database) -> None:
    ids = register(db, 3)
    assert count(db, TagQueueEntry) == 3 and count(db, OrderRiskProfile) == 0  # nothing tagged in the intake
    assert queue.drain(db) == 3
    assert count(db, TagQueueEntry) == 0
    assert count(db, OrderRiskProfile, OrderRiskProfile.order_id.in_(ids)) == 3
    assert queue.drain(db) == 0  # nothing left, nothing tagged twice
    with db.reading() as session:
        caller = session.scalars(select(RiskSubject).where(RiskSubject.kind == "caller")).one()
        assert caller.order_count == 3
        first = session.get(OrderRiskProfile, ids[0])
        assert first is not None and first.tagged_at == AT + timedelta(minutes=2)  # re-tagged by the batch


def test_a_gentle_drainer_tags_a_short_backlog_one_order_per_transaction(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """The in-process drainer on SQLite (``gentle``): below ``GENTLE_BELOW`` queued, each
    transaction tags one order (the single write lock is held for one order, not a batch), and a
    longer backlog goes in full batches. PostgreSQL has no single write lock: full batches always.
    Either way every order is tagged exactly once."""
    batches: list[int] = []
    original, original_plan = tagger.tag_batch, tagger.plan_one

    def recording(session: Any, orders: Any, **kw: Any) -> Any:
        batches.append(len(orders))
        return original(session, orders, **kw)

    def recording_plan(session: Any, order: Any, **kw: Any) -> Any:  # one order, planned before the lock
        batches.append(1)
        return original_plan(session, order, **kw)

    monkeypatch.setattr(tagger, "tag_batch", recording)
    monkeypatch.setattr(tagger, "plan_one", recording_plan)
    monkeypatch.setattr(queue, "GENTLE_BELOW", 4)
    ids = register(db, 6)
    assert queue.drain(db, limit=3, gentle=True) == 6
    # six queued (≥ 4): a batch of 3; three left (< 4): one at a time
    assert batches == ([3, 1, 1, 1] if db.is_sqlite else [3, 3])
    assert count(db, TagQueueEntry) == 0
    assert count(db, OrderRiskProfile, OrderRiskProfile.order_id.in_(ids)) == 6
    with db.reading() as session:
        caller = session.scalars(select(RiskSubject).where(RiskSubject.kind == "caller")).one()
        assert caller.order_count == 6
    batches.clear()
    register(db, 2, at=AT + timedelta(hours=1))
    assert queue.drain(db, limit=3) == 2 and batches == [2]  # not gentle: one batch, as before


def test_a_gentle_drainer_plans_without_the_write_lock_and_replans_after_another_commit(
        db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """SQLite: a gentle drainer reads and plans an order under a snapshot, without the write lock,
    so another writer can commit meanwhile; its writes then fail (SQLite's snapshot rule), nothing
    is written, and it plans again from the new data. The order is tagged once; the one
    registered meanwhile is tagged next, and the caller then counts both."""
    if not db.is_sqlite:
        pytest.skip("PostgreSQL drains under the unit of work's row locks; no write lock to avoid")
    first = register(db, 1)[0]
    planned: list[int] = []
    original = tagger.plan_one

    def interrupted(session: Any, order: Any, **kw: Any) -> Any:
        planned.append(order.id)
        if len(planned) == 1:  # a registration commits while the drainer plans: it must not wait
            writer = threading.Thread(target=register, args=(db, 1), kwargs={"at": AT + timedelta(minutes=5)})
            writer.start()
            writer.join(timeout=20)
            assert not writer.is_alive(), "the registration waited for the planning drainer"
        return original(session, order, **kw)

    monkeypatch.setattr(tagger, "plan_one", interrupted)
    n, busy, more = queue.drain_once(db, gentle=True)
    assert (n, busy, more) == (1, False, True)
    assert planned == [first, first]  # the first plan's writes were refused; planned again
    with db.reading() as session:
        profile = session.get(OrderRiskProfile, first)
        assert profile is not None
        caller = session.scalars(select(RiskSubject).where(RiskSubject.kind == "caller")).one()
        assert caller.order_count == 1  # counted once, though planned twice
    monkeypatch.setattr(tagger, "plan_one", original)
    assert queue.drain(db, gentle=True) == 1
    assert count(db, TagQueueEntry) == 0
    with db.reading() as session:
        caller = session.scalars(select(RiskSubject).where(RiskSubject.kind == "caller")).one()
        assert caller.order_count == 2
        assert count(db, SubjectLink, SubjectLink.subject_id == caller.id) == 2


def test_an_optimistic_unit_of_work_writes_nothing_when_its_snapshot_is_stale(db: Database) -> None:
    """The database side of the above: reads, another writer commits, then a write: refused with
    StaleSnapshot and rolled back; with no commit in between the same writes land."""
    if not db.is_sqlite:
        pytest.skip("SQLite's snapshot rule; PostgreSQL runs a plain unit of work")
    ids = register(db, 1)
    with pytest.raises(StaleSnapshot), db.optimistic_unit_of_work() as (session, lock):
        assert queue_repository.queue_length(session) == 1  # the snapshot starts here
        register(db, 1, at=AT + timedelta(hours=1))  # another connection commits
        lock()
        queue_repository.dequeue(session, ids)
    assert count(db, TagQueueEntry) == 2  # nothing of the refused transaction was written
    with db.optimistic_unit_of_work() as (session, lock):
        assert queue_repository.queue_length(session) == 2
        lock()
        queue_repository.dequeue(session, ids)
    assert count(db, TagQueueEntry) == 1


def test_a_rolled_back_registration_queues_nothing(db: Database) -> None:
    with pytest.raises(RuntimeError):
        register(db, 2, fail=True)
    assert count(db, TagQueueEntry) == 0


def test_parallel_drainers_tag_every_order_exactly_once(db: Database) -> None:
    """Four threads drain 40 queued orders of one caller at once (small batches, so they
    compete): every order gets one profile and one link per subject; the caller counts 40."""
    ids = register(db, 40)
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def drain() -> None:
        try:
            start.wait(timeout=30)
            for _ in range(20):
                queue.drain(db, limit=3)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=drain) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    queue.settle(db)
    assert errors == []
    assert count(db, TagQueueEntry) == 0
    assert count(db, OrderRiskProfile, OrderRiskProfile.order_id.in_(ids)) == 40
    with db.reading() as session:
        caller = session.scalars(select(RiskSubject).where(RiskSubject.kind == "caller")).one()
        assert caller.order_count == 40
        links = session.scalar(select(func.count()).select_from(SubjectLink).where(SubjectLink.subject_id == caller.id))
        assert links == 40


def test_an_order_that_fails_to_tag_does_not_block_the_others(db: Database, monkeypatch: pytest.MonkeyPatch,
                                                               caplog: pytest.LogCaptureFixture) -> None:
    ids = register(db, 5)
    bad = ids[2]
    real = tagger.tag_batch

    def flaky(session: Any, batch: Any, *, now: datetime) -> Any:
        if any(o.id == bad for o in batch):
            raise ValueError("boom")
        return real(session, batch, now=now)

    monkeypatch.setattr(tagger, "tag_batch", flaky)
    assert queue.drain(db) == 5
    assert count(db, TagQueueEntry) == 0
    tagged = {i for i in ids if count(db, OrderRiskProfile, OrderRiskProfile.order_id == i)}
    assert tagged == set(ids) - {bad}
    assert "dropped from the queue" in caplog.text


def test_a_queued_order_is_left_to_the_drainer_by_retag(db: Database) -> None:
    """A transition on an order still queued does not tag it inline (that would link its subjects
    twice); the drainer later tags it once, with its counts as they are then."""
    [order_id] = register(db, 1)
    with db.unit_of_work() as session:
        order = orders_repository.get_by_id(session, order_id)
        assert order is not None
        assert tagger.retag_order(session, order, now=AT) == []
    assert count(db, OrderRiskProfile) == 0
    queue.drain(db)
    assert count(db, OrderRiskProfile) == 1 and count(db, SubjectLink) >= 1
    with db.unit_of_work() as session:
        order = orders_repository.get_by_id(session, order_id)
        assert order is not None
        tagger.retag_order(session, order, now=AT)  # tagged now: an ordinary re-tag, no new links
    with db.reading() as session:
        assert session.scalar(select(func.count()).select_from(SubjectLink).where(SubjectLink.order_id == order_id)) == 2


def test_the_drain_job_and_the_scan_pick_up_what_no_drainer_did(state: AppState, db: Database) -> None:
    register(db, 2)
    assert run_once(state, "risk.drain") == {"tagged": 2}
    register(db, 1, phone="13800001111")
    run_once(state, "risk.scan")
    assert count(db, TagQueueEntry) == 0 and count(db, OrderRiskProfile) == 3


def test_the_scan_feeds_an_order_only_once_it_is_tagged(state: AppState, db: Database,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """An order another drainer is still tagging (here: nobody drains) is held back from the
    detectors, and fed by the next scan once tagged, with its tags and subjects."""
    from minxin.risk.scanner import Scanner

    [first] = register(db, 1)
    queue.drain(db)
    monkeypatch.setattr(queue, "settle", lambda *a, **k: 0)
    [held] = register(db, 1, phone="13800002222", at=AT + timedelta(minutes=30))
    scanner = Scanner(db)
    loaded: list[set[str]] = []
    real_load = scanner._load

    def load(session: Any, since: datetime, until: datetime) -> Any:
        events = real_load(session, since, until)
        loaded.append({e.order_id for e in events})
        return events

    monkeypatch.setattr(scanner, "_load", load)
    scanner.run(AT + timedelta(hours=1))
    assert str(first) in loaded[-1] and str(held) not in loaded[-1]
    queue.drain(db)
    scanner.run(AT + timedelta(hours=2))
    assert str(held) in loaded[-1]


def test_a_drainer_and_retags_of_related_orders_at_once(db: Database) -> None:
    """Transitions lock their order, then (re-tagging) its subjects in key order; a drain batch
    locks its subjects up front in key order and skips orders a transition holds. Run both at
    once over orders sharing callers and addresses, queued and tagged, several rounds: nothing
    deadlocks or fails, and every order ends up tagged once."""
    tagged_ids = register(db, 12, mix=3)
    queue.drain(db)
    errors: list[BaseException] = []
    for round_ in range(3):
        queued = register(db, 12, at=AT + timedelta(hours=round_ + 1), mix=3)  # crossing subjects
        start = threading.Barrier(3)

        def drain(start: threading.Barrier = start) -> None:
            try:
                start.wait(timeout=30)
                queue.drain(db, limit=4)
            except BaseException as exc:
                errors.append(exc)

        def retag(ids: list[int], start: threading.Barrier = start, at: datetime = AT + timedelta(hours=round_ + 1)) -> None:
            try:
                start.wait(timeout=30)
                for order_id in ids:
                    with db.unit_of_work() as session:  # as a transition does: the order locked first
                        number = orders_repository.get_by_id(session, order_id).number  # type: ignore[union-attr]
                        order = orders_repository.get_by_number(session, number, for_update=True)
                        assert order is not None
                        tagger.retag_order(session, order, now=at)
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=drain), threading.Thread(target=retag, args=(tagged_ids[::2] + queued[::2],)),
                   threading.Thread(target=retag, args=(queued[1::2] + tagged_ids[1::2],))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        queue.settle(db)
    assert errors == []
    assert count(db, TagQueueEntry) == 0 and count(db, OrderRiskProfile) == 48


def test_cli_drain_tags_what_is_queued(db: Database, db_url: str) -> None:
    import json

    from tests.risk.test_scanner import _cli

    register(db, 2)
    done = _cli("risk", "drain", db_url=db_url)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {"tagged": 2, "queued": 0}
    assert count(db, OrderRiskProfile) == 2
