"""Queries for categories."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from minxin.categories.models import Category


def get(session: Session, category_id: int) -> Category | None:
    return session.get(Category, category_id)


def get_by_code(session: Session, code: str) -> Category | None:
    return session.scalars(select(Category).where(Category.code == code)).first()


def get_by_name(session: Session, name: str) -> list[Category]:
    return list(session.scalars(select(Category).where(Category.name == name).order_by(Category.level)))


def list_all(session: Session) -> list[Category]:
    return list(session.scalars(select(Category).order_by(Category.path)))


def count(session: Session) -> int:
    return len(list(session.scalars(select(Category.id))))


def child_by_name(session: Session, parent_code: str | None, name: str) -> Category | None:
    stmt = select(Category).where(Category.name == name)
    if parent_code is None:
        stmt = stmt.where(Category.parent_id.is_(None))
    else:
        parent_id = select(Category.id).where(Category.code == parent_code).scalar_subquery()
        stmt = stmt.where(Category.parent_id == parent_id)
    return session.scalars(stmt).first()
