"""Declarative base with a naming convention, so Alembic migrations name constraints stably."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from minxin.db.types import UTCDateTime

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)

    def __repr__(self) -> str:  # safe on expired instances: reads only the identity
        ident = self.__mapper__.primary_key_from_instance(self) if hasattr(self, "__mapper__") else "?"
        return f"<{type(self).__name__} {ident}>"


class CreatedAt:
    """Mixin: a UTC creation time set by the caller (the service passes its clock's ``now``)."""

    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, index=True)
