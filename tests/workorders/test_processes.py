"""Several server processes writing one database: every registration lands once, numbered once.

On SQLite the processes queue on the writer file lock beside the database
(:class:`minxin.db.session._WriterFileLock`) instead of SQLite's busy handler; on PostgreSQL on
the per-day number row. Real processes (``spawn``), real registrations through the service.
"""

from __future__ import annotations

import multiprocessing
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from minxin.db.session import Database
from minxin.workorders.models import WorkOrder

PER_PROCESS = 25


def _register_many(url: str, tag: str) -> list[str]:
    from datetime import UTC, datetime

    from minxin import wiring
    from minxin.accounts import repository as accounts_repository
    from minxin.accounts import service as accounts_service
    from minxin.workorders import service as orders
    from minxin.workorders.schemas import OrderCreate

    wiring.install()
    db = Database(url)
    with db.reading() as session:
        user = accounts_repository.get_by_username(session, "agent")
        assert user is not None
        agent = accounts_service.principal_of(user)
    numbers = []
    for i in range(PER_PROCESS):
        data = OrderCreate.model_validate({
            "channel": "phone", "appeal_type": "repair", "title": f"{tag}停电{i}", "content": "小区停电，请尽快抢修",
            "citizen": {"name": "市民", "phone": "13900001111"}, "address": "沈阳市辽中区蒲东街道阳光花园3号楼",
        })
        with db.unit_of_work() as session:
            order, _ = orders.register(session, data, actor=agent, now=datetime.now(UTC),
                                       settings=orders.Settings(timezone=ZoneInfo("Asia/Shanghai")))
            numbers.append(order.number)
    db.dispose()
    return numbers


def test_three_processes_register_at_once(db_url: str) -> None:
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(3) as pool:
        results = pool.starmap(_register_many, [(db_url, tag) for tag in "ABC"])
    numbers = [n for batch in results for n in batch]
    assert len(numbers) == 3 * PER_PROCESS == len(set(numbers))
    db = Database(db_url)
    with db.reading() as session:
        assert session.scalar(select(func.count()).select_from(WorkOrder)) == 3 * PER_PROCESS
    db.dispose()
