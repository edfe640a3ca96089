"""Repeat appeals (the same subject N times in M days) and handling loops (returned / reopened).

Why two detectors: a citizen who keeps calling (RepeatAppealDetector, per subject) and an order
that keeps bouncing between units or being reopened (OverdueChainDetector, per order chain)
need different interventions (a supervisor calls the citizen back vs. a supervisor settles which
unit owns the case). Each event counts in one of them only (``created`` events are appeals;
``returned``/``reopened``/``overdue`` are chain steps), so one planted case raises one alert.

Episodes: a subject's dedup key is fixed when it first crosses its threshold and kept while its
count in the window stays at or above the threshold; once the count drops below, the episode ends
and a later crossing starts a new key. When one order makes two subjects cross (the same caller
at the same address), the second reuses the first's key, so one caller is one alert.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from minxin.core.risk.alerts import AlertCandidate, EventKind, OrderEvent
from minxin.core.risk.subjects import subject_kind

__all__ = ["DEFAULT_REPEAT_RULES", "OverdueChainDetector", "RepeatAppealDetector", "RepeatRule"]


@dataclass(frozen=True, slots=True)
class RepeatRule:
    """Alert when one subject of ``subject_kind`` (caller/addr/ent) has ≥ ``min_orders`` in ``window``."""

    subject_kind: str
    min_orders: int
    window: timedelta
    label_code: str
    severity: int = 2


DEFAULT_REPEAT_RULES: tuple[RepeatRule, ...] = (
    RepeatRule("caller", 3, timedelta(days=30), "repeat_unresolved.repeat_caller", 2),
    RepeatRule("addr", 5, timedelta(days=30), "repeat_unresolved.repeat_address", 2),
    RepeatRule("ent", 5, timedelta(days=30), "enterprise.repeat_enterprise", 2),
)


@dataclass(frozen=True, slots=True)
class _Seen:
    at: datetime
    order_id: str
    region: str
    category: str


class RepeatAppealDetector:
    """Streaming: ``observe`` returns candidates as soon as a subject reaches its threshold."""

    name = "repeat"

    def __init__(self, rules: Sequence[RepeatRule] = DEFAULT_REPEAT_RULES) -> None:
        self._rules = {r.subject_kind: r for r in rules}
        self._max_window = max((r.window for r in rules), default=timedelta(days=30))
        self._seen: dict[str, deque[_Seen]] = {}
        self._episode: dict[str, str] = {}
        self._order_key: dict[str, tuple[str, datetime]] = {}
        self._swept: datetime | None = None

    def observe(self, event: OrderEvent) -> list[AlertCandidate]:
        if event.kind != EventKind.CREATED:
            return []
        by_key: dict[str, AlertCandidate] = {}
        for subject in event.subjects:
            rule = self._rules.get(subject_kind(subject))
            if rule is None:
                continue
            dq = self._seen.setdefault(subject, deque())
            if any(s.order_id == event.order_id for s in dq):
                continue
            dq.append(_Seen(event.at, event.order_id, event.region, event.category))
            while dq and dq[0].at < event.at - rule.window:
                dq.popleft()
            if len(dq) < rule.min_orders:
                self._episode.pop(subject, None)
                continue
            key = self._episode.get(subject)
            if key is None:
                key = next((self._order_key[s.order_id][0] for s in dq if s.order_id in self._order_key), None)
                key = key or f"repeat:{subject}:{dq[0].order_id}"
                self._episode[subject] = key
            for s in dq:
                self._order_key[s.order_id] = (key, s.at)
            n = len(dq)
            cand = AlertCandidate(
                detector=self.name, dedup_key=key, label_code=rule.label_code, region=event.region,
                category=Counter(s.category for s in dq).most_common(1)[0][0],
                severity=min(4, rule.severity + (1 if n >= 2 * rule.min_orders else 0)),
                order_ids=tuple(s.order_id for s in dq),
                evidence={"subject": subject, "count": n, "min_orders": rule.min_orders,
                          "window_days": rule.window / timedelta(days=1)},
                first_seen=dq[0].at, detected_at=event.at,
            )
            prev = by_key.get(key)
            if prev is not None:
                subjects = [*prev.evidence.get("subjects", [prev.evidence["subject"]]), subject]
                cand = replace(
                    prev, order_ids=tuple(dict.fromkeys((*prev.order_ids, *cand.order_ids))),
                    evidence={**prev.evidence, "subjects": subjects}, severity=max(prev.severity, cand.severity),
                )
            by_key[key] = cand
        self._sweep(event.at)
        return list(by_key.values())

    def scan(self, now: datetime) -> list[AlertCandidate]:
        """Nothing time-driven to do; forgets (at most once a day) state older than the longest window."""
        self._sweep(now)
        return []

    def _sweep(self, now: datetime) -> None:
        if self._swept is not None and now - self._swept < timedelta(days=1):
            return
        self._swept = now
        horizon = now - self._max_window
        for subject in [s for s, dq in self._seen.items() if not dq or dq[-1].at < horizon]:
            del self._seen[subject]
            self._episode.pop(subject, None)
        for oid in [o for o, (_, at) in self._order_key.items() if at < horizon]:
            del self._order_key[oid]


@dataclass
class _Chain:
    root: str
    region: str
    category: str
    first_seen: datetime
    orders: list[str]
    steps: Counter[str]


class OverdueChainDetector:
    """Orders (and their follow-ups via ``parent_order_id``) returned / reopened / overdue repeatedly.

    Score of a chain = returns + reopens + overdue events; alert at ``min_steps`` (default 3),
    re-emitted on every further step. Dedup key ``chain:<root order id>``.
    """

    name = "chain"

    def __init__(self, min_steps: int = 3, *, label_code: str = "repeat_unresolved.handling_loop",
                 severity: int = 3, horizon: timedelta = timedelta(days=180)) -> None:
        self.min_steps = min_steps
        self.label_code = label_code
        self.severity = severity
        self.horizon = horizon
        self._root: dict[str, str] = {}
        self._chains: dict[str, _Chain] = {}
        self._last: dict[str, datetime] = {}
        self._swept: datetime | None = None

    def _chain(self, event: OrderEvent) -> _Chain:
        root = self._root.get(event.order_id)
        if root is None:
            parent = event.parent_order_id
            root = self._root.get(parent, parent) if parent else event.order_id
            self._root[event.order_id] = root
        chain = self._chains.get(root)
        if chain is None:
            chain = _Chain(root, event.region, event.category, event.at, [], Counter())
            self._chains[root] = chain
        if event.order_id not in chain.orders:
            chain.orders.append(event.order_id)
        self._last[root] = event.at
        return chain

    def observe(self, event: OrderEvent) -> list[AlertCandidate]:
        chain = self._chain(event)
        if event.kind == EventKind.CREATED:
            if event.order_id == chain.root:
                chain.region, chain.category = event.region or chain.region, event.category or chain.category
            return []
        chain.steps[event.kind.value] += 1
        total = sum(chain.steps.values())
        if total < self.min_steps:
            return []
        return [AlertCandidate(
            detector=self.name, dedup_key=f"chain:{chain.root}", label_code=self.label_code,
            region=chain.region or event.region, category=chain.category or event.category,
            severity=min(4, self.severity + (1 if total >= 2 * self.min_steps else 0)),
            order_ids=tuple(chain.orders), evidence={"steps": dict(chain.steps), "total": total},
            first_seen=chain.first_seen, detected_at=event.at,
        )]

    def scan(self, now: datetime) -> list[AlertCandidate]:
        """Nothing time-driven; forgets (at most once a day) chains idle longer than ``horizon``."""
        if self._swept is not None and now - self._swept < timedelta(days=1):
            return []
        self._swept = now
        for root in [r for r, at in self._last.items() if at < now - self.horizon]:
            chain = self._chains.pop(root)
            del self._last[root]
            for oid in chain.orders:
                self._root.pop(oid, None)
        return []
