"""Transfers between hotlines (idempotent on the sender's id, linked both ways, status reported
back through webhooks) and emergency hand-offs to 110/119/120."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import func, select

from minxin.core.clock import FixedClock
from minxin.jobs.registry import run_once
from minxin.workorders.models import WorkOrder
from tests.helpers import act, error_code, new_order
from tests.integrations.receiver import Receiver

ORDER = {"appeal_type": "repair", "title": "辽中区茨榆坨镇停电", "content": "95598 转来：于家村停电，请 12345 协调。",
         "citizen": {"name": "赵女士", "phone": "13900001111"}, "address": "沈阳市辽中区茨榆坨镇于家村", "urgency": "urgent"}


def transfer(sender_id: str = "GD20261120001", **extra: Any) -> dict[str, Any]:
    return {"sender": "95598", "sender_id": sender_id, "order": ORDER, "sender_unit": "国网沈阳供电公司"} | extra


def count_orders(state: Any) -> int:
    with state.db.reading() as session:
        return int(session.scalar(select(func.count()).select_from(WorkOrder)) or 0)


def test_a_repeated_transfer_returns_the_same_order(
    make_key: Callable[..., dict[str, Any]], machine: Callable[..., httpx.Client], state: Any,
    as_user: Callable[[str], httpx.Client],
) -> None:
    client = machine(make_key()["api_key"])
    first = client.post("/api/v1/transfers", json=transfer())
    assert first.status_code == 201, first.text
    again = client.post("/api/v1/transfers", json=transfer())
    assert again.status_code == 200 and again.headers["idempotent-replayed"] == "true"
    assert again.json()["number"] == first.json()["number"]
    assert count_orders(state) == 1
    number = first.json()["number"]
    detail = as_user("dispatcher").get(f"/api/v1/orders/{number}").json()
    assert detail["channel"] == "transfer" and detail["urgency"] == "urgent"
    assert detail["integrations"]["transfers"][0]["external_id"] == "GD20261120001"
    assert detail["extra"]["transfer"]["sender_unit"] == "国网沈阳供电公司"
    found = client.get("/api/v1/transfers/95598/GD20261120001")
    assert found.status_code == 200 and found.json()["number"] == number
    assert client.get("/api/v1/transfers/95598/UNKNOWN").status_code == 404


def test_concurrent_repeats_create_one_order(make_key: Callable[..., dict[str, Any]], server: Any, state: Any) -> None:
    raw = make_key()["api_key"]
    results: list[httpx.Response] = []

    def push() -> None:
        with httpx.Client(base_url=server.url, headers={"X-API-Key": raw}, timeout=60) as c:
            results.append(c.post("/api/v1/transfers", json=transfer("RACE-1")))

    threads = [threading.Thread(target=push) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.status_code for r in results) == [200, 200, 200, 201], [r.text for r in results]
    assert len({r.json()["number"] for r in results}) == 1
    assert count_orders(state) == 1


def test_sender_must_match_the_key_and_bodies_are_checked(
    make_key: Callable[..., dict[str, Any]], machine: Callable[..., httpx.Client], as_user: Callable[[str], httpx.Client]
) -> None:
    client = machine(make_key()["api_key"])
    wrong = client.post("/api/v1/transfers", json=transfer() | {"sender": "110"})
    assert wrong.status_code == 403 and error_code(wrong) == "transfer.wrong_sender"
    assert client.post("/api/v1/transfers", json=transfer() | {"order": {"title": "x"}}).status_code == 422
    assert client.post("/api/v1/transfers", json=transfer() | {"sender": "bad sender!"}).status_code == 422
    police = machine(make_key(name="110 非警情", system="110")["api_key"])
    assert police.post("/api/v1/transfers", json=transfer("110-7") | {"sender": "110"}).status_code == 201
    # a person may also register a transfer received by phone
    by_hand = as_user("agent").post("/api/v1/transfers", json=transfer("PHONE-1") | {"sender": "12315"})
    assert by_hand.status_code == 201


def test_status_changes_go_back_to_the_sender(
    make_key: Callable[..., dict[str, Any]], machine: Callable[..., httpx.Client], admin: httpx.Client,
    as_user: Callable[[str], httpx.Client], receiver: Receiver, state: Any, clock: FixedClock,
) -> None:
    key = make_key()
    receiver.start()
    admin.post("/api/v1/integrations/webhooks", json={"name": "95598", "url": receiver.url, "api_key_id": key["id"]})
    client = machine(key["api_key"])
    number = client.post("/api/v1/transfers", json=transfer()).json()["number"]
    other = new_order(as_user("agent"))["number"]
    act(as_user("dispatcher"), number, "dispatch", {"unit": "GD-LZ"})
    act(as_user("dispatcher"), other, "dispatch", {"unit": "GD-LZ"})
    clock.advance(timedelta(minutes=5))
    progress = client.post("/api/v1/transfers/95598/GD20261120001/updates", json={"text": "用户再次来电催促", "status": "催办"})
    assert progress.status_code == 200
    run_once(state, "webhooks.deliver")
    got = receiver.events()
    assert {e["data"]["number"] for e in got} == {number}
    assert [e["event"] for e in got] == ["order.created", "order.dispatched", "order.updated"]
    assert got[1]["data"]["transfers"] == [{"direction": "inbound", "system": "95598", "external_id": "GD20261120001"}]
    timeline = as_user("dispatcher").get(f"/api/v1/orders/{number}").json()["events"]
    assert timeline[-1]["payload"]["text"].startswith("[95598 催办] 用户再次来电催促")


def test_outbound_transfer_and_acknowledgement(
    make_key: Callable[..., dict[str, Any]], machine: Callable[..., httpx.Client], admin: httpx.Client,
    as_user: Callable[[str], httpx.Client], receiver: Receiver, state: Any,
) -> None:
    key = make_key()
    receiver.start()
    admin.post("/api/v1/integrations/webhooks", json={"name": "95598", "url": receiver.url, "api_key_id": key["id"],
                                                      "event_types": ["transfer.outbound"]})
    number = new_order(as_user("agent"))["number"]
    sent = as_user("dispatcher").post(f"/api/v1/orders/{number}/transfers", json={"target": "95598", "note": "属供电抢修"})
    assert sent.status_code == 201, sent.text
    link = sent.json()
    assert link["direction"] == "outbound" and link["external_id"] is None
    assert as_user("cgj_handler").post(f"/api/v1/orders/{number}/transfers", json={"target": "95598"}).status_code in (403, 404)
    run_once(state, "webhooks.deliver")
    [event] = receiver.events()
    assert event["event"] == "transfer.outbound" and event["data"]["order"]["content"] and event["data"]["target"] == "95598"
    client = machine(key["api_key"])
    ack = client.post(f"/api/v1/transfers/outbound/{link['id']}/ack", json={"external_id": "GD-OUT-9"})
    assert ack.status_code == 200 and ack.json()["external_id"] == "GD-OUT-9"
    assert client.get("/api/v1/transfers/95598/GD-OUT-9").json()["number"] == number
    other = machine(make_key(name="110", system="110")["api_key"])
    assert other.post(f"/api/v1/transfers/outbound/{link['id']}/ack", json={"external_id": "X"}).status_code == 404


def test_emergency_handoff_is_recorded_with_its_time(
    as_user: Callable[[str], httpx.Client], clock: FixedClock, admin: httpx.Client, receiver: Receiver, state: Any
) -> None:
    receiver.start()
    admin.post("/api/v1/integrations/webhooks", json={"name": "all", "url": receiver.url, "event_types": ["order.handoff"]})
    agent = as_user("agent")
    number = new_order(agent, content="小区配电箱冒烟起火，有人被困")["number"]
    at = (clock.now() - timedelta(minutes=3)).isoformat()
    response = agent.post(f"/api/v1/orders/{number}/handoff", json={"target": 119, "note": "已转接119", "at": at})
    assert response.status_code == 201, response.text
    row = response.json()
    assert row["target"] == "119" and datetime.fromisoformat(row["at"]) == datetime.fromisoformat(at)
    assert agent.post(f"/api/v1/orders/{number}/handoff", json={"target": "120"}).status_code == 201
    assert agent.post(f"/api/v1/orders/{number}/handoff", json={"target": "999"}).status_code == 422
    future = (clock.now() + timedelta(hours=1)).isoformat()
    assert agent.post(f"/api/v1/orders/{number}/handoff", json={"target": "110", "at": future}).status_code == 422
    assert as_user("leader").post(f"/api/v1/orders/{number}/handoff", json={"target": "110"}).status_code == 403
    listed = agent.get(f"/api/v1/orders/{number}/handoffs").json()
    assert [h["target"] for h in listed] == ["119", "120"]
    detail = agent.get(f"/api/v1/orders/{number}").json()
    assert [h["target"] for h in detail["integrations"]["handoffs"]] == ["119", "120"]
    assert detail["events"][-2]["payload"]["text"].startswith("紧急移交消防119")
    run_once(state, "webhooks.deliver")
    assert [e["data"]["target"] for e in receiver.events()] == ["119", "120"]
