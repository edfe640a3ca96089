"""The order page's context: presenter detail plus what the templates need to show it.

Shared by the order page and the callback console. Reads through services and presenters
only; the timeline's wording comes from the lifecycle table (labels per action and outcome).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from minxin.api.state import AppState
from minxin.core.lifecycle import RULES
from minxin.core.vocabulary import (
    APPEAL_TYPE_ZH,
    CHANNEL_ZH,
    ROLE_ZH,
    SATISFACTION_ZH,
    URGENCY_ZH,
)
from minxin.web import actions, deadlines, options
from minxin.web.auth import WebUser
from minxin.workorders import presenters, service

ROLE_LABELS = {r.value: z for r, z in ROLE_ZH.items()}
OUTCOME_ZH = {(r.action.value, r.outcome): r.label_zh for r in RULES if r.outcome}

#: event payload keys → 中文 label; values are formatted by ``_value``
PAYLOAD_ZH = {
    "unit": "单位",
    "from_unit": "原单位",
    "reason": "原因",
    "note": "备注",
    "answer": "答复内容",
    "result": "办理结果",
    "satisfaction": "满意度",
    "resolved": "是否解决",
    "reachable": "是否接通",
    "attempt": "未接通次数",
    "duration": "延期时长",
    "approve": "审批",
    "into": "并入工单",
    "units": "协办单位",
    "text": "内容",
    "round": "重办轮次",
    "channel": "渠道",
    "appeal_type": "诉求类型",
    "urgency": "紧急程度",
    "category": "类别",
    "unreasonable": "不合理诉求",
    "attachments": "附件",
}
HIDDEN_KEYS = {"unit_name", "request_id", "recording"}


def _value(key: str, value: Any, units: dict[str, str], categories: dict[str, str]) -> str:
    if isinstance(value, bool):
        return "是" if value else "否"
    if key in ("unit", "from_unit"):
        return units.get(str(value), str(value))
    if key == "category":
        return categories.get(str(value), str(value))
    if key == "units" and isinstance(value, list):
        return "、".join(units.get(str(v), str(v)) for v in value)
    if key == "attachments" and isinstance(value, list):
        return f"{len(value)} 个"
    if key == "satisfaction":
        return {s.value: z for s, z in SATISFACTION_ZH.items()}.get(str(value), str(value))
    if key == "channel":
        return {c.value: z for c, z in CHANNEL_ZH.items()}.get(str(value), str(value))
    if key == "appeal_type":
        return {c.value: z for c, z in APPEAL_TYPE_ZH.items()}.get(str(value), str(value))
    if key == "urgency":
        return {c.value: z for c, z in URGENCY_ZH.items()}.get(str(value), str(value))
    return str(value)


def timeline(events: list[dict[str, Any]], units: dict[str, str], categories: dict[str, str]) -> list[dict[str, Any]]:
    out = []
    for e in events:
        payload = e.get("payload") or {}
        label = OUTCOME_ZH.get((e["action"], e.get("outcome") or ""), e.get("action_zh") or e["action"])
        items = [
            (PAYLOAD_ZH.get(k, k), _value(k, v, units, categories))
            for k, v in payload.items()
            if k not in HIDDEN_KEYS and v not in (None, "", [])
        ]
        if e["action"] == "dispatch" and payload.get("unit_name"):
            items = [(k, payload["unit_name"] if k == "单位" else v) for k, v in items]
        role = str(e.get("actor_role") or "")
        out.append(e | {"label": label, "details": items, "role_zh": ROLE_LABELS.get(role, role)})
    return list(reversed(out))  # newest first: what happened last matters most


def build(session: Session, state: AppState, user: WebUser, number: str) -> dict[str, Any]:
    """Everything the order page shows, for ``user`` (404 when they may not see it)."""
    order = service.get_visible(session, number, user.principal)
    detail = presenters.detail(session, order, user.principal, state.tz)
    units = options.unit_names(session)
    allowed = detail["allowed_actions"]
    allowed_names = {a["action"] for a in allowed}
    forms = actions.forms_for(allowed, detail["status"], user.role)
    attachments = detail["attachments"]
    return {
        "order": detail,
        "deadlines": deadlines.order_deadlines(detail, state.clock.now(), units),
        "timeline": timeline(detail["events"], units, options.category_names(session)),
        "photos": [a for a in attachments if a["kind"] == "image"],
        "recordings": [a for a in attachments if a["kind"] == "audio"],
        "recording_by_id": {a["id"]: a for a in attachments if a["kind"] == "audio"},
        "forms": forms,
        "allowed": allowed_names,
        "targets": options.dispatch_targets(session, user.principal, order.current_unit.path)
        if "dispatch" in allowed_names
        else [],
        "co_units": options.co_handle_targets(session, detail["current_unit"]["code"] if detail["current_unit"] else None)
        if "co_handle" in allowed_names
        else [],
        "unit_names": units,
        "pending_extension": next((x for x in detail["extensions"] if x["state"] == "pending"), None),
    }


def callback_script(order: dict[str, Any], agent_name: str, max_attempts: int) -> list[str]:
    """The callback script (回访话术), filled in for this order."""
    unit = (order.get("handling_unit") or order.get("current_unit") or {}).get("name", "承办单位")
    created = (order.get("created_at") or "")[:10]
    citizen = (order.get("citizen") or {}).get("name") or "先生/女士"
    return [
        f"您好，请问是{citizen}吗？这里是12345热线回访中心，我是{agent_name}。",
        f"您在{created}反映的「{order.get('title', '')}」问题，已由{unit}办理并答复。",
        "答复的情况是：" + (order.get("reply") or "（见下方办理结果）"),
        "请问您反映的问题是否已经解决？",
        "您对这次办理结果是否满意？满意、基本满意，还是不满意？",
        "感谢您对12345热线工作的支持，再见！",
        f"（未接通时记录“未接通”；累计 {max_attempts} 次未接通自动归档。）",
    ]
