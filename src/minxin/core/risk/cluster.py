"""Emerging clusters: many similar texts from one area in a short window become one alert.

Why this shape: 30 calls about one outage in an hour are one incident. The detector keeps, per
region, the clusters active in the last ``window``; a new order joins the most similar one (or
starts its own). A cluster raises one candidate when it is both big and unusual:

* at least ``min_size`` members inside ``window``, and
* a burst test: ``P(Y ≥ y) ≤ p_threshold`` for ``Y ~ Poisson(λ)``, where y is its size inside the
  window and ``λ = peak_factor · (n + ½) · window / background`` with n the number of other
  orders of the same region in the last ``background`` (7 days, so a quiet holiday week is not
  the yardstick for the Monday after it) that are similar to the cluster. ``peak_factor`` (3)
  covers time-of-day peaks. While the detector has seen less than ``background`` of the stream,
  the rate is taken over what it has seen (at least ``window``), so a cold start is cautious.
  So five "工地老板拖欠工钱" calls in a district in an hour, a phrase the district hears every
  day, are not an incident, while 30 calls about one estate's outage are. Multiplicity: 12
  regions × ~100 phrasings × 24 windows a day is ~2·10⁵ tests a week, so the default
  ``p_threshold`` of 1e-8 means ≈ 0.002 false clusters a week where the Poisson model holds; a
  30-call incident passes it after 7–10 calls.

Later members re-emit the candidate under the same dedup key (``cluster:<region>:<first order
id>``), so they attach to the live alert instead of spawning new ones; an alerted cluster stays
open for ``keep`` after its last member.

Similarity: IDF-weighted cosine over character bigrams of the normalised text
(``Σ idf(A∩B) / √(Σ idf(A) · Σ idf(B))``), with document frequencies over a rolling
``idf_horizon``, so phrases every complaint shares (反映, 市民来电, 希望) weigh little and the place
and the problem weigh a lot; cosine rather than Jaccard so a long call and a short one about the
same thing still match. The order's category and risk labels enter as extra tokens of fixed
weight. A new order is compared with each active cluster's first member and its ``compare_last``
latest members (single link over a bounded set: wording drifts as calls go on) and joins the best
cluster at or above ``threshold``; if it links several clusters they are merged (the oldest key
wins). Once a cluster has alerted, orders of its main category in its region need only
``attach_threshold`` (half the threshold) to join it, and a second cluster of that category that
passes the test within the window is folded into it: callers describe one burst pipe as 爆管,
停水 or 路面冒水, and the board must still show one incident.

Invariants: each order is in at most one cluster; a cluster gets at most one key in its life;
memory is bounded by the orders of the last ``idf_horizon``.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter, deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from scipy import stats

from minxin.core.risk.alerts import AlertCandidate, EventKind, OrderEvent

__all__ = ["ClusterDetector", "shingles", "text_similarity"]

_KEEP = re.compile(r"[\u4e00-\u9fffa-z0-9]+")
_DIGITS = re.compile(r"[0-9]+")


def shingles(text: str, n: int = 2, max_chars: int = 160) -> frozenset[str]:
    """Character n-grams of the normalised text: NFKC, lower case, CJK letters, latin letters and
    digits only, every run of digits collapsed to ``#`` (house numbers and times differ between
    callers), cut to ``max_chars``."""
    s = "".join(_KEEP.findall(unicodedata.normalize("NFKC", text[: max_chars * 2]).lower()))
    s = _DIGITS.sub("#", s)[:max_chars]
    if len(s) < n:
        return frozenset({s}) if s else frozenset()
    return frozenset(s[i : i + n] for i in range(len(s) - n + 1))


def text_similarity(a: str, b: str, n: int = 2) -> float:
    """Unweighted Jaccard of two texts' n-grams (a convenience for callers and tests)."""
    sa, sb = shingles(a, n), shingles(b, n)
    return len(sa & sb) / len(sa | sb) if sa and sb else 0.0


@dataclass
class _Member:
    order_id: str
    at: datetime
    tokens: frozenset[str]
    weight: float


@dataclass
class _Cluster:
    region: str
    members: list[_Member]
    labels: Counter[str] = field(default_factory=Counter)
    categories: Counter[str] = field(default_factory=Counter)
    key: str | None = None
    test: dict[str, float] = field(default_factory=dict)  # the burst test that raised it

    @property
    def last_at(self) -> datetime:
        return self.members[-1].at


