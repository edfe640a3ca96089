"""The monthly unit scorecard: KPIs → a 100-point score with deductions, bonuses and a ranking.

Why it is configurable data: every centre weighs its KPIs differently and changes the weights
yearly, but the formula must be published with the score (docs/kpis.md §6). The configuration is
a plain mapping (loaded from YAML or the admin API by the caller; the core reads no files).

Formula, per unit, from the unit's summed partial:
- each weighted KPI earns ``weight × clip((value − floor) / (target − floor), 0, 1)`` points,
  so the same rule serves "higher is better" (target > floor) and "lower is better"
  (target < floor) KPIs;
- a KPI with no value (no sample, or fewer than ``min_sample_for_points``) is left out and the
  other weights are scaled up to 100 (``base = 100 × Σ points / Σ weights with a value``);
- ``score = clip(base − Σ deductions + Σ bonuses, 0, max_score)``; each deduction/bonus is
  ``min(cap, points_per × count)``;
- fairness: satisfaction and resolution are scored on the ``*_fair`` KPIs, which leave out orders
  a supervisor marked unreasonable / legally unsupportable; the count is shown on each unit.

Ranking is deterministic: score desc, base desc, volume desc, unit code asc; units with no
scorable KPI get no score and no rank and are listed last.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from minxin.core.kpi.definitions import KPIS, KpiUnit, compute
from minxin.core.kpi.partials import KpiPartial

_Z95 = 1.959963984540054


class ScorecardConfigError(ValueError):
    """The scorecard configuration is invalid; the message names the offending key."""

    code = "scorecard.bad_config"


class WeightedKpi(BaseModel):
    """Points for one KPI: full ``weight`` at ``target`` or better, 0 at ``floor`` or worse."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    weight: float = Field(ge=0)
    target: float
    floor: float

    @model_validator(mode="after")
    def _distinct(self) -> WeightedKpi:
        if self.target == self.floor:
            raise ValueError("target and floor must differ")
        return self


