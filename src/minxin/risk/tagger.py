"""Tagging orders after registration, and re-tagging their relatives.

Registration only queues the order (:mod:`minxin.risk.queue`); the drainer tags queued orders in
batches (:func:`tag_batch`). For each order: resolve its region, derive its subject keys (caller,
normalised address, enterprises named in the text), link them, count history per subject from
the links (one indexed query for all subjects), count similar orders nearby in the last hour,
run the pure matcher (:func:`minxin.core.risk.tagging.tag`) and store the tags with their
evidence; every new tag adds its weight to the order's subjects. Then the subjects' recent
*open* orders are re-tagged with the fresh counts, once per batch (bounded: at most
``MAX_RETAG`` relatives per new order, all loaded in one query), so the second and third calls of
a caller make the first one a repeat too.

After a ``reopen``/``return``/dissatisfied ``callback`` (:func:`retag_after_transition`) only the
order's own lifetime counts change; it is re-tagged from its stored profile (unless it is still
queued: then the drainer reads the new counts when it tags it).

Cost per order: about seven indexed statements, every write an ``executemany`` planned in memory
first (:class:`Writes`), plus the matcher; no table scans. Invariants: never commits; one profile
row per order; a subject's score only grows by tags *added* (a tag that merely gains evidence adds
nothing), so re-tagging never double-counts.
"""

from __future__ import annotations

import hashlib
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy.orm import Session

from minxin.core.address import AddressResolver
from minxin.core.pii import mask_phone
from minxin.core.risk.cluster import shingles
from minxin.core.risk.subjects import subject_keys, subject_kind
from minxin.core.risk.tagging import CompiledTaxonomy, OrderSnapshot, RiskTag, TaggingContext, tag
from minxin.core.risk.taxonomy import CountCondition
from minxin.risk import queue_repository, repository, taxonomy_service
from minxin.risk.repository import SubjectState, TagRow
from minxin.risk.writes import Writes
from minxin.workorders.models import WorkOrder

__all__ = [
    "FINAL_STATUSES", "KIND_NAMES", "region_of", "retag_after_transition", "retag_order", "subject_ref", "tag_batch",
    "tag_new_order",
]

#: core key prefix → the kind stored and shown (caller / address / enterprise)
KIND_NAMES = {"caller": "caller", "addr": "address", "ent": "enterprise"}
KIND_PREFIX = {v: k for k, v in KIND_NAMES.items()}
SUBJECT_METRIC = {"caller": "same_caller", "addr": "same_address", "ent": "same_enterprise"}
FINAL_STATUSES = frozenset({"closed", "void", "merged"})
MAX_RETAG = 20
SIMILAR_TEXT = 0.3
DEFAULT_SUBJECT_WINDOW = timedelta(days=90)


@lru_cache(maxsize=1)
def resolver() -> AddressResolver:
    """The bundled division table's resolver (built once per process, ~60 ms)."""
    from minxin.intake.regions import default_resolver

    return default_resolver()


def region_of(session: Session, order: WorkOrder) -> str:
    """The order's county code: intake's ``region_code`` if set, else the address resolved within
    the centre's city, else the centre's own region (the city)."""
    if order.region_code:
        return order.region_code[:6]
    centre = _centre_region(session, order.centre_unit_id)
    if order.address:
        try:
            match = resolver().resolve(order.address, default_city_code=centre[:4] if len(centre) >= 4 else None)
        except (ValueError, KeyError):
            match = None
        if match is not None and match.code and not match.ambiguous:
            return match.code[:6]
    return centre[:6]


_centres: dict[tuple[str, int], tuple[float, str]] = {}


def _centre_region(session: Session, unit_id: int) -> str:
    """A centre unit's region code, cached a minute per process (units are not re-regioned often)."""
    key = (str(session.get_bind().url), unit_id)
    hit = _centres.get(key)
    now = time.monotonic()
    if hit is not None and hit[0] > now:
        return hit[1]
    region = repository.unit_region(session, unit_id)
    _centres[key] = (now + 60.0, region)
    return region


