"""The counts risk tagging reads: an order's subjects' recent orders (from their links) and the
similar orders nearby; and the order's own lifetime counts.

Split from :mod:`minxin.risk.tagger`, which decides and writes. Reads only; nothing here writes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from functools import lru_cache

from sqlalchemy.orm import Session

from minxin.core.risk.cluster import shingles
from minxin.core.risk.subjects import subject_kind
from minxin.core.risk.tagging import CompiledTaxonomy
from minxin.core.risk.taxonomy import CountCondition
from minxin.risk import repository
from minxin.risk.repository import SubjectState
from minxin.workorders.models import WorkOrder

SUBJECT_METRIC = {"caller": "same_caller", "addr": "same_address", "ent": "same_enterprise"}
SIMILAR_TEXT = 0.3
DEFAULT_SUBJECT_WINDOW = timedelta(days=90)
Links = dict[str, list[tuple[datetime, str, int, str]]]  # subject key → [(at, number, order id, status)]
Windows = dict[str, list[tuple[str, CountCondition]]]  # subject kind → [(count key, condition)]


def text_of(order: WorkOrder) -> str:
    return f"{order.title} {order.content}"


def subject_windows(compiled: CompiledTaxonomy) -> Windows:
    """subject kind (caller/addr/ent) → [(count key, condition)] the taxonomy asks for."""
    out: Windows = defaultdict(list)
    for key, cond in compiled.taxonomy.count_keys().items():
        for kind, metric in SUBJECT_METRIC.items():
            if cond.metric == metric:
                out[kind].append((key, cond))
    return out


def horizon(windows: Windows) -> timedelta:
    spans = [c.window for conds in windows.values() for _, c in conds if c.window is not None]
    return max(spans) if spans else DEFAULT_SUBJECT_WINDOW


def subject_counts(windows: Windows, subjects: Iterable[str], links: Links,
                    now: datetime) -> tuple[dict[str, int], dict[str, list[str]]]:
    """Counts (the largest over the order's subjects of each kind: an order naming two companies
    counts the busier one) and the order numbers behind them."""
    counts: dict[str, int] = {}
    related: dict[str, list[str]] = {}
    for key in subjects:
        for count_key, cond in windows.get(subject_kind(key), ()):
            since = now - cond.window if cond.window else None
            numbers = [n for at, n, _, _ in links.get(key, ()) if since is None or at >= since]
            if len(numbers) > counts.get(count_key, -1):
                counts[count_key] = len(numbers)
                related[count_key] = numbers[:50]
    return counts, related


def lifetime_counts(compiled: CompiledTaxonomy, order: WorkOrder, *, unsatisfied: int, overdue: int) -> dict[str, int]:
    values = {
        "reopened": order.reopen_count, "returned": order.return_count, "unsatisfied": unsatisfied,
        "overdue": overdue, "chain_events": order.reopen_count + order.return_count + overdue,
    }
    return {k: values[c.metric] for k, c in compiled.taxonomy.count_keys().items() if c.metric in values}


@lru_cache(maxsize=8192)
def _shingles(text: str) -> frozenset[str]:
    """Memoised: a region's recent orders are compared with every new order of the region."""
    return shingles(text)


def similar_nearby(session: Session, compiled: CompiledTaxonomy, order: WorkOrder, region: str, category: str,
                    now: datetime) -> tuple[dict[str, int], dict[str, list[str]]]:
    """``similar_nearby@…`` (this order included): orders of the region in the window with the same
    category or ≥ 0.3 bigram overlap. A tag only; the cluster detector does the burst test."""
    conds = {k: c for k, c in compiled.taxonomy.count_keys().items() if c.metric == "similar_nearby"}
    if not conds or not region:
        return {}, {}
    widest = max(c.window or timedelta(hours=1) for c in conds.values())
    mine = _shingles(text_of(order))

    def similar_text(other: str) -> bool:
        theirs = _shingles(other)
        return bool(mine and theirs) and len(mine & theirs) >= SIMILAR_TEXT * len(mine | theirs)

    similar = [
        (at, number) for at, number, other, cat in repository.nearby_recent(session, region, now - widest, now, order.id)
        if (category and cat == category) or similar_text(other)
    ]
    counts: dict[str, int] = {}
    related: dict[str, list[str]] = {}
    for key, cond in conds.items():
        since = now - (cond.window or timedelta(hours=1))
        numbers = [n for at, n in similar if at >= since]
        counts[key], related[key] = 1 + len(numbers), numbers[:50]
    return counts, related


def links_of(session: Session, subjects: Sequence[SubjectState], since: datetime, *, limit: int = 500) -> Links:
    by_id = {s.id: s.key for s in subjects}
    out: Links = defaultdict(list)
    for subject_id, order_id, at, number, status in repository.recent_links(session, list(by_id), since, limit):
        out[by_id[subject_id]].append((at, number, order_id, status))
    return out


def links_with_own(session: Session, existing: Sequence[SubjectState], order: WorkOrder, keys: Sequence[str],
                    since: datetime, *, limit: int = 500) -> Links:
    """The subjects' recent links as they will read once ``order`` is linked to ``keys``: the stored
    ones (newest first, ``limit`` in all) with the order's own link merged in, without writing it."""
    by_id = {s.id: s.key for s in existing}
    rows = [(by_id[sid], at, number, oid, status)
            for sid, oid, at, number, status in repository.recent_links(session, list(by_id), since, limit)]
    linked = {key for key, _, _, oid, _ in rows if oid == order.id}
    rows += [(k, order.created_at, order.number, order.id, order.status) for k in keys if k not in linked]
    rows.sort(key=lambda r: r[1], reverse=True)  # stable: ties keep the stored links first
    out: Links = defaultdict(list)
    for key, at, number, oid, status in rows[:limit]:
        out[key].append((at, number, oid, status))
    return out
