"""``POST /api/v1/intake/analyze`` over HTTP: Liaoning county addresses resolve and the unit's
rule is explained with runners-up; planted duplicates come back with scores and reasons;
urgent texts name the words that fired and the 110/119/120 hand-off; personal data is
masked; no model → still urgency, region, routing and duplicates; bad input is a 4xx."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.helpers import error_code, new_order
from tests.intake.intake_support import LIAONING, activate, seed_routing, small_model, wait_for_index

__all__ = ["small_model"]

ANALYZE = "/api/v1/intake/analyze"


def analyze(client: httpx.Client, **body: Any) -> dict[str, Any]:
    response = client.post(ANALYZE, json=body)
    assert response.status_code == 200, response.text
    return response.json()


def test_liaoning_counties_resolve_and_routing_is_explained(as_user, state, small_model) -> None:
    seed_routing(state)
    activate(state, small_model)
    agent = as_user("agent")
    power_units = {"210115": "GD-LZ", "210181": "GD-XM", "210123": "GD-KP", "210124": "GD-FK"}
    for place, code in LIAONING.items():
        data = analyze(agent, title="家里停电了", content=f"{place}某村从早上开始停电，至今没有来电", address=f"{place}某村")
        region = data["region"]
        assert region["code"] == code and not region["ambiguous"] and region["confidence"] > 0.5, (place, region)
        assert region["names"][-1] in place or place.endswith(region["names"][-1])
        assert data["categories"][0]["code"] == "080101" and data["categories"][0]["path_zh"] == "公用事业/电力供应/停电"
        unit = data["unit"]
        if code in power_units:
            assert unit["code"] == power_units[code], unit
            assert unit["rule"]["category_code"] == "0801" and unit["rule"]["region_code"] == code
            assert unit["runners_up"][0]["code"] == "GDGS"
            assert "备选" in unit["rule_zh"] and "国网沈阳供电公司" in unit["explanation"]
        else:  # 本溪 has no unit of this centre: nothing matches, and the answer says so
            assert unit["code"] is None and "没有匹配的派单规则" in unit["explanation"]


def test_rules_for_benxi_are_explained_with_runners_up(as_user, state, small_model) -> None:
    seed_routing(state)
    activate(state, small_model)
    admin = as_user("admin")
    for code, name in (("BX-GD", "国网本溪供电公司"), ("BX-HR", "国网桓仁县供电分公司")):
        response = admin.post("/api/v1/units", json={"code": code, "name": name, "kind": "company", "parent": "12345"})
        assert response.status_code == 201, response.text
    admin.post("/api/v1/routing/rules", json={"category": "0801", "region": "2105", "unit": "BX-GD", "why": "本溪"})
    admin.post("/api/v1/routing/rules", json={"category": "0801", "region": "210522", "unit": "BX-HR", "why": "桓仁"})
    data = analyze(as_user("agent"), title="停电", content="桓仁满族自治县桓仁镇停电两天", address="桓仁满族自治县桓仁镇")
    assert data["region"]["code"] == "210522"
    assert data["unit"]["code"] == "BX-HR" and [r["code"] for r in data["unit"]["runners_up"]] == ["BX-GD"]
    assert "桓仁满族自治县" in data["unit"]["explanation"]


def test_without_a_model_everything_else_still_answers(as_user, state) -> None:
    seed_routing(state)
    data = analyze(as_user("dispatcher"), title="路灯不亮", content="法库县法库镇小区门口路灯坏了", address="法库县法库镇",
                   phone="13800001111", appeal_type="repair", channel="phone")
    assert data["categories"] == [] and data["model_version"] is None
    assert data["region"]["code"] == "210124"
    assert data["unit"]["code"] == "QX-FK" and data["unit"]["rule"]["category_code"] == ""  # the catch-all rule
    assert data["urgency"]["level"] == "normal" and set(data["timings_ms"]) >= {"classify", "routing", "duplicates", "total"}


def test_region_from_the_text_when_there_is_no_address(as_user, state) -> None:
    data = analyze(as_user("agent"), title="康平县胜利街道停水", content="已经停水两天")
    assert data["region"]["code"] == "210123" and data["region"]["source"] == "text"


def test_planted_duplicates_are_found_with_scores(as_user, state) -> None:
    agent = as_user("agent")
    same_phone = new_order(agent, title="咨询社保缴费", content="想问一下灵活就业社保怎么缴费", category="050201",
                           citizen={"name": "赵先生", "phone": "13912340001"}, address="沈阳市和平区中华路1号")
    same_address = new_order(agent, title="楼道灯坏了", content="单元楼道的灯坏了", category="010102",
                             citizen={"name": "钱女士", "phone": "13912340002"}, address="沈阳市铁西区兴华街5号楼2单元")
    similar = new_order(agent, title="小区垃圾三天没人清运", content="辽中区蒲东街道小区垃圾桶满溢，已经三天没有清运，气味难闻，请尽快处理",
                        category="020201", citizen={"name": "孙先生", "phone": "13912340003"}, address="沈阳市辽中区蒲东街道")
    wait_for_index(state)
    by_phone = analyze(agent, title="停电", content="家里停电", phone="139 1234 0001")
    match = next(d for d in by_phone["duplicates"] if d["number"] == same_phone["number"])
    assert "same_phone" in match["reason_codes"] and match["score"] > 0 and match["status_zh"] == "已受理"
    by_address = analyze(agent, title="电梯坏了", content="电梯停了", address="铁西区兴华街5栋2单元")
    match = next(d for d in by_address["duplicates"] if d["number"] == same_address["number"])
    assert match["reason_codes"] == ["same_address"] and "同一地址" in match["reasons"]
    by_text = analyze(agent, title="垃圾三天没人清运", content="蒲东街道小区垃圾桶满了，三天没有清运，气味很难闻，请处理")
    match = next(d for d in by_text["duplicates"] if d["number"] == similar["number"])
    assert "similar_text" in match["reason_codes"] and match["text_similarity"] >= 0.3
    assert by_text["duplicates"][0]["number"] == similar["number"]
    # an order registered after the index was built is found too (kept current by the hooks)
    later = new_order(agent, title="暖气不热", content="暖气一直不热", category="080301",
                      citizen={"name": "李女士", "phone": "13912340009"})
    again = analyze(agent, title="暖气问题", content="还是不热", phone="13912340009")
    assert later["number"] in [d["number"] for d in again["duplicates"]]
    unrelated = analyze(agent, title="咨询出租车投诉电话", content="想投诉出租车绕路", phone="13000000000")
    assert all(d["number"] != similar["number"] for d in unrelated["duplicates"])


@pytest.mark.parametrize(
    ("text", "level", "handoff", "word"),
    [
        ("楼道里着火了，浓烟很大", "emergency", ["119"], "着火"),
        ("邻居一家疑似煤气中毒，人叫不醒", "emergency", ["120"], "煤气中毒"),
        ("楼下有人持刀打架", "emergency", ["110"], "持刀"),
        ("独居老人家里停电三天了", "urgent", [], "独居老人"),
    ],
)
def test_urgent_texts_name_their_words_and_handoff(as_user, state, text, level, handoff, word) -> None:
    data = analyze(as_user("agent"), title="紧急求助", content=text)
    urgency = data["urgency"]
    assert urgency["level"] == level and urgency["handoff"] == handoff, urgency
    assert urgency["emergency_handoff"] is bool(handoff)
    assert any(word in reason["word"] for reason in urgency["reasons"]), urgency["reasons"]


def test_negated_words_do_not_fire(as_user, state) -> None:
    data = analyze(as_user("agent"), title="咨询", content="已经排除燃气泄漏，没有着火，只是想问燃气费怎么交")
    assert data["urgency"]["level"] == "normal" and data["urgency"]["negated"]


def test_personal_data_is_masked(as_user, state) -> None:
    content = "我的身份证号是11010519491231002X，银行卡6222 0212 3456 7890 128，手机13912345678，座机024-23456789"
    data = analyze(as_user("agent"), title="退款到卡号6222021234567890128", content=content)
    masked = data["masked"]
    assert "11010519491231002X" not in masked["content"] and "110***********002X" in masked["content"]
    assert "6222021234567890128" not in masked["title"] and "139****5678" in masked["content"]
    assert "23456789" not in masked["content"]
    assert {p["kind"] for p in masked["pii"]} == {"id_number", "bank_card", "mobile", "landline"}
    number = new_order(as_user("agent"), title="身份证11010519491231002X丢失", content=content)["number"]
    listed = as_user("dispatcher").get("/api/v1/orders", params={"q": "丢失"}).json()["items"]
    row = next(r for r in listed if r["number"] == number)
    assert "11010519491231002X" not in row["title"]


def test_bad_input_and_roles(as_user, state) -> None:
    agent = as_user("agent")
    empty = agent.post(ANALYZE, json={"title": "  ", "content": ""})
    assert empty.status_code == 422 and error_code(empty) == "intake.empty"
    assert agent.post(ANALYZE, json={"title": "x" * 201}).status_code == 422
    assert agent.post(ANALYZE, content=b"not json", headers={"Content-Type": "application/json"}).status_code == 422
    assert agent.post(ANALYZE, json={"title": 5}).status_code == 422
    odd = agent.post(ANALYZE, json={"title": "？？？", "content": "😀" * 50, "address": "火星", "phone": "abc", "colour": 1})
    assert odd.status_code == 200 and odd.json()["region"]["code"] is None
    assert as_user("lz_handler").post(ANALYZE, json={"title": "停电"}).status_code == 403
    assert as_user("leader").post(ANALYZE, json={"title": "停电"}).status_code == 403