def subject_ref(key: str) -> str:
    """The opaque reference URLs use for a subject (no phone number in links or logs)."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


def _display(key: str, order: WorkOrder) -> str:
    kind, _, value = key.partition(":")
    if kind == "caller":
        return mask_phone(value)
    if kind == "addr":
        return (order.address or value)[:300]
    return value[:300]


def _text(order: WorkOrder) -> str:
    return f"{order.title} {order.content}"


# ------------------------------------------------------------------------------------- counts
Links = dict[str, list[tuple[datetime, str, int, str]]]  # subject key → [(at, number, order id, status)]


def _subject_windows(compiled: CompiledTaxonomy) -> dict[str, list[tuple[str, CountCondition]]]:
    """subject kind (caller/addr/ent) → [(count key, condition)] the taxonomy asks for."""
    out: dict[str, list[tuple[str, CountCondition]]] = defaultdict(list)
    for key, cond in compiled.taxonomy.count_keys().items():
        for kind, metric in SUBJECT_METRIC.items():
            if cond.metric == metric:
                out[kind].append((key, cond))
    return out


def _horizon(windows: dict[str, list[tuple[str, CountCondition]]]) -> timedelta:
    spans = [c.window for conds in windows.values() for _, c in conds if c.window is not None]
    return max(spans) if spans else DEFAULT_SUBJECT_WINDOW


def _subject_counts(windows: dict[str, list[tuple[str, CountCondition]]], subjects: Iterable[str], links: Links,
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


def _lifetime_counts(compiled: CompiledTaxonomy, order: WorkOrder, *, unsatisfied: int, overdue: int) -> dict[str, int]:
    values = {
        "reopened": order.reopen_count, "returned": order.return_count, "unsatisfied": unsatisfied,
        "overdue": overdue, "chain_events": order.reopen_count + order.return_count + overdue,
    }
    return {k: values[c.metric] for k, c in compiled.taxonomy.count_keys().items() if c.metric in values}


@lru_cache(maxsize=8192)
def _shingles(text: str) -> frozenset[str]:
    """Memoised: a region's recent orders are compared with every new order of the region."""
    return shingles(text)


def _similar_nearby(session: Session, compiled: CompiledTaxonomy, order: WorkOrder, region: str, category: str,
                    now: datetime) -> tuple[dict[str, int], dict[str, list[str]]]:
    """``similar_nearby@…`` (this order included): orders of the region in the window with the same
    category or ≥ 0.3 bigram overlap. A tag only; the cluster detector does the burst test."""
    conds = {k: c for k, c in compiled.taxonomy.count_keys().items() if c.metric == "similar_nearby"}
    if not conds or not region:
        return {}, {}
    widest = max(c.window or timedelta(hours=1) for c in conds.values())
    mine = _shingles(_text(order))

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


def _link_subjects(session: Session, order: WorkOrder, keys: Sequence[str], now: datetime) -> list[SubjectState]:
    """Create missing subjects, count the order in and lock them (one statement), link the order."""
    if not keys:
        return []
    rows: list[dict[str, Any]] = [
        {"kind": KIND_NAMES[subject_kind(k)], "key": k, "ref": subject_ref(k), "display": _display(k, order),
         "score": 0.0, "score_at": now, "level": "low", "order_count": 1, "first_at": order.created_at,
         "last_at": order.created_at}
        for k in keys
    ]
    subjects = repository.upsert_subjects(session, rows)
    repository.add_links(session, [s.id for s in subjects], order.id, order.created_at)
    return subjects


def _links(session: Session, subjects: Sequence[SubjectState], since: datetime, *, limit: int = 500) -> Links:
    by_id = {s.id: s.key for s in subjects}
    out: Links = defaultdict(list)
    for subject_id, order_id, at, number, status in repository.recent_links(session, list(by_id), since, limit):
        out[by_id[subject_id]].append((at, number, order_id, status))
    return out


# ---------------------------------------------------------------------------------- use cases
def tag_new_order(session: Session, order: WorkOrder, *, now: datetime) -> list[RiskTag]:
    """Tag one order that has no profile yet, and re-tag its open relatives; returns its tags."""
    return tag_batch(session, [order], now=now)[order.id]


