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

Each new order is first *planned* from reads only (:func:`plan_one`, ``_plan_fresh``: its
counts as they will be once it is linked, its tags, its relatives' re-tags) and then *written*
(:func:`apply`); the reads the plan depends on must not change in between (the same transaction
and its locks; on SQLite the gentle drainer plans before it takes the write lock and relies on
SQLite refusing a write from an out-of-date snapshot, see :mod:`minxin.risk.queue`). In a batch,
each order is planned after the previous one was written, so their counts include each other.

Cost per order: about seven indexed statements, every write an ``executemany`` planned in memory
first (:class:`Writes`), plus the matcher; no table scans. Invariants: never commits; one profile
row per order; a subject's score only grows by tags *added* (a tag that merely gains evidence adds
nothing), so re-tagging never double-counts.
"""

from __future__ import annotations

import hashlib
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy.orm import Session

from minxin.core.address import AddressResolver
from minxin.core.pii import mask_phone
from minxin.core.risk.subjects import subject_keys, subject_kind
from minxin.core.risk.tagging import CompiledTaxonomy, OrderSnapshot, RiskTag, TaggingContext, tag
from minxin.risk import queue_repository, repository, taxonomy_service
from minxin.risk.counts import (
    Links,
    Windows,
    horizon,
    lifetime_counts,
    links_of,
    links_with_own,
    similar_nearby,
    subject_counts,
    subject_windows,
    text_of,
)
from minxin.risk.repository import SubjectState, TagRow
from minxin.risk.writes import Writes
from minxin.workorders.models import WorkOrder

__all__ = [
    "FINAL_STATUSES", "KIND_NAMES", "Plan", "apply", "plan_one", "region_of", "retag_after_transition", "retag_order",
    "subject_ref", "tag_batch", "tag_new_order",
]

#: core key prefix → the kind stored and shown (caller / address / enterprise)
KIND_NAMES = {"caller": "caller", "addr": "address", "ent": "enterprise"}
KIND_PREFIX = {v: k for k, v in KIND_NAMES.items()}
FINAL_STATUSES = frozenset({"closed", "void", "merged"})
MAX_RETAG = 20


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


def _subject_rows(order: WorkOrder, keys: Sequence[str], now: datetime) -> list[dict[str, Any]]:
    """The subject rows an order's upsert writes (new subjects start at score 0)."""
    return [
        {"kind": KIND_NAMES[subject_kind(k)], "key": k, "ref": subject_ref(k), "display": _display(k, order),
         "score": 0.0, "score_at": now, "level": "low", "order_count": 1, "first_at": order.created_at,
         "last_at": order.created_at}
        for k in keys
    ]


# ---------------------------------------------------------------------------------- use cases
@dataclass
class FreshPlan:
    """One new order's tagging, computed from reads only (:func:`_plan_fresh`); :func:`_apply_fresh`
    writes it. Invariant: planning writes nothing, so a plan can be made before the write lock."""

    order: WorkOrder
    keys: list[str]
    subject_rows: list[dict[str, Any]]
    added: list[RiskTag]
    tags: list[RiskTag]
    profile: dict[str, Any]
    links: Links  # its subjects' recent links, its own included
    writes: Writes  # its tag rows


@dataclass
class Plan:
    """A tagging pass of one order and its relatives, planned before any write (:func:`plan_one`)."""

    fresh: FreshPlan
    relatives: Writes


def tag_new_order(session: Session, order: WorkOrder, *, now: datetime) -> list[RiskTag]:
    """Tag one order that has no profile yet, and re-tag its open relatives; returns its tags."""
    return tag_batch(session, [order], now=now)[order.id]


def plan_one(session: Session, order: WorkOrder, *, now: datetime) -> Plan:
    """Everything tagging ``order`` (no profile yet) and re-tagging its relatives as of ``now``
    will write, from reads only. :func:`apply` writes it; in between nothing that was read may
    change (same transaction and locks on PostgreSQL; on SQLite the drainer reads under a deferred
    transaction, whose first write fails if anyone committed since, see :mod:`minxin.risk.queue`)."""
    compiled, _ = taxonomy_service.active(session)
    windows = subject_windows(compiled)
    fresh_now = min(now, order.created_at)
    fresh = _plan_fresh(session, compiled, windows, order, fresh_now)
    links = fresh.links
    if now != fresh_now:  # the relatives are counted as of ``now``
        existing = repository.lock_subjects(session, fresh.keys)
        links = links_with_own(session, existing, order, fresh.keys, now - horizon(windows))
    relatives = _plan_relatives(session, compiled, windows, {order.id: fresh.keys}, set(fresh.keys), links, now)
    return Plan(fresh, relatives)


