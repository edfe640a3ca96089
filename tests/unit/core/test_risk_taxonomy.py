"""The risk taxonomy: the shipped default is valid (9 categories, 122 labels) and bad input is named."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from minxin.core.risk.taxonomy import TaxonomyError, load_taxonomy
from minxin.risk.taxonomy_file import load_taxonomy_file, read_taxonomy_mapping

MINI: dict[str, Any] = {
    "version": "t1",
    "roles": {"handler": "承办单位", "supervisor": "督办"},
    "categories": [
        {
            "code": "safety",
            "name": "安全",
            "labels": [
                {"code": "safety.gas", "name": "燃气泄漏", "severity": 4, "role": "handler",
                 "signals": [{"keywords": ["煤气味"]}]},
                {"code": "safety.repeat", "name": "重复", "severity": 2, "role": "supervisor",
                 "signals": {"counts": [{"metric": "same_caller", "window_days": 30, "min": 3}]}},
            ],
        }
    ],
}


def test_default_taxonomy_has_9_categories_and_122_labels() -> None:
    tax = load_taxonomy_file(expect_categories=9)
    assert len(tax.categories) == 9
    assert len(tax.labels) == 122
    codes = [c.code for c in tax.categories] + [lb.code for lb in tax.labels]
    assert len(codes) == len(set(codes))


def test_every_default_label_is_complete() -> None:
    tax = load_taxonomy_file()
    for cat in tax.categories:
        assert cat.name and cat.description
        for label in cat.labels:
            assert label.code.startswith(cat.code + "."), label.code
            assert label.rules, label.code
            assert 1 <= label.severity <= 4
            assert label.role in tax.roles
            assert label.name and label.description, label.code
            for rule in label.rules:
                assert rule.keywords or rule.categories or rule.appeal_types or rule.counts or rule.scores


def test_default_taxonomy_names_the_counts_callers_must_supply() -> None:
    keys = load_taxonomy_file().count_keys()
    assert {"same_caller@30d", "same_address@30d", "reopened", "returned", "similar_nearby@1h"} <= set(keys)


def test_detector_labels_exist_in_default_taxonomy() -> None:
    tax = load_taxonomy_file()
    for code in ("repeat_unresolved.repeat_caller", "repeat_unresolved.repeat_address", "enterprise.repeat_enterprise",
                 "repeat_unresolved.handling_loop", "group_incident.emerging_cluster", "group_incident.category_spike"):
        assert tax.has_label(code), code


def test_hash_is_stable_and_changes_with_content() -> None:
    a, b = load_taxonomy(MINI), load_taxonomy(copy.deepcopy(MINI))
    assert a.content_hash == b.content_hash and len(a.content_hash) == 64 and a == b
    edited = copy.deepcopy(MINI)
    edited["categories"][0]["labels"][0]["signals"][0]["keywords"].append("燃气味")
    assert load_taxonomy(edited).content_hash != a.content_hash


def test_single_mapping_signal_is_one_rule_and_phrases_are_normalised() -> None:
    m = copy.deepcopy(MINI)
    m["categories"][0]["labels"][0]["signals"] = {"keywords": ["ＡＢＣ 燃气"]}
    tax = load_taxonomy(m)
    assert tax.label("safety.gas").rules[0].keywords == ("abc燃气",)
    assert tax.label("safety.repeat").rules[0].counts[0].key == "same_caller@30d"


def _label0(**changes: Any) -> dict[str, Any]:
    m = copy.deepcopy(MINI)
    m["categories"][0]["labels"][0].update(changes)
    return m


def _rule0(**changes: Any) -> dict[str, Any]:
    m = copy.deepcopy(MINI)
    m["categories"][0]["labels"][0]["signals"] = [changes]
    return m


BAD = [
    ("no version", {**MINI, "version": ""}, "version"),
    ("no roles", {**MINI, "roles": {}}, "roles"),
    ("severity 5", _label0(severity=5), "safety.gas"),
    ("unknown role", _label0(role="mayor"), "safety.gas"),
    ("no signals", _label0(signals=[]), "safety.gas"),
    ("unknown key", _label0(colour="red"), "safety.gas"),
    ("empty rule", _rule0(), "safety.gas"),
    ("require alone", _rule0(require=["农民工"]), "safety.gas"),
    ("bad metric", _rule0(counts=[{"metric": "moon_phase", "min": 1}]), "safety.gas"),
    ("bad min", _rule0(counts=[{"metric": "reopened", "min": 0}]), "safety.gas"),
    ("both windows", _rule0(counts=[{"metric": "same_caller", "min": 2, "window_days": 1, "window_hours": 2}]),
     "safety.gas"),
    ("bad appeal type", _rule0(keywords=["x"], appeal_types=["gossip"]), "safety.gas"),
    ("bad score", _rule0(scores=[{"model": "m", "min": 2}]), "safety.gas"),
    ("keywords not a list", _rule0(keywords="煤气味"), "safety.gas"),
]


@pytest.mark.parametrize(("case", "mapping", "named"), BAD, ids=[b[0] for b in BAD])
def test_invalid_taxonomies_are_refused_naming_the_culprit(case: str, mapping: dict[str, Any], named: str) -> None:
    with pytest.raises(TaxonomyError, match=named):
        load_taxonomy(mapping)


def test_duplicate_label_code_is_named() -> None:
    m = copy.deepcopy(MINI)
    m["categories"][0]["labels"][1]["code"] = "safety.gas"
    with pytest.raises(TaxonomyError, match=r"safety\.gas.*duplicate"):
        load_taxonomy(m)


def test_expected_category_count_is_enforced() -> None:
    with pytest.raises(TaxonomyError, match="expected 9"):
        load_taxonomy(MINI, expect_categories=9)


def test_loader_reads_a_given_file(tmp_path: Any) -> None:
    import yaml

    path = tmp_path / "t.yaml"
    path.write_text(yaml.safe_dump(MINI, allow_unicode=True), encoding="utf-8")
    assert load_taxonomy_file(path).version == "t1"
    assert read_taxonomy_mapping()["version"]  # the packaged default parses
    path.write_text("- just a list", encoding="utf-8")
    with pytest.raises(TaxonomyError):
        load_taxonomy_file(path)