def tag_batch(session: Session, orders: Sequence[WorkOrder], *, now: datetime) -> dict[int, list[RiskTag]]:
    """Tag orders that have no profile yet (in id order, each as of its registration time), then
    re-tag their open relatives **once for the whole batch**, as of ``now``, with counts that
    include every order of it (see the module doc).

    Sequentially tagging N orders of one busy estate re-tags the same 20 relatives N times; here
    they are re-tagged once, which is what makes the queued, batched path cheaper than inline.
    """
    compiled, _ = taxonomy_service.active(session)
    windows = _subject_windows(compiled)
    # lock every existing subject of the batch up front, in key order: a re-tag after a
    # transition locks its subjects in key order too, so the two never wait on each other in a cycle
    repository.lock_subjects(session, sorted({k for o in orders for k in _subject_keys(o)}))
    out: dict[int, list[RiskTag]] = {}
    latest: dict[int, SubjectState] = {}  # subject id → its state after the last flush
    own: dict[int, list[str]] = {}
    for order in sorted(orders, key=lambda o: o.id):
        # each order as of its registration, as inline tagging did; the relatives as of ``now``
        tags, subjects = _tag_fresh(session, compiled, windows, order, min(now, order.created_at))
        out[order.id] = tags
        own[order.id] = [s.key for s in subjects]
        latest.update((s.id, s) for s in subjects)
    if latest:
        states = list(latest.values())
        links = _links(session, states, now - _horizon(windows), limit=500 * max(1, len(orders)))
        writes = Writes(now, compiled.taxonomy.content_hash)
        ids: dict[int, None] = {}
        for order_id, keys in own.items():
            ids.update(dict.fromkeys(_relatives(order_id, keys, links)))
        # a relative a transition holds right now is skipped: it is re-tagged by a later batch
        # (and waiting for it could deadlock, see queue_repository.share_lock_orders)
        free = set(queue_repository.share_lock_orders(session, [i for i in ids if i not in own]))
        _retag_relatives(session, compiled, [i for i in ids if i in own or i in free], states, links, windows, writes)
        writes.flush(session)
    return out


def _tag_fresh(session: Session, compiled: CompiledTaxonomy, windows: dict[str, list[tuple[str, CountCondition]]],
               order: WorkOrder, now: datetime) -> tuple[list[RiskTag], list[SubjectState]]:
    """Link and tag one order from the counts as of now; writes flushed. Its relatives are not
    re-tagged here (:func:`tag_batch` does that once per batch)."""
    content_hash = compiled.taxonomy.content_hash
    category = order.category.code if order.category else ""
    region = region_of(session, order)
    keys = _subject_keys(order)
    subjects = _link_subjects(session, order, keys, now)
    links = _links(session, subjects, now - _horizon(windows))
    counts, related = _subject_counts(windows, keys, links, now)
    near_counts, near_related = _similar_nearby(session, compiled, order, region, category, now)
    metrics = {c.metric for c in compiled.taxonomy.count_keys().values()}
    # tagging is queued: an order can already have had a callback when its turn comes
    acted = order.event_count > 1 and "unsatisfied" in metrics
    unsatisfied = repository.dissatisfied_callbacks(session, order.id) if acted else 0
    counts |= near_counts | _lifetime_counts(compiled, order, unsatisfied=unsatisfied, overdue=0)
    related |= near_related
    snapshot = OrderSnapshot(order.number, _text(order), category, order.appeal_type)
    tags = tag(snapshot, compiled, TaggingContext(counts=counts, related_order_ids=related))
    writes = Writes(now, content_hash)
    added, _ = writes.tags(order.id, tags, {})
    repository.insert_profile(session, {
        "order_id": order.id, "region": region, "category_code": category, "created_at": order.created_at,
        "subjects": keys, "counts": counts, "related": related,
        "max_severity": max((t.severity for t in tags), default=0), "taxonomy_hash": content_hash, "tagged_at": now,
    })
    writes.accumulate(subjects, added)
    writes.flush(session)
    return tags, subjects


def _subject_keys(order: WorkOrder) -> list[str]:
    return [k[:500] for k in subject_keys(order.citizen_phone, order.address, _text(order))]


def _relatives(order_id: int, keys: Sequence[str], links: Links) -> list[int]:
    """The newest ``MAX_RETAG`` open orders sharing one of ``keys`` with ``order_id``."""
    candidates = sorted(
        {(at, oid) for key in keys for at, _, oid, status in links.get(key, ())
         if oid != order_id and status not in FINAL_STATUSES},
        reverse=True,
    )
    return list(dict.fromkeys(oid for _, oid in candidates))[:MAX_RETAG]