class Adjustment(BaseModel):
    """A deduction or bonus: ``points_per`` for each counted order, at most ``cap`` points."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kpi: str
    points_per: float = Field(gt=0)
    cap: float = Field(ge=0)
    label: str = ""

    @model_validator(mode="after")
    def _count_kpi(self) -> Adjustment:
        if self.kpi not in KPIS:
            raise ValueError(f"unknown KPI {self.kpi!r}")
        if KPIS[self.kpi].unit is not KpiUnit.COUNT:
            raise ValueError(f"{self.kpi!r} is not a count KPI")
        return self


class ScorecardConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = "月度承办单位考核"
    kpis: dict[str, WeightedKpi]
    deductions: tuple[Adjustment, ...] = ()
    bonuses: tuple[Adjustment, ...] = ()
    #: rates with a denominator below this are flagged ``small_sample`` (shown, still scored)
    small_sample: int = Field(default=30, ge=0)
    #: KPIs with a sample below this are not scored (their weight is redistributed)
    min_sample_for_points: int = Field(default=1, ge=1)
    max_score: float = Field(default=100, gt=0)

    @model_validator(mode="after")
    def _check(self) -> ScorecardConfig:
        unknown = [c for c in self.kpis if c not in KPIS]
        if unknown:
            raise ValueError(f"unknown KPI codes in kpis: {unknown}")
        counts = [c for c in self.kpis if KPIS[c].unit is KpiUnit.COUNT]
        if counts:
            raise ValueError(f"count KPIs belong in deductions/bonuses, not kpis: {counts}")
        total = sum(w.weight for w in self.kpis.values())
        if not math.isclose(total, 100, abs_tol=1e-9):
            raise ValueError(f"kpi weights must sum to 100 (got {total:g})")
        return self

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> ScorecardConfig:
        """Validate a mapping (e.g. ``yaml.safe_load`` output); errors name each bad key."""
        try:
            return cls.model_validate(dict(data))
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or '(root)'}: {e['msg']}" for e in exc.errors()
            )
            raise ScorecardConfigError(f"invalid scorecard config: {problems}") from None


@dataclass(frozen=True, slots=True)
class KpiLine:
    code: str
    name_zh: str
    weight: float
    target: float
    floor: float
    value: float | None
    numerator: float | int | None
    denominator: int | None
    sample_size: int
    #: points earned out of ``weight``; None when the KPI was not scored
    points: float | None
    small_sample: bool
    #: Wilson 95% interval for rates (None otherwise or without a sample)
    ci_low: float | None
    ci_high: float | None


@dataclass(frozen=True, slots=True)
class AdjustmentLine:
    kpi: str
    label: str
    count: int
    points: float


@dataclass(frozen=True, slots=True)
class UnitScore:
    unit: str
    rank: int | None
    score: float | None
    base_score: float | None
    deduction: float
    bonus: float
    lines: tuple[KpiLine, ...]
    deductions: tuple[AdjustmentLine, ...]
    bonuses: tuple[AdjustmentLine, ...]
    #: effective orders of the unit in the period
    volume: int
    #: orders left out of satisfaction/resolution by the fairness rule, and how many had answers
    fairness_excluded: int
    fairness_excluded_answered: int
    #: Σ weights of the KPIs that had a value (the base is scaled by 100 / this)
    weight_scored: float


def wilson_interval(successes: int, n: int, z: float = _Z95) -> tuple[float, float] | None:
    """Wilson score interval for a proportion: honest for small n and for 0% / 100%."""
    if n <= 0:
        return None
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def kpi_points(value: float, rule: WeightedKpi) -> float:
    """Linear points between floor (0) and target (full weight), clipped."""
    fraction = (value - rule.floor) / (rule.target - rule.floor)
    return rule.weight * min(1.0, max(0.0, fraction))


def _adjust(rules: tuple[Adjustment, ...], partial: KpiPartial) -> tuple[AdjustmentLine, ...]:
    lines = []
    for rule in rules:
        count = int(compute(rule.kpi, partial).value or 0)
        lines.append(
            AdjustmentLine(
                rule.kpi, rule.label or KPIS[rule.kpi].name_zh, count, min(rule.cap, rule.points_per * count)
            )
        )
    return tuple(lines)


def score_unit(unit: str, partial: KpiPartial, config: ScorecardConfig) -> UnitScore:
    """The unranked score of one unit (``rank`` is None until ``score_units`` ranks it)."""
    lines: list[KpiLine] = []
    earned = 0.0
    weight_scored = 0.0
    for code, rule in config.kpis.items():
        definition = KPIS[code]
        kv = compute(code, partial)
        value = None if kv.value is None else float(kv.value)
        scored = value is not None and kv.sample_size >= config.min_sample_for_points
        points = kpi_points(value, rule) if scored and value is not None else None
        if points is not None:
            earned += points
            weight_scored += rule.weight
        ci = None
        if definition.unit is KpiUnit.RATE and kv.denominator:
            ci = wilson_interval(int(kv.numerator or 0), kv.denominator)
        lines.append(
            KpiLine(
                code=code,
                name_zh=definition.name_zh,
                weight=rule.weight,
                target=rule.target,
                floor=rule.floor,
                value=value,
                numerator=kv.numerator,
                denominator=kv.denominator,
                sample_size=kv.sample_size,
                points=points,
                small_sample=kv.sample_size < config.small_sample,
                ci_low=ci[0] if ci else None,
                ci_high=ci[1] if ci else None,
            )
        )
    deductions = _adjust(config.deductions, partial)
    bonuses = _adjust(config.bonuses, partial)
    deduction = sum(d.points for d in deductions)
    bonus = sum(b.points for b in bonuses)
    base = 100 * earned / weight_scored if weight_scored > 0 else None
    score = None if base is None else min(config.max_score, max(0.0, base - deduction + bonus))
    return UnitScore(
        unit=unit,
        rank=None,
        score=score,
        base_score=base,
        deduction=deduction,
        bonus=bonus,
        lines=tuple(lines),
        deductions=deductions,
        bonuses=bonuses,
        volume=partial.orders,
        fairness_excluded=partial.fairness_excluded,
        fairness_excluded_answered=partial.fairness_excluded_answered,
        weight_scored=weight_scored,
    )


def _rank_key(s: UnitScore) -> tuple[float, float, int, str]:
    # Rounded only for ordering, so float noise never decides a tie the rules should decide.
    return (-round(s.score or 0.0, 9), -round(s.base_score or 0.0, 9), -s.volume, s.unit)


def score_units(partials_by_unit: Mapping[str, KpiPartial], config: ScorecardConfig) -> list[UnitScore]:
    """Score and rank units. Ranks are 1..n with no shared ranks (ties broken as documented)."""
    scored = [score_unit(unit, p, config) for unit, p in partials_by_unit.items()]
    ranked = sorted((s for s in scored if s.score is not None), key=_rank_key)
    unranked = sorted((s for s in scored if s.score is None), key=lambda s: s.unit)
    return [replace(s, rank=i) for i, s in enumerate(ranked, start=1)] + unranked
