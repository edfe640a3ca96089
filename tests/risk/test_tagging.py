"""Tagging at registration over HTTP, re-tagging when related orders arrive, subjects."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import httpx

from minxin.core.clock import FixedClock
from tests.helpers import act
from tests.risk.conftest import register, tagged


def labels(order: dict) -> dict[str, dict]:
    return {t["label"]: t for t in order["risk"]["tags"]}


def test_registration_tags_the_order_with_evidence(as_user: Callable[[str], httpx.Client], clock: FixedClock) -> None:
    agent = as_user("agent")
    order = register(agent, clock, title="有人触电", content="来电人反映茨榆坨镇于家村有人触电倒地，电线掉在地上",
                     citizen={"name": "李女士", "phone": "13912345678"})
    tags = labels(order)
    assert "personal_safety.electrocution" in tags
    tag = tags["personal_safety.electrocution"]
    assert tag["severity"] == 4 and "触电" in tag["evidence"]["words"] and tag["name"] == "触电"
    assert order["risk"]["region"] == "210115" and order["risk"]["max_severity"] == 4
    kinds = {s["kind"]: s for s in order["risk"]["subjects"]}
    assert kinds["caller"]["display"] == "139****5678" and "13912345678" not in str(order["risk"])
    assert kinds["address"]["order_count"] == 1
    listed = agent.get("/api/v1/orders", params={"q": order["number"]}).json()["items"][0]
    assert listed["risk"]["max_severity"] == 4 and "personal_safety.electrocution" in listed["risk"]["labels"]


def test_a_plain_order_has_no_tags(as_user: Callable[[str], httpx.Client], clock: FixedClock) -> None:
    agent = as_user("agent")
    order = register(agent, clock, title="咨询电费", content="咨询本月电费怎么缴纳", appeal_type="consult", category="080104")
    assert order["risk"]["tags"] == [] and order["risk"]["max_severity"] == 0
    listed = agent.get("/api/v1/orders", params={"q": order["number"]}).json()["items"][0]
    assert listed["risk"] is None


def test_a_third_call_retags_the_earlier_ones(as_user: Callable[[str], httpx.Client], clock: FixedClock) -> None:
    agent = as_user("agent")
    phone = {"name": "王先生", "phone": "13700001111"}
    first = register(agent, clock, citizen=phone, address="沈阳市辽中区茨榆坨镇刘家村1号")
    second = register(agent, clock, citizen=phone, address="沈阳市辽中区茨榆坨镇刘家村2号")
    assert "repeat_unresolved.repeat_caller" not in labels(second)
    third = register(agent, clock, citizen=phone, address="沈阳市辽中区茨榆坨镇刘家村3号")
    tag = labels(third)["repeat_unresolved.repeat_caller"]
    assert tag["evidence"]["counts"] == {"same_caller@30d": 3}
    assert set(tag["evidence"]["related_order_ids"]) == {first["number"], second["number"]}
    for earlier in (first, second):
        again = agent.get(f"/api/v1/orders/{earlier['number']}").json()
        assert labels(again)["repeat_unresolved.repeat_caller"]["evidence"]["counts"] == {"same_caller@30d": 3}


def test_subject_history_masks_the_phone(as_user: Callable[[str], httpx.Client], clock: FixedClock) -> None:
    agent = as_user("agent")
    numbers = [register(agent, clock, citizen={"name": "赵", "phone": "13655556666"})["number"] for _ in range(2)]
    subject = agent.get("/api/v1/risk/subjects/caller/13655556666")
    assert subject.status_code == 200, subject.text
    data = subject.json()
    assert data["display"] == "136****6666" and data["order_count"] == 2
    assert [o["number"] for o in data["orders"]] == numbers[::-1]
    assert "13655556666" not in subject.text
    by_ref = as_user("leader").get(data["url"])
    assert by_ref.status_code == 200 and by_ref.json()["ref"] == data["ref"]
    assert as_user("xm_handler").get(data["url"]).status_code == 404  # none of its orders are visible there
    assert agent.get("/api/v1/risk/subjects/planet/x").status_code == 404


def test_returns_retag_the_order(as_user: Callable[[str], httpx.Client], clock: FixedClock) -> None:
    agent, dispatcher, handler = as_user("agent"), as_user("dispatcher"), as_user("lz_handler")
    number = register(agent, clock)["number"]
    for _ in range(3):
        act(dispatcher, number, "dispatch", {"unit": "GD-LZ"})
        act(handler, number, "return", {"reason": "不属于本单位"})
        act(dispatcher, number, "review_return", {"approve": True})
    order = agent.get(f"/api/v1/orders/{number}").json()
    tags = labels(order)
    assert tags["repeat_unresolved.returned_repeatedly"]["evidence"]["counts"] == {"returned": 3}
    assert "repeat_unresolved.handling_loop" in tags


def test_parallel_intakes_of_one_caller_count_every_order(as_user: Callable[[str], httpx.Client], server: Any,
                                                         token_for: Callable[[str], str]) -> None:
    """Subjects are upserted and locked in key order: parallel calls of one new caller at one new
    address naming two companies in different orders neither deadlock, nor collide on a second
    unique index (migration 0007), nor lose a count. Several rounds, each released at once."""
    texts = ["投诉沈阳甲乙科技有限公司和沈阳丙丁物流有限公司", "投诉沈阳丙丁物流有限公司和沈阳甲乙科技有限公司"]
    token = token_for("agent")
    for round_ in range(4):
        phone = f"138666677{round_:02d}"
        body = {"channel": "phone", "appeal_type": "complaint", "title": "投诉", "citizen": {"name": "并发", "phone": phone},
                "address": f"沈阳市和平区太原街{round_ + 1}号", "category": "010201"}
        statuses: list[int] = []
        start = threading.Barrier(8)

        def call(i: int, body: dict[str, Any] = body, statuses: list[int] = statuses,
                 start: threading.Barrier = start) -> None:
            with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=60) as c:
                start.wait(timeout=30)
                statuses.append(c.post("/api/v1/orders", json=body | {"content": texts[i % 2]}).status_code)

        threads = [threading.Thread(target=call, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert statuses == [201] * 8, (round_, statuses)
        tagged()
        subject = as_user("supervisor").get(f"/api/v1/risk/subjects/caller/{phone}").json()
        assert subject["order_count"] == 8 and len(subject["orders"]) == 8
    company = as_user("supervisor").get("/api/v1/risk/subjects/enterprise/沈阳甲乙科技有限公司").json()
    assert company["order_count"] == 32
