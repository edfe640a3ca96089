"""The work queues, one table: which statuses each queue holds and which roles see it.

A handler's queue holds only orders now at a unit of their subtree (``unit_code`` filter);
centre roles see every order visible to them. ``overdue`` reads the SLA engine through
``extensions.overdue_search`` and shows "尚未启用" until it is wired.
"""

from __future__ import annotations

from dataclasses import dataclass

from minxin.core.vocabulary import Role, Status

R = Role
S = Status
ALL = frozenset(Role)
CENTRE = frozenset({R.AGENT, R.DISPATCHER, R.SUPERVISOR, R.ADMIN})


@dataclass(frozen=True)
class Queue:
    key: str
    label: str
    statuses: tuple[str, ...]
    roles: frozenset[Role]
    hint: str = ""
    #: dispatchers may select rows and dispatch them together
    bulk_dispatch: bool = False
    #: read through an extension instead of a status filter ("overdue")
    via: str | None = None


QUEUES: tuple[Queue, ...] = (
    Queue("to_dispatch", "待派单", (S.REGISTERED,), CENTRE | {R.LEADER}, "已受理、尚未派出的工单", bulk_dispatch=True),
    Queue("returned", "退单待审", (S.RETURNED,), CENTRE | {R.LEADER}, "承办单位退回、待派单员审核的工单", bulk_dispatch=True),
    Queue("to_sign", "待签收", (S.DISPATCHED,), ALL, "已派至单位、尚未签收的工单"),
    Queue("to_reply", "待回复", (S.SIGNED,), ALL, "已签收、待办结回复的工单"),
    Queue("in_progress", "办理中", (S.DISPATCHED, S.SIGNED, S.SUSPENDED), ALL, "在承办单位手中的全部工单"),
    Queue("to_callback", "待回访", (S.REPLIED,), CENTRE | {R.LEADER}, "已办结、待回访的工单"),
    Queue("overdue", "已超期", (), ALL, "超过办理时限的工单", via="overdue"),
    Queue("all", "全部工单", (), ALL, "按条件查询本人可见的全部工单"),
)

BY_KEY = {q.key: q for q in QUEUES}

#: statuses of orders a unit is working on (used by the supervision board too)
WORKING = (S.DISPATCHED.value, S.SIGNED.value, S.SUSPENDED.value)
OPEN = tuple(s.value for s in (S.REGISTERED, S.DISPATCHED, S.SIGNED, S.RETURNED, S.SUSPENDED, S.REPLIED))

#: the queues a role sees on its home page, most urgent first
HOME: dict[Role, tuple[str, ...]] = {
    R.AGENT: ("to_dispatch", "to_callback", "all"),
    R.DISPATCHER: ("to_dispatch", "returned", "to_sign", "in_progress", "overdue"),
    R.HANDLER: ("to_sign", "to_reply", "in_progress", "overdue"),
    R.SUPERVISOR: ("to_callback", "overdue", "in_progress", "returned"),
    R.LEADER: ("in_progress", "overdue", "to_callback"),
    R.ADMIN: ("to_dispatch", "in_progress", "all"),
}


def for_role(role: Role) -> list[Queue]:
    return [q for q in QUEUES if role in q.roles]


def unit_scoped(role: Role, queue: Queue) -> bool:
    """Handlers' working queues show only orders now at their unit subtree."""
    return role is R.HANDLER and queue.key != "all"
