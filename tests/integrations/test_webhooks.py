"""Outbound webhooks: delivered after commit, signed, retried with backoff while the receiver is
down (nothing lost), dead after the last attempt, listed and replayed by admins. Time moves on
the fixed clock; nothing sleeps."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx

from minxin.core.clock import FixedClock
from minxin.integrations import webhooks
from minxin.jobs.registry import run_once
from tests.helpers import act, new_order
from tests.integrations.receiver import Receiver


def subscribe(admin: httpx.Client, url: str, **extra: Any) -> dict[str, Any]:
    response = admin.post("/api/v1/integrations/webhooks", json={"name": "receiver", "url": url} | extra)
    assert response.status_code == 201, response.text
    return dict(response.json())


def deliver(state: Any) -> dict[str, Any]:
    return run_once(state, "webhooks.deliver") or {}


def test_events_are_delivered_signed_and_versioned(
    admin: httpx.Client, as_user: Callable[[str], httpx.Client], receiver: Receiver, state: Any, clock: FixedClock
) -> None:
    receiver.start()
    sub = subscribe(admin, receiver.url)
    agent, dispatcher, handler = as_user("agent"), as_user("dispatcher"), as_user("cgj_handler")
    number = new_order(agent, category="020201")["number"]
    act(dispatcher, number, "dispatch", {"unit": "CGJ"})
    act(handler, number, "sign")
    assert deliver(state)["delivered"] == 3
    events = receiver.events()
    assert [e["event"] for e in events] == ["order.created", "order.dispatched", "order.signed"]
    first = events[0]
    assert first["version"] == 1 and first["id"].startswith("evt_") and first["occurred_at"].endswith("Z")
    assert first["data"]["number"] == number and first["data"]["channel"] == "phone"
    assert "13812345678" not in str(events)  # identifiers and the change, never personal data
    for got in receiver.received:
        assert got.headers["content-type"] == "application/json"
        assert webhooks.verify(sub["secret"], got.headers["x-minxin-signature"], got.body, now=clock.now())
        assert not webhooks.verify("whsec_wrong", got.headers["x-minxin-signature"], got.body)
        assert got.headers["x-minxin-event-id"] == got.json["id"]
    assert deliver(state) == {}  # nothing left, nothing sent twice


def test_receiver_down_for_an_hour_loses_nothing(
    admin: httpx.Client, as_user: Callable[[str], httpx.Client], receiver: Receiver, state: Any, clock: FixedClock
) -> None:
    subscribe(admin, receiver.url, event_types=["order.created", "order.dispatched"])
    agent, dispatcher = as_user("agent"), as_user("dispatcher")
    numbers = [new_order(agent)["number"] for _ in range(3)]
    act(dispatcher, numbers[0], "dispatch", {"unit": "GDGS"})
    act(agent, numbers[1], "note", {"text": "not subscribed"})
    assert deliver(state)["failed"] == 4  # receiver down
    start = clock.now()
    while clock.now() - start < timedelta(hours=1):
        clock.advance(timedelta(seconds=30))
        deliver(state)
    receiver.status = 503  # up but broken for a while: still failures
    receiver.start()
    clock.advance(timedelta(hours=1))
    deliver(state)
    assert receiver.received == []
    receiver.status = 200
    clock.advance(timedelta(hours=1))
    assert deliver(state)["delivered"] == 4
    got = receiver.events()
    assert sorted((e["data"]["number"], e["event"]) for e in got) == sorted(
        [(n, "order.created") for n in numbers] + [(numbers[0], "order.dispatched")])
    assert len({e["id"] for e in got}) == 4
    listed = admin.get("/api/v1/integrations/deliveries", params={"state": "delivered"}).json()["items"]
    assert len(listed) == 4 and all(d["attempts"] >= 8 for d in listed)


def test_dead_letters_after_the_last_attempt_then_replay(
    admin: httpx.Client, as_user: Callable[[str], httpx.Client], receiver: Receiver, state: Any, clock: FixedClock
) -> None:
    sub = subscribe(admin, receiver.url)
    number = new_order(as_user("agent"))["number"]
    attempts = 0
    while not admin.get("/api/v1/integrations/deliveries/dead").json()["items"]:
        result = deliver(state)
        attempts += result.get("failed", 0)
        clock.advance(webhooks.backoff(max(attempts, 1)))
        assert attempts <= webhooks.MAX_ATTEMPTS
    assert attempts == webhooks.MAX_ATTEMPTS
    assert webhooks.total_retry_window() > timedelta(hours=5)
    [dead] = admin.get("/api/v1/integrations/deliveries", params={"state": "dead"}).json()["items"]
    assert dead["attempts"] == webhooks.MAX_ATTEMPTS and dead["last_error"] and dead["payload"]["data"]["number"] == number
    clock.advance(timedelta(days=1))
    assert deliver(state) == {}  # dead stays dead
    receiver.start()
    replayed = admin.post(f"/api/v1/integrations/deliveries/{dead['id']}/replay").json()
    assert replayed["state"] == "pending" and replayed["attempts"] == 0
    assert deliver(state)["delivered"] == 1
    [got] = receiver.received
    assert got.json["id"] == dead["event_id"]
    assert webhooks.verify(sub["secret"], got.headers["x-minxin-signature"], got.body)
    assert admin.post("/api/v1/integrations/deliveries/replay", json={}).json() == {"replayed": 0}


def test_scopes_pause_and_ping(
    admin: httpx.Client, as_user: Callable[[str], httpx.Client], receiver: Receiver, state: Any,
    make_key: Callable[..., dict[str, Any]],
) -> None:
    receiver.start()
    county = subscribe(admin, receiver.url, unit="GD-LZ", name="辽中")
    key = make_key()
    mine = subscribe(admin, receiver.url, api_key_id=key["id"], name="95598")
    agent, dispatcher = as_user("agent"), as_user("dispatcher")
    elsewhere = new_order(agent)["number"]
    act(dispatcher, elsewhere, "dispatch", {"unit": "CGJ"})
    ours = new_order(agent)["number"]
    act(dispatcher, ours, "dispatch", {"unit": "GD-LZ"})
    deliver(state)
    assert {(e["data"]["number"], e["event"]) for e in receiver.events()} == {(ours, "order.created"),
                                                                             (ours, "order.dispatched")}
    assert receiver.received and all(
        webhooks.verify(county["secret"], r.headers["x-minxin-signature"], r.body) for r in receiver.received)
    assert mine["api_key_id"] == key["id"]
    receiver.received.clear()
    assert admin.patch(f"/api/v1/integrations/webhooks/{county['id']}", json={"active": False}).json()["active"] is False
    act(as_user("lz_handler"), ours, "sign")
    deliver(state)
    assert receiver.received == []  # paused: kept, not sent
    admin.patch(f"/api/v1/integrations/webhooks/{county['id']}", json={"active": True})
    assert admin.post(f"/api/v1/integrations/webhooks/{county['id']}/ping").status_code == 202
    deliver(state)
    assert sorted(e["event"] for e in receiver.events()) == ["ping"]  # paused subscriptions got no fan-out
    assert admin.delete(f"/api/v1/integrations/webhooks/{county['id']}").status_code == 204
    bad = admin.post("/api/v1/integrations/webhooks", json={"name": "x", "url": "ftp://nope", "event_types": ["*"]})
    assert bad.status_code == 422
    bad = admin.post("/api/v1/integrations/webhooks", json={"name": "x", "url": receiver.url, "event_types": ["order.eaten"]})
    assert bad.status_code == 422
    assert "order.overdue" in admin.get("/api/v1/integrations/event-types").json()["event_types"]


def test_event_names_for_topics() -> None:
    assert webhooks.event_for("order.callback", {"status": "closed"}) == "order.closed"
    assert webhooks.event_for("order.callback", {"status": "replied"}) == "order.updated"
    assert webhooks.event_for("order.answer", {"status": "closed"}) == "order.closed"
    assert webhooks.event_for("order.reopen", {}) == "order.reopened"
    assert webhooks.event_for("sla.warning", {}) == "order.warning"
    assert webhooks.event_for("sla.overdue", {}) == "order.overdue"
    assert webhooks.event_for("risk.alert", {}) == "risk.alert"
    assert [webhooks.backoff(n).total_seconds() for n in (1, 2, 3, 10, 11, 20)] == [10, 20, 40, 3600, 3600, 3600]
