"""Urgency rules: every default rule fires on its examples, negations, reasons name the words."""

from __future__ import annotations

import pytest

from minxin.core.urgency import UrgencyLevel, UrgencyRuleSet
from minxin.intake.urgency_config import default_rules, parse_rules_yaml

RULES = default_rules()


@pytest.mark.parametrize(
    ("rule_id", "example"), [(r.id, e) for r in RULES.rules for e in r.examples], ids=lambda v: str(v)[:20]
)
def test_every_default_rule_fires_on_its_examples(rule_id: str, example: str) -> None:
    result = RULES.assess(example)
    fired = {r.rule: r for r in result.reasons}
    assert rule_id in fired, result
    reason = fired[rule_id]
    assert reason.words and all(w in example for w in reason.words)
    assert all(example[s:e] in reason.words for s, e in reason.spans)
    assert result.level.rank >= reason.level.rank


def test_every_default_rule_has_an_example() -> None:
    assert all(r.examples for r in RULES.rules)
    ids = {r.id for r in RULES.rules}
    assert {"fire", "gas_leak", "electrocution", "fall_injury", "trapped", "collapse", "flooding"} <= ids
    assert {
        "elderly_alone_outage",
        "power_line_down",
        "safety_hazard",
        "property_loss",
        "suicide",
        "violence",
    } <= ids


@pytest.mark.parametrize(
    ("text", "level", "handoff"),
    [
        ("三楼着火了，有浓烟", UrgencyLevel.EMERGENCY, ("119",)),
        ("工地有人从高处坠落受伤", UrgencyLevel.EMERGENCY, ("120",)),
        ("小区门口有人持刀打架", UrgencyLevel.EMERGENCY, ("110",)),
        ("小区消防通道被占，存在安全隐患", UrgencyLevel.URGENT, ()),
        ("咨询社保卡补办需要什么材料", UrgencyLevel.NORMAL, ()),
    ],
)
def test_levels_and_handoff(text: str, level: UrgencyLevel, handoff: tuple[str, ...]) -> None:
    result = RULES.assess(text)
    assert result.level is level
    assert result.handoff == handoff
    assert result.is_urgent == (level is not UrgencyLevel.NORMAL)


def test_several_emergencies_hand_off_to_each_service_once() -> None:
    result = RULES.assess("厨房着火，老人晕倒了，火势很大")
    assert result.handoff == ("119", "120")


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("没有燃气泄漏，只是想咨询燃气费", "gas_leak"),
        ("无人员被困", "trapped"),
        ("经检查未发现煤气味", "gas_leak"),
        ("燃气泄漏已排除，请回访", "gas_leak"),
        ("事故并未造成人员受伤", "injury_medical"),
    ],
)
def test_negated_words_do_not_fire_and_are_reported(text: str, rule: str) -> None:
    result = RULES.assess(text)
    assert rule not in {r.rule for r in result.reasons}
    assert rule in {r.rule for r in result.negated}


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("电梯坏了无法开门，三人被困", "trapped"),
        ("小区无人管理电线落地多日", "power_line_down"),
        ("多次反映未解决，存在安全隐患", "safety_hazard"),
        ("没有燃气泄漏，但是楼道里着火了", "fire"),
    ],
)
def test_non_negations_still_fire(text: str, rule: str) -> None:
    assert rule in {r.rule for r in RULES.assess(text).reasons}


def test_vulnerable_people_need_both_groups_close_together() -> None:
    assert "elderly_alone_outage" in {r.rule for r in RULES.assess("楼里有独居老人，停电一天了").reasons}
    assert not RULES.assess("小区计划停电检修").reasons
    far = "楼里有独居老人。" + "物业服务很差，" * 10 + "今天停电"
    assert "elderly_alone_outage" not in {r.rule for r in RULES.assess(far).reasons}


def test_seasonal_rule_applies_in_winter_or_when_month_unknown() -> None:
    text = "独居老人家暖气不热"
    assert "elderly_alone_heating" in {r.rule for r in RULES.assess(text).reasons}
    assert "elderly_alone_heating" in {r.rule for r in RULES.assess(text, month=1).reasons}
    assert "elderly_alone_heating" not in {r.rule for r in RULES.assess(text, month=7).reasons}


def test_custom_rules_from_yaml() -> None:
    rules = parse_rules_yaml(
        """
rules:
  - id: dam
    label: 水库险情
    level: emergency
    handoff: "119"
    words: [溃坝, 管涌]
    regex: ["水库.{0,3}漫顶"]
"""
    )
    result = rules.assess("上游水库快要漫顶了")
    assert result.level is UrgencyLevel.EMERGENCY and result.reasons[0].words == ("水库快要漫顶",)


@pytest.mark.parametrize(
    "config",
    [
        {"rules": [{"id": "x", "level": "panic", "words": ["a"]}]},
        {"rules": [{"id": "x", "handoff": "999", "words": ["a"]}]},
        {"rules": [{"id": "x"}]},
        {"rules": [{"id": "x", "regex": ["("]}]},
        {"rules": [{"id": "x", "words": ["a"]}, {"id": "x", "words": ["b"]}]},
        {"rules": [{"words": ["a"]}]},
    ],
)
def test_bad_rules_are_refused(config: dict) -> None:
    with pytest.raises(ValueError):
        UrgencyRuleSet.from_config(config)


def test_bad_yaml_is_refused() -> None:
    with pytest.raises(ValueError):
        parse_rules_yaml("rules: [unclosed")
    with pytest.raises(ValueError):
        parse_rules_yaml("- just a list")
