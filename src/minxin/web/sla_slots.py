"""Fills the console's SLA slots (``web.extensions``) from the SLA domain. Not imported by the
console itself: add ``"minxin.web.sla_slots"`` to ``wiring.PLUGIN_MODULES`` (after
``"minxin.sla.hooks"``) to turn on 时限策略, 工作日历 (with the import of next year's schedule),
the 已超期 queue and the supervision board's overdue / warned lists.

The queue query lives in ``minxin.sla.repository.search_live_state``; it reuses the
work-order filter so visibility and search behave exactly as in every other queue.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from minxin.accounts.principal import Principal
from minxin.core.vocabulary import APPEAL_TYPE_ZH, URGENCY_ZH
from minxin.sla import calendar_service, deadlines, live, policy_service
from minxin.sla import repository as sla_repository
from minxin.web import extensions
from minxin.web.extensions import Table
from minxin.workorders import repository
from minxin.workorders.models import WorkOrder


def overdue_search(
    session: Session, principal: Principal, flt: repository.OrderFilter, state: str, offset: int, limit: int
) -> tuple[list[WorkOrder], int]:
    return sla_repository.search_live_state(session, principal, flt, state, live.now(), offset=offset, limit=limit)


def sla_policies(session: Session) -> Table:
    items = policy_service.list_policies(session)
    zh_type = {t.value: z for t, z in APPEAL_TYPE_ZH.items()}
    zh_urgency = {u.value: z for u, z in URGENCY_ZH.items()}
    rows = [
        item
        | {
            "appeal_type": zh_type.get(str(item.get("appeal_type")), item.get("appeal_type") or "任意"),
            "urgency": zh_urgency.get(str(item.get("urgency")), item.get("urgency") or "任意"),
            "category": item.get("category") or "任意",
            "active": "启用" if item.get("active", True) else "停用",
        }
        for item in items
    ]
    source = "系统默认策略（管理员尚未修改）" if items and items[0].get("source") == "package" else "数据库中的策略"
    columns = [
        ("id", "编码"), ("name", "名称"), ("category", "类别"), ("appeal_type", "诉求类型"), ("urgency", "紧急程度"),
        ("dispatch", "派单"), ("sign", "签收"), ("handle", "办理"), ("callback", "回访"),
        ("counting_rule", "计时规则"), ("warn_ratio", "预警比例"), ("active", "状态"),
    ]
    note = f"{source}。时长：m 分钟、h 小时、d 自然日、wh 工作小时、wd 工作日。修改请用 API：PATCH /api/v1/sla/policies/{{code}}。"
    return Table(columns=columns, rows=rows, note=note)


def calendar_years(session: Session) -> Table:
    year = live.now().year
    rows = []
    for y in (year - 1, year, year + 1):
        view = calendar_service.year_view(session, y)
        source = {"admin": "管理员导入", "package": "系统内置"}.get(str(view.get("source")), "缺失")
        days = view.get("days", [])
        rows.append({
            "year": y,
            "state": "已有官方安排" if view.get("official") else "缺少官方安排（仅按周末计算）",
            "source": source,
            "holidays": sum(1 for d in days if d.get("kind") == "holiday"),
            "workdays": sum(1 for d in days if d.get("kind") != "holiday"),
        })
    columns = [("year", "年份"), ("state", "状态"), ("source", "来源"), ("holidays", "放假天数"), ("workdays", "调休上班天数")]
    return Table(columns=columns, rows=rows, note="文件格式：CSV（date,kind,name）或 YAML；kind 为 holiday（休）或 workday（班）。")


def calendar_import(session: Session, year: int, filename: str, data: bytes, actor: Principal, now: datetime) -> str:
    records = calendar_service.parse_file(data, filename or "calendar.csv")
    result = calendar_service.import_records(session, records, actor=actor.username, now=now)
    recomputed = deadlines.refresh_unofficial(session, now=now)
    years = "、".join(str(y) for y in result.get("years", [])) or str(year)
    return f"已导入 {result.get('imported', 0)} 天（{years} 年），重新计算了 {recomputed} 件工单的时限"


extensions.overdue_search = overdue_search
extensions.sla_policies = sla_policies
extensions.calendar_years = calendar_years
extensions.calendar_import = calendar_import
