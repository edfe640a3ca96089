"""Queries for users and shared settings."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from minxin.accounts.models import AppSetting, User


def get(session: Session, user_id: int) -> User | None:
    return session.get(User, user_id)


def get_by_username(session: Session, username: str) -> User | None:
    return session.scalars(select(User).where(User.username == username)).first()


def list_all(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.id)))


def get_setting(session: Session, key: str) -> str | None:
    row = session.get(AppSetting, key)
    return row.value if row else None


def put_setting(session: Session, key: str, value: str) -> None:
    row = session.get(AppSetting, key)
    if row is None:
        session.add(AppSetting(key=key, value=value))
    else:
        row.value = value
