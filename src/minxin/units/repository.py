"""Queries for units."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from minxin.units.models import Unit


def get(session: Session, unit_id: int) -> Unit | None:
    return session.get(Unit, unit_id)


def get_by_code(session: Session, code: str) -> Unit | None:
    return session.scalars(select(Unit).where(Unit.code == code)).first()


def list_all(session: Session) -> list[Unit]:
    return list(session.scalars(select(Unit).order_by(Unit.path)))


def subtree(session: Session, path: str) -> list[Unit]:
    return list(session.scalars(select(Unit).where(Unit.path.startswith(path)).order_by(Unit.path)))


def roots(session: Session) -> list[Unit]:
    return list(session.scalars(select(Unit).where(Unit.parent_id.is_(None)).order_by(Unit.id)))
