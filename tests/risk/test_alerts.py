"""Alerts from the detectors: one alert per incident with every order attached, the loop
(acknowledge → intervene with attachments → close), precision, scope, the outbox."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx

from minxin.api.state import AppState
from minxin.core.clock import FixedClock
from minxin.outbox.models import OutboxMessage
from tests.helpers import act, error_code, photo
from tests.risk.conftest import alerts_of, background, register

VILLAGES = ["于家村", "刘家村", "王家村", "前进村", "东街", "西街", "南岗村", "北岗村", "新立村", "红旗村"]
TEMPLATES = [
    "来电人反映辽中区茨榆坨镇{v}{n}号从早上开始停电，至今未恢复，请尽快抢修。",
    "茨榆坨镇{v}{n}号停电了，家里冰箱里的东西要坏了，什么时候来电？",
    "市民称辽中区茨榆坨镇{v}一带突然停电，{n}户都没电，要求尽快恢复供电。",
]


def outage(agent: httpx.Client, clock: FixedClock, i: int) -> dict[str, Any]:
    village = VILLAGES[i % len(VILLAGES)]
    return register(
        agent, clock, step=timedelta(minutes=2), title="茨榆坨镇停电",
        content=TEMPLATES[i % len(TEMPLATES)].format(v=village, n=i + 1),
        address=f"沈阳市辽中区茨榆坨镇{village}{i + 1}号", category="080101",
        citizen={"name": f"市民{i}", "phone": f"1381000{i:04d}"},
    )


def test_repeat_caller_raises_one_alert_with_all_orders(as_user: Callable[[str], httpx.Client], clock: FixedClock,
                                                        scan: Callable[[], dict[str, Any]]) -> None:
    agent, supervisor = as_user("agent"), as_user("supervisor")
    caller = {"name": "孙女士", "phone": "13800002222"}
    numbers = [register(agent, clock, step=timedelta(days=2), citizen=caller)["number"] for _ in range(2)]
    scan()
    assert alerts_of(supervisor) == []
    numbers.append(register(agent, clock, step=timedelta(days=2), citizen=caller)["number"])
    result = scan()
    assert result["created"] == 1, result
    [alert] = alerts_of(supervisor, state="live")
    assert alert["detector"] == "repeat" and alert["label"] == "repeat_unresolved.repeat_caller"
    assert alert["order_count"] == 3 and alert["state"] == "pushed"
    detail = supervisor.get(f"/api/v1/risk/alerts/{alert['id']}").json()
    assert sorted(o["number"] for o in detail["orders"]) == sorted(numbers)
    assert "13800002222" not in str(detail["evidence"]) and "138****2222" in str(detail["evidence"])
    numbers.append(register(agent, clock, step=timedelta(days=1), citizen=caller)["number"])
    assert scan()["created"] == 0
    [again] = alerts_of(supervisor)
    assert again["id"] == alert["id"] and again["order_count"] == 4
    quiet = scan()
    assert (quiet["events"], quiet["created"], quiet["attached_orders"]) == (0, 0, 0)


def test_thirty_outage_calls_in_an_hour_are_one_cluster_alert(
    as_user: Callable[[str], httpx.Client], clock: FixedClock, scan: Callable[[], dict[str, Any]], state: AppState,
) -> None:
    agent, supervisor = as_user("agent"), as_user("supervisor")
    background(agent, clock)
    scan()
    assert alerts_of(supervisor) == []
    numbers = [outage(agent, clock, i)["number"] for i in range(30)]
    scan()
    [alert] = alerts_of(supervisor)
    assert alert["detector"] == "cluster" and alert["region"] == "210115" and alert["category"] == "080101"
    detail = supervisor.get(f"/api/v1/risk/alerts/{alert['id']}").json()
    assert sorted(o["number"] for o in detail["orders"]) == sorted(numbers)
    late = outage(agent, clock, 30)["number"]
    scan()
    [same] = alerts_of(supervisor)
    assert same["id"] == alert["id"] and same["order_count"] == 31
    assert late in {o["number"] for o in supervisor.get(f"/api/v1/risk/alerts/{alert['id']}").json()["orders"]}
    with state.db.reading() as session:
        messages = [m for m in session.query(OutboxMessage).filter(OutboxMessage.topic == "risk.alert").order_by(OutboxMessage.id)]
    assert [m.payload["change"] for m in messages] == ["created", "orders_attached"]
    assert messages[0].payload["unit"] and len(messages[0].payload["orders"]) == 30
    assert "1381000" not in str([m.payload for m in messages])


def test_alert_lifecycle_and_precision(as_user: Callable[[str], httpx.Client], clock: FixedClock,
                                       scan: Callable[[], dict[str, Any]]) -> None:
    agent, supervisor = as_user("agent"), as_user("supervisor")
    for _ in range(3):
        register(agent, clock, citizen={"name": "钱", "phone": "13811113333"})
    scan()
    [alert] = alerts_of(supervisor)
    url = f"/api/v1/risk/alerts/{alert['id']}/actions"
    assert alert["deadline"]["kind"] == "acknowledge" and alert["deadline"]["state"] == "ok"
    assert error_code(supervisor.post(f"{url}/intervene", json={"text": "已处理"})) == "risk.illegal_action"
    assert error_code(as_user("leader").post(f"{url}/acknowledge", json={})) == "risk.role_forbidden"
    assert error_code(supervisor.post(f"{url}/fly", json={})) == "risk.unknown_action"
    assert error_code(supervisor.post(f"{url}/acknowledge", json={"bogus": 1})) == "risk.invalid_payload"
    acked = supervisor.post(f"{url}/acknowledge", json={"expected_version": alert["version"]})
    assert acked.status_code == 200 and acked.json()["state"] == "acknowledged"
    assert acked.json()["deadline"]["kind"] == "close"
    stale = supervisor.post(f"{url}/note", json={"text": "x", "expected_version": alert["version"]})
    assert stale.status_code == 409 and error_code(stale) == "risk.version_conflict"
    assert error_code(supervisor.post(f"{url}/close", json={"resolution": "resolved"})) == "risk.intervention_required"
    assert error_code(supervisor.post(f"{url}/intervene", json={"text": " "})) == "risk.invalid_payload"
    assert error_code(supervisor.post(f"{url}/intervene", json={"text": "a", "attachments": ["nope"]})) == "risk.attachment_not_found"
    picture = photo(supervisor)
    done = supervisor.post(f"{url}/intervene", json={"text": "已电话联系来电人，约定上门", "attachments": [picture]})
    assert done.status_code == 200 and done.json()["state"] == "intervening"
    action = done.json()["actions"][-1]
    assert action["by"] == "督办员刘姐" and action["text"] == "已电话联系来电人，约定上门"
    download = supervisor.get(action["attachments"][0]["url"])
    assert download.status_code == 200 and download.headers["content-type"] == "image/png"
    assert error_code(supervisor.post(f"{url}/close", json={})) == "risk.invalid_payload"
    closed = supervisor.post(f"{url}/close", json={"resolution": "false_alarm", "text": "来电人误拨"})
    assert closed.status_code == 200 and closed.json()["state"] == "closed" and closed.json()["resolution"] == "false_alarm"
    assert [a["action"] for a in closed.json()["actions"]] == ["push", "acknowledge", "intervene", "close"]
    assert error_code(supervisor.post(f"{url}/acknowledge", json={})) == "risk.illegal_action"
    assert supervisor.post(f"{url}/note", json={"text": "归档"}).status_code == 200
    stats = supervisor.get("/api/v1/risk/stats").json()
    repeat = stats["detectors"]["repeat"]
    assert (repeat["closed"], repeat["false_alarm"], repeat["precision"]) == (1, 1, 0.0)
    assert stats["regions"][0]["region"] == "210115" and stats["regions"][0]["precision"] == 0.0
    # a false alarm's episode stays quiet: the caller's 4th call raises nothing new
    register(agent, clock, step=timedelta(minutes=1), citizen={"name": "钱", "phone": "13811113333"})
    assert scan()["created"] == 0
    assert len(alerts_of(supervisor, state="closed")) == 1 and alerts_of(supervisor, state="live") == []


def test_alerts_are_scoped_to_the_unit_subtree(as_user: Callable[[str], httpx.Client], clock: FixedClock,
                                               scan: Callable[[], dict[str, Any]]) -> None:
    agent, dispatcher = as_user("agent"), as_user("dispatcher")
    for _ in range(3):
        number = register(agent, clock, citizen={"name": "吴", "phone": "13822224444"})["number"]
        act(dispatcher, number, "dispatch", {"unit": "GD-LZ"})
    scan()
    [alert] = alerts_of(as_user("lz_handler"))
    assert alert["unit"]["code"] == "GD-LZ"
    assert as_user("gd_leader").get(f"/api/v1/risk/alerts/{alert['id']}").status_code == 200
    other = as_user("xm_handler")
    assert alerts_of(other) == []
    for response in (other.get(f"/api/v1/risk/alerts/{alert['id']}"),
                     other.post(f"/api/v1/risk/alerts/{alert['id']}/actions/acknowledge", json={})):
        assert response.status_code == 404 and error_code(response) == "risk.alert_not_found"
    ack = as_user("lz_handler").post(f"/api/v1/risk/alerts/{alert['id']}/actions/acknowledge", json={})
    assert ack.status_code == 200
    assert alerts_of(as_user("leader"), unit="GD-LZ", state="acknowledged")[0]["id"] == alert["id"]
    assert alerts_of(as_user("leader"), unit="GD-XM") == []


def test_bad_filters_are_422(as_user: Callable[[str], httpx.Client]) -> None:
    supervisor = as_user("supervisor")
    for params, code in (({"state": "sleeping"}, "risk.bad_state"), ({"from": "yesterday"}, "invalid_time"),
                         ({"unit": "NOPE"}, "unit.not_found")):
        response = supervisor.get("/api/v1/risk/alerts", params=params)
        assert response.status_code == 422 and error_code(response) == code
    assert supervisor.get("/api/v1/risk/alerts/999").status_code == 404
    assert supervisor.get("/api/v1/risk/alerts/abc").status_code == 422


def test_alerts_reach_the_units_webhook_signed(as_user: Callable[[str], httpx.Client], clock: FixedClock,
                                               scan: Callable[[], dict[str, Any]], state: AppState) -> None:
    """The webhook engine turns ``risk.alert`` outbox messages into signed deliveries for a
    subscription scoped to the alert's unit, and only for it."""
    from minxin.integrations import subscriptions, webhooks
    from minxin.integrations.models import WebhookDelivery

    with state.db.unit_of_work() as session:
        mine = subscriptions.create(session, name="辽中供电", url="http://127.0.0.1:9/hook", event_types=["risk.alert"],
                                    unit="GD-LZ", api_key_id=None, secret="whsec_test", now=clock.now(), by="admin")
        subscriptions.create(session, name="新民供电", url="http://127.0.0.1:9/other", event_types=["risk.alert"],
                             unit="GD-XM", api_key_id=None, secret=None, now=clock.now(), by="admin")
        mine_id = mine.id
    agent, dispatcher = as_user("agent"), as_user("dispatcher")
    for _ in range(3):
        number = register(agent, clock, citizen={"name": "蒋", "phone": "13877778888"})["number"]
        act(dispatcher, number, "dispatch", {"unit": "GD-LZ"})
    scan()
    with state.db.unit_of_work() as session:
        webhooks.fan_out(session, now=clock.now())
        deliveries = session.query(WebhookDelivery).filter(WebhookDelivery.event == "risk.alert").all()
        assert [d.subscription_id for d in deliveries] == [mine_id]
        data = deliveries[0].payload["data"]
        assert data["change"] == "created" and data["unit"] == "GD-LZ" and len(data["orders"]) == 3
        [attempt] = webhooks.claim(session, now=clock.now())
        header = attempt.headers[webhooks.SIGNATURE_HEADER]
        assert webhooks.verify("whsec_test", header, attempt.body) and attempt.headers["X-Minxin-Event"] == "risk.alert"
