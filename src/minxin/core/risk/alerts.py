"""The records detectors read and write, and the rule that duplicates attach to a live alert.

Why a shared shape: four detectors (repeat, spike, cluster, chain) feed one alert board. Each
emits :class:`AlertCandidate` s with a ``dedup_key`` that stays the same for the whole episode
(the same caller's run of calls, one cluster, one spike episode of a cell, one order chain), and
re-emits the candidate with more orders as the episode grows. :func:`merge_into_live` turns a
batch of candidates into "create these" and "attach these orders to that live alert", so a
persisting layer only has to apply the result in one transaction.

Attach rules, in order (the first that matches wins):

1. a live alert with the same ``dedup_key``;
2. a live alert in the same region whose orders cover at least ``overlap`` (default ½) of the
   candidate's orders, whatever detector raised it, or (same category, ≥ 3 orders) whose own
   orders lie at least ``overlap`` inside the candidate: a 30-call outage cluster is also a spike
   in its category × region cell, and must stay one alert;
3. otherwise the candidate becomes a new alert (candidates of one batch with the same key, or
   overlapping as in rule 2, are first combined).

Invariants: merging is idempotent (re-applying candidates whose orders are all attached yields no
attachments), never drops an order, and never attaches to an alert that is not live (closed
alerts are simply not passed in; ``stale_after`` additionally ignores alerts quiet for that long).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

__all__ = [
    "AlertBook",
    "AlertCandidate",
    "Attachment",
    "Detector",
    "EventKind",
    "LiveAlert",
    "MergeResult",
    "OrderEvent",
    "merge_into_live",
    "replay",
]


class EventKind(StrEnum):
    """What happened to an order: a new appeal, or a step of a handling loop."""

    CREATED = "created"
    RETURNED = "returned"  # 退单: a unit sent it back to the dispatcher
    REOPENED = "reopened"  # 重办: reopened after an unsatisfied callback
    OVERDUE = "overdue"  # its deadline passed unresolved


@dataclass(frozen=True, slots=True)
class OrderEvent:
    """One order event as detectors see it (plain values; the risk service builds these from rows).

    ``region`` is the area a cluster or spike is counted in (a district or street code);
    ``category`` the business category a spike is counted per; ``subjects`` the subject keys of
    :mod:`minxin.core.risk.subjects`; ``labels`` risk label codes from tagging; ``parent_order_id``
    links a follow-up order to the order it continues (a chain).
    """

    order_id: str
    at: datetime
    kind: EventKind = EventKind.CREATED
    region: str = ""
    category: str = ""
    text: str = ""
    subjects: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    parent_order_id: str | None = None


@dataclass(frozen=True, slots=True)
class AlertCandidate:
    """A detector's claim that something needs an intervention. ``order_ids`` are all orders so far."""

    detector: str
    dedup_key: str
    label_code: str
    region: str
    category: str
    severity: int
    order_ids: tuple[str, ...]
    evidence: Mapping[str, Any]
    first_seen: datetime
    detected_at: datetime


@dataclass(frozen=True, slots=True)
class LiveAlert:
    """What merging needs to know of a live (pushed/acknowledged, not closed) alert."""

    alert_id: str
    dedup_key: str
    region: str
    order_ids: frozenset[str]
    last_seen: datetime
    detectors: frozenset[str] = frozenset()
    category: str = ""


@dataclass(frozen=True, slots=True)
class Attachment:
    """Attach ``new_order_ids`` (and the candidate's fresher evidence) to live alert ``alert_id``."""

    alert_id: str
    candidate: AlertCandidate
    new_order_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class MergeResult:
    new: tuple[AlertCandidate, ...] = ()
    attach: tuple[Attachment, ...] = ()


class Detector(Protocol):
    """The streaming interface every detector offers (state lives in the detector object)."""

    name: str

    def observe(self, event: OrderEvent) -> list[AlertCandidate]: ...

    def scan(self, now: datetime) -> list[AlertCandidate]: ...


def _duplicate(cand: AlertCandidate, orders: frozenset[str] | set[str], region: str, category: str,
               overlap: float) -> bool:
    """Rule 2 of the module doc: same region and the orders overlap enough, in either direction."""
    if region != cand.region or not cand.order_ids or not orders:
        return False
    inside = sum(1 for o in cand.order_ids if o in orders)
    if inside > 0 and inside >= overlap * len(cand.order_ids):
        return True
    # a live alert mostly inside the candidate (a live cluster, then a spike over its whole cell-day)
    return bool(category) and category == cand.category and len(orders) >= 3 and inside >= overlap * len(orders)


def _combine(a: AlertCandidate, b: AlertCandidate) -> AlertCandidate:
    """One candidate from two of the same episode (keeps a's key; evidence of the later one)."""
    if a.detector == b.detector:
        evidence = dict(b.evidence if b.detected_at >= a.detected_at else a.evidence)
        for k in ("also_detected_by", "other_evidence"):
            if k in a.evidence and k not in evidence:
                evidence[k] = a.evidence[k]
    else:
        evidence = dict(a.evidence)
        evidence["also_detected_by"] = sorted({*a.evidence.get("also_detected_by", ()), b.detector})
        evidence["other_evidence"] = {**a.evidence.get("other_evidence", {}), b.detector: dict(b.evidence)}
    return replace(
        a, severity=max(a.severity, b.severity), order_ids=tuple(dict.fromkeys((*a.order_ids, *b.order_ids))),
        first_seen=min(a.first_seen, b.first_seen), detected_at=max(a.detected_at, b.detected_at),
        evidence=evidence,
    )


