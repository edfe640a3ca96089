"""A replayed stream through the whole system: three weeks of ordinary orders registered through the
work-order service (hooks and all) with planted events in the last week, scanned every hour as
``minxin serve`` would. Each planted event must raise exactly one alert holding all its orders
within its stated delay, and nothing else may alarm. The same stream scanned only once at the end
(a cold first scan, no watermark) must give the same alerts.

Stated delays (``minxin.core.risk.detectors``) with hourly scans: a cluster, a repeat caller and a
handling loop within the hour after the event that makes them detectable; a spike by the first
scan after the local midnight of its day (end-of-day look: this short history has too few
orders for intraday looks).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from minxin.accounts import repository as accounts_repository
from minxin.accounts import service as accounts_service
from minxin.accounts.principal import Principal
from minxin.api.state import AppState
from minxin.core.clock import FixedClock
from minxin.core.vocabulary import Role
from minxin.risk import alert_repository, tasks
from minxin.risk.scanner import Scanner
from minxin.workorders import service
from minxin.workorders.schemas import OrderCreate

TZ = ZoneInfo("Asia/Shanghai")
DAY0 = datetime(2026, 10, 12, tzinfo=TZ)  # a Monday; three ordinary weeks follow
DISTRICTS = [("和平区", "太原街"), ("铁西区", "兴工街道"), ("新民市", "城区"), ("康平县", "城区"), ("法库县", "城区")]
TOPICS = [
    ("010101", "道路破损", "{d}{s}{c}门前道路有坑，车辆经过很危险"),
    ("020103", "噪音扰民", "{d}{s}{c}附近夜间施工噪音很大，影响休息"),
    ("020201", "垃圾清运", "{d}{s}{c}小区垃圾多日未清运，气味很大"),
    ("010201", "物业服务", "{d}{s}{c}楼道灯坏了没人修，物业不作为"),
    ("030101", "公交服务", "{d}{s}附近公交车到站不停，司机态度差"),
    ("080202", "水质问题", "{d}{s}{c}自来水发黄，有异味"),
]
COMMUNITIES = ["幸福里", "锦绣花园", "阳光新城", "金桂苑", "翠湖湾", "华庭雅苑", "书香门第", "滨江一号", "城市花园", "紫荆苑"]


@dataclass
class Stream:
    rng: random.Random
    events: list[tuple[datetime, str, dict[str, Any]]] = field(default_factory=list)
    phone: int = 0

    def order(self, at: datetime, key: str, *, title: str, content: str, address: str, category: str,
              phone: str | None = None) -> None:
        self.phone += 1
        self.events.append((at, "register", {
            "key": key, "title": title, "content": content, "address": address, "category": category,
            "phone": phone or f"139{self.phone:08d}",
        }))


def build(seed: int = 7) -> tuple[Stream, dict[str, dict[str, Any]]]:
    rng = random.Random(seed)
    stream = Stream(rng)
    for day in range(21):
        for i in range(28):
            at = DAY0 + timedelta(days=day, hours=8 + rng.random() * 12)
            d, s = rng.choice(DISTRICTS)
            category, title, text = rng.choice(TOPICS)
            c = rng.choice(COMMUNITIES)
            stream.order(at, f"bg-{day}-{i}", title=title, content=text.format(d=d, s=s, c=c),
                         address=f"沈阳市{d}{s}{c}{rng.randint(1, 99)}号{rng.randint(1, 30)}单元", category=category)
    planted: dict[str, dict[str, Any]] = {}
    # a cluster: 25 outage calls in 50 minutes from one town (day 17, 10:00)
    t0 = DAY0 + timedelta(days=17, hours=10)
    villages = ["于家村", "刘家村", "王家村", "前进村", "东街", "西街", "南岗村", "北岗村"]
    for i in range(25):
        v = villages[i % len(villages)]
        stream.order(t0 + timedelta(minutes=2 * i), f"cluster-{i}", title="茨榆坨镇停电",
                     content=f"来电人反映辽中区茨榆坨镇{v}{i + 1}号一带从早上开始停电，至今没有来电，请尽快抢修。",
                     address=f"沈阳市辽中区茨榆坨镇{v}{i + 1}号", category="080101")
    planted["cluster"] = {"keys": [f"cluster-{i}" for i in range(25)], "trigger": t0 + timedelta(minutes=48),
                          "budget": timedelta(hours=1)}
    # a repeat caller: three calls in nine days
    for i, day in enumerate((15, 19, 20)):
        stream.order(DAY0 + timedelta(days=day, hours=9, minutes=13), f"repeat-{i}", title="供暖不热",
                     content="新民市城区家里暖气还是不热，之前反映过没人处理", address=f"沈阳市新民市城区红旗小区{i + 3}号楼",
                     category="080301", phone="13712345678")
    planted["repeat"] = {"keys": ["repeat-0", "repeat-1", "repeat-2"],
                         "trigger": DAY0 + timedelta(days=20, hours=9, minutes=13), "budget": timedelta(hours=1)}
    # a spike: 14 extra road complaints in one district over day 18 (one an hour, varied places)
    for i in range(14):
        c = COMMUNITIES[i % len(COMMUNITIES)]
        stream.order(DAY0 + timedelta(days=18, hours=7, minutes=50 * i), f"spike-{i}", title="道路破损",
                     content=f"康平县城区{c}附近第{i + 1}段路面塌陷，{['井盖松动', '沥青开裂', '积水很深'][i % 3]}",
                     address=f"沈阳市康平县城区{c}{i + 40}号", category="010101")
    planted["spike"] = {"keys": [f"spike-{i}" for i in range(14)], "subset": True,
                        "trigger": DAY0 + timedelta(days=18, hours=7), "budget": timedelta(hours=24)}
    # a handling loop: one order returned three times (day 16)
    t1 = DAY0 + timedelta(days=16, hours=9)
    stream.order(t1, "loop", title="井盖缺失", content="法库县城区建设路井盖丢失很危险", address="沈阳市法库县城区建设路8号",
                 category="010103")
    for k in range(3):
        stream.events.append((t1 + timedelta(hours=2 * k + 1), "bounce", {"key": "loop"}))
    planted["chain"] = {"keys": ["loop"], "trigger": t1 + timedelta(hours=5), "budget": timedelta(hours=1)}
    stream.events.sort(key=lambda e: e[0])
    return stream, planted


def principal(state: AppState, username: str) -> Principal:
    with state.db.reading() as session:
        user = accounts_repository.get_by_username(session, username)
        assert user is not None
        return accounts_service.load_principal(session, user.id, user.token_version)


def hours(start: datetime, end: datetime) -> Iterator[datetime]:
    t = start.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    while t <= end:
        yield t
        t += timedelta(hours=1)


def replay(state: AppState, clock: FixedClock, stream: Stream, *, scan_hourly: bool) -> dict[str, str]:
    agent, dispatcher, handler = (principal(state, u) for u in ("agent", "dispatcher", "fk_handler"))
    numbers: dict[str, str] = {}
    scans = hours(stream.events[0][0], stream.events[-1][0] + timedelta(days=1, hours=1))
    next_scan = next(scans)

    def run(at: datetime, name: str, action: str, body: dict[str, Any], actor: Principal) -> None:
        clock.current = at.astimezone(UTC)
        with state.db.unit_of_work() as session:
            service.act(session, name, action, body, actor=actor, now=clock.current, settings=state.order_settings)

    for at, kind, data in stream.events:
        while scan_hourly and next_scan <= at:
            clock.current = next_scan.astimezone(UTC)
            tasks.scan(state)
            next_scan = next(scans)
        clock.current = at.astimezone(UTC)
        if kind == "register":
            body = OrderCreate.model_validate({
                "channel": "phone", "appeal_type": "complaint", "title": data["title"], "content": data["content"],
                "citizen": {"name": "市民", "phone": data["phone"]}, "address": data["address"], "category": data["category"],
            })
            with state.db.unit_of_work() as session:
                order, _ = service.register(session, body, actor=agent, now=clock.current, settings=state.order_settings)
                numbers[data["key"]] = order.number
        else:
            number = numbers[data["key"]]
            run(at, number, "dispatch", {"unit": "GD-FK"}, dispatcher)
            run(at + timedelta(minutes=20), number, "return", {"reason": "不属于本单位"}, handler)
            run(at + timedelta(minutes=40), number, "review_return", {"approve": True}, dispatcher)
    for at in scans if scan_hourly else ():
        clock.current = at.astimezone(UTC)
        tasks.scan(state)
    if not scan_hourly:
        Scanner(state.db).run(clock.current)
    return numbers


def alerts_by_orders(state: AppState) -> list[tuple[Any, set[str]]]:
    with state.db.reading() as session:
        everyone = Principal(None, "test", "test", Role.ADMIN, 0, "", "/")
        rows = alert_repository.search(session, everyone, alert_repository.AlertFilter(), offset=0, limit=1000)[0]
        return [(a, {o.number for _, o in alert_repository.alert_orders(session, a.id)}) for a in rows]


def check(state: AppState, numbers: dict[str, str], planted: dict[str, dict[str, Any]], *, timed: bool) -> None:
    found = alerts_by_orders(state)
    used: set[int] = set()
    for name, p in planted.items():
        want = {numbers[k] for k in p["keys"]}
        if p["keys"] == ["loop"]:
            hits = [(a, o) for a, o in found if a.detector == "chain" and want <= o]
        elif p.get("subset"):
            hits = [(a, o) for a, o in found if len(want & o) >= len(want) // 2]
        else:
            hits = [(a, o) for a, o in found if want & o]
        assert len(hits) == 1, (name, [(a.detector, a.label_code, len(o)) for a, o in hits])
        alert, orders = hits[0]
        assert want <= orders, (name, sorted(want - orders))
        if timed:
            assert alert.pushed_at <= p["trigger"] + p["budget"], (name, alert.pushed_at, p["trigger"])
        used.add(alert.id)
    extra = [(a.detector, a.label_code, a.region, len(o)) for a, o in found if a.id not in used]
    assert extra == [], f"ordinary orders alarmed: {extra}"


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(DAY0.astimezone(UTC))


def test_planted_events_each_raise_one_alert_in_time(state: AppState, clock: FixedClock) -> None:
    stream, planted = build()
    numbers = replay(state, clock, stream, scan_hourly=True)
    check(state, numbers, planted, timed=True)


def test_one_cold_scan_after_the_replay_finds_the_same(state: AppState, clock: FixedClock) -> None:
    stream, planted = build()
    numbers = replay(state, clock, stream, scan_hourly=False)
    check(state, numbers, planted, timed=False)