def apply(session: Session, plan: Plan) -> list[RiskTag]:
    """Write a :func:`plan_one` plan; returns the order's tags."""
    subjects = _apply_fresh(session, plan.fresh)
    plan.relatives.flush(session, {s.key: s for s in subjects})
    return plan.fresh.tags


def tag_batch(session: Session, orders: Sequence[WorkOrder], *, now: datetime) -> dict[int, list[RiskTag]]:
    """Tag orders that have no profile yet (in id order, each as of its registration time), then
    re-tag their open relatives **once for the whole batch**, as of ``now``, with counts that
    include every order of it (see the module doc).

    Sequentially tagging N orders of one busy estate re-tags the same 20 relatives N times; here
    they are re-tagged once, which is what makes the queued, batched path cheaper than inline.
    """
    if len(orders) == 1:
        return {orders[0].id: apply(session, plan_one(session, orders[0], now=now))}
    compiled, _ = taxonomy_service.active(session)
    windows = subject_windows(compiled)
    # lock every existing subject of the batch up front, in key order: a re-tag after a
    # transition locks its subjects in key order too, so the two never wait on each other in a cycle
    repository.lock_subjects(session, sorted({k for o in orders for k in _subject_keys(o)}))
    out: dict[int, list[RiskTag]] = {}
    latest: dict[str, SubjectState] = {}  # subject key → its state after the last flush
    own: dict[int, list[str]] = {}
    for order in sorted(orders, key=lambda o: o.id):
        # each order as of its registration, as inline tagging did; the relatives as of ``now``;
        # each is planned after the previous one was written (their counts include each other)
        fresh = _plan_fresh(session, compiled, windows, order, min(now, order.created_at))
        subjects = _apply_fresh(session, fresh)
        out[order.id] = fresh.tags
        own[order.id] = fresh.keys
        latest.update((s.key, s) for s in subjects)
    if latest:
        links = links_of(session, list(latest.values()), now - horizon(windows), limit=500 * max(1, len(orders)))
        _plan_relatives(session, compiled, windows, own, set(latest), links, now).flush(session, latest)
    return out


def _plan_fresh(session: Session, compiled: CompiledTaxonomy, windows: Windows,
                order: WorkOrder, now: datetime) -> FreshPlan:
    """Tag one order from the counts as of now, as they will be once it is linked; reads only.
    Its relatives are not re-tagged here (:func:`_plan_relatives`)."""
    content_hash = compiled.taxonomy.content_hash
    category = order.category.code if order.category else ""
    region = region_of(session, order)
    keys = _subject_keys(order)
    existing = repository.lock_subjects(session, keys)
    links = links_with_own(session, existing, order, keys, now - horizon(windows))
    counts, related = subject_counts(windows, keys, links, now)
    near_counts, near_related = similar_nearby(session, compiled, order, region, category, now)
    metrics = {c.metric for c in compiled.taxonomy.count_keys().values()}
    # tagging is queued: an order can already have had a callback when its turn comes
    acted = order.event_count > 1 and "unsatisfied" in metrics
    unsatisfied = repository.dissatisfied_callbacks(session, order.id) if acted else 0
    counts |= near_counts | lifetime_counts(compiled, order, unsatisfied=unsatisfied, overdue=0)
    related |= near_related
    snapshot = OrderSnapshot(order.number, text_of(order), category, order.appeal_type)
    tags = tag(snapshot, compiled, TaggingContext(counts=counts, related_order_ids=related))
    writes = Writes(now, content_hash)
    added, _ = writes.tags(order.id, tags, {})
    profile = {
        "order_id": order.id, "region": region, "category_code": category, "created_at": order.created_at,
        "subjects": keys, "counts": counts, "related": related,
        "max_severity": max((t.severity for t in tags), default=0), "taxonomy_hash": content_hash, "tagged_at": now,
    }
    return FreshPlan(order, keys, _subject_rows(order, keys, now), added, tags, profile, links, writes)