def merge_into_live(candidates: Iterable[AlertCandidate], live_alerts: Sequence[LiveAlert], *,
                    now: datetime | None = None, stale_after: timedelta | None = None,
                    overlap: float = 0.5) -> MergeResult:
    """Split candidates into new alerts and attachments to live alerts (see module doc)."""
    live = [a for a in live_alerts
            if stale_after is None or now is None or a.last_seen >= now - stale_after]
    by_key = {a.dedup_key: a for a in live}
    attach: dict[str, tuple[AlertCandidate, list[str]]] = {}
    fresh: list[AlertCandidate] = []
    for cand in sorted(candidates, key=lambda c: (c.detected_at, c.dedup_key)):
        target = by_key.get(cand.dedup_key)
        if target is None:
            target = next((a for a in live if _duplicate(cand, a.order_ids, a.region, a.category, overlap)), None)
        if target is not None:
            new_ids = [o for o in cand.order_ids if o not in target.order_ids]
            prev = attach.get(target.alert_id)
            if prev is not None:
                new_ids = list(dict.fromkeys((*prev[1], *new_ids)))
                cand = _combine(prev[0], cand)
            attach[target.alert_id] = (cand, new_ids)
            continue
        for i, other in enumerate(fresh):
            if other.dedup_key == cand.dedup_key or _duplicate(
                cand, set(other.order_ids), other.region, other.category, overlap
            ):
                fresh[i] = _combine(other, cand)
                break
        else:
            fresh.append(cand)
    return MergeResult(
        new=tuple(fresh),
        attach=tuple(Attachment(aid, c, tuple(ids)) for aid, (c, ids) in attach.items() if ids),
    )


@dataclass
class _BookEntry:
    alert: LiveAlert
    candidate: AlertCandidate
    closed: bool = False


@dataclass
class AlertBook:
    """An in-memory alert store applying :func:`merge_into_live`: the reference for persisters.

    The DB-backed risk service does the same with rows; tests and the benchmark use this one.
    Alert ids are ``A1``, ``A2`` … in creation order.
    """

    stale_after: timedelta | None = None
    overlap: float = 0.5
    _entries: dict[str, _BookEntry] = field(default_factory=dict)

    def apply(self, candidates: Iterable[AlertCandidate], now: datetime) -> MergeResult:
        live = [e.alert for e in self._entries.values() if not e.closed]
        result = merge_into_live(candidates, live, now=now, stale_after=self.stale_after, overlap=self.overlap)
        for att in result.attach:
            entry = self._entries[att.alert_id]
            entry.alert = replace(
                entry.alert, order_ids=entry.alert.order_ids | set(att.new_order_ids), last_seen=now,
                detectors=entry.alert.detectors | {att.candidate.detector},
            )
            entry.candidate = _combine(entry.candidate, att.candidate)
        for cand in result.new:
            alert_id = f"A{len(self._entries) + 1}"
            self._entries[alert_id] = _BookEntry(
                LiveAlert(alert_id, cand.dedup_key, cand.region, frozenset(cand.order_ids), now,
                          frozenset({cand.detector}), cand.category),
                cand,
            )
        return result

    def close(self, alert_id: str) -> None:
        self._entries[alert_id].closed = True

    @property
    def alerts(self) -> list[tuple[LiveAlert, AlertCandidate]]:
        """Every alert ever created (live or closed) with its combined candidate."""
        return [(e.alert, e.candidate) for e in self._entries.values()]


def replay(detectors: Sequence[Detector], events: Iterable[OrderEvent], *, scan_every: timedelta,
           until: datetime | None = None, since: datetime | None = None) -> list[AlertCandidate]:
    """Feed time-ordered events through detectors, scanning at every ``scan_every`` boundary
    (multiples of ``scan_every`` since the Unix epoch), then until ``until``.

    A batch job (``minxin risk scan``) can rebuild detectors from a window of history this way:
    the history warms the detectors up, ``since`` (the previous scan's time) drops candidates raised
    before it, and the rest go to :func:`merge_into_live`, where already-attached orders are no-ops.
    """
    out: list[AlertCandidate] = []
    next_scan: datetime | None = None

    def keep(cands: list[AlertCandidate]) -> None:
        out.extend(c for c in cands if since is None or c.detected_at >= since)

    for ev in events:
        if next_scan is None:
            step = scan_every.total_seconds()
            next_scan = datetime.fromtimestamp((ev.at.timestamp() // step + 1) * step, tz=ev.at.tzinfo)
        while ev.at >= next_scan:
            for det in detectors:
                keep(det.scan(next_scan))
            next_scan += scan_every
        for det in detectors:
            keep(det.observe(ev))
    if next_scan is not None and until is not None:
        while next_scan <= until:
            for det in detectors:
                keep(det.scan(next_scan))
            next_scan += scan_every
    return out
