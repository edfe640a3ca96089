"""Where other domains plug data into the console. Each slot is ``None`` until wired, and the
page shows "尚未启用" in its place. Wire a slot from a plugin module (``wiring.PLUGIN_MODULES``)
or ``wiring.py``, e.g. ``extensions.sla_policies = sla.service.policies_for_console``.

Shapes are plain dicts/lists so the console never imports another domain's models.
Every function gets an open read session (or a write unit of work for ``calendar_import``)
and must not commit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from minxin.accounts.principal import Principal
from minxin.workorders.models import WorkOrder
from minxin.workorders.repository import OrderFilter


@dataclass(frozen=True)
class Table:
    """A generic admin table: ``columns`` are (key, 中文 heading); ``rows`` are dicts."""

    columns: list[tuple[str, str]]
    rows: list[dict[str, Any]]
    note: str = ""


#: SLA deadline engine: orders whose clock is ``state`` ("overdue" | "warning") now, visible to
#: the principal and matching ``flt``, newest first → (orders, total). Feeds the 已超期 queue
#: and the supervision board's overdue / warned lists.
OverdueSearch = Callable[[Session, Principal, OrderFilter, str, int, int], tuple[list[WorkOrder], int]]
overdue_search: OverdueSearch | None = None

#: admin → 时限策略 (SLA policies): a read-only table
sla_policies: Callable[[Session], Table] | None = None

#: admin → 工作日历 (working calendar): the known years and their state, a read-only table
calendar_years: Callable[[Session], Table] | None = None

#: admin → 工作日历 import: ``(session, year, filename, data, actor, now) -> message_zh``; raise
#: ``DomainError`` for a bad file (its message is shown next to the file field)
calendar_import: Callable[[Session, int, str, bytes, Principal, datetime], str] | None = None

#: admin → 派单规则 (routing table): a read-only table
routing_rules: Callable[[Session], Table] | None = None


def enabled(slot: object | None) -> bool:
    return slot is not None
