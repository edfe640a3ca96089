"""The answer to ``POST /orders`` skips reading what registration never writes (``is_fresh``):
it must still be exactly the order as a later read shows it, and a replayed request (the same
``Idempotency-Key``) must be presented in full, as the order stands by then."""

from __future__ import annotations

from typing import Any

from minxin.risk import queue
from tests.helpers import APPEAL, act


def _without_risk(order: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in order.items() if k != "risk"}


def test_create_response_equals_the_order_read_back(as_user, state) -> None:
    agent = as_user("agent")
    response = agent.post("/api/v1/orders", json=APPEAL, headers={"Idempotency-Key": "fresh-1"})
    assert response.status_code == 201, response.text
    created = response.json()
    assert [e["action"] for e in created["events"]] == ["register"]  # the fresh path, not auto-dispatched
    read = agent.get(f"/api/v1/orders/{created['number']}").json()
    # the risk section is the only one a background thread changes (tagging, just after commit)
    assert _without_risk(created) == _without_risk(read)
    assert created["attachments"] == [] and created["callbacks"] == [] and created["extensions"] == []
    assert created["deadlines"], "registration starts the dispatch clock"
    assert created["risk"] == {
        "state": "queued", "region": None, "region_name": None, "max_severity": 0, "tagged_at": None,
        "tags": [], "subjects": [], "alerts": [],
    }

    queue.settle(state.db)
    tagged = agent.get(f"/api/v1/orders/{created['number']}").json()["risk"]
    assert tagged["state"] == "tagged" and tagged["subjects"]

    replay = agent.post("/api/v1/orders", json=APPEAL, headers={"Idempotency-Key": "fresh-1"})
    assert replay.status_code == 201 and replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json()["number"] == created["number"]
    assert replay.json()["risk"] == tagged  # presented in full: not "queued" any more


def test_an_order_acted_on_is_never_presented_as_fresh(as_user) -> None:
    agent, dispatcher = as_user("agent"), as_user("dispatcher")
    response = agent.post("/api/v1/orders", json=APPEAL, headers={"Idempotency-Key": "fresh-2"})
    number = response.json()["number"]
    act(dispatcher, number, "dispatch", {"unit": "GD-LZ"})
    replay = agent.post("/api/v1/orders", json=APPEAL, headers={"Idempotency-Key": "fresh-2"})
    assert replay.json()["status"] == "dispatched"
    assert [e["action"] for e in replay.json()["events"]] == ["register", "dispatch"]
    read = agent.get(f"/api/v1/orders/{number}").json()
    # the drainer may tag the order between the two reads: the risk section is compared apart
    assert _without_risk(replay.json()) == _without_risk(read)
    assert replay.json()["risk"]["state"] in ("queued", "tagged") and read["risk"]["state"] in ("queued", "tagged")
