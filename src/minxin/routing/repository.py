"""All SQL of the routing table."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from minxin.routing.models import RoutingRule, RoutingRuleChange
from minxin.units.models import Unit


def candidates(
    session: Session, category_codes: Sequence[str], region_codes: Sequence[str], on: date
) -> list[tuple[RoutingRule, Unit]]:
    """Active rules valid ``on`` whose category is one of ``category_codes`` and whose region is
    one of ``region_codes``, with their (active) units. One indexed query; ranking is the
    service's job."""
    stmt = (
        select(RoutingRule, Unit)
        .join(Unit, Unit.code == RoutingRule.unit_code)
        .where(
            RoutingRule.active.is_(True),
            Unit.active.is_(True),
            RoutingRule.category_code.in_(list(category_codes)),
            RoutingRule.region_code.in_(list(region_codes)),
            or_(RoutingRule.valid_from.is_(None), RoutingRule.valid_from <= on),
            or_(RoutingRule.valid_to.is_(None), RoutingRule.valid_to >= on),
        )
    )
    return [(rule, unit) for rule, unit in session.execute(stmt).all()]


def get(session: Session, rule_id: int, *, for_update: bool = False) -> RoutingRule | None:
    stmt = select(RoutingRule).where(RoutingRule.id == rule_id)
    if for_update:
        stmt = stmt.with_for_update()
    return session.scalars(stmt).first()


def search(
    session: Session,
    *,
    active: bool | None = None,
    category: str | None = None,
    region: str | None = None,
    unit: str | None = None,
    offset: int = 0,
    limit: int = 100,
) -> tuple[list[tuple[RoutingRule, Unit | None]], int]:
    """Rules for the table view, most general first (category, region, priority, id)."""
    conditions = []
    if active is not None:
        conditions.append(RoutingRule.active.is_(active))
    if category is not None:
        conditions.append(RoutingRule.category_code.startswith(category, autoescape=True))
    if region is not None:
        conditions.append(RoutingRule.region_code.startswith(region, autoescape=True))
    if unit is not None:
        conditions.append(RoutingRule.unit_code == unit)
    total = session.scalar(select(func.count()).select_from(RoutingRule).where(*conditions)) or 0
    stmt = (
        select(RoutingRule, Unit)
        .outerjoin(Unit, Unit.code == RoutingRule.unit_code)
        .where(*conditions)
        .order_by(RoutingRule.category_code, RoutingRule.region_code, RoutingRule.priority.desc(), RoutingRule.id)
        .offset(offset)
        .limit(limit)
    )
    return [(rule, u) for rule, u in session.execute(stmt).all()], int(total)


def count(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(RoutingRule)) or 0)


def history(session: Session, rule_id: int) -> list[RoutingRuleChange]:
    stmt = select(RoutingRuleChange).where(RoutingRuleChange.rule_id == rule_id).order_by(RoutingRuleChange.id)
    return list(session.scalars(stmt))


def add(session: Session, rule: RoutingRule) -> RoutingRule:
    session.add(rule)
    session.flush()
    return rule


def add_change(session: Session, change: RoutingRuleChange) -> None:
    session.add(change)


def unit_by_code(session: Session, code: str) -> Unit | None:
    return session.scalars(select(Unit).where(Unit.code == code)).first()


def unit_codes(session: Session) -> set[str]:
    return set(session.scalars(select(Unit.code)))
