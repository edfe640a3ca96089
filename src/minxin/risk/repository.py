"""Every query of risk tagging: taxonomy versions, order profiles and tags, subjects and links.

Alert, lease and detector-feed queries live in :mod:`minxin.risk.alert_repository`, the tag
queue's in :mod:`minxin.risk.queue_repository` (the module would pass 400 lines otherwise).
Services decide; this module only reads and writes rows.

The queries the drainer runs for every order are built once (module constants with bind
parameters, IN lists as expanding parameters; dialect-specific upserts cached per dialect) and
their writes are Core statements (:mod:`minxin.db.statements`): building a ``select()`` per
call and the ORM bulk path were most of a drained order's CPU, not the database.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session

from minxin.db.statements import id_list, insert_rows, update_by_pk, upsert_insert
from minxin.risk.models import (
    OrderRiskProfile,
    OrderRiskTag,
    RiskSubject,
    SubjectLink,
    TaxonomyVersion,
)
from minxin.units.models import Unit
from minxin.workorders.models import Callback, WorkOrder


def _insert(session: Session) -> Any:
    """The dialect's INSERT that supports ``ON CONFLICT`` (PostgreSQL and SQLite share the syntax)."""
    return upsert_insert(_dialect(session))


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


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


_DISSATISFIED = select(func.count()).select_from(Callback).where(
    Callback.order_id == bindparam("order_id"), Callback.satisfaction == "dissatisfied"
)


def dissatisfied_callbacks(session: Session, order_id: int) -> int:
    return int(session.scalar(_DISSATISFIED, {"order_id": order_id}) or 0)


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


_PROFILE_ROWS = (
    select(OrderRiskProfile.order_id, WorkOrder.number, WorkOrder.title, WorkOrder.content, WorkOrder.appeal_type,
           OrderRiskProfile.category_code, OrderRiskProfile.subjects, OrderRiskProfile.counts,
           OrderRiskProfile.related)
    .join(WorkOrder, WorkOrder.id == OrderRiskProfile.order_id)
    .where(OrderRiskProfile.order_id.in_(id_list()))
)


def profile_rows(session: Session, order_ids: Sequence[int]) -> list[ProfileRow]:
    if not order_ids:
        return []
    return [ProfileRow(int(r[0]), str(r[1]), f"{r[2]} {r[3]}", str(r[4]), str(r[5] or ""), list(r[6] or []),
                       dict(r[7] or {}), dict(r[8] or {}))
            for r in session.execute(_PROFILE_ROWS, {"ids": list(order_ids)})]


def insert_profile(session: Session, row: dict[str, Any]) -> None:
    insert_rows(session, OrderRiskProfile.__table__, [row])


