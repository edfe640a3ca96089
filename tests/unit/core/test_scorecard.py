"""Unit scorecard: config validation, linear points, deductions/bonuses, fairness, ranking."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from minxin.core.kpi import KpiPartial, ScorecardConfig, ScorecardConfigError, score_units
from minxin.core.kpi.scorecard import WeightedKpi, kpi_points, score_unit, wilson_interval

DEFAULT_YAML = Path(__file__).resolve().parents[3] / "src" / "minxin" / "reports" / "scorecard_default.yaml"

SIMPLE: dict[str, Any] = {
    "kpis": {
        "on_time_completion_rate": {"weight": 60, "target": 1.0, "floor": 0.8},
        "satisfaction_rate_fair": {"weight": 40, "target": 1.0, "floor": 0.8},
    },
    "deductions": [{"kpi": "overdue_count", "points_per": 1, "cap": 3}],
    "bonuses": [{"kpi": "praise_count", "points_per": 0.5, "cap": 1}],
    "small_sample": 30,
}


def unit(
    *,
    judged: int = 10,
    on_time: int = 10,
    satisfied: int = 10,
    dissatisfied: int = 0,
    praise: int = 0,
    orders: int = 20,
    flagged_dissatisfied: int = 0,
) -> KpiPartial:
    return KpiPartial(
        orders_all=orders,
        orders=orders,
        praise=praise,
        completion_judged=judged,
        completion_on_time=on_time,
        satisfied=satisfied,
        dissatisfied=dissatisfied + flagged_dissatisfied,
        fairness_excluded=flagged_dissatisfied,
        fairness_excluded_answered=flagged_dissatisfied,
    )


def test_default_yaml_is_valid() -> None:
    config = ScorecardConfig.from_mapping(yaml.safe_load(DEFAULT_YAML.read_text(encoding="utf-8")))
    assert sum(w.weight for w in config.kpis.values()) == 100
    assert "satisfaction_rate_fair" in config.kpis and "satisfaction_rate" not in config.kpis


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ({"kpis": {"on_time_completion_rate": {"weight": 60, "target": 1, "floor": 0.8}}}, "sum to 100"),
        ({"kpis": {"nope": {"weight": 100, "target": 1, "floor": 0}}}, "unknown KPI"),
        ({"kpis": {"volume": {"weight": 100, "target": 1, "floor": 0}}}, "count KPIs"),
        ({"kpis": {"callback_rate": {"weight": 100, "target": 1, "floor": 1}}}, "target and floor"),
        (
            {"kpis": {"callback_rate": {"weight": 100, "target": 1, "floor": 0, "x": 1}}},
            "kpis.callback_rate.x",
        ),
        ({"deductions": [{"kpi": "reopen_rate", "points_per": 1, "cap": 1}]}, "not a count KPI"),
        ({"deductions": [{"kpi": "overdue_count", "points_per": 0, "cap": 1}]}, "deductions.0.points_per"),
        ({"bonuses": [{"kpi": "praise_count", "points_per": 1, "cap": -1}]}, "bonuses.0.cap"),
        ({"weights": {}}, "weights"),
    ],
)
def test_invalid_configs_name_the_problem(patch: dict[str, Any], message: str) -> None:
    with pytest.raises(ScorecardConfigError, match=message):
        ScorecardConfig.from_mapping({**SIMPLE, **patch})


@pytest.mark.parametrize(
    ("value", "target", "floor", "points"),
    [
        (1.0, 1.0, 0.8, 10.0),
        (0.9, 1.0, 0.8, 5.0),
        (0.8, 1.0, 0.8, 0.0),
        (0.5, 1.0, 0.8, 0.0),
        (0.05, 0.0, 0.2, 7.5),  # lower is better
        (0.0, 0.0, 0.2, 10.0),
        (0.3, 0.0, 0.2, 0.0),
        (3.0, 1.0, 5.0, 5.0),  # working days
    ],
)
def test_points_are_linear_between_floor_and_target(value, target, floor, points) -> None:
    assert kpi_points(value, WeightedKpi(weight=10, target=target, floor=floor)) == pytest.approx(points)


def test_score_with_deduction_and_bonus() -> None:
    config = ScorecardConfig.from_mapping(SIMPLE)
    s = score_unit("u1", unit(judged=10, on_time=9, praise=4), config)
    # completion 0.9 → 30 of 60; satisfaction 1.0 → 40; overdue 1 → −1; praise 4 × 0.5 capped at 1.
    assert [line.points for line in s.lines] == [pytest.approx(30), 40]
    assert s.base_score == pytest.approx(70)
    assert (s.deduction, s.bonus) == (1, 1)
    assert s.score == pytest.approx(70)
    assert s.deductions[0].count == 1 and s.deductions[0].label == "超期工单数"


def test_deduction_is_capped_and_score_never_negative_or_above_max() -> None:
    config = ScorecardConfig.from_mapping(SIMPLE)
    bad = score_unit("u", unit(judged=10, on_time=0, satisfied=0, dissatisfied=10), config)
    assert bad.deduction == 3 and bad.score == 0.0
    great = score_unit("u", unit(praise=10), config)
    assert great.base_score == 100 and great.score == 100


def test_fairness_flagged_orders_do_not_count_against_the_unit() -> None:
    config = ScorecardConfig.from_mapping(SIMPLE)
    s = score_unit("u", unit(satisfied=10, flagged_dissatisfied=5), config)
    assert s.score == 100
    assert (s.fairness_excluded, s.fairness_excluded_answered) == (5, 5)
    sat = s.lines[1]
    assert (sat.numerator, sat.denominator) == (10, 10)


def test_missing_kpi_redistributes_weight() -> None:
    config = ScorecardConfig.from_mapping(SIMPLE)
    s = score_unit("u", unit(judged=10, on_time=9, satisfied=0), config)
    assert s.lines[1].points is None and s.weight_scored == 60
    assert s.base_score == pytest.approx(50)  # 30 of 60 scaled to 100


def test_min_sample_for_points() -> None:
    config = ScorecardConfig.from_mapping({**SIMPLE, "min_sample_for_points": 5})
    s = score_unit("u", unit(judged=10, on_time=10, satisfied=0, dissatisfied=2), config)
    assert s.lines[1].points is None and s.base_score == 100


def test_small_sample_flag_and_wilson_interval() -> None:
    config = ScorecardConfig.from_mapping(SIMPLE)
    s = score_unit("u", unit(judged=10, on_time=9), config)
    line = s.lines[0]
    assert line.small_sample and line.sample_size == 10
    assert line.ci_low == pytest.approx(0.5958, abs=1e-4)
    assert line.ci_high == pytest.approx(0.9821, abs=1e-4)
    assert wilson_interval(0, 0) is None
    low, high = wilson_interval(5, 5)  # type: ignore[misc]
    assert high == 1.0 and 0.5 < low < 0.6


def test_ranking_is_deterministic_with_documented_tie_breaks() -> None:
    config = ScorecardConfig.from_mapping(SIMPLE)
    partials = {
        "z-small": unit(orders=5),  # 100, volume 5
        "a-big": unit(orders=50),  # 100, volume 50
        "m-big": unit(orders=50),  # 100, volume 50 → unit code decides vs a-big
        "bonus": unit(judged=10, on_time=9, praise=2),  # base 70, bonus 1, deduction 1 → 70
        "lower-base": KpiPartial(orders_all=1, orders=1, completion_judged=10, completion_on_time=9),
        "empty": KpiPartial(),
    }
    ranked = score_units(partials, config)
    assert [(s.unit, s.rank) for s in ranked] == [
        ("a-big", 1),
        ("m-big", 2),
        ("z-small", 3),
        ("bonus", 4),
        ("lower-base", 5),
        ("empty", None),
    ]
    assert ranked[4].score == pytest.approx(50 - 1)  # redistributed 50, one overdue order
    assert ranked[-1].score is None
    assert score_units(dict(reversed(partials.items())), config) == ranked


def test_equal_score_different_base_ranks_by_base() -> None:
    config = ScorecardConfig.from_mapping(SIMPLE)
    partials = {
        "0c": KpiPartial(
            orders_all=99,
            orders=99,
            praise=2,
            completion_judged=10,
            completion_on_time=10,
            satisfied=169,
            dissatisfied=31,
        ),
        "a": unit(judged=10, on_time=9, praise=2),  # base 70 − 1 + 1 = 70
    }
    ranked = score_units(partials, config)
    # 0c: 60 + 40 × (0.845 − 0.8) / 0.2 = 69, + 1 bonus = 70: same score, lower base, ranks second
    # although its volume is larger and its code sorts first.
    assert ranked[1].base_score == pytest.approx(69)
    assert ranked[0].score == pytest.approx(ranked[1].score)
    assert [s.unit for s in ranked] == ["a", "0c"]
