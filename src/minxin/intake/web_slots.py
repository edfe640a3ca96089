"""Fills the console's routing slot (``web.extensions.routing_rules``) so ``/admin/routing``
shows the routing table (派单规则) instead of "尚未启用". Imported via
``wiring.PLUGIN_MODULES``; the console itself never imports the routing domain.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from minxin.routing import service as routing_service
from minxin.web import extensions
from minxin.web.extensions import Table

SHANGHAI = ZoneInfo("Asia/Shanghai")
COLUMNS: list[tuple[str, str]] = [
    ("id", "编号"),
    ("category", "类别"),
    ("region", "区域"),
    ("unit", "承办单位"),
    ("priority", "优先级"),
    ("valid", "有效期"),
    ("note", "依据"),
    ("active", "状态"),
    ("edited", "最后修改"),
]


def routing_rules(session: Session) -> Table:
    listing = routing_service.list_rules(session, limit=500)
    rows = []
    for r in listing["items"]:
        start, end = r["valid_from"], r["valid_to"]
        rows.append({
            "id": r["id"],
            "category": f"{r['category_name']}（{r['category_code']}）" if r["category_code"] else "任意类别",
            "region": f"{r['region_name']}（{r['region_code']}）" if r["region_code"] else "任意区域",
            "unit": f"{r['unit_name']}（{r['unit_code']}）",
            "priority": r["priority"],
            "valid": f"{start or '…'} 至 {end or '…'}" if start or end else "长期",
            "note": r["note"],
            "active": "启用" if r["active"] else "停用",
            "edited": f"{r['edited_by']} {datetime.fromisoformat(r['edited_at']).astimezone(SHANGHAI):%Y-%m-%d %H:%M}",
        })
    note = (
        f"共 {listing['total']} 条。优先级：类别越具体越优先（三级 > 二级 > 一级 > 任意），其次区域越具体越优先"
        "（乡镇 > 区县 > 地市 > 省 > 任意），再按优先级数值、编号。修改请用 API：POST/PATCH/DELETE /api/v1/routing/rules；"
        "说明某条派单：GET /api/v1/routing/route?category=&region=。"
    )
    return Table(columns=COLUMNS, rows=rows, note=note)


extensions.routing_rules = routing_rules