def _apply_fresh(session: Session, plan: FreshPlan) -> list[SubjectState]:
    """Write a fresh order's plan: create missing subjects and count the order in (one statement
    that also locks them), link it, store its profile and tags, add the new tags' weights to the
    subjects' scores. Returns the subjects' states after that."""
    subjects = repository.upsert_subjects(session, plan.subject_rows)
    repository.add_links(session, [s.id for s in subjects], plan.order.id, plan.order.created_at)
    repository.insert_profile(session, plan.profile)
    plan.writes.accumulate(subjects, plan.added)
    plan.writes.flush(session, {})
    return subjects


def _plan_relatives(session: Session, compiled: CompiledTaxonomy, windows: Windows,
                    own: dict[int, list[str]], keys: set[str], links: Links, now: datetime) -> Writes:
    """The re-tagging of the fresh orders' open relatives (by subject ``keys``, from ``links``), as
    of ``now``; reads only (the score updates are resolved when the writes are flushed)."""
    writes = Writes(now, compiled.taxonomy.content_hash)
    ids: dict[int, None] = {}
    for order_id, order_keys in own.items():
        ids.update(dict.fromkeys(_relatives(order_id, order_keys, links)))
    # a relative a transition holds right now is skipped: it is re-tagged by a later batch
    # (and waiting for it could deadlock, see queue_repository.share_lock_orders)
    free = set(queue_repository.share_lock_orders(session, [i for i in ids if i not in own]))
    _retag_relatives(session, compiled, [i for i in ids if i in own or i in free], keys, links, windows, writes)
    return writes


def _subject_keys(order: WorkOrder) -> list[str]:
    return [k[:500] for k in subject_keys(order.citizen_phone, order.address, text_of(order))]


def _relatives(order_id: int, keys: Sequence[str], links: Links) -> list[int]:
    """The newest ``MAX_RETAG`` open orders sharing one of ``keys`` with ``order_id``."""
    candidates = sorted(
        {(at, oid) for key in keys for at, _, oid, status in links.get(key, ())
         if oid != order_id and status not in FINAL_STATUSES},
        reverse=True,
    )
    return list(dict.fromkeys(oid for _, oid in candidates))[:MAX_RETAG]


def _retag_relatives(session: Session, compiled: CompiledTaxonomy, ids: Sequence[int], by_key: set[str],
                     links: Links, windows: Windows, writes: Writes) -> None:
    """Re-tag the orders ``ids`` with fresh counts of the subjects ``by_key`` from ``links``; the new
    tags' weights are added to those subjects' scores when ``writes`` is flushed."""
    if not ids:
        return
    existing: dict[int, dict[str, TagRow]] = defaultdict(dict)
    for row in repository.tag_rows(session, ids):
        existing[row.order_id][row.label_code] = row
    now = writes.now
    for prof in repository.profile_rows(session, ids):
        loaded = [k for k in prof.subjects if k in by_key]
        fresh, fresh_related = subject_counts(windows, loaded, links, now)
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
        writes.accumulate_later(loaded, added)


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
    counts = prof.counts | lifetime_counts(compiled, order, unsatisfied=unsatisfied, overdue=overdue)
    if "overdue" not in counts and overdue:
        counts["overdue"] = overdue
    snapshot = OrderSnapshot(order.number, text_of(order), prof.category_code, order.appeal_type)
    tags = tag(snapshot, compiled, TaggingContext(counts=counts, related_order_ids=prof.related))
    existing = {t.label_code: t for t in repository.tag_rows(session, [order.id])}
    writes = Writes(now, compiled.taxonomy.content_hash)
    added, _ = writes.tags(order.id, tags, existing)
    writes.profile_updates.append({
        "order_id": order.id, "counts": counts, "tagged_at": now, "taxonomy_hash": compiled.taxonomy.content_hash,
        "max_severity": max((t.severity for t in tags), default=0),
    })
    writes.accumulate(subjects, added)
    writes.flush(session, {})
    return tags


#: the actions after which an order's own counts can change
RETAG_ACTIONS = frozenset({"reopen", "return", "callback"})


def retag_after_transition(session: Session, order: WorkOrder, action: str, *, now: datetime) -> None:
    if action in RETAG_ACTIONS:
        retag_order(session, order, now=now)