def update_profiles(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """``[{order_id, counts, related, max_severity, taxonomy_hash, tagged_at}]`` by primary key."""
    update_by_pk(session, OrderRiskProfile.__table__, rows, pk=("order_id",))


_NEARBY_RECENT = (
    select(OrderRiskProfile.created_at, WorkOrder.number, WorkOrder.title, WorkOrder.content,
           OrderRiskProfile.category_code)
    .join(WorkOrder, WorkOrder.id == OrderRiskProfile.order_id)
    .where(
        OrderRiskProfile.region == bindparam("region"),
        OrderRiskProfile.created_at >= bindparam("since"),
        OrderRiskProfile.created_at <= bindparam("until"),
        OrderRiskProfile.order_id != bindparam("exclude"),
    )
    .order_by(OrderRiskProfile.created_at.desc())
    .limit(bindparam("limit"))
)


def nearby_recent(session: Session, region: str, since: datetime, until: datetime, exclude: int,
                  limit: int = 200) -> list[tuple[datetime, str, str, str]]:
    """Orders of ``region`` created in ``[since, until]`` (newest first): (created_at, number, text,
    category) — the candidates of the ``similar_nearby`` count, on the ``(region, created_at)`` index."""
    params = {"region": region, "since": since, "until": until, "exclude": exclude, "limit": limit}
    return [(r[0], str(r[1]), f"{r[2]} {r[3]}", r[4] or "") for r in session.execute(_NEARBY_RECENT, params)]


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


_TAG_ROWS = select(OrderRiskTag.id, OrderRiskTag.order_id, OrderRiskTag.label_code, OrderRiskTag.severity,
                   OrderRiskTag.evidence, OrderRiskTag.removed_at).where(OrderRiskTag.order_id.in_(id_list()))


def tag_rows(session: Session, order_ids: Iterable[int]) -> list[TagRow]:
    """Every tag row (removed ones too) of these orders, as plain rows."""
    ids = list(order_ids)
    if not ids:
        return []
    return [TagRow(int(a), int(b), str(c), int(d), dict(e or {}), f)
            for a, b, c, d, e, f in session.execute(_TAG_ROWS, {"ids": ids})]


def insert_tags(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    insert_rows(session, OrderRiskTag.__table__, rows)


def update_tags(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Rows with ``id`` and the columns to set, by primary key (one executemany per column set)."""
    update_by_pk(session, OrderRiskTag.__table__, rows)


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


@lru_cache(maxsize=4)
def _upsert_subjects_statement(dialect: str) -> Any:
    table = RiskSubject.__table__
    ins = upsert_insert(dialect)(table)
    newest = func.greatest if dialect == "postgresql" else func.max
    return ins.on_conflict_do_update(
        index_elements=[table.c.key],
        set_={"order_count": table.c.order_count + 1, "last_at": newest(table.c.last_at, ins.excluded.last_at)},
    ).returning(table.c.id, table.c.key, table.c.score, table.c.score_at)


def upsert_subjects(session: Session, rows: Sequence[dict[str, Any]]) -> list[SubjectState]:
    """Insert new subjects and count one more order on existing ones, in one statement that also
    locks the rows until commit (``ON CONFLICT DO UPDATE``). Rows go in key order, so parallel
    intakes of the same caller/address lock in the same order and never deadlock."""
    if not rows:
        return []
    ordered = sorted(rows, key=lambda r: str(r["key"]))
    # RETURNING carries the key, so the rows need not come back in parameter order: that lets
    # SQLAlchemy send one multi-row statement instead of one per subject
    result = sorted(session.execute(_upsert_subjects_statement(_dialect(session)), ordered), key=lambda r: str(r[1]))
    return [SubjectState(int(i), str(k), float(sc), at) for i, k, sc, at in result]


_LOCK_SUBJECTS = (
    select(RiskSubject.id, RiskSubject.key, RiskSubject.score, RiskSubject.score_at)
    .where(RiskSubject.key.in_(id_list("keys")))
    .order_by(RiskSubject.key)
    .with_for_update()
)


def lock_subjects(session: Session, keys: Sequence[str]) -> list[SubjectState]:
    """Lock existing subjects (key order) for a score update."""
    if not keys:
        return []
    return [SubjectState(int(i), str(k), float(sc), at)
            for i, k, sc, at in session.execute(_LOCK_SUBJECTS, {"keys": list(keys)})]


def update_scores(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """``[{id, score, score_at, level}]`` — one executemany UPDATE by primary key."""
    update_by_pk(session, RiskSubject.__table__, rows)


def subject_by_ref(session: Session, ref: str) -> RiskSubject | None:
    return session.scalars(select(RiskSubject).where(RiskSubject.ref == ref)).first()


@lru_cache(maxsize=4)
def _add_links_statement(dialect: str) -> Any:
    table = SubjectLink.__table__
    return (
        upsert_insert(dialect)(table)
        .values(subject_id=bindparam("subject_id"), order_id=bindparam("order_id"), at=bindparam("at"))
        .on_conflict_do_nothing(index_elements=["subject_id", "order_id"])
    )


def add_links(session: Session, subject_ids: Sequence[int], order_id: int, at: datetime) -> None:
    if not subject_ids:
        return
    rows = [{"subject_id": s, "order_id": order_id, "at": at} for s in subject_ids]
    session.execute(_add_links_statement(_dialect(session)), rows)


_RECENT_LINKS = (
    select(SubjectLink.subject_id, SubjectLink.order_id, SubjectLink.at, WorkOrder.number, WorkOrder.status)
    .join(WorkOrder, WorkOrder.id == SubjectLink.order_id)
    .where(SubjectLink.subject_id.in_(id_list()), SubjectLink.at >= bindparam("since"))
    .order_by(SubjectLink.at.desc())
    .limit(bindparam("limit"))
)


def recent_links(session: Session, subject_ids: Sequence[int], since: datetime,
                 limit: int = 500) -> list[tuple[int, int, datetime, str, str]]:
    """(subject id, order id, at, number, status) of the subjects' orders since ``since``, newest
    first, on the ``(subject_id, at)`` index; ``limit`` bounds the work for very busy subjects."""
    if not subject_ids:
        return []
    params = {"ids": list(subject_ids), "since": since, "limit": limit}
    return [(int(a), int(b), c, str(d), str(e)) for a, b, c, d, e in session.execute(_RECENT_LINKS, params)]


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
