"""Pure core of risk early warning: taxonomy, tagging, subjects, detectors, alert merging.

No database, no clock (``now`` is always a parameter), no I/O: the risk domain
(:mod:`minxin.risk`) reads the taxonomy file, counts history, persists tags and alerts, and calls
these functions. Statistics use numpy/scipy; holiday dates come in as plain sets.
"""

from __future__ import annotations

from minxin.core.risk.detectors import (
    AlertBook,
    AlertCandidate,
    ClusterDetector,
    EventKind,
    LiveAlert,
    MergeResult,
    OrderEvent,
    OverdueChainDetector,
    RepeatAppealDetector,
    SpikeDetector,
    default_detectors,
    detect,
    merge_into_live,
)
from minxin.core.risk.tagging import OrderSnapshot, RiskTag, TaggingContext, tag
from minxin.core.risk.taxonomy import Taxonomy, TaxonomyError, load_taxonomy

__all__ = [
    "AlertBook",
    "AlertCandidate",
    "ClusterDetector",
    "EventKind",
    "LiveAlert",
    "MergeResult",
    "OrderEvent",
    "OrderSnapshot",
    "OverdueChainDetector",
    "RepeatAppealDetector",
    "RiskTag",
    "SpikeDetector",
    "TaggingContext",
    "Taxonomy",
    "TaxonomyError",
    "default_detectors",
    "detect",
    "load_taxonomy",
    "merge_into_live",
    "tag",
]
