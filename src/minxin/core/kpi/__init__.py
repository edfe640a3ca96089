"""KPI definitions as code (DESIGN §5): order facts → additive partials → KPI values.

Layers, each pure: ``facts`` (one order, and import-row parsing) → ``partials`` (integer
counters per order, summed per cell) → ``definitions`` (the registry computing every KPI from a
summed partial) → ``compare`` (MoM / YoY / 3-year average) and ``scorecard`` (unit scores).
The written definitions are docs/kpis.md.
"""

from minxin.core.kpi.compare import ComparisonReport, Period, PeriodKind, compare, source_from_cells
from minxin.core.kpi.definitions import (
    KPIS,
    KpiDefinition,
    KpiUnit,
    KpiValue,
    compute,
    compute_all,
    format_value,
)
from minxin.core.kpi.facts import IMPORT_COLUMNS, OPTIONAL_COLUMNS, FactError, OrderFact, from_row
from minxin.core.kpi.histogram import HandlingHistogram
from minxin.core.kpi.partials import (
    COUNTER_FIELDS,
    DEFAULT_POLICY,
    EMPTY_PARTIAL,
    STANDARD_WORKDAY_SECONDS,
    CellKey,
    KpiPartial,
    KpiPolicy,
    aggregate,
    as_of_adjustment,
    cell_key_of,
    merge,
    partial_of,
    rollup,
    subtract,
    sum_partials,
)
from minxin.core.kpi.scorecard import ScorecardConfig, ScorecardConfigError, UnitScore, score_units

__all__ = [
    "COUNTER_FIELDS",
    "DEFAULT_POLICY",
    "EMPTY_PARTIAL",
    "IMPORT_COLUMNS",
    "KPIS",
    "OPTIONAL_COLUMNS",
    "STANDARD_WORKDAY_SECONDS",
    "CellKey",
    "ComparisonReport",
    "FactError",
    "HandlingHistogram",
    "KpiDefinition",
    "KpiPartial",
    "KpiPolicy",
    "KpiUnit",
    "KpiValue",
    "OrderFact",
    "Period",
    "PeriodKind",
    "ScorecardConfig",
    "ScorecardConfigError",
    "UnitScore",
    "aggregate",
    "as_of_adjustment",
    "cell_key_of",
    "compare",
    "compute",
    "compute_all",
    "format_value",
    "from_row",
    "merge",
    "partial_of",
    "rollup",
    "score_units",
    "source_from_cells",
    "subtract",
    "sum_partials",
]