class ClusterDetector:
    """Streaming single-link clustering per region with a burst test; see the module doc."""

    name = "cluster"

    def __init__(self, *, window: timedelta = timedelta(hours=1), min_size: int = 5, threshold: float = 0.3,
                 p_threshold: float = 1e-8, background: timedelta = timedelta(days=7), peak_factor: float = 3.0,
                 attach_threshold: float = 0.15, keep: timedelta = timedelta(hours=6), compare_last: int = 8,
                 ngram: int = 2,
                 idf_horizon: timedelta = timedelta(days=3), token_weight: float = 2.0,
                 label_code: str = "group_incident.emerging_cluster", severity: int = 3,
                 label_severity: Mapping[str, int] | None = None) -> None:
        self.window, self.min_size, self.threshold, self.keep = window, min_size, threshold, keep
        self.attach_threshold = attach_threshold
        self.p_threshold, self.background, self.peak_factor = p_threshold, background, peak_factor
        self.compare_last, self.ngram, self.idf_horizon = compare_last, ngram, idf_horizon
        self.token_weight, self.label_code, self.severity = token_weight, label_code, severity
        self.label_severity = dict(label_severity or {})
        self._clusters: dict[str, list[_Cluster]] = {}
        self._df: Counter[str] = Counter()
        self._docs: deque[tuple[datetime, frozenset[str]]] = deque()
        self._recent: dict[str, deque[_Member]] = {}  # region → its orders of the last `background`
        self._started: datetime | None = None

    # ------------------------------------------------------------------ weights and similarity
    def _idf_map(self, tokens: frozenset[str]) -> dict[str, float]:
        """Current IDF of each token of an order, ``max(0, ln((N − df + ½) / (df + ½)))`` (the
        probabilistic IDF: boilerplate in half the orders weighs nothing); extra tokens have the
        fixed ``token_weight``."""
        n = len(self._docs)
        df, log = self._df, math.log
        out = {}
        for t in tokens:
            if t[0] == "§":
                out[t] = self.token_weight
            else:
                d = df.get(t, 0)
                out[t] = max(0.0, log((n - d + 0.5) / (d + 0.5)))
        return out

    @staticmethod
    def _similarity(idf: dict[str, float], tokens: frozenset[str], weight: float, member: _Member) -> float:
        inter = tokens & member.tokens
        if not inter or weight <= 0 or member.weight <= 0:
            return 0.0
        return sum(idf[t] for t in inter) / math.sqrt(weight * member.weight)

    @staticmethod
    def _same_incident(cluster: _Cluster, event: OrderEvent) -> bool:
        """An alerted cluster whose main category is the order's: a burst already known here."""
        return bool(cluster.key and event.category and cluster.categories
                    and cluster.categories.most_common(1)[0][0] == event.category)

    def _absorb_stragglers(self, cluster: _Cluster, active: list[_Cluster], event: OrderEvent) -> None:
        """When a cluster alerts, earlier small clusters of its category in the window that resemble
        it (≥ ``attach_threshold``) were the first calls of the same burst: fold them in."""
        if not self._same_incident(cluster, event):
            return
        probe = self._probe(cluster)
        for other in [c for c in active if c is not cluster and c.key is None]:
            main = other.categories.most_common(1)
            if not main or main[0][0] != event.category:
                continue
            best = max(self._similarity(self._idf_map(m.tokens), m.tokens, m.weight, p)
                       for m in other.members for p in probe)
            if best >= self.attach_threshold:
                cluster.members = sorted(cluster.members + other.members, key=lambda m: m.at)
                cluster.labels.update(other.labels)
                cluster.categories.update(other.categories)
                active.remove(other)

    def _probe(self, cluster: _Cluster) -> list[_Member]:
        members = cluster.members
        return members[:1] + members[-self.compare_last :] if len(members) > self.compare_last + 1 else members

    def _cluster_similarity(self, idf: dict[str, float], tokens: frozenset[str], weight: float,
                            cluster: _Cluster) -> float:
        """Single link over the first member and the ``compare_last`` latest ones. A member's own
        weight is the one computed when it arrived (IDF drifts slowly; this keeps a look-up O(|∩|))."""
        return max(self._similarity(idf, tokens, weight, m) for m in self._probe(cluster))

    # ------------------------------------------------------------------------------ streaming
    def _forget(self, now: datetime) -> None:
        horizon = now - self.idf_horizon
        while self._docs and self._docs[0][0] < horizon:
            _, toks = self._docs.popleft()
            for t in toks:
                c = self._df[t] - 1
                if c > 0:
                    self._df[t] = c
                else:
                    del self._df[t]
        for region, dq in list(self._recent.items()):
            while dq and dq[0].at < now - self.background:
                dq.popleft()
            if not dq:
                del self._recent[region]

    def _active(self, region: str, now: datetime) -> list[_Cluster]:
        kept = []
        for c in self._clusters.get(region, []):
            if c.key is not None:
                if c.last_at >= now - self.keep:
                    kept.append(c)
                continue
            c.members = [m for m in c.members if m.at >= now - self.window]
            if c.members:
                kept.append(c)
        self._clusters[region] = kept
        return kept

    def burst_p_value(self, cluster: _Cluster, now: datetime, size: int) -> tuple[float, float, int]:
        """(p-value, λ, n) of the module doc's burst test for ``size`` members inside the window."""
        mine = {m.order_id for m in cluster.members}
        probe = self._probe(cluster)
        n = 0
        for doc in self._recent.get(cluster.region, ()):
            if doc.order_id in mine:
                continue
            idf = self._idf_map(doc.tokens)
            if max(self._similarity(idf, doc.tokens, doc.weight, m) for m in probe) >= self.threshold:
                n += 1
        seen = min(self.background, max(self.window, now - (self._started or now)))
        lam = self.peak_factor * (n + 0.5) * (self.window / seen)
        return float(stats.poisson.sf(size - 1, lam)), lam, n

    def observe(self, event: OrderEvent) -> list[AlertCandidate]:
        if event.kind != EventKind.CREATED or not event.text:
            return []
        text_tokens = shingles(event.text, self.ngram)
        if not text_tokens:
            return []
        self._forget(event.at)
        if self._started is None or event.at < self._started:
            self._started = event.at
        self._docs.append((event.at, text_tokens))
        self._df.update(text_tokens)
        extra = {f"§c:{event.category}"} if event.category else set()
        extra.update(f"§l:{lb}" for lb in event.labels)
        tokens = text_tokens | extra
        idf = self._idf_map(tokens)
        weight = sum(idf.values())
        member = _Member(event.order_id, event.at, tokens, weight)
        active = self._active(event.region, event.at)
        scored = [(self._cluster_similarity(idf, tokens, weight, c), i) for i, c in enumerate(active)]
        matches = [active[i] for s, i in sorted(scored, reverse=True)
                   if s >= self.threshold or (s >= self.attach_threshold and self._same_incident(active[i], event))]
        self._recent.setdefault(event.region, deque()).append(member)
        if not matches:
            active.append(_Cluster(event.region, [member], Counter(event.labels),
                                   Counter([event.category] if event.category else [])))
            return []
        alerted = sorted((c for c in matches if c.key), key=lambda c: c.members[0].at)
        cluster = alerted[0] if alerted else matches[0]
        for other in matches:
            if other is not cluster:
                cluster.members.extend(other.members)
                cluster.labels.update(other.labels)
                cluster.categories.update(other.categories)
                active.remove(other)
        cluster.members.append(member)
        cluster.members.sort(key=lambda m: m.at)
        cluster.labels.update(event.labels)
        if event.category:
            cluster.categories[event.category] += 1
        recent = sum(1 for m in cluster.members if m.at >= event.at - self.window)
        if cluster.key is None:
            if recent < self.min_size:
                return []
            p, lam, n = self.burst_p_value(cluster, event.at, recent)
            if p > self.p_threshold:
                return []
            test = {"p_value": p, "expected_in_window": round(lam, 4), "similar_in_background": n}
            sibling = next((c for c in active if c is not cluster and c.key and self._same_incident(c, event)
                            and c.last_at >= event.at - self.window), None)
            if sibling is not None:  # a second wording of an incident already alerted: one alert
                sibling.members = sorted(sibling.members + cluster.members, key=lambda m: m.at)
                sibling.labels.update(cluster.labels)
                sibling.categories.update(cluster.categories)
                active.remove(cluster)
                cluster = sibling
            else:
                cluster.key = f"cluster:{cluster.region}:{cluster.members[0].order_id}"
                cluster.test = test
            self._absorb_stragglers(cluster, active, event)
        return [self._candidate(cluster, event.at, recent)]

    def _candidate(self, cluster: _Cluster, now: datetime, recent: int) -> AlertCandidate:
        label, severity = self.label_code, self.severity
        if cluster.labels:
            top = max(cluster.labels.items(), key=lambda kv: (kv[1], self.label_severity.get(kv[0], 0), kv[0]))
            if top[1] * 2 >= len(cluster.members):
                label = top[0]
                severity = max(severity, self.label_severity.get(label, 0))
        first = cluster.members[0]
        return AlertCandidate(
            detector=self.name, dedup_key=cluster.key or "", label_code=label, region=cluster.region,
            category=cluster.categories.most_common(1)[0][0] if cluster.categories else "",
            severity=severity, order_ids=tuple(m.order_id for m in cluster.members),
            evidence={"size": len(cluster.members), "in_window": recent,
                      "window_minutes": self.window / timedelta(minutes=1), "leader_order_id": first.order_id,
                      "labels": dict(cluster.labels), **cluster.test},
            first_seen=first.at, detected_at=now,
        )

    def scan(self, now: datetime) -> list[AlertCandidate]:
        """Nothing to raise on a timer; expires idle clusters and old document frequencies."""
        self._forget(now)
        for region in list(self._clusters):
            if not self._active(region, now):
                del self._clusters[region]
        return []
