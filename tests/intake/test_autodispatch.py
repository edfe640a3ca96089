"""Registration applies the confident category, raises urgency and decides auto-dispatch; the
``intake.autodispatch`` job dispatches as 系统自动派单 within one run, citing the rule, and
leaves unsure, unrouted and emergency orders in the dispatcher's queue with the reason."""

from __future__ import annotations

from typing import Any

import httpx

from minxin.jobs.registry import JOBS, run_once
from tests.helpers import act, new_order
from tests.intake.intake_support import activate, seed_routing, small_model

__all__ = ["small_model"]

POWER = {"title": "家里停电了", "content": "辽中区茨榆坨镇于家村停电，至今没有来电", "address": "沈阳市辽中区茨榆坨镇于家村"}


def register(client: httpx.Client, **fields: Any) -> dict[str, Any]:
    return new_order(client, channel="web", category=None, **fields)


def detail(client: httpx.Client, number: str) -> dict[str, Any]:
    response = client.get(f"/api/v1/orders/{number}")
    assert response.status_code == 200, response.text
    return response.json()


def test_confident_routed_order_is_dispatched_by_the_system(as_user, state, small_model) -> None:
    seed_routing(state)
    version = activate(state, small_model, threshold=0.5)
    created = register(as_user("agent"), **POWER)
    assert created["version"] == 1  # intake's decisions are part of the registration
    assert created["category"]["code"] == "080101" and created["region_code"] == "210115"
    intake = created["intake"]
    assert intake["applied_category"] and intake["model_version"] == version
    assert intake["auto_dispatch"] and intake["dispatch_state"] == "pending" and intake["unit"]["code"] == "GD-LZ"
    assert created["status"] == "registered"
    queue_row = next(r for r in as_user("dispatcher").get("/api/v1/orders", params={"status": "registered"}).json()["items"]
                     if r["number"] == created["number"])
    assert queue_row["suggestion"]["unit"] == "GD-LZ" and queue_row["suggestion"]["dispatch_state"] == "pending"

    assert "intake.autodispatch" in JOBS
    assert run_once(state, "intake.autodispatch") == {"done": 1}
    order = detail(as_user("dispatcher"), created["number"])
    assert order["status"] == "dispatched" and order["current_unit"]["code"] == "GD-LZ"
    event = order["events"][-1]
    assert event["action"] == "dispatch" and event["actor"] == "系统自动派单" and event["actor_role"] == "dispatcher"
    assert event["payload"]["unit"] == "GD-LZ" and "规则#" in event["payload"]["note"] and "置信度" in event["payload"]["note"]
    assert order["intake"]["dispatch_state"] == "done" and order["intake"]["auto_dispatched_at"]
    assert run_once(state, "intake.autodispatch") is None  # idempotent: nothing left to do
    act(as_user("lz_handler"), created["number"], "sign")  # the unit works it like any other order


def test_unsure_orders_wait_for_the_dispatcher(as_user, state, small_model) -> None:
    seed_routing(state)
    activate(state, small_model, threshold=0.999)
    created = register(as_user("agent"), **POWER)
    assert created["category"] is None  # not confident enough to decide for a person
    intake = created["intake"]
    assert not intake["auto_dispatch"] and intake["dispatch_state"] == "none"
    assert "置信度不足" in intake["decision"] and intake["categories"][0]["code"] == "080101"
    assert intake["unit"]["code"] == "GD-LZ"  # still suggested, from the top category
    assert run_once(state, "intake.autodispatch") is None
    assert detail(as_user("dispatcher"), created["number"])["status"] == "registered"


def test_per_category_threshold_overrides_the_default(as_user, state, small_model) -> None:
    seed_routing(state)
    activate(state, small_model, threshold=0.5)
    admin = as_user("admin")
    put = admin.put("/api/v1/intake/thresholds", json={"categories": {"0801": 0.999}})
    assert put.status_code == 200 and put.json()["categories"] == {"0801": 0.999}
    power = register(as_user("agent"), **POWER)
    assert power["category"]["code"] == "08"  # level 1 decided, 电力供应 (0801) not confident enough
    assert power["intake"]["unit"]["code"] == "QX-LZ"  # only the any-category catch-all matches "08"
    assert not power["intake"]["auto_dispatch"] and "通用规则" in power["intake"]["decision"]
    wages = register(as_user("agent"), title="老板拖欠工资", content="法库县一家工厂拖欠工资半年了", address="沈阳市法库县法库镇")
    assert wages["intake"]["auto_dispatch"] and wages["intake"]["unit"]["code"] == "RSJ"
    assert run_once(state, "intake.autodispatch") == {"done": 1}
    assert admin.get("/api/v1/intake/thresholds").json()["default"] == 0.5
    assert as_user("agent").get("/api/v1/intake/thresholds").status_code == 403
    bad = admin.put("/api/v1/intake/thresholds", json={"default": 1.5})
    assert bad.status_code == 422


def test_no_rule_or_an_emergency_is_never_auto_dispatched(as_user, state, small_model) -> None:
    activate(state, small_model, threshold=0.5)  # no routing rules at all
    unrouted = register(as_user("agent"), **POWER)
    assert not unrouted["intake"]["auto_dispatch"] and "没有匹配的派单规则" in unrouted["intake"]["decision"]
    seed_routing(state)
    fire = register(as_user("agent"), title="停电后着火了", content="辽中区茨榆坨镇停电后电线着火，浓烟很大",
                    address="沈阳市辽中区茨榆坨镇")
    assert fire["urgency"] == "emergency" and fire["intake"]["urgency"]["handoff"] == ["119"]
    assert not fire["intake"]["auto_dispatch"] and "消防119" in fire["intake"]["decision"]
    assert run_once(state, "intake.autodispatch") is None


def test_urgency_is_raised_never_lowered(as_user, state) -> None:
    raised = new_order(as_user("agent"), title="独居老人家中停电", content="家里有独居老人，停电后没有取暖", urgency="normal")
    assert raised["urgency"] == "urgent" and raised["intake"]["urgency"]["applied"]
    assert any("独居老人" in r["word"] for r in raised["intake"]["urgency"]["reasons"])
    kept = new_order(as_user("agent"), title="咨询电费", content="咨询电费怎么交", urgency="urgent")
    assert kept["urgency"] == "urgent" and not kept["intake"]["urgency"]["applied"]


def test_a_person_dispatching_first_wins(as_user, state, small_model) -> None:
    seed_routing(state)
    activate(state, small_model, threshold=0.5)
    created = register(as_user("agent"), **POWER)
    act(as_user("dispatcher"), created["number"], "dispatch", {"unit": "GD-LZ"})
    assert run_once(state, "intake.autodispatch") is None
    order = detail(as_user("dispatcher"), created["number"])
    assert [e["actor"] for e in order["events"]].count("系统自动派单") == 0
    assert order["intake"]["dispatch_state"] == "skipped" and order["intake"]["outcome"]["unit"] == "accepted"


def test_a_failed_dispatch_is_marked_once(as_user, state, small_model) -> None:
    seed_routing(state)
    activate(state, small_model, threshold=0.5)
    created = register(as_user("agent"), **POWER)
    assert as_user("admin").patch("/api/v1/units/GD-LZ", json={"active": False}).status_code == 200
    assert run_once(state, "intake.autodispatch") == {"failed": 1}
    order = detail(as_user("dispatcher"), created["number"])
    assert order["status"] == "registered" and order["intake"]["dispatch_state"] == "failed"
    assert "自动派单失败" in order["intake"]["decision"]
    assert run_once(state, "intake.autodispatch") is None
