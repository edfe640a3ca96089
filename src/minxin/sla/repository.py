"""Every query of the SLA engine. Services decide; this module only reads and writes rows."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, bindparam, delete, exists, func, select
from sqlalchemy.orm import Session

from minxin.accounts.models import AppSetting
from minxin.accounts.principal import Principal
from minxin.categories.models import Category
from minxin.db.statements import upsert_insert
from minxin.sla.models import CalendarDay, OrderDeadline, SlaAlert, SlaPolicyRow
from minxin.units.models import Unit
from minxin.workorders import repository as orders_repository
from minxin.workorders.models import WorkOrder
from minxin.workorders.repository import OrderFilter

#: app_settings key whose value changes whenever calendar days or policies change (cache key)
CONFIG_TOKEN_KEY = "sla.config_token"


# ----------------------------------------------------------------------------- config token
#: per database: the token as last read, and until when (monotonic seconds) it is trusted
_token_cache: dict[str, tuple[str, float]] = {}
TOKEN_TTL = 2.0


def _db_key(session: Session) -> str:
    return str(session.get_bind().engine.url)


def config_token(session: Session) -> str:
    """The current configuration token ("0" before the first admin change).

    Read at most every ``TOKEN_TTL`` seconds per process (it is read on every deadline
    recompute, i.e. on every action). A change made in *this* transaction is always seen (it is
    kept in ``session.info``); a change committed by another process is seen within
    ``TOKEN_TTL`` seconds.
    """
    own = session.info.get(CONFIG_TOKEN_KEY)
    if own is not None:
        return str(own)
    key = _db_key(session)
    value, until = _token_cache.get(key, ("", 0.0))
    if until > time.monotonic():
        return value
    row = session.get(AppSetting, CONFIG_TOKEN_KEY)
    token = row.value if row is not None else "0"
    _token_cache[key] = (token, time.monotonic() + TOKEN_TTL)
    return token


def bump_config_token(session: Session) -> str:
    """Give the configuration a new random token, so every process rebuilds its caches.

    A random token instead of a counter: two concurrent writers can never both produce the same
    "next" value, so no change is ever hidden behind a stale cache.
    """
    token = uuid.uuid4().hex
    session.info[CONFIG_TOKEN_KEY] = token
    _token_cache.pop(_db_key(session), None)
    row = session.get(AppSetting, CONFIG_TOKEN_KEY)
    if row is None:
        session.add(AppSetting(key=CONFIG_TOKEN_KEY, value=token))
    else:
        row.value = token
    return token


# ----------------------------------------------------------------------------- calendar days
def calendar_days(session: Session, year: int | None = None) -> list[CalendarDay]:
    stmt = select(CalendarDay).order_by(CalendarDay.day)
    if year is not None:
        stmt = stmt.where(CalendarDay.year == year)
    return list(session.scalars(stmt))


def delete_calendar_days(session: Session, years: Iterable[int] | None = None, days: Iterable[date] = ()) -> None:
    """Delete admin rows of whole ``years`` and/or of single ``days``."""
    years, days = list(years or ()), list(days)
    if years:
        session.execute(delete(CalendarDay).where(CalendarDay.year.in_(years)))
    if days:
        session.execute(delete(CalendarDay).where(CalendarDay.day.in_(days)))


def add_calendar_days(session: Session, rows: Iterable[CalendarDay]) -> None:
    session.add_all(list(rows))
    session.flush()


# ----------------------------------------------------------------------------- policies
def policies(session: Session, *, active_only: bool = False) -> list[SlaPolicyRow]:
    stmt = select(SlaPolicyRow).order_by(SlaPolicyRow.id)
    if active_only:
        stmt = stmt.where(SlaPolicyRow.active.is_(True))
    return list(session.scalars(stmt))


def policy_by_code(session: Session, code: str) -> SlaPolicyRow | None:
    return session.scalars(select(SlaPolicyRow).where(SlaPolicyRow.code == code)).first()


def policy_by_key(session: Session, key: str) -> SlaPolicyRow | None:
    return session.scalars(select(SlaPolicyRow).where(SlaPolicyRow.key == key)).first()


def has_policies(session: Session) -> bool:
    return bool(session.scalar(select(exists().where(SlaPolicyRow.id.is_not(None)))))


def category_exists(session: Session, code: str) -> bool:
    return bool(session.scalar(select(exists().where(Category.code == code))))


def category_path(session: Session, code: str) -> str | None:
    return session.scalar(select(Category.path).where(Category.code == code))


# ----------------------------------------------------------------------------- units
def unit_by_code(session: Session, code: str) -> Unit | None:
    return session.scalars(select(Unit).where(Unit.code == code)).first()


_UNITS_FOR = select(Unit).where(Unit.code.in_(bindparam("codes", expanding=True)) | (Unit.id == bindparam("unit_id")))


def units_for(session: Session, codes: Iterable[str], unit_id: int) -> list[Unit]:
    """The units with these codes, plus the unit ``unit_id`` (the order's centre): one query
    (built once: it runs on every action)."""
    return list(session.scalars(_UNITS_FOR, {"codes": sorted(set(codes)), "unit_id": unit_id}))


# ----------------------------------------------------------------------------- deadlines
def deadlines_of(session: Session, order_id: int) -> list[OrderDeadline]:
    stmt = (
        select(OrderDeadline)
        .where(OrderDeadline.order_id == order_id)
        .order_by(OrderDeadline.round, OrderDeadline.seq, OrderDeadline.id)
    )
    return list(session.scalars(stmt))


def running_deadlines_of(session: Session, order_ids: Sequence[int]) -> list[OrderDeadline]:
    """Running clocks of these orders (the list-page badge): one query for the page."""
    if not order_ids:
        return []
    stmt = select(OrderDeadline).where(OrderDeadline.order_id.in_(list(order_ids)), OrderDeadline.state == "running")
    return list(session.scalars(stmt))


def alerts_of(session: Session, order_id: int) -> list[SlaAlert]:
    stmt = select(SlaAlert).where(SlaAlert.order_id == order_id).order_by(SlaAlert.recorded_at, SlaAlert.id)
    return list(session.scalars(stmt))


def orders_with_unofficial_running(session: Session, limit: int = 10_000) -> list[int]:
    """Orders that have a running clock computed without an official schedule."""
    stmt = (
        select(OrderDeadline.order_id)
        .where(OrderDeadline.state == "running", OrderDeadline.unofficial.is_(True))
        .distinct()
        .limit(limit)
    )
    return [int(i) for i in session.scalars(stmt)]


def open_order_ids(session: Session, after_id: int, limit: int, final_statuses: Sequence[str]) -> list[int]:
    stmt = (
        select(WorkOrder.id)
        .where(WorkOrder.id > after_id, WorkOrder.status.not_in(list(final_statuses)))
        .order_by(WorkOrder.id)
        .limit(limit)
    )
    return [int(i) for i in session.scalars(stmt)]


def orders_by_id(session: Session, ids: Sequence[int], *, for_update: bool = False) -> list[WorkOrder]:
    stmt = select(WorkOrder).where(WorkOrder.id.in_(list(ids))).order_by(WorkOrder.id)
    if for_update:
        stmt = stmt.with_for_update(of=WorkOrder)
    return list(session.scalars(stmt))


def live_state_clause(state: str, now: datetime) -> Any:
    """SQL condition on ``WorkOrder``: the order has a running clock that is ``overdue``
    (``due_at < now``) or ``warning`` (``warn_at <= now <= due_at``) at ``now`` — the same rules
    as ``minxin.sla.live.state_of`` (a paused clock is neither). For queues such as 已超期."""
    running = and_(OrderDeadline.order_id == WorkOrder.id, OrderDeadline.state == "running")
    if state == "overdue":
        return exists().where(running, OrderDeadline.due_at < now)
    if state == "warning":
        return exists().where(running, OrderDeadline.warn_at <= now, OrderDeadline.due_at >= now)
    raise ValueError(f"state must be 'overdue' or 'warning', got {state!r}")


def search_live_state(
    session: Session, principal: Principal, flt: OrderFilter, state: str, now: datetime, *, offset: int, limit: int
) -> tuple[list[WorkOrder], int]:
    """Orders visible to ``principal`` matching ``flt`` whose clocks are ``overdue``/``warning``
    now (a warned order that is also overdue elsewhere counts as overdue only)."""
    clause = live_state_clause(state, now)
    if state == "warning":
        clause = clause & ~live_state_clause("overdue", now)
    stmt = orders_repository.filtered(principal, flt).where(clause)
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    rows = session.scalars(stmt.order_by(WorkOrder.created_at.desc(), WorkOrder.id.desc()).offset(offset).limit(limit))
    return list(rows), int(total)


# ----------------------------------------------------------------------------- scanner
def _alert_exists(level: str) -> Any:
    return exists().where(
        and_(
            SlaAlert.order_id == OrderDeadline.order_id,
            SlaAlert.round == OrderDeadline.round,
            SlaAlert.kind == OrderDeadline.kind,
            SlaAlert.seq == OrderDeadline.seq,
            SlaAlert.due_at == OrderDeadline.due_at,
            SlaAlert.level == level,
        )
    )


def warning_candidates(session: Session, now: datetime, limit: int) -> list[tuple[OrderDeadline, str, str]]:
    """Running clocks inside their warning window (``warn_at <= now <= due_at``) not yet warned.

    Served by the ``(state, warn_at)`` index; returns (deadline, order number, order status).
    """
    stmt = (
        select(OrderDeadline, WorkOrder.number, WorkOrder.status)
        .join(WorkOrder, WorkOrder.id == OrderDeadline.order_id)
        .where(
            OrderDeadline.state == "running",
            OrderDeadline.warn_at <= now,
            OrderDeadline.due_at >= now,
            ~_alert_exists("warning"),
        )
        .order_by(OrderDeadline.warn_at)
        .limit(limit)
    )
    return [(d, n, s) for d, n, s in session.execute(stmt)]


def overdue_candidates(session: Session, now: datetime, limit: int) -> list[tuple[OrderDeadline, str, str]]:
    """Running clocks past their due (``due_at < now``) not yet recorded overdue; ``(state, due_at)`` index."""
    stmt = (
        select(OrderDeadline, WorkOrder.number, WorkOrder.status)
        .join(WorkOrder, WorkOrder.id == OrderDeadline.order_id)
        .where(OrderDeadline.state == "running", OrderDeadline.due_at < now, ~_alert_exists("overdue"))
        .order_by(OrderDeadline.due_at)
        .limit(limit)
    )
    return [(d, n, s) for d, n, s in session.execute(stmt)]


def insert_alert(session: Session, deadline: OrderDeadline, level: str, now: datetime) -> int | None:
    """``INSERT … ON CONFLICT DO NOTHING RETURNING id``: the new alert's id, or None if it exists.

    On PostgreSQL a concurrent insert of the same key waits for the other transaction and then
    does nothing; on SQLite writers are serialised. Either way one alert, once.
    """
    insert = upsert_insert(session.get_bind().dialect.name)
    stmt = (
        insert(SlaAlert)
        .values(
            order_id=deadline.order_id,
            deadline_id=deadline.id,
            round=deadline.round,
            kind=deadline.kind,
            seq=deadline.seq,
            unit_code=deadline.unit_code,
            due_at=deadline.due_at,
            level=level,
            recorded_at=now,
        )
        .on_conflict_do_nothing(index_elements=["order_id", "round", "kind", "seq", "due_at", "level"])
        .returning(SlaAlert.id)
    )
    value = session.execute(stmt).scalar_one_or_none()
    return None if value is None else int(value)


def count_alerts(session: Session, order_id: int | None = None) -> int:
    stmt = select(func.count()).select_from(SlaAlert)
    if order_id is not None:
        stmt = stmt.where(SlaAlert.order_id == order_id)
    return int(session.scalar(stmt) or 0)
