"""The unit tree. ``path`` is a materialised path (``/1/4/9/``) so "this unit's subtree" is one
indexed ``LIKE 'prefix%'`` on both SQLite and PostgreSQL.

Invariant: ``path`` = parent's path + own id + ``/``; units are not re-parented (their orders'
visibility rows carry the path).
"""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from minxin.db.base import Base


class Unit(Base):
    __tablename__ = "units"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    path: Mapped[str] = mapped_column(String(500), nullable=False, index=True, default="")
    depth: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    region_code: Mapped[str | None] = mapped_column(String(12), index=True)
    contact_name: Mapped[str | None] = mapped_column(String(100))
    contact_phone: Mapped[str | None] = mapped_column(String(40))
    #: business hours as [["08:30","12:00"],["13:30","17:30"]]; null = the default; [] with
    #: ``always_open`` = 24×7
    business_hours: Mapped[list[list[str]] | None] = mapped_column(JSON)
    always_open: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
