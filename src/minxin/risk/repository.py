"""Every query of risk tagging: taxonomy versions, order profiles and tags, subjects and links.

Alert, lease and detector-feed queries live in :mod:`minxin.risk.alert_repository` (the module
would pass 400 lines otherwise). Services decide; this module only reads and writes rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from minxin.risk.models import (
    OrderRiskProfile,
    OrderRiskTag,
    RiskSubject,
    SubjectLink,
    TagQueueEntry,
    TaxonomyVersion,
)
from minxin.units.models import Unit
from minxin.workorders.models import Callback, WorkOrder


def _insert(session: Session) -> Any:
    """The dialect's INSERT that supports ``ON CONFLICT`` (PostgreSQL and SQLite share the syntax)."""
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


# ----------------------------------------------------------------------------------- taxonomy
def active_taxonomy_ref(session: Session) -> tuple[int, str] | None:
    """(id, content hash) of the active taxonomy version; one indexed row, read on every intake."""
    row = session.execute(
        select(TaxonomyVersion.id, TaxonomyVersion.content_hash).where(TaxonomyVersion.active.is_(True))
    ).first()
    return (int(row[0]), str(row[1])) if row else None


def taxonomy_version(session: Session, version_id: int) -> TaxonomyVersion | None:
    return session.get(TaxonomyVersion, version_id)


def taxonomy_versions(session: Session, limit: int = 50) -> list[TaxonomyVersion]:
    stmt = select(TaxonomyVersion).order_by(TaxonomyVersion.id.desc()).limit(limit)
    return list(session.scalars(stmt))


def add_taxonomy_version(session: Session, row: TaxonomyVersion) -> TaxonomyVersion:
    """Deactivate the current version and store ``row`` as the active one (same transaction)."""
    session.execute(update(TaxonomyVersion).where(TaxonomyVersion.active.is_(True)).values(active=False))
    session.flush()
    row.active = True
    session.add(row)
    session.flush()
    return row


# ------------------------------------------------------------------------------------- orders
def unit_region(session: Session, unit_id: int) -> str:
    unit = session.get(Unit, unit_id)
    return (unit.region_code or "") if unit else ""


def dissatisfied_callbacks(session: Session, order_id: int) -> int:
    stmt = select(func.count()).select_from(Callback).where(
        Callback.order_id == order_id, Callback.satisfaction == "dissatisfied"
    )
    return int(session.scalar(stmt) or 0)


def profile(session: Session, order_id: int) -> OrderRiskProfile | None:
    return session.get(OrderRiskProfile, order_id)


@dataclass(slots=True)
class ProfileRow:
    """A profile and the order fields re-tagging reads (no ORM entity: re-tagging is hot)."""

    order_id: int
    number: str
    text: str
    appeal_type: str
    category_code: str
    subjects: list[str]
    counts: dict[str, int]
    related: dict[str, list[str]]


def profile_rows(session: Session, order_ids: Sequence[int]) -> list[ProfileRow]:
    if not order_ids:
        return []
    stmt = (
        select(OrderRiskProfile.order_id, WorkOrder.number, WorkOrder.title, WorkOrder.content, WorkOrder.appeal_type,
               OrderRiskProfile.category_code, OrderRiskProfile.subjects, OrderRiskProfile.counts,
               OrderRiskProfile.related)
        .join(WorkOrder, WorkOrder.id == OrderRiskProfile.order_id)
        .where(OrderRiskProfile.order_id.in_(list(order_ids)))
    )
    return [ProfileRow(int(r[0]), str(r[1]), f"{r[2]} {r[3]}", str(r[4]), str(r[5] or ""), list(r[6] or []),
                       dict(r[7] or {}), dict(r[8] or {})) for r in session.execute(stmt)]


def insert_profile(session: Session, row: dict[str, Any]) -> None:
    session.execute(insert(OrderRiskProfile), [row])


