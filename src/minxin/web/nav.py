"""The navigation bar: which areas each role sees, in the order they use them.

Other domains add entries with ``extra_items.append(NavItem(...))`` (e.g. the KPI dashboard
for leaders) without touching the layout.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from minxin.core.vocabulary import Role

if TYPE_CHECKING:
    from minxin.web.auth import WebUser

R = Role
ALL = frozenset(Role)


@dataclass(frozen=True)
class NavItem:
    label: str
    href: str
    roles: frozenset[Role]
    #: a path prefix that marks the item as current (defaults to ``href``)
    match: str = ""
    #: a keyboard hint shown in the menu
    key: str = ""


ITEMS: list[NavItem] = [
    NavItem("首页", "/", ALL, match="/#"),
    NavItem("受理登记", "/intake", frozenset({R.AGENT, R.DISPATCHER, R.SUPERVISOR}), key="g i"),
    NavItem("待派单", "/queues/to_dispatch", frozenset({R.AGENT, R.DISPATCHER})),
    NavItem("退单审核", "/queues/returned", frozenset({R.DISPATCHER})),
    NavItem("待签收", "/queues/to_sign", frozenset({R.HANDLER})),
    NavItem("待回复", "/queues/to_reply", frozenset({R.HANDLER})),
    NavItem("办理中", "/queues/in_progress", frozenset({R.HANDLER, R.DISPATCHER, R.LEADER})),
    NavItem("回访", "/callbacks", frozenset({R.AGENT, R.SUPERVISOR}), key="g c"),
    NavItem("督办", "/supervision", frozenset({R.SUPERVISOR, R.LEADER, R.ADMIN}), key="g s"),
    NavItem("工单查询", "/queues/all", ALL, match="/queues/all", key="g q"),
    NavItem("系统管理", "/admin", frozenset({R.ADMIN}), match="/admin"),
]

#: entries added by other domains (dashboard, risk alerts); shown after the built-in ones
extra_items: list[NavItem] = []


def nav_for(user: WebUser, path: str) -> list[dict[str, Any]]:
    out = []
    for item in [*ITEMS, *extra_items]:
        if user.role not in item.roles:
            continue
        match = item.match or item.href
        current = path == "/" if match == "/#" else path == match or path.startswith(match.rstrip("/") + "/")
        out.append({"label": item.label, "href": item.href, "current": current, "key": item.key})
    return out
