"""The process-wide duplicate index: built in the background from open + recent orders, kept
current only by *committed* registrations and status changes, replaying what arrived while
it was being built."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from minxin import wiring
from minxin.accounts import repository as accounts_repository
from minxin.accounts import service as accounts_service
from minxin.accounts.principal import Principal
from minxin.db.session import Database
from minxin.intake import duplicate_store as dupes
from minxin.intake.duplicates import DuplicateIndex
from minxin.workorders import service as orders
from minxin.workorders.schemas import OrderCreate
from minxin.workorders.service import Settings

NOW = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)
SETTINGS = Settings(timezone=ZoneInfo("Asia/Shanghai"))


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    wiring.install()  # the intake hooks keep the index current
    database = Database(db_url)
    yield database
    database.dispose()


def principal(db: Database, username: str) -> Principal:
    with db.reading() as session:
        user = accounts_repository.get_by_username(session, username)
        assert user is not None
        return accounts_service.principal_of(user)


def register(db: Database, title: str, phone: str, at: datetime = NOW, *, fail: bool = False) -> int:
    data = OrderCreate(channel="phone", appeal_type="complaint", title=title, content=title + "，请尽快处理",
                       citizen={"name": "测试", "phone": phone}, category="080101")
    agent = principal(db, "agent")
    with db.unit_of_work() as session:
        order, _ = orders.register(session, data, actor=agent, now=at, settings=SETTINGS)
        if fail:
            raise RuntimeError("roll back")
        return order.id


def found(h: dupes.Holder, phone: str) -> list[int]:
    result = h.search("", "", phone, None, NOW + timedelta(minutes=1))
    assert result is not None
    return [m.order_id for m in result.matches]


def test_build_then_only_committed_changes_reach_the_index(db: Database) -> None:
    old = register(db, "很久以前的停电", "13900000001", NOW - timedelta(days=90))
    with db.unit_of_work() as session:  # closed long ago: out of the window
        orders.act(session, _number(db, old), "void", {"reason": "测试"}, actor=principal(db, "supervisor"), now=NOW - timedelta(days=89),
                   settings=SETTINGS)
    recent = register(db, "最近的停电", "13900000002")
    h = dupes.holder(str(db.engine.url))
    assert h.state == "absent" and h.search("停电", "", None, None, NOW) is None
    dupes.ensure(db, NOW, wait=True)
    assert h.state == "ready" and len(h.index or []) == 1
    assert found(h, "13900000002") == [recent] and found(h, "13900000001") == []

    later = register(db, "又停电了", "13900000003")
    assert found(h, "13900000003") == [later]  # added after commit
    with pytest.raises(RuntimeError):
        register(db, "回滚的工单", "13900000004", fail=True)
    assert found(h, "13900000004") == []  # rolled back: never added

    with db.unit_of_work() as session:
        orders.act(session, _number(db, later), "void", {"reason": "重复"}, actor=principal(db, "supervisor"), now=NOW,
                   settings=SETTINGS)
    result = h.search("", "", "13900000003", None, NOW + timedelta(days=40))
    assert result is not None and result.matches == []  # closed and out of the window now


def test_changes_during_a_build_are_replayed(db: Database) -> None:
    key = str(db.engine.url)
    h = dupes.holder(key)
    with h.lock:
        h.state = "building"  # as if the background build had just started
    during = register(db, "构建期间登记的工单", "13900000005")
    assert h.pending and h.pending[0][0] == "add"
    dupes.install(key, DuplicateIndex.build([], dupes.config()))
    assert h.state == "ready" and found(h, "13900000005") == [during] and h.pending == []


def test_address_key_settles_the_same_place(db: Database) -> None:
    key = dupes.address_key_for("2101")
    assert key("沈阳市铁西区兴华街5号楼") == key("铁西区兴华街5栋")
    assert key("沈阳市辽中区茨榆坨镇于家村") != key("沈阳市新民市于家村")


def _number(db: Database, order_id: int) -> str:
    from minxin.workorders.models import WorkOrder

    with db.reading() as session:
        order = session.get(WorkOrder, order_id)
        assert order is not None
        return order.number