def update_profiles(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """``[{order_id, counts, related, max_severity, taxonomy_hash, tagged_at}]`` by primary key."""
    if rows:
        session.execute(update(OrderRiskProfile), list(rows))


def nearby_recent(session: Session, region: str, since: datetime, until: datetime, exclude: int,
                  limit: int = 200) -> list[tuple[datetime, str, str, str]]:
    """Orders of ``region`` created in ``[since, until]`` (newest first): (created_at, number, text,
    category) — the candidates of the ``similar_nearby`` count, on the ``(region, created_at)`` index."""
    stmt = (
        select(OrderRiskProfile.created_at, WorkOrder.number, WorkOrder.title, WorkOrder.content,
               OrderRiskProfile.category_code)
        .join(WorkOrder, WorkOrder.id == OrderRiskProfile.order_id)
        .where(
            OrderRiskProfile.region == region,
            OrderRiskProfile.created_at >= since,
            OrderRiskProfile.created_at <= until,
            OrderRiskProfile.order_id != exclude,
        )
        .order_by(OrderRiskProfile.created_at.desc())
        .limit(limit)
    )
    return [(r[0], str(r[1]), f"{r[2]} {r[3]}", r[4] or "") for r in session.execute(stmt)]


def active_tags(session: Session, order_ids: Iterable[int]) -> list[OrderRiskTag]:
    ids = list(order_ids)
    if not ids:
        return []
    stmt = (
        select(OrderRiskTag)
        .where(OrderRiskTag.order_id.in_(ids), OrderRiskTag.removed_at.is_(None))
        .order_by(OrderRiskTag.order_id, OrderRiskTag.severity.desc(), OrderRiskTag.label_code)
    )
    return list(session.scalars(stmt))


@dataclass(slots=True)
class TagRow:
    id: int
    order_id: int
    label_code: str
    severity: int
    evidence: dict[str, Any]
    removed_at: datetime | None


def tag_rows(session: Session, order_ids: Iterable[int]) -> list[TagRow]:
    """Every tag row (removed ones too) of these orders, as plain rows."""
    ids = list(order_ids)
    if not ids:
        return []
    stmt = select(OrderRiskTag.id, OrderRiskTag.order_id, OrderRiskTag.label_code, OrderRiskTag.severity,
                  OrderRiskTag.evidence, OrderRiskTag.removed_at).where(OrderRiskTag.order_id.in_(ids))
    return [TagRow(int(a), int(b), str(c), int(d), dict(e or {}), f) for a, b, c, d, e, f in session.execute(stmt)]


def insert_tags(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        session.execute(insert(OrderRiskTag), list(rows))


def update_tags(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Rows with ``id`` and the columns to set, by primary key (one executemany per column set)."""
    by_shape: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        by_shape.setdefault(tuple(sorted(row)), []).append(row)
    for group in by_shape.values():
        session.execute(update(OrderRiskTag), group)


def tag_summaries(session: Session, order_ids: Sequence[int]) -> list[tuple[int, str, int]]:
    """(order id, label, severity) of the active tags of a page of orders: one query per page."""
    if not order_ids:
        return []
    stmt = (
        select(OrderRiskTag.order_id, OrderRiskTag.label_code, OrderRiskTag.severity)
        .where(OrderRiskTag.order_id.in_(list(order_ids)), OrderRiskTag.removed_at.is_(None))
        .order_by(OrderRiskTag.order_id, OrderRiskTag.severity.desc(), OrderRiskTag.label_code)
    )
    return [(int(a), str(b), int(c)) for a, b, c in session.execute(stmt)]


# ----------------------------------------------------------------------------------- subjects
@dataclass(slots=True)
class SubjectState:
    """What scoring needs of a locked subject row."""

    id: int
    key: str
    score: float
    score_at: datetime


def upsert_subjects(session: Session, rows: Sequence[dict[str, Any]]) -> list[SubjectState]:
    """Insert new subjects and count one more order on existing ones, in one statement that also
    locks the rows until commit (``ON CONFLICT DO UPDATE``). Rows go in key order, so parallel
    intakes of the same caller/address lock in the same order and never deadlock."""
    if not rows:
        return []
    ordered = sorted(rows, key=lambda r: str(r["key"]))
    table = RiskSubject.__table__
    ins = _insert(session)(table)
    newest = func.greatest if session.get_bind().dialect.name == "postgresql" else func.max
    stmt = ins.on_conflict_do_update(
        index_elements=[table.c.key],
        set_={"order_count": table.c.order_count + 1, "last_at": newest(table.c.last_at, ins.excluded.last_at)},
    ).returning(table.c.id, table.c.key, table.c.score, table.c.score_at)
    # RETURNING carries the key, so the rows need not come back in parameter order: that lets
    # SQLAlchemy send one multi-row statement instead of one per subject
    result = sorted(session.execute(stmt, ordered), key=lambda r: str(r[1]))
    return [SubjectState(int(i), str(k), float(sc), at) for i, k, sc, at in result]


def lock_subjects(session: Session, keys: Sequence[str]) -> list[SubjectState]:
    """Lock existing subjects (key order) for a score update."""
    if not keys:
        return []
    stmt = (
        select(RiskSubject.id, RiskSubject.key, RiskSubject.score, RiskSubject.score_at)
        .where(RiskSubject.key.in_(list(keys)))
        .order_by(RiskSubject.key)
        .with_for_update()
    )
    return [SubjectState(int(i), str(k), float(sc), at) for i, k, sc, at in session.execute(stmt)]


def update_scores(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """``[{id, score, score_at, level}]`` — one executemany UPDATE by primary key."""
    if rows:
        session.execute(update(RiskSubject), list(rows))


def subject_by_ref(session: Session, ref: str) -> RiskSubject | None:
    return session.scalars(select(RiskSubject).where(RiskSubject.ref == ref)).first()


def add_links(session: Session, subject_ids: Sequence[int], order_id: int, at: datetime) -> None:
    if not subject_ids:
        return
    rows = [{"subject_id": s, "order_id": order_id, "at": at} for s in subject_ids]
    session.execute(
        _insert(session)(SubjectLink).values(rows).on_conflict_do_nothing(index_elements=["subject_id", "order_id"])
    )


def recent_links(session: Session, subject_ids: Sequence[int], since: datetime,
                 limit: int = 500) -> list[tuple[int, int, datetime, str, str]]:
    """(subject id, order id, at, number, status) of the subjects' orders since ``since``, newest
    first, on the ``(subject_id, at)`` index; ``limit`` bounds the work for very busy subjects."""
    if not subject_ids:
        return []
    stmt = (
        select(SubjectLink.subject_id, SubjectLink.order_id, SubjectLink.at, WorkOrder.number, WorkOrder.status)
        .join(WorkOrder, WorkOrder.id == SubjectLink.order_id)
        .where(SubjectLink.subject_id.in_(list(subject_ids)), SubjectLink.at >= since)
        .order_by(SubjectLink.at.desc())
        .limit(limit)
    )
    return [(int(a), int(b), c, str(d), str(e)) for a, b, c, d, e in session.execute(stmt)]


def subjects_of_orders(session: Session, order_ids: Sequence[int]) -> list[tuple[int, RiskSubject]]:
    if not order_ids:
        return []
    stmt = (
        select(SubjectLink.order_id, RiskSubject)
        .join(RiskSubject, RiskSubject.id == SubjectLink.subject_id)
        .where(SubjectLink.order_id.in_(list(order_ids)))
        .order_by(RiskSubject.kind, RiskSubject.id)
    )
    return [(int(o), s) for o, s in session.execute(stmt)]


def subject_orders(session: Session, subject_id: int, limit: int = 200) -> list[WorkOrder]:
    """The subject's orders, newest first (its history page)."""
    stmt = (
        select(WorkOrder)
        .join(SubjectLink, SubjectLink.order_id == WorkOrder.id)
        .where(SubjectLink.subject_id == subject_id)
        .order_by(SubjectLink.at.desc())
        .limit(limit)
    )
    return list(session.scalars(stmt))


def top_subjects(session: Session, limit: int = 20, kinds: Sequence[str] = ()) -> list[RiskSubject]:
    stmt = select(RiskSubject).where(RiskSubject.score > 0)
    if kinds:
        stmt = stmt.where(RiskSubject.kind.in_(list(kinds)))
    return list(session.scalars(stmt.order_by(RiskSubject.score.desc(), RiskSubject.id).limit(limit)))


# ------------------------------------------------------------------------------ the tag queue
#: the PostgreSQL advisory lock that lets one drainer at a time tag (any constant unique to us)
DRAIN_LOCK = 0x6D78_7269  # "mxri"


def enqueue(session: Session, order_id: int, at: datetime) -> None:
    session.execute(insert(TagQueueEntry), [{"order_id": order_id, "queued_at": at}])


def try_drain_lock(session: Session) -> bool:
    """Take the transaction-scoped drain lock (PostgreSQL); SQLite's single writer already is one."""
    if session.get_bind().dialect.name != "postgresql":
        return True
    return bool(session.scalar(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": DRAIN_LOCK}))


def claim_queued(session: Session, limit: int) -> tuple[list[int], list[WorkOrder]]:
    """The oldest queued order ids (by id, i.e. registration order), their queue rows locked, and
    those of the orders themselves that no transition holds right now, share-locked
    (:func:`share_lock_orders`); the others stay queued for the next batch."""
    ids = list(session.scalars(
        select(TagQueueEntry.order_id).order_by(TagQueueEntry.order_id).limit(limit).with_for_update(skip_locked=True)
    ))
    if not ids:
        return [], []
    free = set(share_lock_orders(session, ids))
    orders = session.scalars(select(WorkOrder).where(WorkOrder.id.in_(list(free))).order_by(WorkOrder.id))
    return ids, list(orders)


def share_lock_orders(session: Session, order_ids: Sequence[int]) -> list[int]:
    """Share-lock (``FOR KEY SHARE``) the work orders no one holds for update, skipping the rest.

    Why: a transition locks its order ``FOR UPDATE`` first and then, re-tagging it, its risk
    subjects; the drainer locks subjects first and then needs the orders' key-share lock for the
    foreign keys of the tag and profile rows it writes. Taking the orders' locks up front and
    skipping those a transition holds breaks that cycle (PostgreSQL; a no-op on SQLite)."""
    if not order_ids:
        return []
    stmt = (
        select(WorkOrder.id).where(WorkOrder.id.in_(list(order_ids))).order_by(WorkOrder.id)
        .with_for_update(read=True, key_share=True, skip_locked=True)
    )
    return [int(i) for i in session.scalars(stmt)]


def is_queued(session: Session, order_id: int) -> bool:
    """Whether the order still waits to be tagged; locks its queue row (PostgreSQL) so a drainer
    tagging it right now finishes first and this answers False afterwards."""
    stmt = select(TagQueueEntry.order_id).where(TagQueueEntry.order_id == order_id).with_for_update()
    return session.scalar(stmt) is not None


def in_queue(session: Session, order_id: int) -> bool:
    """Whether the order waits to be tagged (a plain read, for presenters)."""
    return session.scalar(select(TagQueueEntry.order_id).where(TagQueueEntry.order_id == order_id)) is not None


def dequeue(session: Session, order_ids: Sequence[int]) -> None:
    if order_ids:
        session.execute(delete(TagQueueEntry).where(TagQueueEntry.order_id.in_(list(order_ids))))


def oldest_queued_at(session: Session) -> datetime | None:
    """Registration time of the oldest order still waiting to be tagged."""
    stmt = select(func.min(WorkOrder.created_at)).join(TagQueueEntry, TagQueueEntry.order_id == WorkOrder.id)
    return session.scalar(stmt)


def queue_length(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(TagQueueEntry)) or 0)


def profiled(session: Session, order_ids: Sequence[int]) -> set[int]:
    """Which of these orders already have a profile (were tagged)."""
    if not order_ids:
        return set()
    stmt = select(OrderRiskProfile.order_id).where(OrderRiskProfile.order_id.in_(list(order_ids)))
    return {int(i) for i in session.scalars(stmt)}
