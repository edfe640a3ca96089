"""Tagging orders against the taxonomy, negation, subjects and risk accumulation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from minxin.core.risk.matcher import PhraseAutomaton, is_negated
from minxin.core.risk.subjects import (
    SubjectRisk,
    accumulate,
    address_key,
    caller_key,
    decayed,
    enterprise_key,
    extract_enterprises,
    normalise_phone,
    risk_level,
    score_history,
    subject_keys,
)
from minxin.core.risk.tagging import OrderSnapshot, TaggingContext, compile_taxonomy, diff_tags, tag
from minxin.core.risk.taxonomy import load_taxonomy
from minxin.risk.taxonomy_file import load_taxonomy_file

TAX = compile_taxonomy(load_taxonomy_file())


def _codes(text: str, ctx: TaggingContext | None = None, **kw: str) -> set[str]:
    return {t.label_code for t in tag(OrderSnapshot("o1", text, **kw), TAX, ctx)}


FIRES = [
    ("我家厨房有很浓的煤气味，请赶紧派人来", "public_safety_hazard.gas_leak"),
    ("不知道是不是燃气泄漏，味道很大", "public_safety_hazard.gas_leak"),  # pseudo-negation
    ("无法联系物业，楼道里闻到煤气", "public_safety_hazard.gas_leak"),
    ("我不想活了，现在就在楼顶", "personal_safety.suicide_risk"),
    ("幸福里小区整栋楼停电了", "infrastructure_outage.area_power_outage"),
    ("家里停电了，老人在用制氧机", "vulnerable_people.life_support_outage"),
    ("老板拖欠我们几十个农民工的工资，大家要一起去讨薪", "group_incident.collective_wage_arrears"),
    ("对方让我转账到安全账户，我正在转账", "fraud.in_progress"),
    ("楼上邻居装修，今天又和我们吵架，扬言要报复", "dispute_escalation.neighbour_conflict"),
    ("路口红绿灯不亮了，车都堵死了", "infrastructure_outage.traffic_signal"),
    ("楼下饭店着火了，浓烟滚滚", "public_safety_hazard.fire_ongoing"),
]

QUIET = [
    ("我们没有闻到煤气味，只是咨询燃气费", "public_safety_hazard.gas_leak"),  # negated
    ("商场跳楼价大甩卖，宣传太吵", "personal_safety.suicide_risk"),  # exclude veto
    ("一旦发生火灾后果不堪设想，消防通道被堵", "public_safety_hazard.fire_ongoing"),  # hypothetical cue
    ("公司拖欠工资三个月了", "group_incident.collective_wage_arrears"),  # require missing
    ("停电通知什么时候发布", "infrastructure_outage.power_outage"),  # exclude
    ("咨询公积金提取", "public_safety_hazard.gas_leak"),
]


@pytest.mark.parametrize(("text", "label"), FIRES)
def test_label_fires(text: str, label: str) -> None:
    assert label in _codes(text)


@pytest.mark.parametrize(("text", "label"), QUIET)
def test_label_stays_quiet(text: str, label: str) -> None:
    assert label not in _codes(text)


def test_evidence_names_the_words_and_tags_are_sorted_by_severity() -> None:
    tags = tag(OrderSnapshot("o1", "幸福里整栋楼停电了，家里老人用制氧机"), TAX)
    assert [t.severity for t in tags] == sorted((t.severity for t in tags), reverse=True)
    life = next(t for t in tags if t.label_code == "vulnerable_people.life_support_outage")
    assert set(life.evidence.words) == {"停电", "制氧机"} and life.role == "power_repair"
    assert life.evidence.as_dict()["words"] == list(life.evidence.words)


COUNTS = [
    ({"same_caller@30d": 2}, False),
    ({"same_caller@30d": 3}, True),
    ({"same_caller@90d": 9}, False),
]


@pytest.mark.parametrize(("counts", "fires"), COUNTS)
def test_count_conditions_come_from_context(counts: dict[str, int], fires: bool) -> None:
    ctx = TaggingContext(counts=counts, related_order_ids={"same_caller@30d": ["o0", "o-1", "o1"]})
    tags = {t.label_code: t for t in tag(OrderSnapshot("o1", "咨询"), TAX, ctx)}
    assert ("repeat_unresolved.repeat_caller" in tags) is fires
    if fires:
        ev = tags["repeat_unresolved.repeat_caller"].evidence
        assert ev.counts == {"same_caller@30d": 3} and ev.related_order_ids == ("o0", "o-1")


MINI = load_taxonomy({
    "version": "m",
    "roles": {"handler": "h"},
    "categories": [{"code": "c", "labels": [
        {"code": "c.cat", "name": "按类别", "severity": 2, "role": "handler",
         "signals": [{"categories": ["12345.gas"], "appeal_types": ["complaint"]}]},
        {"code": "c.score", "name": "模型", "severity": 3, "role": "handler",
         "signals": [{"scores": [{"model": "spike", "min": 0.99}]}]},
        {"code": "c.neg", "name": "自定义否定", "severity": 1, "role": "handler",
         "signals": [{"keywords": ["漏水"], "negations": ["已经不"]}]},
    ]}],
})

STRUCTURED = [
    (OrderSnapshot("o", "x", "12345.gas.leak", "complaint"), TaggingContext(), {"c.cat"}),
    (OrderSnapshot("o", "x", "12345.gas.leak", "consult"), TaggingContext(), set()),
    (OrderSnapshot("o", "x", "12345.water", "complaint"), TaggingContext(), set()),
    (OrderSnapshot("o", "x"), TaggingContext(scores={"spike": 0.995}), {"c.score"}),
    (OrderSnapshot("o", "x"), TaggingContext(scores={"spike": 0.9}), set()),
    (OrderSnapshot("o", "卫生间漏水"), TaggingContext(), {"c.neg"}),
    (OrderSnapshot("o", "卫生间已经不漏水了"), TaggingContext(), set()),
]


@pytest.mark.parametrize(("order", "ctx", "expected"), STRUCTURED)
def test_category_prefix_appeal_type_scores_and_rule_negations(order: OrderSnapshot, ctx: TaggingContext,
                                                               expected: set[str]) -> None:
    assert {t.label_code for t in tag(order, MINI, ctx)} == expected


def test_diff_tags_reports_added_removed_and_changed() -> None:
    old = tag(OrderSnapshot("o1", "咨询"), TAX, TaggingContext(counts={"same_caller@30d": 3}))
    new = tag(OrderSnapshot("o1", "咨询"), TAX, TaggingContext(counts={"same_caller@30d": 4, "reopened": 2}))
    d = diff_tags(old, new)
    assert [t.label_code for t in d.added] == ["repeat_unresolved.reopened_repeatedly"]
    assert [t.label_code for t in d.changed] == ["repeat_unresolved.repeat_caller"] and d.removed == ()
    assert diff_tags(new, []).removed


def test_automaton_finds_overlapping_phrases() -> None:
    hits = PhraseAutomaton(["煤气", "煤气味", "气味", "味"]).find("一股煤气味")
    assert sorted((h.phrase, h.start) for h in hits) == [("味", 4), ("气味", 3), ("煤气", 2), ("煤气味", 2)]
    assert PhraseAutomaton([]).find("任何") == []


NEG = [
    ("没有闻到煤气味", "煤气味", True),
    ("闻到煤气味", "煤气味", False),
    ("没有，但闻到煤气味", "煤气味", False),  # another clause
    ("是不是煤气味", "煤气味", False),
    ("有没有人管一下，煤气味", "煤气味", False),
    ("并未发现异常的煤气味", "煤气味", True),
    ("没想到楼道里居然有煤气味", "煤气味", False),  # cue further than the window
]


@pytest.mark.parametrize(("text", "phrase", "negated"), NEG)
def test_negation_is_clause_local(text: str, phrase: str, negated: bool) -> None:
    tax = TAX.taxonomy
    assert is_negated(text, text.index(phrase), tax.negations, tax.pseudo_negations) is negated


PHONES = [("+86 138-0013-8000", "13800138000"), ("008613800138000", "13800138000"),
          ("0731-8888 6666", "073188886666"), ("123", None), (None, None)]


@pytest.mark.parametrize(("raw", "norm"), PHONES)
def test_phone_normalisation(raw: str | None, norm: str | None) -> None:
    assert normalise_phone(raw) == norm
    assert caller_key(raw) == (f"caller:{norm}" if norm else None)


ENTERPRISES = [
    ("我在长沙市恒达建筑工程有限公司上班，公司拖欠工资", ["长沙市恒达建筑工程有限公司"]),
    ("投诉华润万家超市卖过期食品，该公司不处理", ["华润万家超市"]),
    ("顺丰公司的快递丢了", ["顺丰公司"]),
    ("幸福里楼下烧烤店噪音", []),
    ("举报XX化工厂偷排废水", ["xx化工厂"]),
    ("华润万家(长沙)有限公司", ["华润万家(长沙)有限公司"]),
    # a kind of company, not one company: no trade name (字号) before the industry and the suffix
    ("停电了，打95598一直占线，请供电公司尽快派人抢修", []),
    ("沈阳市铁西区兴工街道万科城10号楼物业公司今年将物业费从每平方米1.2元涨到1.8元", []),
    ("2018年2月L市公交公司取消了老年卡，我们公司的自来水公司也不管", []),
    ("这家店铺卖假货，三家公司都不处理，厂房漏水", []),
    # the trade name survives places, leading verbs and industries
    ("请有关部门查处A市轴承厂偷排", ["a市轴承厂"]),
    ("名为西地省银长担保有限公司的企业", ["西地省银长担保有限公司"]),
    ("反映万科物业公司乱收费，万科物业费太高", ["万科物业公司"]),
]


@pytest.mark.parametrize(("text", "names"), ENTERPRISES)
def test_enterprise_names_are_extracted(text: str, names: list[str]) -> None:
    assert [n.lower() for n in extract_enterprises(text)] == names


def test_subject_keys_and_address_variants() -> None:
    assert address_key("长沙市岳麓区幸福里5号楼2门301室") == address_key("长沙市岳麓区幸福里五栋2单元301")
    assert address_key("") is None
    assert enterprise_key("恒达有限责任公司") == enterprise_key("恒达有限公司")
    keys = subject_keys("13800138000", "幸福里5栋", "反映恒达建筑有限公司欠薪")
    assert [k.split(":")[0] for k in keys] == ["caller", "addr", "ent"]


T0 = datetime(2024, 1, 1, tzinfo=UTC)


def test_risk_decays_with_a_half_life_and_folds_in_any_order() -> None:
    assert decayed(8.0, T0, T0 + timedelta(days=30)) == pytest.approx(4.0)
    assert decayed(8.0, T0, T0 - timedelta(days=1)) == 8.0
    tags = [(T0, 4), (T0 + timedelta(days=10), 2), (T0 + timedelta(days=3), 3)]
    state: SubjectRisk | None = None
    for at, sev in tags:
        state = accumulate(state, "caller:1", sev, at)
    assert state is not None
    now = T0 + timedelta(days=40)
    folded = decayed(state.score, state.as_of, now)
    assert folded == pytest.approx(score_history("caller:1", tags, now).score)
    assert risk_level(0) == "low" and risk_level(4) == "watch" and risk_level(10) == "high"
    assert risk_level(25) == "critical" and SubjectRisk("x", 12.0, T0).level == "high"