def _retag_relatives(session: Session, compiled: CompiledTaxonomy, ids: Sequence[int], subjects: Sequence[SubjectState],
                     links: Links, windows: dict[str, list[tuple[str, CountCondition]]], writes: Writes) -> None:
    """Re-tag the orders ``ids`` with fresh counts of the (locked) ``subjects`` from ``links``."""
    if not ids:
        return
    by_key = {s.key: s for s in subjects}
    existing: dict[int, dict[str, TagRow]] = defaultdict(dict)
    for row in repository.tag_rows(session, ids):
        existing[row.order_id][row.label_code] = row
    now = writes.now
    for prof in repository.profile_rows(session, ids):
        loaded = [k for k in prof.subjects if k in by_key]
        fresh, fresh_related = _subject_counts(windows, loaded, links, now)
        counts, related = dict(prof.counts), dict(prof.related)
        for count_key, value in fresh.items():
            kind = next(k for k, conds in windows.items() if any(ck == count_key for ck, _ in conds))
            complete = all(k in by_key for k in prof.subjects if subject_kind(k) == kind)
            counts[count_key] = value if complete else max(value, int(counts.get(count_key, 0)))
            related[count_key] = fresh_related[count_key]
        snapshot = OrderSnapshot(prof.number, prof.text, prof.category_code, prof.appeal_type)
        tags = tag(snapshot, compiled, TaggingContext(counts=counts, related_order_ids=related))
        added, changed = writes.tags(prof.order_id, tags, existing[prof.order_id])
        if changed:  # rewrite the profile only when its tags changed: no UPDATE per relative
            writes.profile_updates.append({
                "order_id": prof.order_id, "counts": counts, "related": related, "tagged_at": now,
                "taxonomy_hash": writes.content_hash, "max_severity": max((t.severity for t in tags), default=0),
            })
        writes.accumulate([by_key[k] for k in loaded], added)


def retag_order(session: Session, order: WorkOrder, *, now: datetime, overdue: int | None = None) -> list[RiskTag]:
    """Re-tag one order after its own history changed (reopen, return, callback, overdue). An order
    still in the tag queue is left to the drainer, which reads its counts when its turn comes."""
    if queue_repository.is_queued(session, order.id):
        return []
    rows = repository.profile_rows(session, [order.id])
    if not rows:
        return tag_new_order(session, order, now=now)
    prof = rows[0]
    # lock the subjects before any tag row, in the same order as intake does: no deadlock with an
    # intake of a related order that re-tags this one
    subjects = repository.lock_subjects(session, prof.subjects)
    compiled, _ = taxonomy_service.active(session)
    metrics = {c.metric for c in compiled.taxonomy.count_keys().values()}
    unsatisfied = repository.dissatisfied_callbacks(session, order.id) if "unsatisfied" in metrics else 0
    overdue = int(prof.counts.get("overdue", 0)) if overdue is None else overdue
    counts = prof.counts | _lifetime_counts(compiled, order, unsatisfied=unsatisfied, overdue=overdue)
    if "overdue" not in counts and overdue:
        counts["overdue"] = overdue
    snapshot = OrderSnapshot(order.number, _text(order), prof.category_code, order.appeal_type)
    tags = tag(snapshot, compiled, TaggingContext(counts=counts, related_order_ids=prof.related))
    existing = {t.label_code: t for t in repository.tag_rows(session, [order.id])}
    writes = Writes(now, compiled.taxonomy.content_hash)
    added, _ = writes.tags(order.id, tags, existing)
    writes.profile_updates.append({
        "order_id": order.id, "counts": counts, "tagged_at": now, "taxonomy_hash": compiled.taxonomy.content_hash,
        "max_severity": max((t.severity for t in tags), default=0),
    })
    writes.accumulate(subjects, added)
    writes.flush(session)
    return tags


#: the actions after which an order's own counts can change
RETAG_ACTIONS = frozenset({"reopen", "return", "callback"})


def retag_after_transition(session: Session, order: WorkOrder, action: str, *, now: datetime) -> None:
    if action in RETAG_ACTIONS:
        retag_order(session, order, now=now)
