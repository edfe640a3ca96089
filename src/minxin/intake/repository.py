"""All SQL of intake analysis: suggestions, the model registry, and the reads analysis needs."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from minxin.categories.models import Category
from minxin.core.vocabulary import FINAL_STATUSES
from minxin.intake.duplicates import DuplicateRecord
from minxin.intake.models import IntakeModel, IntakeSuggestion
from minxin.units.models import Unit
from minxin.workorders.models import WorkOrder


# ----------------------------------------------------------------------------- suggestions
def suggestion_for(session: Session, order_id: int, *, for_update: bool = False) -> IntakeSuggestion | None:
    stmt = select(IntakeSuggestion).where(IntakeSuggestion.order_id == order_id)
    if for_update:
        stmt = stmt.with_for_update()
    return session.scalars(stmt).first()


def suggestions_for(session: Session, order_ids: Sequence[int]) -> dict[int, IntakeSuggestion]:
    if not order_ids:
        return {}
    stmt = select(IntakeSuggestion).where(IntakeSuggestion.order_id.in_(list(order_ids)))
    return {s.order_id: s for s in session.scalars(stmt)}


def pending_dispatch(session: Session, limit: int) -> list[tuple[int, int]]:
    """(suggestion id, order id) of suggestions waiting for the auto-dispatch job, oldest first."""
    stmt = (
        select(IntakeSuggestion.id, IntakeSuggestion.order_id)
        .where(IntakeSuggestion.dispatch_state == "pending")
        .order_by(IntakeSuggestion.id)
        .limit(limit)
    )
    return [(sid, oid) for sid, oid in session.execute(stmt).all()]


def lock_suggestion(session: Session, suggestion_id: int) -> IntakeSuggestion | None:
    stmt = select(IntakeSuggestion).where(IntakeSuggestion.id == suggestion_id).with_for_update()
    return session.scalars(stmt).first()


def suggestions_in_months(session: Session, months: Sequence[str] | None) -> Iterator[IntakeSuggestion]:
    stmt = select(IntakeSuggestion).order_by(IntakeSuggestion.month, IntakeSuggestion.id)
    if months:
        stmt = stmt.where(IntakeSuggestion.month.in_(list(months)))
    yield from session.scalars(stmt.execution_options(yield_per=2000))


def final_categories(session: Session, order_ids: Sequence[int]) -> dict[int, str | None]:
    """The orders' current category codes (the category after every human correction)."""
    out: dict[int, str | None] = {}
    ids = list(order_ids)
    for start in range(0, len(ids), 5000):
        stmt = (
            select(WorkOrder.id, Category.code)
            .outerjoin(Category, Category.id == WorkOrder.category_id)
            .where(WorkOrder.id.in_(ids[start : start + 5000]))
        )
        out.update({oid: code for oid, code in session.execute(stmt).all()})
    return out


# ----------------------------------------------------------------------------- models
def models(session: Session) -> list[IntakeModel]:
    return list(session.scalars(select(IntakeModel).order_by(IntakeModel.registered_at.desc(), IntakeModel.id.desc())))


def active_model(session: Session) -> IntakeModel | None:
    return session.scalars(select(IntakeModel).where(IntakeModel.active.is_(True)).order_by(IntakeModel.id.desc())).first()


def model_by_version(session: Session, version: str) -> IntakeModel | None:
    return session.scalars(select(IntakeModel).where(IntakeModel.version == version)).first()


def deactivate_all_models(session: Session) -> None:
    session.execute(update(IntakeModel).where(IntakeModel.active.is_(True)).values(active=False))


def add_model(session: Session, model: IntakeModel) -> IntakeModel:
    session.add(model)
    session.flush()
    return model


# ----------------------------------------------------------------------------- reads for analysis
def categories(session: Session) -> list[Category]:
    return list(session.scalars(select(Category).order_by(Category.level, Category.code)))


def centre_region(session: Session, unit_id: int | None = None) -> str | None:
    """The hotline's own region (its centre unit's), used to settle bare district names."""
    if unit_id is not None:
        unit = session.get(Unit, unit_id)
        while unit is not None and unit.parent_id is not None:
            unit = session.get(Unit, unit.parent_id)
        if unit is not None and unit.region_code:
            return unit.region_code
    stmt = select(Unit.region_code).where(Unit.parent_id.is_(None), Unit.region_code.is_not(None)).order_by(Unit.id)
    return session.scalars(stmt).first()


def centre_unit(session: Session, unit_id: int) -> Unit | None:
    return session.get(Unit, unit_id)


def orders_brief(session: Session, order_ids: Sequence[int], visible: object | None = None) -> dict[int, WorkOrder]:
    """Orders by id (for the duplicate list), optionally restricted by a visibility clause."""
    if not order_ids:
        return {}
    stmt = select(WorkOrder).where(WorkOrder.id.in_(list(order_ids)))
    if visible is not None:
        stmt = stmt.where(visible)  # type: ignore[arg-type]
    return {o.id: o for o in session.scalars(stmt)}


def duplicate_records(session: Session, since: datetime, *, chunk: int = 5000) -> Iterator[DuplicateRecord]:
    """Open orders of any age plus every order created since ``since``: what the duplicate
    index holds. Streams in chunks (server-side cursor on PostgreSQL)."""
    final = [str(s) for s in FINAL_STATUSES]
    stmt = (
        select(
            WorkOrder.id,
            WorkOrder.created_at,
            WorkOrder.title,
            WorkOrder.content,
            WorkOrder.citizen_phone,
            WorkOrder.address,
            WorkOrder.status,
            WorkOrder.region_code,
        )
        .where(or_(WorkOrder.status.not_in(final), WorkOrder.created_at >= since))
        .order_by(WorkOrder.id)
        .execution_options(yield_per=chunk)
    )
    for row in session.execute(stmt):
        yield DuplicateRecord(
            order_id=row.id,
            created_at=row.created_at,
            title=row.title or "",
            content=row.content or "",
            phone=row.citizen_phone,
            address=row.address,
            status=row.status,
            region_code=row.region_code,
        )


def lock_order(session: Session, order_id: int) -> WorkOrder | None:
    """The order under a row lock: the auto-dispatch job takes it *before* the suggestion's,
    in the same order as a person's action (order, then hooks touch the suggestion), so the
    two can never deadlock."""
    return session.scalars(select(WorkOrder).where(WorkOrder.id == order_id).with_for_update(of=WorkOrder)).first()


def order_texts(session: Session) -> list[tuple[str, str, int | None]]:
    """Distinct (title, content, category id) of all orders (the demo model's training set)."""
    stmt = select(WorkOrder.title, WorkOrder.content, WorkOrder.category_id).distinct()
    return [(t, c, cid) for t, c, cid in session.execute(stmt).all()]


def set_registration_fields(session: Session, order: WorkOrder, values: dict[str, object]) -> None:
    """Write what intake decided at registration (category, urgency, region) onto the row just
    inserted, *without* bumping its optimistic-lock ``version``: the order is born with these
    values (clients rely on a new order being version 1), and nobody else can have read the
    uncommitted row. The attributes are set as already-persisted so the ORM does not write
    them again."""
    if not values:
        return
    session.execute(update(WorkOrder.__table__).where(WorkOrder.__table__.c.id == order.id).values(**values))
    for key, value in values.items():
        set_committed_value(order, key, value)
